"""Prometheus metrics of the data plane, exposed on the admin port's ``/metrics``.

The hot path only adds to plain dictionaries (about a microsecond a request; prometheus_client's
multiprocess mode costs ~16 µs, a tenth of the proxy's whole budget). Each worker writes a JSON
snapshot to ``<var_dir>/metrics/<pid>.json`` every half second; the admin server's collector
adds the workers' snapshots up (counters and histograms of exited workers still count, their
gauges do not). In-process (tests), the same collector reads the live dictionaries.

    strangler_requests_total{route,upstream,mode,status}
    strangler_request_duration_seconds{route,upstream,mode}          (histogram)
    strangler_shadow_total{route,outcome}
    strangler_shadow_mismatch_fields_total{route,field}
    strangler_shadow_queue_depth, strangler_breaker_state{upstream},
    strangler_breaker_transitions_total{upstream,state}, strangler_route_table_generation,
    strangler_retries_total{upstream,reason}, strangler_fallbacks_total{route,upstream},
    strangler_proxy_errors_total{route,code}
"""

from __future__ import annotations

import json
import os
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST

COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "strangler_requests": (
        "Requests answered, by route, upstream, mode and status",
        ("route", "upstream", "mode", "status"),
    ),
    "strangler_shadow": (
        "Mirrored requests by outcome (match, mismatch, noise, error, timeout, "
        "dropped_queue_full, skipped_body_cap, skipped_method, skipped_sample)",
        ("route", "outcome"),
    ),
    "strangler_shadow_mismatch_fields": (
        "Fields that differed between the primary's and the candidate's answers",
        ("route", "field"),
    ),
    "strangler_breaker_transitions": ("Circuit breaker state changes", ("upstream", "state")),
    "strangler_retries": ("Upstream calls tried again", ("upstream", "reason")),
    "strangler_fallbacks": (
        "Requests answered by a route's fallback upstream",
        ("route", "upstream"),
    ),
    "strangler_proxy_errors": (
        "Answers the proxy made itself (502/503/504), by route and code",
        ("route", "code"),
    ),
}
HISTOGRAM = "strangler_request_duration_seconds"
HISTOGRAM_HELP = "User-facing latency: from the request's arrival to the answer's last byte"
HISTOGRAM_LABELS = ("route", "upstream", "mode")
GAUGES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "strangler_shadow_queue_depth": ("Mirrored requests waiting", (), "sum"),
    "strangler_breaker_state": (
        "Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open (worst worker)",
        ("upstream",),
        "max",
    ),
    "strangler_route_table_generation": (
        "Route table generation in force (the oldest among live workers)",
        (),
        "min",
    ),
}


