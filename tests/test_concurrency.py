"""Twenty customers race for five units on PostgreSQL: exactly five win, nobody oversells.

A cross-cutting test, not a black-box one: it starts its own monolith (2 workers x 8 threads)
on a fresh PostgreSQL database, drives it over HTTP, then reads that database directly to
check the invariants no HTTP answer can prove (one captured payment per paid order, none for
any other order, stock never negative).
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from tests.behaviour.api_client import APPROVED_CARD, ApiClient, new_email, unique
from tests.launch import Launched, launched_monolith

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.orders, pytest.mark.catalog]

CUSTOMERS = 20
UNITS = 5


@pytest.fixture(scope="module")
def pg_monolith(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launched]:
    with launched_monolith(
        tmp_path_factory.mktemp("monolith-pg"),
        db="postgres",
        workers=2,
        threads=8,
        db_prefix="kit_cc",
    ) as server:
        yield server


def registered(base_url: str) -> ApiClient:
    client = ApiClient(base_url)
    email, password = new_email(), f"pw-{uuid.uuid4().hex}"
    assert client.register(email, password).status_code == 201
    tokens = client.login(email, password)
    assert tokens.status_code == 200, tokens.text
    client.token, client.email = tokens.json()["access_token"], email
    return client


def test_twenty_checkouts_for_five_units(pg_monolith: Launched) -> None:
    base_url = pg_monolith.base_url
    staff = ApiClient(base_url)
    login = staff.login(pg_monolith.staff_email, pg_monolith.staff_password)
    assert login.status_code == 200, login.text
    staff.token = login.json()["access_token"]
    t = unique()
    sku = f"SKU-{t.upper()}"
    created = staff.create_product(
        slug=f"p-{t}",
        name=f"Last units {t}",
        variants=[
            {"sku": sku, "name": "One", "price": "9.99", "currency": "EUR", "on_hand": UNITS}
        ],
    )
    assert created.status_code == 201, created.text

    # password hashing is CPU-bound: a few at a time, so no request waits behind nineteen
    with ThreadPoolExecutor(max_workers=4) as pool:
        customers = list(pool.map(lambda _: registered(base_url), range(CUSTOMERS)))
    try:
        # given every customer has the one unit in the cart (adding checks, it does not reserve)
        with ThreadPoolExecutor(max_workers=CUSTOMERS) as pool:
            adds = list(pool.map(lambda c: c.add_to_cart(sku, 1).status_code, customers))
        assert adds == [201] * CUSTOMERS

        # when all of them check out at the same moment
        barrier = threading.Barrier(CUSTOMERS, timeout=60)

        def checkout(client: ApiClient) -> tuple[int, str]:
            barrier.wait()
            response = client.checkout(card=APPROVED_CARD)
            body: dict[str, Any] = response.json()
            # an order answers its status, a problem its code
            return response.status_code, str(
                body["status"] if response.is_success else body["code"]
            )

        with ThreadPoolExecutor(max_workers=CUSTOMERS) as pool:
            outcomes = list(pool.map(checkout, customers))
    finally:
        for client in customers:
            client.close()

    # then exactly five are paid and fifteen are out of stock, and nothing else happened
    print(f"outcomes: {Counter(outcomes)}")
    assert Counter(outcomes) == {(201, "paid"): UNITS, (409, "out_of_stock"): CUSTOMERS - UNITS}
    stock = staff.stock(sku)
    staff.close()
    assert stock.json() == {"sku": sku, "on_hand": 0, "reserved": 0, "available": 0}

    # and the database agrees
    with psycopg.connect(pg_monolith.database_url) as conn:
        paid_orders = conn.execute(
            "SELECT o.id, count(p.id) FROM orders_order o LEFT JOIN payments_payment p"
            " ON p.order_id = o.id AND p.status = 'captured'"
            " WHERE o.status = 'paid' GROUP BY o.id"
        ).fetchall()
        stray_captures = conn.execute(
            "SELECT count(*) FROM payments_payment p LEFT JOIN orders_order o ON o.id = p.order_id"
            " WHERE p.status = 'captured' AND (o.id IS NULL OR o.status <> 'paid')"
        ).fetchone()
        payments_by_status: dict[str, int] = dict(
            conn.execute("SELECT status, count(*) FROM payments_payment GROUP BY status").fetchall()
        )
        inventory = conn.execute(
            "SELECT on_hand, reserved FROM catalog_inventory WHERE sku = %s", (sku,)
        ).fetchone()
        negative = conn.execute(
            "SELECT count(*) FROM catalog_inventory WHERE on_hand < 0 OR reserved < 0"
        ).fetchone()
        checks = [
            row[0]
            for row in conn.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = 'catalog_inventory'::regclass AND contype = 'c'"
            ).fetchall()
        ]
    print(
        f"paid orders: {len(paid_orders)}; payments by status: {payments_by_status}; "
        f"inventory (on_hand, reserved): {inventory}; CHECK constraints: {checks}"
    )
    assert len(paid_orders) == UNITS
    assert all(captured == 1 for _, captured in paid_orders), paid_orders
    assert stray_captures == (0,)
    assert payments_by_status == {"captured": UNITS}
    assert inventory == (0, 0)
    assert negative == (0,)
    assert any("on_hand >= 0" in check for check in checks), checks
    assert any("reserved >= 0" in check for check in checks), checks
