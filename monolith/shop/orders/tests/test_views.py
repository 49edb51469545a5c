"""The orders API end to end (cart, catalog, payments and notifications are the real ones)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from django.utils import timezone
from rest_framework.response import Response

from shop.cart import selectors as cart_selectors
from shop.catalog import services as catalog_services
from shop.notifications import selectors as notification_selectors
from shop.orders.models import Order
from shop.payments import selectors as payment_selectors

from .conftest import Customer
from .support import APPROVED, DECLINED, NO_FUNDS, NOT_LUHN, PROVIDER_ERROR, stock

pytestmark = [pytest.mark.orders, pytest.mark.django_db]

CHECKOUT = "/api/orders/checkout"


def _checkout(customer: Customer, card: str | None = None, **body: Any) -> Response:
    if card is not None:
        body["payment"] = {"card_number": card}
    return customer.api.post(CHECKOUT, body, format="json")


def _pay(customer: Customer, order_id: str, card: str) -> Response:
    return customer.api.post(
        f"/api/orders/{order_id}/pay", {"payment": {"card_number": card}}, format="json"
    )


def _kinds(customer: Customer) -> list[str]:
    rows = notification_selectors.notifications_of_user(user_id=customer.id)
    return sorted(row.kind for row in rows)


def _payments(order_id: str) -> list[str]:
    return [p.status for p in payment_selectors.payments_for_order(order_id=UUID(order_id))]


def _history(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(entry["status"], entry["reason"]) for entry in body["history"]]


# --- checkout ---------------------------------------------------------------------------------


def test_checkout_with_a_card_pays_the_order(stocked_cart: Customer) -> None:
    response = _checkout(stocked_cart, APPROVED)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id",
        "status",
        "currency",
        "total",
        "lines",
        "payment_id",
        "reservation_expires_at",
        "history",
        "created_at",
        "updated_at",
    }
    assert (body["status"], body["currency"], body["total"]) == ("paid", "EUR", "25.50")
    assert body["lines"] == [
        {
            "sku": "A",
            "product_name": "Product A",
            "variant_name": "Variant A",
            "quantity": 2,
            "unit_price": "10.00",
            "line_total": "20.00",
        },
        {
            "sku": "B",
            "product_name": "Product B",
            "variant_name": "Variant B",
            "quantity": 1,
            "unit_price": "5.50",
            "line_total": "5.50",
        },
    ]
    assert _history(body) == [("pending_payment", "checkout"), ("paid", "payment_captured")]
    payment = payment_selectors.payment_get(payment_id=UUID(body["payment_id"]))
    assert payment is not None
    assert (payment.status, payment.amount, payment.currency) == (
        "captured",
        Decimal("25.50"),
        "EUR",
    )
    assert stock("A") == (3, 0)
    assert stock("B") == (2, 0)
    assert _kinds(stocked_cart) == ["order_paid", "order_placed"]
    assert cart_selectors.cart_get(user_id=stocked_cart.id).lines == ()
    assert stocked_cart.api.get(f"/api/orders/{body['id']}").json() == body


@pytest.mark.parametrize(
    ("card", "reason"), [(DECLINED, "card_declined"), (NO_FUNDS, "insufficient_funds")]
)
def test_declined_card_fails_the_order_and_keeps_the_cart(
    stocked_cart: Customer, card: str, reason: str
) -> None:
    response = _checkout(stocked_cart, card)
    assert response.status_code == 402
    body = response.json()
    assert (body["code"], body["decline_reason"]) == ("payment_declined", reason)
    order = stocked_cart.api.get(f"/api/orders/{body['order_id']}").json()
    assert order["status"] == "payment_failed"
    assert order["payment_id"] is None
    assert _history(order) == [("pending_payment", "checkout"), ("payment_failed", reason)]
    assert stock("A") == (5, 0)
    assert stock("B") == (3, 0)
    assert cart_selectors.cart_get(user_id=stocked_cart.id).item_count == 3
    assert _payments(body["order_id"]) == ["declined"]
    assert _kinds(stocked_cart) == ["order_placed", "payment_declined"]


def test_provider_error_fails_the_order_and_charges_nothing(stocked_cart: Customer) -> None:
    response = _checkout(stocked_cart, PROVIDER_ERROR)
    assert response.status_code == 402
    body = response.json()
    assert body["code"] == "payment_provider_error"
    assert Order.objects.get(pk=body["order_id"]).status == "payment_failed"
    assert _payments(body["order_id"]) == ["failed"]
    assert stock("A") == (5, 0)
    assert cart_selectors.cart_get(user_id=stocked_cart.id).item_count == 3


def test_retry_after_a_decline_places_a_new_order(stocked_cart: Customer) -> None:
    failed = _checkout(stocked_cart, DECLINED).json()["order_id"]
    response = _checkout(stocked_cart, APPROVED)
    assert response.status_code == 201
    assert response.json()["id"] != failed
    assert stock("A") == (3, 0)


def test_invalid_card_is_400_before_anything_is_reserved(stocked_cart: Customer) -> None:
    response = _checkout(stocked_cart, NOT_LUHN)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_card"
    assert body["errors"][0]["field"] == "payment.card_number"
    assert Order.objects.count() == 0
    assert stock("A") == (5, 0)


def test_out_of_stock_reserves_nothing(stocked_cart: Customer) -> None:
    catalog_services.stock_adjust(sku="B", delta=-3, reason="broken")
    response = _checkout(stocked_cart, APPROVED)
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["sku"], body["available"], body["requested"]) == (
        "out_of_stock",
        "B",
        0,
        1,
    )
    assert stock("A") == (5, 0)
    assert Order.objects.count() == 0
    assert cart_selectors.cart_get(user_id=stocked_cart.id).item_count == 3


def test_price_change_is_409_and_the_cart_shows_the_new_price(stocked_cart: Customer) -> None:
    catalog_services.variant_update(sku="A", price=Decimal("11.00"))
    response = _checkout(stocked_cart, APPROVED)
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["skus"]) == ("price_changed", ["A"])
    assert Order.objects.count() == 0
    assert stock("A") == (5, 0)
    cart = stocked_cart.api.get("/api/cart").json()
    assert (cart["items"][0]["unit_price"], cart["total"]) == ("11.00", "27.50")

    again = _checkout(stocked_cart, APPROVED)
    assert again.status_code == 201
    assert again.json()["total"] == "27.50"


def test_empty_cart_is_409(alice: Customer) -> None:
    response = _checkout(alice, APPROVED)
    assert response.status_code == 409
    assert response.json()["code"] == "cart_empty"


@pytest.mark.parametrize("hold", [0, 901, "soon"])
def test_hold_seconds_is_1_to_900(stocked_cart: Customer, hold: object) -> None:
    response = _checkout(stocked_cart, hold_seconds=hold)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "hold_seconds"


def test_missing_card_number_is_a_validation_error(stocked_cart: Customer) -> None:
    response = stocked_cart.api.post(CHECKOUT, {"payment": {}}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "payment.card_number"


# --- pending orders and /pay --------------------------------------------------------------------


def test_checkout_without_payment_holds_stock_and_empties_the_cart(
    stocked_cart: Customer,
) -> None:
    before = timezone.now()
    response = _checkout(stocked_cart, hold_seconds=60)
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["payment_id"]) == ("pending_payment", None)
    expires = Order.objects.get(pk=body["id"]).reservation_expires_at
    assert expires is not None
    assert before + timedelta(seconds=59) < expires <= timezone.now() + timedelta(seconds=60)
    assert stock("A") == (5, 2)
    assert cart_selectors.cart_get(user_id=stocked_cart.id).lines == ()
    assert _kinds(stocked_cart) == ["order_placed"]


def test_default_hold_is_900_seconds(stocked_cart: Customer) -> None:
    body = _checkout(stocked_cart).json()
    order = Order.objects.get(pk=body["id"])
    assert order.reservation_expires_at is not None
    assert order.reservation_expires_at - order.created_at == pytest.approx(
        timedelta(seconds=900), abs=timedelta(seconds=5)
    )


def test_pay_a_pending_order(stocked_cart: Customer) -> None:
    order_id = _checkout(stocked_cart).json()["id"]
    response = _pay(stocked_cart, order_id, APPROVED)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "paid"
    assert _history(body) == [("pending_payment", "checkout"), ("paid", "payment_captured")]
    assert _payments(order_id) == ["captured"]
    assert stock("A") == (3, 0)
    assert _kinds(stocked_cart) == ["order_paid", "order_placed"]


def test_pay_does_not_clear_a_new_cart(stocked_cart: Customer) -> None:
    order_id = _checkout(stocked_cart).json()["id"]
    stocked_cart.api.post("/api/cart/items", {"sku": "A", "quantity": 1}, format="json")
    assert _pay(stocked_cart, order_id, APPROVED).status_code == 200
    assert cart_selectors.cart_get(user_id=stocked_cart.id).item_count == 1


def test_declined_pay_leaves_the_order_pending_for_another_card(stocked_cart: Customer) -> None:
    order_id = _checkout(stocked_cart).json()["id"]
    declined = _pay(stocked_cart, order_id, DECLINED)
    assert declined.status_code == 402
    assert (declined.json()["code"], declined.json()["order_id"]) == ("payment_declined", order_id)
    assert Order.objects.get(pk=order_id).status == "pending_payment"
    assert stock("A") == (5, 2)

    failed = _pay(stocked_cart, order_id, PROVIDER_ERROR)
    assert failed.status_code == 402
    assert failed.json()["code"] == "payment_provider_error"

    paid = _pay(stocked_cart, order_id, APPROVED)
    assert paid.status_code == 200
    assert paid.json()["status"] == "paid"
    assert _payments(order_id) == ["declined", "failed", "captured"]
    assert stock("A") == (3, 0)


def test_pay_after_the_hold_lapsed_cancels_the_order(stocked_cart: Customer) -> None:
    order_id = _checkout(stocked_cart, hold_seconds=1).json()["id"]
    Order.objects.filter(pk=order_id).update(
        reservation_expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = _pay(stocked_cart, order_id, APPROVED)
    assert response.status_code == 409
    assert (response.json()["code"], response.json()["order_id"]) == (
        "reservation_expired",
        order_id,
    )
    order = stocked_cart.api.get(f"/api/orders/{order_id}").json()
    assert order["status"] == "cancelled"
    assert order["history"][-1]["reason"] == "reservation_expired"
    assert stock("A") == (5, 0)
    assert _payments(order_id) == []
    assert _kinds(stocked_cart) == ["order_cancelled", "order_placed"]


def test_pay_of_a_paid_order_is_illegal(stocked_cart: Customer) -> None:
    order_id = _checkout(stocked_cart, APPROVED).json()["id"]
    response = _pay(stocked_cart, order_id, APPROVED)
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["from"], body["to"]) == ("illegal_transition", "paid", "paid")
    assert _payments(order_id) == ["captured"]


def test_pay_with_an_invalid_card_is_400(stocked_cart: Customer) -> None:
    order_id = _checkout(stocked_cart).json()["id"]
    response = _pay(stocked_cart, order_id, NOT_LUHN)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_card"
    assert Order.objects.get(pk=order_id).status == "pending_payment"


# --- cancel and fulfil --------------------------------------------------------------------------


def test_cancel_a_pending_order_releases_the_stock(stocked_cart: Customer) -> None:
    order_id = _checkout(stocked_cart).json()["id"]
    response = stocked_cart.api.post(f"/api/orders/{order_id}/cancel")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["history"][-1]["reason"] == "cancelled_by_customer"
    assert stock("A") == (5, 0)
    assert _kinds(stocked_cart) == ["order_cancelled", "order_placed"]


def test_cancel_a_paid_order_refunds_and_restocks(stocked_cart: Customer) -> None:
    order_id = _checkout(stocked_cart, APPROVED).json()["id"]
    assert stock("A") == (3, 0)
    response = stocked_cart.api.post(f"/api/orders/{order_id}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "refunded"
    assert stock("A") == (5, 0)
    assert stock("B") == (3, 0)
    assert _payments(order_id) == ["refunded"]
    assert _kinds(stocked_cart) == ["order_paid", "order_placed", "order_refunded"]


@pytest.mark.parametrize(("card", "state"), [(None, "cancelled"), (APPROVED, "refunded")])
def test_cancel_twice_is_illegal(stocked_cart: Customer, card: str | None, state: str) -> None:
    order_id = _checkout(stocked_cart, card).json()["id"]
    stocked_cart.api.post(f"/api/orders/{order_id}/cancel")
    response = stocked_cart.api.post(f"/api/orders/{order_id}/cancel")
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["from"], body["to"]) == ("illegal_transition", state, "cancelled")


def test_fulfil_is_staff_only(stocked_cart: Customer, staff: Customer) -> None:
    order_id = _checkout(stocked_cart, APPROVED).json()["id"]
    forbidden = stocked_cart.api.post(f"/api/orders/{order_id}/fulfil")
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == "permission_denied"

    response = staff.api.post(f"/api/orders/{order_id}/fulfil")
    assert response.status_code == 200
    assert response.json()["status"] == "fulfilled"
    assert [h["status"] for h in response.json()["history"]] == [
        "pending_payment",
        "paid",
        "fulfilled",
    ]
    again = staff.api.post(f"/api/orders/{order_id}/fulfil")
    assert again.status_code == 409
    assert (again.json()["from"], again.json()["to"]) == ("fulfilled", "fulfilled")
    cancel = stocked_cart.api.post(f"/api/orders/{order_id}/cancel")
    assert cancel.status_code == 409
    assert cancel.json()["from"] == "fulfilled"


def test_fulfil_of_a_pending_order_is_illegal(stocked_cart: Customer, staff: Customer) -> None:
    order_id = _checkout(stocked_cart).json()["id"]
    response = staff.api.post(f"/api/orders/{order_id}/fulfil")
    assert response.status_code == 409
    assert (response.json()["from"], response.json()["to"]) == ("pending_payment", "fulfilled")


def test_fulfil_of_an_unknown_order_is_404(staff: Customer) -> None:
    response = staff.api.post("/api/orders/00000000-0000-0000-0000-000000000000/fulfil")
    assert response.status_code == 404


# --- reading, ownership -------------------------------------------------------------------------


def test_another_users_order_is_404(stocked_cart: Customer, bob: Customer) -> None:
    order_id = _checkout(stocked_cart).json()["id"]
    for response in (
        bob.api.get(f"/api/orders/{order_id}"),
        _pay(bob, order_id, APPROVED),
        bob.api.post(f"/api/orders/{order_id}/cancel"),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert Order.objects.get(pk=order_id).status == "pending_payment"
    assert bob.api.get("/api/orders").json()["count"] == 0


def test_list_is_the_callers_orders_newest_first(
    stocked_cart: Customer, bob: Customer, product: Callable[..., None]
) -> None:
    first = _checkout(stocked_cart).json()["id"]
    stocked_cart.api.post("/api/cart/items", {"sku": "A", "quantity": 1}, format="json")
    second = _checkout(stocked_cart, APPROVED).json()["id"]
    response = stocked_cart.api.get("/api/orders?page_size=1")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["previous"] is None
    assert body["next"].endswith("page=2&page_size=1")
    assert [order["id"] for order in body["results"]] == [second]
    page2 = stocked_cart.api.get("/api/orders?page=2&page_size=1").json()
    assert [order["id"] for order in page2["results"]] == [first]
    assert page2["results"][0]["lines"][0]["sku"] == "A"


def test_orders_require_a_token(client: Any) -> None:
    response = client.get("/api/orders")
    assert response.status_code == 401
