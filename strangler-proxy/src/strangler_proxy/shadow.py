"""Shadow mode (parallel run): mirror a request to the candidate, off the user's path, and diff.

    app: primary answer streamed to the user, request and answer bodies teed up to a cap
      └─ Shadow.offer(Mirror)   never waits: a full queue drops the mirror (counted)
           └─ bounded asyncio.Queue ── N workers ── send(mirror) to the candidate
                (own timeout; a candidate whose breaker is open is skipped)
                └─ diff.compare(primary, candidate, rules_for(method, path))
                     └─ NoiseFilter (Diffy): regressions vs noise, per route and field
                          └─ metrics (match / mismatch per route and field) + samples

Requests are mirrored when sampled (``shadow.sample``), when both bodies fit ``body_cap``, and
when the method is safe -- or the route declares ``writes: dry-run``, in which case the mirror
carries ``X-Strangler-Dry-Run: 1`` and the candidate must roll its transaction back. Every
mirror carries ``X-Strangler-Shadow: 1`` (clients cannot set either: the proxy strips them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from .diff import Diff, NoiseFilter, Response, RuleBook, compare
from .metrics import Metrics
from .table import SAFE_METHODS, ShadowSpec, ShadowWrites
from .tracing import ShadowLink

RECHECKS = 3  # looks again at a mismatch (with ``recheck`` set) before it counts

IN_LOOP_COMPARE_LIMIT = 64 * 1024  # larger bodies are compared in a thread
DEFER = 0.002  # seconds a mirror waits before it is sent

REDACTED = "[redacted]"
SECRET_HEADERS = frozenset(
    {"authorization", "cookie", "set-cookie", "proxy-authorization", "x-api-key"}
)
PERSONAL_FIELDS = frozenset(
    {
        "email",
        "password",
        "name",
        "full_name",
        "first_name",
        "last_name",
        "phone",
        "address",
        "street",
        "city",
        "postal_code",
        "card_number",
        "cvc",
        "cvv",
        "iban",
        "token",
        "access_token",
        "refresh_token",
        "secret",
    }
)


@dataclass(slots=True)
class Mirror:
    route: str
    candidate: str  # upstream name
    primary_upstream: str
    method: str
    path: str
    target: bytes  # path and query, as sent
    headers: list[tuple[bytes, bytes]]  # as sent to the primary (marker added by the sender)
    body: bytes
    primary: Response
    spec: ShadowSpec
    request_id: str
    link: ShadowLink | None = None
    enqueued: float = field(default_factory=time.monotonic)

    @property
    def dry_run(self) -> bool:
        return self.method not in SAFE_METHODS


# send(mirror, upstream_name) -> the answer; raises on failure (TimeoutError for a timeout)
Sender = Callable[[Mirror, str], Awaitable[Response]]


def skip_reason(spec: ShadowSpec, method: str, rand: Callable[[], float] = random.random) -> str:
    """ "" when the request is to be mirrored, else the metric outcome that says why not."""
    if method not in SAFE_METHODS and spec.writes is not ShadowWrites.DRY_RUN:
        return "skipped_method"
    if spec.sample < 1.0 and rand() >= spec.sample:
        return "skipped_sample"
    return ""


def redact_target(target: str) -> str:
    path, sep, query = target.partition("?")
    if not sep:
        return path
    pairs = [
        (k, REDACTED if k.lower() in PERSONAL_FIELDS else v)
        for k, v in parse_qsl(query, keep_blank_values=True)
    ]
    return path + "?" + urlencode(pairs, safe="[]")


def redact_value(value: Any, key: str = "") -> Any:
    if key.lower() in PERSONAL_FIELDS and value not in (None, ""):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v, key) for v in value]
    return value


def redact_headers(headers: Any) -> dict[str, str]:
    return {k: (REDACTED if k in SECRET_HEADERS else v) for k, v in dict(headers).items()}


def _field_name(path: str) -> str:
    """The last member name of a JSON pointer (``/items/0/email`` -> ``email``)."""
    for part in reversed(path.split("/")):
        if part and not part.isdigit() and part != "*":
            return part
    return ""


def redact_difference(difference: dict[str, Any]) -> dict[str, Any]:
    name = _field_name(str(difference.get("path", "")))
    out = dict(difference)
    for side in ("primary", "candidate"):
        out[side] = redact_value(out.get(side), name)
    return out


class SampleStore:
    """The last ``limit`` mismatches, redacted, with the noise filter's counts; mirrored to a
    JSON file for the admin API (written at most once a second, when something changed)."""

    def __init__(
        self,
        limit: int = 50,
        path: Path | None = None,
        report: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.limit = limit
        self.path = path
        self.report = report
        self.samples: deque[dict[str, Any]] = deque(maxlen=limit)
        self._written = 0.0
        self._dirty = False

    def add(self, sample: dict[str, Any]) -> None:
        self.samples.append(sample)
        self._dirty = True

    def touch(self) -> None:
        self._dirty = True

    def flush(self, *, force: bool = False) -> None:
        if self.path is None or not self._dirty:
            return
        if not force and time.monotonic() - self._written < 1.0:
            return
        self._dirty = False
        self._written = time.monotonic()
        data = {
            "pid": os.getpid(),
            "report": self.report() if self.report is not None else {},
            "samples": list(self.samples),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data, default=str))
        os.replace(tmp, self.path)


class Shadow:
    def __init__(
        self,
        *,
        send: Sender,
        metrics: Metrics,
        rules: RuleBook,
        samples: SampleStore | None = None,
        maxsize: int = 1000,
        concurrency: int = 8,
        noise: NoiseFilter | None = None,
    ) -> None:
        self._send = send
        self.metrics = metrics
        self.rules = rules
        self.noise = noise or NoiseFilter()
        self.samples = samples or SampleStore()
        if self.samples.report is None:
            self.samples.report = self.noise.report
        self.queue: asyncio.Queue[Mirror] = asyncio.Queue(maxsize)
        self.concurrency = concurrency
        self._workers: list[asyncio.Task[None]] = []
        self.in_flight = 0
        self.done = 0  # mirrors finished (any outcome): tests and /admin/shadow wait on it

    def start(self) -> None:
        if not self._workers:
            self._workers = [
                asyncio.create_task(self._worker(), name=f"shadow-{i}")
                for i in range(self.concurrency)
            ]

    async def stop(self) -> None:
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers = []
        self.samples.flush(force=True)

    def offer(self, mirror: Mirror) -> bool:
        """Queue a mirror without waiting; False (and counted) when the queue is full."""
        try:
            self.queue.put_nowait(mirror)
        except asyncio.QueueFull:
            self.metrics.shadow_outcome(mirror.route, "dropped_queue_full")
            return False
        self.metrics.queue_depth(self.queue.qsize())
        return True

    async def _worker(self) -> None:
        while True:
            mirror = await self.queue.get()
            # Let the user's next request go first: at low concurrency it arrives right after
            # the answer this mirror copies, and then the proxy idles while the upstream works.
            await asyncio.sleep(DEFER)
            self.metrics.queue_depth(self.queue.qsize())
            self.in_flight += 1
            try:
                await self.run(mirror)
            except Exception as exc:
                self.metrics.shadow_outcome(mirror.route, "error")
                self._sample(mirror, "error", error=repr(exc))
            finally:
                self.in_flight -= 1
                self.done += 1
                self.samples.touch()
                self.queue.task_done()

    async def run(self, mirror: Mirror) -> str:
        """Mirror one request and record the outcome; returns it."""
        spec = mirror.spec
        secondary_task: asyncio.Future[Response] | None = None
        secondary: Response | None = None
        if mirror.method in SAFE_METHODS and spec.noise_sample > random.random():
            # Diffy's trick: ask the primary again; what differs between two primaries is noise.
            secondary_task = asyncio.ensure_future(self._send(mirror, mirror.primary_upstream))
        try:
            async with asyncio.timeout(spec.timeout):
                candidate = await self._send(mirror, mirror.candidate)
                if secondary_task is not None:
                    with contextlib.suppress(Exception):
                        secondary = await secondary_task
        except TimeoutError:
            return self._outcome(mirror, "timeout", error=f"no answer within {spec.timeout:g}s")
        except Exception as exc:
            return self._outcome(mirror, "error", error=str(exc) or repr(exc))
        finally:
            if secondary_task is not None:
                if not secondary_task.done():
                    secondary_task.cancel()
                elif not secondary_task.cancelled():
                    secondary_task.exception()  # retrieved: its failure only costs the sample
        rules = self.rules.rules_for(mirror.method, mirror.path)
        if max(len(mirror.primary.body), len(candidate.body)) > IN_LOOP_COMPARE_LIMIT:
            raw = await asyncio.to_thread(compare, mirror.primary, candidate, rules)
        else:
            raw = compare(mirror.primary, candidate, rules)
        noise = compare(mirror.primary, secondary, rules) if secondary is not None else None
        lagged = False
        if not raw.ok and mirror.method in SAFE_METHODS and spec.recheck > 0:
            later = await self._recheck(mirror, rules)
            if later is not None:
                raw, noise, lagged = later, None, True
        verdict = self.noise.observe_diffs(mirror.route, raw, noise)
        if lagged:
            outcome = "lag"
        elif verdict.matched:
            outcome = "match"
        elif verdict.ok:
            outcome = "noise"
        else:
            outcome = "mismatch"
            for name in dict.fromkeys(d.field for d in verdict.regressions):
                self.metrics.mismatch_field(mirror.route, name)
        self.metrics.shadow_outcome(mirror.route, outcome)
        if outcome == "mismatch":
            self._sample(
                mirror,
                outcome,
                candidate=candidate,
                differences=[redact_difference(d.to_dict()) for d in verdict.regressions],
                summary=verdict.summary(),
            )
        return outcome

    async def _recheck(self, mirror: Mirror, rules: Any) -> Diff | None:
        """Both sides again, ``recheck`` seconds apart, up to RECHECKS times; the first clean
        comparison (None when none is, or a side fails). During a migration the candidate
        follows the primary's events a few milliseconds behind, so a read racing a write
        differs once and agrees on a later look; a regression differs every time."""
        spec = mirror.spec
        for _ in range(RECHECKS):
            await asyncio.sleep(spec.recheck)
            try:
                async with asyncio.timeout(spec.timeout):
                    primary, candidate = await asyncio.gather(
                        self._send(mirror, mirror.primary_upstream),
                        self._send(mirror, mirror.candidate),
                    )
            except Exception:  # a failed look proves nothing: the first verdict stands
                return None
            again = compare(primary, candidate, rules)
            if again.ok:
                return again
        return None

    def _outcome(self, mirror: Mirror, outcome: str, **details: Any) -> str:
        self.metrics.shadow_outcome(mirror.route, outcome)
        self._sample(mirror, outcome, **details)
        return outcome

    def _sample(
        self, mirror: Mirror, outcome: str, candidate: Response | None = None, **details: Any
    ) -> None:
        sample: dict[str, Any] = {
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "route": mirror.route,
            "outcome": outcome,
            "request_id": mirror.request_id,
            "method": mirror.method,
            "target": redact_target(mirror.target.decode("latin-1")),
            "request_headers": redact_headers(
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in mirror.headers
            ),
            "primary": {"upstream": mirror.primary_upstream, "status": mirror.primary.status},
            "candidate": {"upstream": mirror.candidate},
        }
        if candidate is not None:
            sample["candidate"]["status"] = candidate.status
        sample.update(details)
        self.samples.add(sample)
