"""Broken targets are caught: the behaviour suite and ``strangler compare`` against mutants.

A mutant is the live monolith behind a small proxy that breaks ONE behaviour
(tests/mutants/): (a) any 402 answers 200, (b) products lose ``price_from``, (c) order totals
are 0.01 too high. The suite must fail in the tests that guard each behaviour, and pass against
the monolith itself; ``compare`` must name ``price_from`` on the product routes, and find
nothing between the monolith and a second process of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from stages.compare import CompareSettings, compare_command, run_compare
from stages.processes import REPO_DIR, MonolithConfig, Server, manage, monolith_start

from .launch import Launched, launched_monolith
from .mutants.launch import running_mutant
from .mutants.mutations import (
    Answer,
    declined_as_ok,
    drop_price_from,
    none,
    order_total_off_by_a_cent,
)

SEED_PRODUCTS = 60
# Staff and customers log in many times here: no login throttle for this monolith.
ENV = {"SHOP_PAYMENTS_SLOW_SECONDS": "0.3", "SHOP_LOGIN_RATE": "10000/min"}

DECLINED_TESTS = {
    "test_declined_card_fails_the_order_releases_the_stock_and_keeps_the_cart",
    "test_declined_card_on_pay_leaves_the_order_payable",
}
CATALOG_TESTS = {"test_product_detail", "test_staff_updates_a_product_and_a_sku"}
JOURNEY_TESTS = {"test_register_browse_buy_and_get_notified"}

# mutation -> (the -k selection of the behaviour suite, the tests that must fail)
SELECTIONS = {
    "declined-as-ok": ("declined_card", DECLINED_TESTS),
    "drop-price-from": (" or ".join(sorted(CATALOG_TESTS)), {"test_product_detail"}),
    "order-total-off-by-a-cent": (" or ".join(sorted(JOURNEY_TESTS)), JOURNEY_TESTS),
}


# --- the mutations themselves (no processes) ------------------------------------------------

JSON = "application/json"


def body(answer: Answer) -> Any:
    return json.loads(answer.body)


def test_declined_as_ok_turns_any_402_into_200_with_the_same_body() -> None:
    declined = Answer(402, b'{"code": "payment_declined"}', "application/problem+json")
    assert declined_as_ok("POST", "/api/orders/checkout", declined) == Answer(
        200, declined.body, declined.content_type
    )
    conflict = Answer(409, b"{}", "application/problem+json")
    assert declined_as_ok("POST", "/api/orders/checkout", conflict) is conflict


def test_drop_price_from_touches_product_lists_and_details_only() -> None:
    page = Answer(
        200, json.dumps({"results": [{"slug": "a", "price_from": "1.00"}]}).encode(), JSON
    )
    assert body(drop_price_from("GET", "/api/catalog/products", page)) == {
        "results": [{"slug": "a"}]
    }
    detail = Answer(200, b'{"slug": "a", "price_from": "1.00"}', JSON)
    assert body(drop_price_from("GET", "/api/catalog/products/a", detail)) == {"slug": "a"}
    assert drop_price_from("POST", "/api/catalog/products", detail) is detail
    assert drop_price_from("GET", "/api/catalog/skus/A-1", detail) is detail


def test_order_total_is_off_by_a_cent_on_orders_only() -> None:
    order = {"id": "x", "total": "39.98", "lines": []}
    one = Answer(201, json.dumps(order).encode(), JSON)
    assert body(order_total_off_by_a_cent("POST", "/api/orders/checkout", one))["total"] == "39.99"
    page = Answer(200, json.dumps({"results": [order, order]}).encode(), JSON)
    listed = body(order_total_off_by_a_cent("GET", "/api/orders", page))["results"]
    assert [o["total"] for o in listed] == ["39.99", "39.99"]
    cart = Answer(200, b'{"items": [], "total": "39.98"}', JSON)
    assert order_total_off_by_a_cent("GET", "/api/cart", cart) is cart
    assert none("GET", "/api/orders", one) is one


# --- live processes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Shop:
    launched: Launched
    var_dir: Path

    @property
    def url(self) -> str:
        return self.launched.base_url


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    var_dir = tmp_path_factory.mktemp("mutants-monolith")
    db = os.environ.get("KIT_DB", "sqlite")
    with launched_monolith(var_dir, db=db, extra_env=ENV, db_prefix="kit_mut") as launched:
        cfg = MonolithConfig(var_dir=var_dir, database_url=launched.database_url, extra_env=ENV)
        manage(cfg, "seed", "--products", str(SEED_PRODUCTS))
        yield Shop(launched, var_dir)


@pytest.fixture(scope="module")
def mutant(
    shop: Shop, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], Server]]:
    """Start each mutation once per module, in front of the one monolith."""
    logs = tmp_path_factory.mktemp("mutant-logs")
    started: dict[str, Server] = {}
    with ExitStack() as stack:

        def get(mutation: str) -> Server:
            if mutation not in started:
                started[mutation] = stack.enter_context(running_mutant(shop.url, mutation, logs))
            return started[mutation]

        yield get


@dataclass(frozen=True)
class SuiteRun:
    returncode: int
    passed: set[str]
    failed: set[str]
    output: str


def run_behaviour_suite(target: str, selection: str, shop: Shop, xml: Path) -> SuiteRun:
    """``pytest tests/behaviour -k <selection> --target <target>`` in a subprocess; JUnit parsed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KIT_TARGET"))}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/behaviour",
            "-k",
            selection,
            "--target",
            target,
            "--staff-email",
            shop.launched.staff_email,
            "--staff-password",
            shop.launched.staff_password,
            f"--junitxml={xml}",
            "-o",
            "junit_family=xunit1",  # record_property (waited seconds) needs xunit1
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        cwd=REPO_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    passed: set[str] = set()
    failed: set[str] = set()
    for case in ET.parse(xml).getroot().iter("testcase"):
        name = case.get("name", "").split("[")[0]
        if case.find("failure") is not None or case.find("error") is not None:
            failed.add(name)
        elif case.find("skipped") is None:
            passed.add(name)
    return SuiteRun(
        result.returncode, passed, failed, result.stdout[-4000:] + result.stderr[-2000:]
    )


