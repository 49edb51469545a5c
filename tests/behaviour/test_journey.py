"""The whole customer journey, from registration to the notifications of a paid order."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from .api_client import APPROVED_CARD, ApiClient, new_email, unique, wait_until
from .conftest import Product

pytestmark = [
    pytest.mark.behaviour,
    pytest.mark.users,
    pytest.mark.catalog,
    pytest.mark.cart,
    pytest.mark.orders,
    pytest.mark.payments,
    pytest.mark.notifications,
]


def test_register_browse_buy_and_get_notified(
    api: ApiClient,
    product: Callable[..., Product],
    category: Callable[..., str],
    stock_of: Callable[[str], dict[str, Any]],
    record_property: Callable[[str, object], None],
) -> None:
    # given a product in a category, with 10 on hand
    word = unique("lantern")
    shelf = category()
    lamp = product(
        price="19.99", currency="EUR", on_hand=10, category=shelf, description=f"A {word} lamp."
    )

    # when a visitor registers and logs in
    email, password = new_email(), f"pw-{uuid.uuid4().hex}"
    registered = api.register(email, password, name="Ada Shopper")
    assert registered.status_code == 201, registered.text
    logged_in = api.login(email, password)
    assert logged_in.status_code == 200, logged_in.text
    api.token = logged_in.json()["access_token"]

    # and finds the product by words and by category
    by_words = api.list_products(q=word)
    assert by_words.status_code == 200, by_words.text
    assert by_words.json()["count"] == 1
    assert [p["slug"] for p in by_words.json()["results"]] == [lamp.slug]
    by_category = api.list_products(category=shelf)
    assert by_category.status_code == 200, by_category.text
    assert [p["slug"] for p in by_category.json()["results"]] == [lamp.slug]
    detail = api.get_product(lamp.slug)
    assert detail.status_code == 200, detail.text
    assert detail.json()["variants"][0]["sku"] == lamp.sku
    assert detail.json()["variants"][0]["available"] == 10

    # and puts two in the cart
    added = api.add_to_cart(lamp.sku, 2)
    assert added.status_code == 201, added.text
    assert added.json()["total"] == "39.98"

    # and checks out with a card that is approved
    checkout = api.checkout(card=APPROVED_CARD)

    # then the order is paid
    assert checkout.status_code == 201, checkout.text
    order = checkout.json()
    assert order["status"] == "paid"
    assert order["currency"] == "EUR"
    assert order["total"] == "39.98"
    assert [
        (line["sku"], line["quantity"], line["unit_price"], line["line_total"])
        for line in order["lines"]
    ] == [(lamp.sku, 2, "19.99", "39.98")]
    assert order["payment_id"]
    assert [entry["status"] for entry in order["history"]] == ["pending_payment", "paid"]
    assert api.order(order["id"]).json()["status"] == "paid"

    # and the cart is empty
    assert api.cart().json()["items"] == []

    # and the order is in the history
    history = api.orders()
    assert history.status_code == 200, history.text
    assert history.json()["count"] == 1
    assert [o["id"] for o in history.json()["results"]] == [order["id"]]

    # and the payment was authorised, then captured
    payment = api.payment(order["payment_id"])
    assert payment.status_code == 200, payment.text
    assert payment.json()["order_id"] == order["id"]
    assert payment.json()["status"] == "captured"
    assert payment.json()["amount"] == "39.98"
    assert payment.json()["currency"] == "EUR"
    assert payment.json()["card_last4"] == "4242"
    assert [(e["kind"], e["amount"]) for e in payment.json()["ledger"]] == [
        ("authorize", "39.98"),
        ("capture", "39.98"),
    ]
    payments = api.payments(order_id=order["id"])
    assert payments.status_code == 200, payments.text
    assert [p["id"] for p in payments.json()["results"]] == [order["payment_id"]]

    # and, eventually, the customer is told the order was placed and paid
    listed, _ = wait_until(
        lambda: api.notifications().json()["results"],
        lambda found: (
            {"order_placed", "order_paid"}
            <= {n["kind"] for n in found if n["reference"] == order["id"]}
        ),
        record=record_property,
    )
    mine = [n for n in listed if n["reference"] == order["id"]]
    assert sorted(n["kind"] for n in mine) == ["order_paid", "order_placed"]
    assert {n["channel"] for n in mine} == {"email"}
    assert {n["status"] for n in mine} <= {"queued", "delivered"}

    # and the two units left the stock, with nothing left reserved
    assert stock_of(lamp.sku) == {"sku": lamp.sku, "on_hand": 8, "reserved": 0, "available": 8}
    assert api.get_sku(lamp.sku).json()["available"] == 8
