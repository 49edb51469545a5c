"""Rules as data: parsed once, matched by route, refused with a message naming the entry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from strangler_proxy.diff import (
    PathPattern,
    Response,
    RouteRules,
    RuleBook,
    RuleError,
    compare,
    default_rulebook,
)

JSON = {"content-type": "application/json"}


def answer(body: Any, status: int = 200) -> Response:
    return Response(status, JSON, json.dumps(body).encode())


# --- path patterns ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "tokens", "expected"),
    [
        ("/id", ("id",), True),
        ("/id", ("results", 0, "id"), False),
        ("/results/*/id", ("results", 3, "id"), True),
        ("/results/*/id", ("results", "x", "id"), True),
        ("/results/*/id", ("results", 3, "variants", 0, "id"), False),
        ("**/created_at", ("created_at",), True),
        ("**/created_at", ("results", 0, "variants", 1, "created_at"), True),
        ("**/created_at", ("results", 0, "updated_at"), False),
        ("/results/**", ("results", 0, "a"), True),
        ("/results/**/sku", ("results", "sku"), True),
        ("/*_at", ("created_at",), True),
        ("/*_at", ("name",), False),
        ("/results/0/id", ("results", 0, "id"), True),
        ("/a~1b/c~0d", ("a/b", "c~d"), True),
        ("", (), True),
    ],
)
def test_path_patterns(pattern: str, tokens: tuple[str | int, ...], expected: bool) -> None:
    assert PathPattern.parse(pattern).matches(tokens) is expected


def test_a_path_must_look_like_a_pointer() -> None:
    with pytest.raises(ValueError, match="start it with '/'"):
        PathPattern.parse("id")


# --- bad specs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"routes": [{"path": "/a", "ignores": ["/id"]}]},
            r"routes\[0\] '\* /a': unknown field ignores",
        ),
        (
            {
                "routes": [
                    {"path": "/a"},
                    {"name": "orders", "path": "/b", "tolerate": {"timestamp": "soon"}},
                ]
            },
            r"routes\[1\] 'orders': tolerate.timestamp: must be a number of seconds >= 0, not 'soon'",
        ),
        (
            {"routes": [{"name": "x", "path": "/a", "tolerate": {"decimal": 2.5}}]},
            r"routes\[0\] 'x': tolerate.decimal: must be a scale",
        ),
        (
            {"routes": [{"name": "x", "path": "/a", "tolerate": {"fuzzy": True}}]},
            r"routes\[0\] 'x': tolerate.fuzzy: unknown tolerance",
        ),
        (
            {"routes": [{"name": "x", "path": "/a", "tolerate": {"uuid": "yes"}}]},
            r"routes\[0\] 'x': tolerate.uuid: must be true or false, not 'yes'",
        ),
        (
            {"routes": [{"name": "x", "path": "/a", "ignore": ["id"]}]},
            r"routes\[0\] 'x': ignore\[0\]: 'id' is not a path",
        ),
        (
            {"routes": [{"name": "x", "path": "/a", "ignore": "/id", "unordered": {"/r": 3}}]},
            r"routes\[0\] 'x': unordered./r: the key must be a field name",
        ),
        (
            {"routes": [{"name": "x", "path": "/a", "unordered": [["/r"]]}]},
            r"routes\[0\] 'x': unordered\[0\]: must be a path or \{path: key\}",
        ),
        (
            {"routes": [{"name": "x", "path": "/a", "status_equivalent": [[200]]}]},
            r"routes\[0\] 'x': status_equivalent\[0\]: must be a list of at least two",
        ),
        (
            {"routes": [{"name": "x", "path": "/a", "status_equivalent": [[200, 999]]}]},
            r"routes\[0\] 'x': status_equivalent\[0\]: 999 is not an HTTP status",
        ),
        (
            {"routes": [{"name": "x", "path": "/a", "headers": ["content-type", "Date"]}]},
            r"routes\[0\] 'x': headers: date differ on every answer",
        ),
        (
            {"routes": [{"name": "x"}]},
            r"routes\[0\] 'x': path: give exactly one of 'path' or 'prefix'",
        ),
        (
            {"routes": [{"name": "x", "path": "/a", "prefix": "/a"}]},
            r"routes\[0\] 'x': path: give exactly one",
        ),
        (
            {"routes": [{"name": "x", "path": "a"}]},
            r"routes\[0\] 'x': path: 'a' must start with '/'",
        ),
        (
            {"routes": [{"name": "x", "path": "/a/**/b"}]},
            r"routes\[0\] 'x': path: '\*\*' may only end a path",
        ),
        (
            {"routes": [{"name": "x", "path": "/a/{bad"}]},
            r"routes\[0\] 'x': path: '\{bad' is not a \{param\} segment",
        ),
        (
            {"routes": [{"name": "x", "path": "/a", "method": "G E T"}]},
            r"routes\[0\] 'x': method: 'G E T' is not an HTTP method",
        ),
        (
            {"routes": [{"name": "", "path": "/a"}]},
            r"routes\[0\]: name: must be a non-empty string",
        ),
        ({"routes": ["/a"]}, r"routes\[0\]: must be a mapping"),
        ({"routes": {"path": "/a"}}, r"routes: must be a list"),
        ({"defaults": {"tolerate": {"timestamp": -1}}}, r"defaults: tolerate.timestamp"),
        ({"default": {}}, r"rules: unknown field default"),
        ([1, 2], r"rules: the document must be a mapping"),
    ],
)
def test_bad_rules_raise_value_error_naming_entry_and_field(document: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RuleBook.parse(document)


def test_rule_error_is_a_value_error() -> None:
    assert issubclass(RuleError, ValueError)


def test_a_bad_file_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "routes:\n  - name: me\n    path: /api/users/me\n    tolerate: {timestamp: x}\n"
    )
    with pytest.raises(ValueError, match=r"rules.yaml: routes\[0\] 'me': tolerate.timestamp"):
        RuleBook.load(path)
    path.write_text("routes: [\n")
    with pytest.raises(ValueError, match="rules: not YAML"):
        RuleBook.load(path)


# --- matching --------------------------------------------------------------------------------


BOOK = RuleBook.parse(
    {
        "defaults": {"tolerate": {"uuid": True}, "ignore": ["/request_id"]},
        "routes": [
            {"name": "me", "method": "GET", "path": "/api/users/me", "ignore": ["/id"]},
            {
                "name": "product",
                "path": "/api/catalog/products/{slug}",
                "unordered": {"/variants": "sku"},
            },
            {"name": "products", "method": ["GET", "head"], "path": "/api/catalog/products"},
            {"name": "first-cart", "prefix": "/api/cart", "headers": ["content-type", "etag"]},
            {"name": "second-cart", "prefix": "/api/cart"},
            {"name": "bare", "path": "/bare", "inherit": False},
            {"path": "/files/**", "method": "*"},
        ],
    }
)


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("GET", "/api/users/me", "me"),
        ("get", "/api/users/me?x=1", "me"),
        ("PATCH", "/api/users/me", "default"),
        ("GET", "/api/catalog/products/lamp", "product"),
        ("GET", "/api/catalog/products/lamp/extra", "default"),
        ("GET", "/api/catalog/products", "products"),
        ("HEAD", "/api/catalog/products", "products"),
        ("POST", "/api/catalog/products", "default"),
        ("GET", "/api/cart", "first-cart"),
        ("POST", "/api/cart/items", "first-cart"),
        ("GET", "/api/cartoon", "default"),
        ("GET", "/files", "* /files/**"),
        ("DELETE", "/files/a/b", "* /files/**"),
    ],
)
def test_first_matching_route_wins(method: str, path: str, name: str) -> None:
    assert BOOK.rules_for(method, path).name == name


def test_route_rules_extend_the_defaults() -> None:
    me = BOOK.rules_for("GET", "/api/users/me")
    assert [p.text for p in me.ignore] == ["/request_id", "/id"]
    assert me.tolerate.uuid is True
    assert BOOK.rules_for("GET", "/api/cart").headers == ("content-type", "etag")
    assert BOOK.rules_for("GET", "/api/users/me").headers == ("content-type",)


def test_inherit_false_starts_from_the_built_in_rules() -> None:
    bare = BOOK.rules_for("GET", "/bare")
    assert bare.ignore == ()
    assert bare.tolerate.uuid is False


def test_route_tolerances_update_the_defaults_one_by_one() -> None:
    book = RuleBook.parse(
        {
            "defaults": {"tolerate": {"uuid": True, "timestamp": 5}},
            "routes": [{"name": "slow", "path": "/slow", "tolerate": {"timestamp": 60}}],
        }
    )
    slow = book.rules_for("GET", "/slow").tolerate
    assert (slow.uuid, slow.timestamp) == (True, 60.0)
    assert book.rules_for("GET", "/x").tolerate.timestamp == 5.0


def test_rules_apply_to_the_route_they_are_for() -> None:
    primary = answer({"id": 1, "name": "Ada"})
    candidate = answer({"id": 2, "name": "Ada"})
    assert compare(primary, candidate, BOOK.rules_for("GET", "/api/users/me")).ok
    diff = compare(primary, candidate, BOOK.rules_for("GET", "/api/users/other"))
    assert [(d.path, d.kind) for d in diff.differences] == [("/id", "changed")]
    assert diff.route == "default"


def test_json_documents_load_too(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"routes": [{"name": "a", "path": "/a", "ignore": ["/x"]}]}))
    assert RuleBook.load(path).rules_for("GET", "/a").name == "a"


def test_tolerate_accepts_a_list_of_switches() -> None:
    rules = RouteRules.parse({"tolerate": ["uuid", "url_path"]})
    assert (rules.tolerate.uuid, rules.tolerate.url_path) == (True, True)


def test_rules_round_trip_to_data() -> None:
    rules = BOOK.rules_for("GET", "/api/catalog/products/lamp")
    assert rules.to_dict() == {
        "name": "product",
        "ignore": ["/request_id"],
        "unordered": [{"/variants": "sku"}],
        "tolerate": {"uuid": True},
        "status_equivalent": [],
        "headers": ["content-type"],
    }


# --- the shop's default rules ------------------------------------------------------------------


def test_default_rules_are_parsed_once() -> None:
    assert default_rulebook() is default_rulebook()


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("GET", "/api/users/me", "users.me"),
        ("POST", "/api/users/login", "users.tokens"),
        ("GET", "/.well-known/jwks.json", "jwks"),
        ("GET", "/api/catalog/categories", "catalog.categories"),
        ("GET", "/api/catalog/products", "catalog.products"),
        ("GET", "/api/catalog/products/seed-000001", "catalog.product"),
        ("GET", "/api/catalog/skus/SEED-000001-1", "catalog.sku"),
        ("GET", "/api/catalog/skus/SEED-000001-1/stock", "catalog.stock"),
        ("POST", "/api/cart/items", "cart"),
        ("POST", "/api/orders/checkout", "orders.checkout"),
        ("GET", "/api/orders", "orders.list"),
        ("GET", "/api/orders/3f1c2a9e-5b7d-4c1e-9a2b-1234567890ab", "orders.order"),
        ("GET", "/api/payments", "payments.list"),
        ("GET", "/api/notifications", "notifications"),
        ("GET", "/health/ready", "health"),
        ("GET", "/nowhere", "default"),
    ],
)
def test_default_rules_name_every_route_of_the_shop(method: str, path: str, name: str) -> None:
    assert default_rulebook().rules_for(method, path).name == name


def test_default_rules_accept_what_differs_legitimately_between_two_systems() -> None:
    book = default_rulebook()
    me = book.rules_for("GET", "/api/users/me")
    primary = answer(
        {
            "id": 7,
            "email": "a@x.test",
            "name": "C",
            "phone": "",
            "is_staff": False,
            "date_joined": "2024-05-01T10:00:00Z",
        }
    )
    candidate = answer(
        {
            "id": 9,
            "email": "b@x.test",
            "name": "C",
            "phone": "",
            "is_staff": False,
            "date_joined": "2024-05-01T10:03:00Z",
        }
    )
    assert compare(primary, candidate, me).ok
    orders = book.rules_for("GET", "/api/orders")
    page_p = answer(
        {
            "count": 30,
            "next": "http://127.0.0.1:8001/api/orders?page=2",
            "previous": None,
            "results": [
                {
                    "id": "3f1c2a9e-5b7d-4c1e-9a2b-1234567890ab",
                    "total": "39.98",
                    "created_at": "2024-05-01T10:00:00.120000Z",
                    "lines": [{"sku": "A"}, {"sku": "B"}],
                }
            ],
        }
    )
    page_c = answer(
        {
            "count": 30,
            "next": "http://127.0.0.1:9002/api/orders?page=2",
            "previous": None,
            "results": [
                {
                    "id": "7d3e1b2c-0a9f-4e8d-b7c6-abcdefabcdef",
                    "total": "39.98",
                    "created_at": "2024-05-01T10:00:01.020000Z",
                    "lines": [{"sku": "B"}, {"sku": "A"}],
                }
            ],
        }
    )
    assert compare(page_p, page_c, orders).ok


def test_default_rules_still_catch_what_matters() -> None:
    book = default_rulebook()
    orders = book.rules_for("GET", "/api/orders/3f1c2a9e-5b7d-4c1e-9a2b-1234567890ab")
    diff = compare(
        answer({"total": "39.98", "status": "paid"}),
        answer({"total": "39.99", "status": "paid"}),
        orders,
    )
    assert [(d.path, d.kind) for d in diff.differences] == [("/total", "changed")]
    products = book.rules_for("GET", "/api/catalog/products")
    diff = compare(
        answer(
            {
                "next": "http://a:1/api/catalog/products?page=2",
                "results": [{"slug": "a", "price_from": "1.00"}],
            }
        ),
        answer({"next": "http://b:2/api/catalog/products?page=3", "results": [{"slug": "a"}]}),
        products,
    )
    assert [(d.path, d.kind, d.rule) for d in diff.differences] == [
        ("/next", "changed", "tolerate:url_path (path or query differ)"),
        ("/results/0/price_from", "missing", None),
    ]
    declined = book.rules_for("POST", "/api/orders/checkout")
    diff = compare(
        answer({"code": "payment_declined"}, 402),
        answer({"code": "payment_declined"}, 200),
        declined,
    )
    assert [(d.path, d.primary, d.candidate) for d in diff.differences] == [("status", 402, 200)]