@pytest.mark.slow
def test_the_selected_behaviour_tests_pass_against_the_monolith(shop: Shop, tmp_path: Path) -> None:
    selection = " or ".join(f"({k})" for k, _ in SELECTIONS.values())
    run = run_behaviour_suite(shop.url, selection, shop, tmp_path / "monolith.xml")
    assert run.returncode == 0, run.output
    assert run.failed == set()
    assert run.passed >= DECLINED_TESTS | CATALOG_TESTS | JOURNEY_TESTS


@pytest.mark.slow
@pytest.mark.parametrize("mutation", sorted(SELECTIONS))
def test_the_behaviour_suite_fails_against_the_mutant(
    mutation: str, shop: Shop, mutant: Callable[[str], Server], tmp_path: Path
) -> None:
    selection, must_fail = SELECTIONS[mutation]
    run = run_behaviour_suite(mutant(mutation).base_url, selection, shop, tmp_path / "mutant.xml")
    assert run.returncode == 1, run.output
    assert must_fail <= run.failed, run.output
    assert run.passed | run.failed, "the selection ran no test"


def kit_cli() -> typer.Typer:
    app = typer.Typer(add_completion=False)

    @app.callback()
    def main() -> None:
        """The kit."""

    app.command("compare")(compare_command)
    return app


@pytest.mark.slow
def test_compare_names_the_dropped_field_on_the_product_routes(
    shop: Shop, mutant: Callable[[str], Server]
) -> None:
    candidate = mutant("drop-price-from").base_url
    result = run_compare(CompareSettings(primary=shop.url, candidate=candidate, generate=250))

    assert result.exit_code == 1
    assert result.fields_by_route() == {
        "catalog.product": {("/price_from", "missing")},
        "catalog.products": {("/results/*/price_from", "missing")},
    }
    routes = result.routes()
    assert routes["catalog.sku"]["mismatches"] == 0
    assert routes["users.me"]["mismatches"] == 0
    assert all(
        d.candidate is None and d.primary for o in result.mismatches for d in o.verdict.regressions
    )

    cli = CliRunner().invoke(
        kit_cli(),
        [
            "compare",
            "--primary",
            shop.url,
            "--candidate",
            candidate,
            "--generate",
            "60",
            "--show",
            "40",
        ],
        env={"COLUMNS": "200"},
    )
    assert cli.exit_code == 1, cli.output
    assert "1 field differs: /price_from (missing in candidate)" in cli.output
    assert "/results/0/price_from (missing in candidate)" in cli.output
    assert "requests differ above noise" in cli.output


@pytest.mark.slow
def test_compare_finds_nothing_between_the_monolith_and_a_second_process_of_it(
    shop: Shop, tmp_path: Path
) -> None:
    # the same database, keys and secret; another gunicorn on another port
    cfg = MonolithConfig(
        var_dir=shop.var_dir, database_url=shop.launched.database_url, extra_env=ENV
    )
    second = monolith_start(cfg)
    try:
        report = tmp_path / "report.json"
        cli = CliRunner().invoke(
            kit_cli(),
            [
                "compare",
                "--primary",
                shop.url,
                "--candidate",
                second.base_url,
                "--generate",
                "250",
                "--report",
                str(report),
            ],
            env={"COLUMNS": "200"},
        )
    finally:
        second.stop()

    assert cli.exit_code == 0, cli.output
    stored = json.loads(report.read_text())
    assert stored["requests"] == 250
    assert stored["distinct_requests"] >= 200
    assert stored["mismatches"] == 0
    assert stored["totals"]["mismatches"] == 0
    assert stored["first_mismatches"] == []
    # the authenticated reads ran, as two different customers, and matched
    assert stored["routes"]["users.me"]["requests"] == 2
    assert stored["routes"]["catalog.stock"]["requests"] >= 10
    assert "no differences above noise in 250 requests" in cli.output
