"""The route table is data parsed once into typed records; bad tables name their line."""

from __future__ import annotations

import pytest
from proxy_fixtures import table_data

from strangler_proxy.table import (
    Mode,
    ShadowWrites,
    TableError,
    dump_text,
    kit_default_data,
    parse_data,
    parse_text,
)

GOOD = """\
upstreams:
  monolith: {url: "http://127.0.0.1:8000"}
  catalog:
    url: http://127.0.0.1:8101/base/
    breaker: {failures: 3, open_seconds: 2, probes: 2}
default: monolith
defaults:
  timeout: 5
  shadow: {sample: 0.5}
routes:
  catalog:
    prefixes: [/api/catalog/]
    mode: canary
    percent: 25
    fallback: monolith
    shadow: {writes: dry-run, body_cap: 1000}
  orders:
    prefix: /api/orders
    methods: [get, POST]
    retry: {attempts: 3}
"""


def test_a_good_table_becomes_typed_records() -> None:
    table = parse_text(GOOD, source="routes.yaml")

    catalog = table.route("catalog")
    assert catalog.mode is Mode.CANARY
    assert catalog.percent == 25.0
    assert catalog.service == "catalog"  # the upstream named like the route, by convention
    assert catalog.fallback == "monolith"
    assert catalog.timeout == 5.0
    assert catalog.shadow.sample == 0.5  # from the defaults
    assert catalog.shadow.writes is ShadowWrites.DRY_RUN
    assert catalog.shadow.body_cap == 1000
    assert catalog.line == 12
    orders = table.route("orders")
    assert orders.prefixes == ("/api/orders",)
    assert orders.methods == frozenset({"GET", "POST"})
    assert orders.service is None
    assert orders.retry.attempts == 3
    assert table.default.monolith == "monolith"
    spec = table.upstreams["catalog"]
    assert (spec.host, spec.port, spec.base_path) == ("127.0.0.1", 8101, "/base")
    assert (spec.breaker.failures, spec.breaker.open_seconds, spec.breaker.probes) == (3, 2.0, 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("mode: canary", "mode: canery"), "line 13: routes.catalog.mode: 'canery'"),
        (GOOD.replace("percent: 25", "percent: 250"), "line 14: routes.catalog.percent: 250"),
        (GOOD.replace("fallback: monolith", "fallback: mono"), "line 15: routes.catalog.fallback"),
        (GOOD.replace("prefix: /api/orders", "prefix: api/orders"), "line 18: routes.orders"),
        (GOOD.replace("    retry:", "    retries:"), "line 20: routes.orders.retries: unknown"),
        (
            GOOD.replace("writes: dry-run", "writes: always"),
            "line 16: routes.catalog.shadow.writes",
        ),
        (
            GOOD.replace("methods: [get, POST]", "methods: [FETCH]"),
            "line 19: routes.orders.methods",
        ),
        (GOOD.replace('"http://127.0.0.1:8000"', "ftp://x"), "line 2: upstreams.monolith.url"),
        (GOOD.replace("  orders:", "  catalog:"), "line 17: duplicate key 'catalog'"),
        (GOOD.replace("{sample: 0.5}", "{sample: 0.5"), "line 10: not valid YAML/JSON"),
        (GOOD.replace("default: monolith", "default: nowhere"), "line 6: default: unknown"),
    ],
)
def test_a_bad_table_is_refused_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(TableError) as caught:
        parse_text(text, source="routes.yaml")

    assert str(caught.value).startswith("routes.yaml ")
    assert message in str(caught.value)


def test_shadow_needs_a_service_upstream() -> None:
    data = table_data(users={"mode": "shadow"})

    with pytest.raises(TableError, match=r"routes\.users\.mode: mode 'shadow' needs a service"):
        parse_data(data)


def test_canary_needs_a_percent() -> None:
    with pytest.raises(TableError, match=r"canary needs a percent"):
        parse_data(table_data(catalog={"mode": "canary"}))


def test_two_routes_may_not_claim_one_prefix() -> None:
    with pytest.raises(TableError, match=r"'/api/cart' is already routed by 'cart'"):
        parse_data(table_data(orders={"prefixes": ["/api/cart"]}))


def test_with_mode_makes_a_new_table_and_leaves_the_old_one_alone() -> None:
    old = parse_data(table_data()).with_generation(4)

    new = old.with_mode("catalog", "canary", 10)

    assert old.route("catalog").mode is Mode.MONOLITH
    assert new.route("catalog").mode is Mode.CANARY
    assert new.route("catalog").percent == 10.0
    assert new.route("cart").mode is Mode.MONOLITH
    assert not old.same_routes(new)
    with pytest.raises(KeyError, match="no route 'basket'"):
        old.with_mode("basket", "service")


def test_a_table_round_trips_through_its_yaml() -> None:
    table = parse_text(GOOD)

    again = parse_text(dump_text(table))

    assert again.same_routes(table)
    assert again.route("catalog").line is not None


def test_upstream_urls_from_the_command_line_override_the_table() -> None:
    table = parse_text(GOOD, upstream_urls={"catalog": "http://10.0.0.2:9000", "cart": "http://c"})

    assert table.upstreams["catalog"].url == "http://10.0.0.2:9000"
    assert table.upstreams["catalog"].breaker.failures == 3  # the rest of its spec stays
    assert table.upstreams["cart"].url == "http://c"


def test_the_kit_default_table_routes_every_context_to_the_monolith() -> None:
    table = parse_data(kit_default_data("http://127.0.0.1:8000", {"catalog": "http://c:1"}))

    assert [r.key for r in table.routes] == [
        "users",
        "catalog",
        "cart",
        "orders",
        "payments",
        "notifications",
    ]
    assert {r.mode for r in table.routes} == {Mode.MONOLITH}
    assert table.route("users").prefixes == ("/api/users/", "/.well-known/jwks.json")
    assert table.route("catalog").service == "catalog"
    assert table.route("catalog").fallback == "monolith"
    assert table.route("cart").service is None
