"""Which route a request takes, and where a route sends it. Pure: no I/O, no clock.

``Router(table).resolve(method, path)`` picks the route: patterns first (in the order they are
declared), then the longest matching path prefix (a prefix matches on a segment boundary:
``/api/cart`` takes ``/api/cart`` and ``/api/cart/items``, not ``/api/cartography``), method-
restricted routes before catch-all ones on the same prefix, else the table's default route.

``decide(route, method, subject, cookie)`` turns the route's mode into upstreams:

    monolith  primary = monolith
    shadow    primary = monolith, mirror to the service
    canary    primary = service for ``percent`` % of users, sticky: the bucket is a hash of the
              JWT subject, or of a random cookie handed to anonymous callers
    service   primary = service (fallback: the route's fallback, for safe methods)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass
from functools import lru_cache

from .table import SAFE_METHODS, Mode, Route, RouteTable

BUCKETS = 10_000  # canary resolution: 0.01 %


class Router:
    """The table's routes, ordered for matching. Built once per table generation."""

    __slots__ = ("_decisions", "_default", "_patterns", "_prefixes", "table")

    def __init__(self, table: RouteTable) -> None:
        self.table = table
        self._default = table.default
        self._patterns = [r for r in table.routes if r.pattern is not None]
        entries: list[tuple[str, str, Route]] = []
        for route in table.routes:
            for prefix in route.prefixes:
                entries.append((prefix, prefix if prefix.endswith("/") else prefix + "/", route))
        entries.sort(key=lambda e: (-len(e[0]), e[2].methods is None))
        self._prefixes = entries
        self._decisions: dict[tuple[str, bool], Decision] = {}

    def resolve(self, method: str, path: str) -> Route:
        for route in self._patterns:
            if (
                route.pattern is not None
                and route.pattern.match(path)
                and (route.methods is None or method in route.methods)
            ):
                return route
        for prefix, directory, route in self._prefixes:
            if (path == prefix or path.startswith(directory)) and (
                route.methods is None or method in route.methods
            ):
                return route
        return self._default

    def decide(
        self, route: Route, method: str, subject: str | None, cookie: str | None
    ) -> Decision:
        """:func:`decide`, with the answers of modes that do not depend on the caller kept."""
        if route.mode is Mode.CANARY:
            return decide(route, method, subject, cookie)
        key = (route.key, method in SAFE_METHODS)
        decision = self._decisions.get(key)
        if decision is None:
            decision = self._decisions[key] = decide(route, method, None, None)
        return decision


def resolve(table: RouteTable, method: str, path: str) -> Route:
    """One-off resolution (tests, the CLI); the proxy keeps a :class:`Router` per table."""
    return Router(table).resolve(method, path)


@dataclass(frozen=True, slots=True)
class Decision:
    route: Route
    primary: str  # upstream that answers the user
    shadow: str | None = None  # upstream the request is mirrored to
    fallback: str | None = None  # upstream to try when the primary is unavailable
    new_cookie: str | None = None  # canary id to hand to an anonymous caller

    @property
    def served_by_service(self) -> bool:
        return self.primary != self.route.monolith


def bucket(identity: str) -> int:
    """A stable bucket in [0, BUCKETS) for a user id or a canary cookie."""
    digest = hashlib.blake2b(identity.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def in_canary(percent: float, identity: str) -> bool:
    """Raising the percent only adds users: whoever was in stays in."""
    return bucket(identity) < percent * (BUCKETS // 100)


def new_canary_id() -> str:
    return secrets.token_hex(12)


def decide(route: Route, method: str, subject: str | None, cookie: str | None) -> Decision:
    mode = route.mode
    if mode is Mode.MONOLITH or route.service is None:
        return Decision(route, route.monolith)
    if mode is Mode.SHADOW:
        return Decision(route, route.monolith, shadow=route.service)
    fallback = route.fallback if method in SAFE_METHODS else None
    if mode is Mode.SERVICE:
        return Decision(route, route.service, fallback=fallback)
    new_cookie = None
    identity = f"user:{subject}" if subject else None
    if identity is None:
        if not cookie:
            cookie = new_cookie = new_canary_id()
        identity = f"anon:{cookie}"
    if in_canary(route.percent, identity):
        return Decision(route, route.service, fallback=fallback, new_cookie=new_cookie)
    return Decision(route, route.monolith, new_cookie=new_cookie)


@lru_cache(maxsize=4096)
def subject_of(authorization: str) -> str | None:
    """The ``sub`` claim of a Bearer JWT, unverified: it only picks a canary bucket (every
    service verifies the token itself), so a forged token can only choose its own bucket."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    parts = token.strip().split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, binascii.Error):
        return None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    return str(sub) if sub not in (None, "") else None


def cookie_value(cookie_header: str, name: str) -> str | None:
    for part in cookie_header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None
