"""Checkout when things go wrong: cards, stock, prices and lapsed holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from .api_client import (
    APPROVED_CARD,
    DECLINED_CARD,
    INSUFFICIENT_FUNDS_CARD,
    NOT_LUHN_CARD,
    PROVIDER_ERROR_CARD,
    SLOW_CARD,
    ApiClient,
    field_names,
    problem,
    wait_until,
)
from .conftest import Product
from .steps import in_cart, pending_order, results

pytestmark = [pytest.mark.behaviour, pytest.mark.orders, pytest.mark.payments]

Stock = Callable[[str], dict[str, Any]]


def test_declined_card_fails_the_order_releases_the_stock_and_keeps_the_cart(
    customer: ApiClient, product: Callable[..., Product], stock_of: Stock
) -> None:
    item = product(price="10.00", on_hand=5)
    in_cart(customer, item.sku, 2)

    response = customer.checkout(card=DECLINED_CARD)

    assert response.status_code == 402
    body = problem(response)
    assert body["code"] == "payment_declined"
    assert body["decline_reason"] == "card_declined"
    order = customer.order(body["order_id"])
    assert order.status_code == 200, order.text
    assert order.json()["status"] == "payment_failed"
    assert stock_of(item.sku) == {"sku": item.sku, "on_hand": 5, "reserved": 0, "available": 5}
    assert [(i["sku"], i["quantity"]) for i in customer.cart().json()["items"]] == [(item.sku, 2)]
    payments = results(customer.payments(order_id=body["order_id"]))
    assert [(p["status"], p["decline_reason"]) for p in payments] == [("declined", "card_declined")]


def test_insufficient_funds_is_a_decline_with_its_reason(
    customer: ApiClient, product: Callable[..., Product], stock_of: Stock
) -> None:
    item = product(price="10.00", on_hand=5)
    in_cart(customer, item.sku, 1)

    response = customer.checkout(card=INSUFFICIENT_FUNDS_CARD)

    assert response.status_code == 402
    body = problem(response)
    assert body["code"] == "payment_declined"
    assert body["decline_reason"] == "insufficient_funds"
    assert customer.order(body["order_id"]).json()["status"] == "payment_failed"
    assert stock_of(item.sku)["reserved"] == 0


def test_provider_error_charges_nothing_and_keeps_the_cart(
    customer: ApiClient, product: Callable[..., Product], stock_of: Stock
) -> None:
    item = product(price="10.00", on_hand=5)
    in_cart(customer, item.sku, 1)

    response = customer.checkout(card=PROVIDER_ERROR_CARD)

    assert response.status_code == 402
    body = problem(response)
    assert body["code"] == "payment_provider_error"
    assert customer.order(body["order_id"]).json()["status"] == "payment_failed"
    assert stock_of(item.sku) == {"sku": item.sku, "on_hand": 5, "reserved": 0, "available": 5}
    assert [(i["sku"], i["quantity"]) for i in customer.cart().json()["items"]] == [(item.sku, 1)]
    assert [p["status"] for p in results(customer.payments(order_id=body["order_id"]))] == [
        "failed"
    ]


def test_slow_card_is_approved(
    customer: ApiClient, product: Callable[..., Product], stock_of: Stock
) -> None:
    item = product(price="7.25", on_hand=5)
    in_cart(customer, item.sku, 1)

    response = customer.checkout(card=SLOW_CARD)

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "paid"
    assert response.json()["total"] == "7.25"
    assert stock_of(item.sku) == {"sku": item.sku, "on_hand": 4, "reserved": 0, "available": 4}


def test_card_number_failing_luhn_is_refused_before_anything_happens(
    customer: ApiClient, product: Callable[..., Product], stock_of: Stock
) -> None:
    item = product(price="10.00", on_hand=5)
    in_cart(customer, item.sku, 1)

    response = customer.checkout(card=NOT_LUHN_CARD)

    assert response.status_code == 400
    body = problem(response)
    assert body["code"] == "invalid_card"
    assert field_names(body) == ["payment.card_number"]
    assert customer.orders().json()["count"] == 0
    assert stock_of(item.sku)["reserved"] == 0
    assert [i["sku"] for i in customer.cart().json()["items"]] == [item.sku]


def test_checkout_reserves_all_lines_or_nothing(
    new_customer: Callable[..., ApiClient], product: Callable[..., Product], stock_of: Stock
) -> None:
    # given B has the scarce item (and a plentiful one) in the cart while 3 are available
    scarce = product(price="10.00", on_hand=3)
    plenty = product(price="1.00", on_hand=50)
    a, b = new_customer(), new_customer()
    in_cart(b, plenty.sku, 1)
    in_cart(b, scarce.sku, 2)
    # and A then holds 2 of the 3 with a checkout that is not paid yet
    pending_order(a, scarce.sku, 2)

    # when B checks out
    response = b.checkout(card=APPROVED_CARD)

    # then B gets out_of_stock and reserved nothing, not even the plentiful line
    assert response.status_code == 409
    assert problem(response)["code"] == "out_of_stock"
    assert stock_of(scarce.sku) == {"sku": scarce.sku, "on_hand": 3, "reserved": 2, "available": 1}
    assert stock_of(plenty.sku) == {
        "sku": plenty.sku,
        "on_hand": 50,
        "reserved": 0,
        "available": 50,
    }
    assert b.orders().json()["count"] == 0
    assert len(b.cart().json()["items"]) == 2


def test_cart_line_may_not_exceed_the_available_stock(
    customer: ApiClient, product: Callable[..., Product]
) -> None:
    item = product(price="10.00", on_hand=2)

    too_many = customer.add_to_cart(item.sku, 3)
    assert too_many.status_code == 409
    assert problem(too_many)["code"] == "insufficient_stock"

    in_cart(customer, item.sku, 2)
    one_more = customer.add_to_cart(item.sku, 1)
    assert one_more.status_code == 409
    assert problem(one_more)["code"] == "insufficient_stock"
    assert [(i["sku"], i["quantity"]) for i in customer.cart().json()["items"]] == [(item.sku, 2)]


def test_checkout_of_an_empty_cart(customer: ApiClient) -> None:
    response = customer.checkout(card=APPROVED_CARD)

    assert response.status_code == 409
    assert problem(response)["code"] == "cart_empty"
    assert customer.orders().json()["count"] == 0


def test_price_changed_since_added_refuses_checkout_and_reprices_the_cart(
    customer: ApiClient, staff: ApiClient, product: Callable[..., Product], stock_of: Stock
) -> None:
    item = product(price="10.00", on_hand=5)
    in_cart(customer, item.sku, 2)
    repriced = staff.update_sku(item.sku, price="12.00")
    assert repriced.status_code == 200, repriced.text
    assert repriced.json()["price"] == "12.00"

    response = customer.checkout(card=APPROVED_CARD)

    assert response.status_code == 409
    assert problem(response)["code"] == "price_changed"
    cart = customer.cart().json()
    assert [(i["sku"], i["quantity"], i["unit_price"], i["line_total"]) for i in cart["items"]] == [
        (item.sku, 2, "12.00", "24.00")
    ]
    assert cart["total"] == "24.00"
    assert stock_of(item.sku)["reserved"] == 0
    # and with the new price shown, the customer can buy
    again = customer.checkout(card=APPROVED_CARD)
    assert again.status_code == 201, again.text
    assert (again.json()["status"], again.json()["total"]) == ("paid", "24.00")


def test_declined_card_on_pay_leaves_the_order_payable(
    customer: ApiClient, product: Callable[..., Product], stock_of: Stock
) -> None:
    item = product(price="10.00", on_hand=5)
    order = pending_order(customer, item.sku, 1)

    declined = customer.pay(order["id"], DECLINED_CARD)
    assert declined.status_code == 402
    body = problem(declined)
    assert (body["code"], body["order_id"]) == ("payment_declined", order["id"])
    assert customer.order(order["id"]).json()["status"] == "pending_payment"
    assert stock_of(item.sku)["reserved"] == 1

    paid = customer.pay(order["id"], APPROVED_CARD)
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    assert stock_of(item.sku) == {"sku": item.sku, "on_hand": 4, "reserved": 0, "available": 4}


def test_each_declined_attempt_is_notified_once_naming_the_order_and_card(
    customer: ApiClient,
    product: Callable[..., Product],
    record_property: Callable[[str, object], None],
) -> None:
    item = product(price="12.50", on_hand=5)
    order = pending_order(customer, item.sku, 2)
    for _ in range(2):
        assert customer.pay(order["id"], DECLINED_CARD).status_code == 402
    declined = {p["id"] for p in results(customer.payments(order_id=order["id"]))}
    assert len(declined) == 2

    def declines() -> list[dict[str, Any]]:
        return [
            n
            for n in results(customer.notifications())
            if n["kind"] == "payment_declined" and n["reference"] in declined
        ]

    messages, _ = wait_until(declines, lambda found: len(found) == 2, record=record_property)

    assert {n["reference"] for n in messages} == declined
    for message in messages:
        assert message["subject"] == f"Your payment for order {order['id']} was declined"
        assert f"card ending {DECLINED_CARD[-4:]} was declined (card_declined)" in message["body"]
        assert "25.00" in message["body"]


def test_paying_after_the_hold_lapsed_cancels_the_order(
    customer: ApiClient, product: Callable[..., Product], stock_of: Stock
) -> None:
    item = product(price="10.00", on_hand=5)
    order = pending_order(customer, item.sku, 2, hold_seconds=1)
    assert stock_of(item.sku)["reserved"] == 2
    expires_at = datetime.fromisoformat(order["reservation_expires_at"])
    # the one deliberate wait of the suite: until the server's own deadline has passed
    time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 0.3)

    response = customer.pay(order["id"], APPROVED_CARD)

    assert response.status_code == 409
    assert problem(response)["code"] == "reservation_expired"
    assert customer.order(order["id"]).json()["status"] == "cancelled"
    assert stock_of(item.sku) == {"sku": item.sku, "on_hand": 5, "reserved": 0, "available": 5}
    # whether the provider was asked first (then voided) or not at all, nothing was charged
    payments = results(customer.payments(order_id=order["id"]))
    assert "captured" not in {p["status"] for p in payments}
