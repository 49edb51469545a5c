"""The route table: data (YAML or JSON) parsed once into frozen, typed records.

A table names its upstreams, a default upstream for unmatched paths, and the routes::

    upstreams:
      monolith: {url: "http://127.0.0.1:8000", health: /health/ready}
      catalog:  {url: "http://127.0.0.1:8101"}
    default: monolith
    defaults: {timeout: 30, retry: {attempts: 2}, shadow: {sample: 1.0, writes: skip}}
    routes:
      catalog:
        prefixes: [/api/catalog/]
        mode: shadow            # monolith | shadow | canary | service
        service: catalog        # the candidate / new owner
        fallback: monolith      # reads go here while the service's breaker is open

A bad table raises :class:`TableError` (a ``ValueError``) naming the line and the field; the
caller keeps the table it had.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import yaml


class TableError(ValueError):
    """The route table is not valid. The message names the source, the line and the field."""


class Mode(StrEnum):
    MONOLITH = "monolith"
    SHADOW = "shadow"
    CANARY = "canary"
    SERVICE = "service"


class ShadowWrites(StrEnum):
    SKIP = "skip"  # mirror safe methods only
    DRY_RUN = "dry-run"  # mirror writes too, marked: the candidate must roll them back


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ROUTE_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")
UPSTREAM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,60}$")
HTTP_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "TRACE"})


@dataclass(frozen=True, slots=True)
class BreakerSpec:
    failures: int = 5  # consecutive failures that open the circuit
    open_seconds: float = 5.0  # how long it stays open before probing
    probes: int = 1  # concurrent probe requests allowed while half-open
    successes: int = 2  # probe successes that close it again


@dataclass(frozen=True, slots=True)
class UpstreamSpec:
    name: str
    url: str
    scheme: str
    host: str
    port: int
    base_path: str  # prefixed to every forwarded path ("" for none)
    health: str | None = "/health/ready"
    health_interval: float = 5.0
    connect_timeout: float = 2.0
    max_connections: int = 256
    breaker: BreakerSpec = BreakerSpec()


@dataclass(frozen=True, slots=True)
class RetrySpec:
    attempts: int = 2  # tries in all, the first included; 1 disables retries
    backoff: float = 0.025  # base of the jittered exponential backoff, seconds
    backoff_max: float = 0.5
    statuses: frozenset[int] = frozenset({502, 503, 504})


@dataclass(frozen=True, slots=True)
class ShadowSpec:
    sample: float = 1.0  # fraction of eligible requests mirrored
    body_cap: int = 1 << 20  # request or answer bodies above this are not mirrored
    timeout: float = 2.0  # the candidate's own timeout (never the user's)
    writes: ShadowWrites = ShadowWrites.SKIP
    noise_sample: float = 0.0  # share of safe mirrors also re-asked of the primary (Diffy noise)
    # Seconds after which a mismatching safe request is asked of both sides again: a difference
    # gone on the second look was a follower catching up (outcome "lag"), not a regression.
    recheck: float = 0.0


@dataclass(frozen=True, slots=True)
class Route:
    key: str
    mode: Mode
    monolith: str  # upstream name of the monolith side
    service: str | None = None  # upstream name of the new service
    percent: float = 0.0  # canary share, 0..100
    prefixes: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    methods: frozenset[str] | None = None  # None: every method
    fallback: str | None = None
    timeout: float = 30.0
    retry: RetrySpec = RetrySpec()
    shadow: ShadowSpec = ShadowSpec()
    line: int | None = None  # where it was declared

    def state(self) -> dict[str, Any]:
        """The part a route change moves: recorded as ``from`` and ``to`` in the history."""
        out: dict[str, Any] = {"mode": self.mode.value}
        if self.mode is Mode.CANARY:
            out["percent"] = self.percent
        return out


@dataclass(frozen=True, slots=True)
class RouteTable:
    upstreams: Mapping[str, UpstreamSpec]
    routes: tuple[Route, ...]
    default: Route
    source: Mapping[str, Any] = field(repr=False)  # the data it was parsed from (normalised)
    generation: int = 0

    def route(self, key: str) -> Route:
        if key == "default":
            return self.default
        for route in self.routes:
            if route.key == key:
                return route
        known = ", ".join(r.key for r in self.routes) or "none"
        raise KeyError(f"no route {key!r} (routes: {known})")

    def to_data(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self.source))

    def with_generation(self, generation: int) -> RouteTable:
        return replace(self, generation=generation)

    def with_mode(self, key: str, mode: str, percent: float | None = None) -> RouteTable:
        """A new table (same generation, the store numbers it) with one route's mode changed."""
        self.route(key)  # KeyError for unknown routes
        if key == "default":
            raise TableError("the default route always goes to its upstream; it has no mode")
        data = self.to_data()
        entry = data["routes"][key]
        entry["mode"] = mode
        if percent is not None:
            entry["percent"] = percent
        elif mode != Mode.CANARY.value:
            entry.pop("percent", None)
        return parse_data(data, source="change", upstream_urls=None)

    def same_routes(self, other: RouteTable) -> bool:
        return _canonical(self.source) == _canonical(other.source)