class Metrics:
    """One process's metrics, as plain dictionaries keyed by label values."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.counters: dict[str, dict[tuple[str, ...], float]] = {name: {} for name in COUNTERS}
        self.histogram: dict[tuple[str, ...], list[float]] = {}  # buckets..., +Inf, sum
        self.gauges: dict[str, dict[tuple[str, ...], float]] = {name: {} for name in GAUGES}
        self._requests = self.counters["strangler_requests"]
        self._status: dict[int, str] = {}
        self.changes = 0  # bumped by every update: snapshots are written only when it moved
        self._written = -1
        self.registry = registry if registry is not None else CollectorRegistry()
        self.registry.register(SnapshotCollector(lambda: [self.snapshot()]))

    # --- the hot path -------------------------------------------------------------------------

    def request(self, route: str, upstream: str, mode: str, status: int, seconds: float) -> None:
        status_text = self._status.get(status)
        if status_text is None:
            status_text = self._status[status] = str(status)
        self.changes += 1
        key = (route, upstream, mode, status_text)
        requests = self._requests
        requests[key] = requests.get(key, 0) + 1
        hkey = (route, upstream, mode)
        row = self.histogram.get(hkey)
        if row is None:
            row = self.histogram[hkey] = [0.0] * (len(BUCKETS) + 2)
        row[bisect_left(BUCKETS, seconds)] += 1
        row[-1] += seconds

    def count(self, name: str, *labels: str, value: float = 1.0) -> None:
        self.changes += 1
        series = self.counters[name]
        series[labels] = series.get(labels, 0) + value

    # --- named helpers ------------------------------------------------------------------------

    def shadow_outcome(self, route: str, outcome: str) -> None:
        self.count("strangler_shadow", route, outcome)

    def mismatch_field(self, route: str, field: str) -> None:
        self.count("strangler_shadow_mismatch_fields", route, field)

    def retry(self, upstream: str, reason: str) -> None:
        self.count("strangler_retries", upstream, reason)

    def fallback(self, route: str, upstream: str) -> None:
        self.count("strangler_fallbacks", route, upstream)

    def error(self, route: str, code: str) -> None:
        self.count("strangler_proxy_errors", route, code)

    def breaker_state(self, upstream: str, state: int, name: str | None = None) -> None:
        self.changes += 1
        self.gauges["strangler_breaker_state"][(upstream,)] = state
        if name is not None:
            self.count("strangler_breaker_transitions", upstream, name)

    def queue_depth(self, depth: int) -> None:
        self.changes += 1
        self.gauges["strangler_shadow_queue_depth"][()] = depth

    def generation(self, generation: int) -> None:
        self.changes += 1
        self.gauges["strangler_route_table_generation"][()] = generation

    # --- snapshots ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "counters": {n: [[*k, v] for k, v in s.items()] for n, s in self.counters.items()},
            "histogram": [[*k, *row] for k, row in self.histogram.items()],
            "gauges": {n: [[*k, v] for k, v in s.items()] for n, s in self.gauges.items()},
        }

    def write_snapshot(self, directory: Path, *, force: bool = False) -> None:
        if self.changes == self._written and not force:
            return
        self._written = self.changes
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{os.getpid()}.json"
        tmp = directory / f".{os.getpid()}.json.tmp"
        tmp.write_text(json.dumps(self.snapshot()))
        os.replace(tmp, path)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SnapshotCollector(Collector):
    """Adds up snapshots (one per worker) into Prometheus metric families."""

    def __init__(self, snapshots: Callable[[], Iterable[dict[str, Any]]]) -> None:
        self._snapshots = snapshots

    def collect(self) -> Iterator[Metric]:
        snapshots = list(self._snapshots())
        own = os.getpid()
        live = [s for s in snapshots if s.get("pid") == own or pid_alive(int(s.get("pid", 0)))]
        for name, (text, labels) in COUNTERS.items():
            family = CounterMetricFamily(name, text, labels=list(labels))
            totals: dict[tuple[str, ...], float] = {}
            for snap in snapshots:
                for *key, value in snap["counters"].get(name, []):
                    totals[tuple(key)] = totals.get(tuple(key), 0) + value
            for key, value in sorted(totals.items()):
                family.add_metric(list(key), value)
            yield family
        yield self._histogram(snapshots)
        for name, (text, labels, how) in GAUGES.items():
            gauge = GaugeMetricFamily(name, text, labels=list(labels))
            values: dict[tuple[str, ...], list[float]] = {}
            for snap in live:
                for *key, value in snap["gauges"].get(name, []):
                    values.setdefault(tuple(key), []).append(value)
            for key, seen in sorted(values.items()):
                total = sum(seen) if how == "sum" else max(seen) if how == "max" else min(seen)
                gauge.add_metric(list(key), total)
            yield gauge

    @staticmethod
    def _histogram(snapshots: list[dict[str, Any]]) -> Metric:
        family = HistogramMetricFamily(HISTOGRAM, HISTOGRAM_HELP, labels=list(HISTOGRAM_LABELS))
        width = len(HISTOGRAM_LABELS)
        rows: dict[tuple[str, ...], list[float]] = {}
        for snap in snapshots:
            for entry in snap["histogram"]:
                key, values = tuple(entry[:width]), entry[width:]
                row = rows.setdefault(key, [0.0] * len(values))
                for i, value in enumerate(values):
                    row[i] += value
        for key, row in sorted(rows.items()):
            cumulative, buckets = 0.0, []
            for bound, count in zip([*map(str, BUCKETS), "+Inf"], row[:-1], strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            family.add_metric(list(key), buckets, row[-1])
        return family


def render_snapshots(directory: Path) -> bytes:
    """Every worker's snapshot in ``directory``, added up (the supervisor's ``/metrics``)."""

    def load() -> Iterator[dict[str, Any]]:
        for path in sorted(directory.glob("*.json")):
            try:
                yield json.loads(path.read_text())
            except (OSError, ValueError):
                continue

    registry = CollectorRegistry()
    registry.register(SnapshotCollector(load))
    return generate_latest(registry)
