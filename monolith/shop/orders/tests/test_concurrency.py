"""Concurrent requests with one Idempotency-Key: one order, one payment (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from shop.cart import services as cart_services
from shop.orders.models import Order
from shop.payments import selectors as payment_selectors

from .conftest import Customer
from .support import APPROVED, stock

pytestmark = [pytest.mark.orders, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (set SHOP_DATABASE_URL)")


def test_one_key_sent_concurrently_orders_and_charges_once(
    alice: Customer, product: Callable[..., None]
) -> None:
    product("A", on_hand=5)
    cart_services.cart_add_item(user_id=alice.id, sku="A", quantity=2)

    def post() -> tuple[int, str]:
        try:
            response = alice.api.post(
                "/api/orders/checkout",
                {"payment": {"card_number": APPROVED}},
                format="json",
                HTTP_IDEMPOTENCY_KEY="same",
            )
            body = response.json()
            return response.status_code, body.get("code") or body["status"]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda _: post(), range(4)))
    assert (201, "paid") in outcomes
    assert {o for o in outcomes if o != (201, "paid")} <= {(409, "idempotency_key_in_progress")}
    order = Order.objects.get()
    assert len(payment_selectors.payments_for_order(order_id=order.id)) == 1
    assert stock("A") == (3, 0)


def test_concurrent_checkouts_of_one_cart_order_it_once(
    alice: Customer, product: Callable[..., None]
) -> None:
    product("A", on_hand=5)
    cart_services.cart_add_item(user_id=alice.id, sku="A", quantity=2)

    def post() -> int:
        try:
            return alice.api.post("/api/orders/checkout", {}, format="json").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(pool.map(lambda _: post(), range(4)))
    assert statuses == [201, 409, 409, 409]  # the others find the cart empty
    assert stock("A") == (5, 2)
