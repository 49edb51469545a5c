"""resolve(method, path) is pure; canary decisions are sticky per user."""

from __future__ import annotations

import base64
import json

import pytest
from proxy_fixtures import make_table, table_data

from strangler_proxy.routing import (
    Router,
    bucket,
    cookie_value,
    decide,
    in_canary,
    resolve,
    subject_of,
)
from strangler_proxy.table import parse_data


@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        ("GET", "/api/users/me", "users"),
        ("POST", "/api/users/login", "users"),
        ("GET", "/.well-known/jwks.json", "users"),
        ("GET", "/.well-known/jwks.json/x", "users"),
        ("GET", "/api/catalog/products", "catalog"),
        ("GET", "/api/catalog/", "catalog"),
        ("GET", "/api/cart", "cart"),
        ("POST", "/api/cart/items", "cart"),
        ("GET", "/api/cartography", "default"),  # a prefix matches on a segment boundary
        ("GET", "/api/catalog", "default"),  # "/api/catalog/" needs its slash
        ("GET", "/health/live", "default"),
        ("GET", "/", "default"),
    ],
)
def test_resolve_picks_the_route_by_prefix(method: str, path: str, route: str) -> None:
    router = Router(make_table())

    assert router.resolve(method, path).key == route


def test_the_longest_prefix_wins_and_method_routes_come_first() -> None:
    data = table_data(
        search={"prefixes": ["/api/catalog/search"]},
        catalog_writes={"prefixes": ["/api/catalog/"], "methods": ["POST", "PUT"]},
    )
    router = Router(parse_data(data))

    assert router.resolve("GET", "/api/catalog/search/shoes").key == "search"
    assert router.resolve("GET", "/api/catalog/products").key == "catalog"
    assert router.resolve("POST", "/api/catalog/products").key == "catalog_writes"


def test_patterns_are_tried_first() -> None:
    data = table_data(stock={"pattern": r"^/api/catalog/stock/[A-Z0-9-]+$", "methods": ["GET"]})
    router = Router(parse_data(data))

    assert router.resolve("GET", "/api/catalog/stock/SKU-1").key == "stock"
    assert router.resolve("POST", "/api/catalog/stock/SKU-1").key == "catalog"
    assert router.resolve("GET", "/api/catalog/stock/sku-1").key == "catalog"


def test_resolve_is_pure() -> None:
    table = make_table()

    first = [resolve(table, "GET", p).key for p in ("/api/cart", "/x", "/api/users/me")]
    second = [resolve(table, "GET", p).key for p in ("/api/cart", "/x", "/api/users/me")]

    assert first == second == ["cart", "default", "users"]


def _route(mode: str, **fields: object):  # type: ignore[no-untyped-def]
    return make_table(table_data(catalog={"mode": mode, **fields})).route("catalog")


def test_modes_choose_the_upstreams() -> None:
    assert decide(_route("monolith"), "GET", None, None).primary == "monolith"
    shadow = decide(_route("shadow"), "GET", None, None)
    assert (shadow.primary, shadow.shadow) == ("monolith", "catalog")
    service = decide(_route("service"), "GET", None, None)
    assert (service.primary, service.fallback) == ("catalog", "monolith")
    # writes never fall back: the service owns the data once the route is flipped
    assert decide(_route("service"), "POST", None, None).fallback is None


def test_canary_is_sticky_per_user_and_splits_by_percent() -> None:
    route = _route("canary", percent=30)

    served = {
        str(user): decide(route, "GET", str(user), None).served_by_service for user in range(2000)
    }
    again = {
        str(user): decide(route, "GET", str(user), None).served_by_service for user in range(2000)
    }

    assert served == again
    share = sum(served.values()) / len(served)
    assert 0.26 < share < 0.34


def test_raising_the_canary_percent_keeps_everyone_who_was_in() -> None:
    users = [f"user:{n}" for n in range(3000)]

    at_10 = {u for u in users if in_canary(10, u)}
    at_50 = {u for u in users if in_canary(50, u)}

    assert at_10 <= at_50
    assert len(at_10) < len(at_50)
    assert not any(in_canary(0, u) for u in users)
    assert all(in_canary(100, u) for u in users)


def test_anonymous_callers_get_a_cookie_and_keep_their_side() -> None:
    route = _route("canary", percent=50)

    first = decide(route, "GET", None, None)
    assert first.new_cookie is not None
    later = [decide(route, "GET", None, first.new_cookie) for _ in range(5)]

    assert {d.primary for d in later} == {first.primary}
    assert all(d.new_cookie is None for d in later)


def _jwt(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


def test_the_canary_subject_comes_from_the_bearer_token() -> None:
    assert subject_of(f"Bearer {_jwt({'sub': '42', 'typ': 'access'})}") == "42"
    assert subject_of(f"bearer {_jwt({'sub': 7})}") == "7"
    assert subject_of(f"Bearer {_jwt({'typ': 'access'})}") is None
    assert subject_of("Bearer not-a-jwt") is None
    assert subject_of("Basic dXNlcjpwdw==") is None
    assert subject_of("Bearer a.!!!.c") is None


def test_cookie_value_and_bucket() -> None:
    assert cookie_value("a=1; strangler_canary=abc; b=2", "strangler_canary") == "abc"
    assert cookie_value("a=1", "strangler_canary") is None
    assert bucket("user:1") == bucket("user:1")
    assert 0 <= bucket("anything") < 10_000
