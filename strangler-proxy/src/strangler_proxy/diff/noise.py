"""Tell regressions from noise, in the manner of Twitter's Diffy.

For every request the caller has three answers: the primary's, a SECOND primary's (the same
system asked again, or a second instance of it) and the candidate's. Per route and field the
filter counts how often the field differs primary-vs-candidate (``raw``) and primary-vs-
secondary (``noise``). A candidate difference in field F is noise when

* F also differed between the two primaries for this very request, or
* F has been seen noisy before (``noise > 0``), the route has at least ``min_samples``
  noise samples, and F's raw rate is not above its noise rate plus ``margin``.

Everything else is a regression. A field that never differs between two primaries is never
noise, however rarely the candidate gets it wrong. Verdicts are decided when observed (the
counts are streaming, memory is bounded by routes x fields), which suits the proxy; a batch
caller (``strangler compare``) can ``rejudge`` its verdicts at the end, with every sample in.
``report()`` also gives each field's current judgement.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .engine import compare
from .response import Response
from .result import Diff, FieldDiff, summarize
from .rules import RouteRules

OTHER_FIELDS = "(other fields)"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One request's outcome: which candidate differences are regressions and which noise."""

    route: str
    raw: Diff  # primary vs candidate
    noise: Diff | None  # primary vs secondary (None: no secondary answer)
    regressions: tuple[FieldDiff, ...]
    noisy: tuple[FieldDiff, ...]

    @property
    def matched(self) -> bool:
        """Primary and candidate agreed (under the rules), noise or not."""
        return self.raw.ok

    @property
    def ok(self) -> bool:
        """Nothing above noise."""
        return not self.regressions

    @property
    def noise_only(self) -> bool:
        return not self.matched and self.ok

    def summary(self) -> str:
        if self.matched:
            return "match"
        if self.ok:
            return f"noise only: {self.raw.summary()}"
        return summarize(self.regressions) + (f" (+{len(self.noisy)} noisy)" if self.noisy else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "matched": self.matched,
            "ok": self.ok,
            "regressions": [d.to_dict() for d in self.regressions],
            "noise": [d.to_dict() for d in self.noisy],
            "raw": self.raw.to_dict(),
            "secondary": self.noise.to_dict() if self.noise is not None else None,
        }


@dataclass
class _FieldStats:
    raw: int = 0
    noise: int = 0
    regressions: int = 0
    kinds: set[str] = field(default_factory=set)


@dataclass
class _RouteStats:
    requests: int = 0
    noise_samples: int = 0
    matches: int = 0
    mismatches: int = 0
    noise_only: int = 0
    fields: dict[str, _FieldStats] = field(default_factory=dict)