def _canonical(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, default=str)


# --- parsing (tableparse.py does the work) ------------------------------------------------------


def load_text(text: str, *, source: str = "routes") -> Any:
    """YAML (JSON is YAML) into plain data whose mappings remember their lines."""
    from .tableparse import load_text as load

    return load(text, source=source)


def parse_data(
    data: Any, *, source: str = "routes", upstream_urls: Mapping[str, str] | None = None
) -> RouteTable:
    """Validate ``data`` into a :class:`RouteTable`; ``upstream_urls`` override table URLs.
    A bad table raises :class:`TableError` naming the line and the field."""
    from .tableparse import parse_data as parse

    return parse(data, source=source, upstream_urls=upstream_urls)


def parse_text(
    text: str, *, source: str = "routes", upstream_urls: Mapping[str, str] | None = None
) -> RouteTable:
    return parse_data(load_text(text, source=source), source=source, upstream_urls=upstream_urls)


def dump_text(table: RouteTable, header: str = "") -> str:
    body = yaml.safe_dump(plain_data(table.to_data()), sort_keys=False, default_flow_style=False)
    return header + body


def plain_data(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): plain_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_data(v) for v in value]
    return value


CONTEXT_PREFIXES: dict[str, list[str]] = {
    "users": ["/api/users/", "/.well-known/jwks.json"],
    "catalog": ["/api/catalog/"],
    "cart": ["/api/cart"],
    "orders": ["/api/orders"],
    "payments": ["/api/payments"],
    "notifications": ["/api/notifications"],
}


def kit_default_data(
    monolith_url: str, services: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The kit's six contexts, every one in ``monolith`` mode; ``services`` name their URLs."""
    services = dict(services or {})
    upstreams: dict[str, Any] = {"monolith": {"url": monolith_url, "health": "/health/ready"}}
    routes: dict[str, Any] = {}
    for key, prefixes in CONTEXT_PREFIXES.items():
        route: dict[str, Any] = {"prefixes": list(prefixes), "mode": "monolith"}
        if key in services:
            upstreams[key] = {"url": services[key], "health": "/health/ready"}
            route["service"] = key
            route["fallback"] = "monolith"
        routes[key] = route
    return {
        "version": 1,
        "upstreams": upstreams,
        "default": "monolith",
        # recheck: during a migration the candidate follows the monolith's events a few ms
        # behind; a read that raced a write is asked again before it counts as a mismatch.
        "defaults": {
            "timeout": 30,
            "retry": {"attempts": 2},
            "shadow": {"writes": "skip", "recheck": 0.25},
        },
        "routes": routes,
    }
