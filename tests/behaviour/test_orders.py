"""The order state machine through the API: cancel, refund, fulfil, illegal moves, idempotency."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from .api_client import APPROVED_CARD, DECLINED_CARD, ApiClient, problem, wait_until
from .conftest import Product
from .steps import in_cart, paid_order, pending_order, results

pytestmark = [pytest.mark.behaviour, pytest.mark.orders]

Stock = Callable[[str], dict[str, Any]]


def kinds_for(client: ApiClient, order_id: str) -> Callable[[], set[str]]:
    def fetch() -> set[str]:
        return {n["kind"] for n in results(client.notifications()) if n["reference"] == order_id}

    return fetch


def test_cancelling_a_pending_order_releases_its_stock(
    customer: ApiClient,
    product: Callable[..., Product],
    stock_of: Stock,
    record_property: Callable[[str, object], None],
) -> None:
    item = product(price="10.00", on_hand=5)
    order = pending_order(customer, item.sku, 2)
    assert stock_of(item.sku)["reserved"] == 2

    response = customer.cancel(order["id"])

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["history"][-1]["status"] == "cancelled"
    assert customer.order(order["id"]).json()["status"] == "cancelled"
    assert stock_of(item.sku) == {"sku": item.sku, "on_hand": 5, "reserved": 0, "available": 5}
    wait_until(
        kinds_for(customer, order["id"]),
        lambda kinds: "order_cancelled" in kinds,
        record=record_property,
    )


def test_cancelling_a_paid_order_refunds_it_and_restocks(
    customer: ApiClient,
    product: Callable[..., Product],
    stock_of: Stock,
    record_property: Callable[[str, object], None],
) -> None:
    item = product(price="10.00", on_hand=5)
    order = paid_order(customer, item.sku, 2)
    assert stock_of(item.sku)["on_hand"] == 3

    response = customer.cancel(order["id"])

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "refunded"
    payment = customer.payment(order["payment_id"])
    assert payment.status_code == 200, payment.text
    assert payment.json()["status"] == "refunded"
    assert [(e["kind"], e["amount"]) for e in payment.json()["ledger"]] == [
        ("authorize", "20.00"),
        ("capture", "20.00"),
        ("refund", "20.00"),
    ]
    assert stock_of(item.sku) == {"sku": item.sku, "on_hand": 5, "reserved": 0, "available": 5}
    wait_until(
        kinds_for(customer, order["id"]),
        lambda kinds: "order_refunded" in kinds,
        record=record_property,
    )


def test_staff_fulfils_a_paid_order(
    customer: ApiClient, staff: ApiClient, product: Callable[..., Product]
) -> None:
    order = paid_order(customer, product().sku)

    response = staff.fulfil(order["id"])

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "fulfilled"
    assert customer.order(order["id"]).json()["status"] == "fulfilled"


def test_a_customer_may_not_fulfil(customer: ApiClient, product: Callable[..., Product]) -> None:
    order = paid_order(customer, product().sku)

    response = customer.fulfil(order["id"])

    assert response.status_code == 403
    assert problem(response)["code"] == "permission_denied"
    assert customer.order(order["id"]).json()["status"] == "paid"


def assert_illegal(response: Any, from_status: str, to_status: str | None = None) -> None:
    assert response.status_code == 409, response.text
    body = problem(response)
    assert body["code"] == "illegal_transition"
    assert body["from"] == from_status
    if to_status is not None:
        assert body["to"] == to_status
    else:
        assert "to" in body


def test_cancelling_twice_is_illegal(customer: ApiClient, product: Callable[..., Product]) -> None:
    order = pending_order(customer, product().sku)
    assert customer.cancel(order["id"]).status_code == 200

    response = customer.cancel(order["id"])

    assert_illegal(response, "cancelled")
    assert customer.order(order["id"]).json()["status"] == "cancelled"


def test_paying_a_paid_order_is_illegal_and_charges_nothing(
    customer: ApiClient, product: Callable[..., Product]
) -> None:
    order = paid_order(customer, product().sku)

    response = customer.pay(order["id"], APPROVED_CARD)

    assert_illegal(response, "paid", "paid")
    assert len(results(customer.payments(order_id=order["id"]))) == 1


def test_paying_a_cancelled_order_is_illegal(
    customer: ApiClient, product: Callable[..., Product]
) -> None:
    order = pending_order(customer, product().sku)
    assert customer.cancel(order["id"]).status_code == 200

    response = customer.pay(order["id"], APPROVED_CARD)

    assert_illegal(response, "cancelled", "paid")


def test_fulfilling_a_pending_order_is_illegal(
    customer: ApiClient, staff: ApiClient, product: Callable[..., Product]
) -> None:
    order = pending_order(customer, product().sku)

    response = staff.fulfil(order["id"])

    assert_illegal(response, "pending_payment", "fulfilled")
    assert customer.order(order["id"]).json()["status"] == "pending_payment"


def test_cancelling_a_fulfilled_order_is_illegal(
    customer: ApiClient, staff: ApiClient, product: Callable[..., Product]
) -> None:
    order = paid_order(customer, product().sku)
    assert staff.fulfil(order["id"]).status_code == 200

    response = customer.cancel(order["id"])

    assert_illegal(response, "fulfilled")
    assert customer.order(order["id"]).json()["status"] == "fulfilled"


def test_same_idempotency_key_and_body_replays_the_checkout(
    customer: ApiClient, product: Callable[..., Product], stock_of: Stock
) -> None:
    item = product(price="10.00", on_hand=5)
    in_cart(customer, item.sku, 1)
    key = str(uuid.uuid4())

    first = customer.checkout(card=APPROVED_CARD, idempotency_key=key)
    second = customer.checkout(card=APPROVED_CARD, idempotency_key=key)

    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert second.json() == first.json()
    assert first.headers.get("Idempotent-Replayed") != "true"
    assert second.headers.get("Idempotent-Replayed") == "true"
    order_id = first.json()["id"]
    assert [p["id"] for p in results(customer.payments(order_id=order_id))] == [
        first.json()["payment_id"]
    ]
    assert customer.payments().json()["count"] == 1
    assert customer.orders().json()["count"] == 1
    assert stock_of(item.sku)["on_hand"] == 4


def test_same_idempotency_key_with_another_body_is_refused(
    customer: ApiClient, product: Callable[..., Product]
) -> None:
    item = product(price="10.00", on_hand=5)
    in_cart(customer, item.sku, 1)
    key = str(uuid.uuid4())
    assert customer.checkout(card=APPROVED_CARD, idempotency_key=key).status_code == 201
    in_cart(customer, item.sku, 1)

    response = customer.checkout(card="5555555555554444", idempotency_key=key)

    assert response.status_code == 409
    assert problem(response)["code"] == "idempotency_key_reused"
    assert customer.orders().json()["count"] == 1
    assert customer.payments().json()["count"] == 1


def test_declined_checkout_replayed_with_its_key_is_the_same_decline(
    customer: ApiClient, product: Callable[..., Product]
) -> None:
    item = product(price="10.00", on_hand=5)
    in_cart(customer, item.sku, 1)
    key = str(uuid.uuid4())

    first = customer.checkout(card=DECLINED_CARD, idempotency_key=key)
    second = customer.checkout(card=DECLINED_CARD, idempotency_key=key)

    assert first.status_code == 402
    assert second.status_code == 402
    assert problem(first)["code"] == "payment_declined"
    assert second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    order_id = first.json()["order_id"]
    assert len(results(customer.payments(order_id=order_id))) == 1
    assert customer.payments().json()["count"] == 1
    assert customer.orders().json()["count"] == 1


def test_idempotency_keys_belong_to_their_caller(
    new_customer: Callable[..., ApiClient], product: Callable[..., Product]
) -> None:
    item = product(price="10.00", on_hand=5)
    a, b = new_customer(), new_customer()
    in_cart(a, item.sku, 1)
    in_cart(b, item.sku, 1)
    key = str(uuid.uuid4())
    first = a.checkout(card=APPROVED_CARD, idempotency_key=key)
    assert first.status_code == 201, first.text

    response = b.checkout(card=APPROVED_CARD, idempotency_key=key)

    assert response.status_code == 201, response.text
    assert response.headers.get("Idempotent-Replayed") != "true"
    assert response.json()["id"] != first.json()["id"]
    assert [o["id"] for o in results(b.orders())] == [response.json()["id"]]