class NoiseFilter:
    """Accumulates raw and noise differences per route and field. Thread-safe."""

    def __init__(
        self, *, margin: float = 0.1, min_samples: int = 10, max_fields_per_route: int = 500
    ) -> None:
        if not 0.0 <= margin <= 1.0:
            raise ValueError(f"margin must be between 0 and 1, not {margin!r}")
        if min_samples < 1:
            raise ValueError(f"min_samples must be at least 1, not {min_samples!r}")
        self.margin = margin
        self.min_samples = min_samples
        self.max_fields = max_fields_per_route
        self._routes: dict[str, _RouteStats] = {}
        self._lock = threading.Lock()

    def observe(
        self,
        route: str,
        primary: Response,
        secondary: Response | None,
        candidate: Response,
        rules: RouteRules,
    ) -> Verdict:
        """Compare the three answers to one request and classify the candidate's differences."""
        raw = compare(primary, candidate, rules)
        noise = compare(primary, secondary, rules) if secondary is not None else None
        return self.observe_diffs(route, raw, noise)

    def observe_diffs(self, route: str, raw: Diff, noise: Diff | None) -> Verdict:
        """The same, for a caller that already compared (the proxy diffs as answers arrive)."""
        raw_fields = set(raw.fields())
        noise_fields = set(noise.fields()) if noise is not None else set()
        with self._lock:
            stats = self._routes.setdefault(route, _RouteStats())
            stats.requests += 1
            if noise is not None:
                stats.noise_samples += 1
            for name in raw_fields:
                self._field(stats, name).raw += 1
            for name in noise_fields:
                self._field(stats, name).noise += 1
            regressions: list[FieldDiff] = []
            noisy: list[FieldDiff] = []
            for difference in raw.differences:
                name = difference.field
                entry = self._field(stats, name)
                entry.kinds.add(difference.kind)
                if name in noise_fields or self._is_noisy(stats, entry):
                    noisy.append(difference)
                else:
                    regressions.append(difference)
            for name in {d.field for d in regressions}:
                self._field(stats, name).regressions += 1
            if raw.ok:
                stats.matches += 1
            elif regressions:
                stats.mismatches += 1
            else:
                stats.noise_only += 1
        return Verdict(route, raw, noise, tuple(regressions), tuple(noisy))

    def rejudge(self, verdict: Verdict) -> Verdict:
        """The verdict again, judged with the counts as they are now (counts are not changed)."""
        noise_fields = set(verdict.noise.fields()) if verdict.noise is not None else set()
        regressions: list[FieldDiff] = []
        noisy: list[FieldDiff] = []
        with self._lock:
            stats = self._routes.get(verdict.route)
            for difference in verdict.raw.differences:
                entry = (
                    stats.fields.get(difference.field) or stats.fields.get(OTHER_FIELDS)
                    if stats is not None
                    else None
                )
                if difference.field in noise_fields or (
                    stats is not None and entry is not None and self._is_noisy(stats, entry)
                ):
                    noisy.append(difference)
                else:
                    regressions.append(difference)
        return Verdict(verdict.route, verdict.raw, verdict.noise, tuple(regressions), tuple(noisy))

    def _field(self, stats: _RouteStats, name: str) -> _FieldStats:
        entry = stats.fields.get(name)
        if entry is None:
            if len(stats.fields) >= self.max_fields:
                name = OTHER_FIELDS
                entry = stats.fields.get(name)
            if entry is None:
                entry = stats.fields[name] = _FieldStats()
        return entry

    def _is_noisy(self, stats: _RouteStats, entry: _FieldStats) -> bool:
        if entry.noise == 0 or stats.noise_samples < self.min_samples:
            return False
        raw_rate = entry.raw / stats.requests
        noise_rate = entry.noise / stats.noise_samples
        return raw_rate <= noise_rate + self.margin

    def report(self) -> dict[str, Any]:
        """Per route: requests, matches, mismatches, noise_only, and per-field counts."""
        with self._lock:
            routes: dict[str, Any] = {}
            totals = {"requests": 0, "matches": 0, "mismatches": 0, "noise_only": 0}
            for route, stats in sorted(self._routes.items()):
                fields = {
                    name: {
                        "raw": entry.raw,
                        "noise": entry.noise,
                        "regressions": entry.regressions,
                        "raw_rate": round(entry.raw / stats.requests, 4),
                        "noise_rate": round(entry.noise / stats.noise_samples, 4)
                        if stats.noise_samples
                        else None,
                        "kinds": sorted(entry.kinds),
                        "noisy": self._is_noisy(stats, entry),
                    }
                    for name, entry in sorted(stats.fields.items())
                }
                routes[route] = {
                    "requests": stats.requests,
                    "noise_samples": stats.noise_samples,
                    "matches": stats.matches,
                    "mismatches": stats.mismatches,
                    "noise_only": stats.noise_only,
                    "fields": fields,
                }
                for key in totals:
                    totals[key] += getattr(stats, key)
            return {
                "settings": {"margin": self.margin, "min_samples": self.min_samples},
                "totals": totals,
                "routes": routes,
            }
