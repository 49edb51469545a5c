"""Service-level paths the API cannot reach on demand: races with the provider, lapsed holds,
capture failures, the expiry sweep."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any
from uuid import UUID

import pytest
from django.core.management import call_command
from django.utils import timezone

from shop.cart import selectors as cart_selectors
from shop.cart import services as cart_services
from shop.catalog import services as catalog_services
from shop.notifications import selectors as notification_selectors
from shop.orders import services
from shop.orders.errors import CartEmpty, IllegalTransition
from shop.orders.models import Order
from shop.payments import selectors as payment_selectors
from shop.payments import services as payment_services

from .conftest import Customer
from .support import APPROVED, stock

pytestmark = [pytest.mark.orders, pytest.mark.django_db]


def _statuses(order_id: UUID) -> list[str]:
    return [p.status for p in payment_selectors.payments_for_order(order_id=order_id)]


def _after_authorize(monkeypatch: pytest.MonkeyPatch, then: Callable[[UUID], None]) -> None:
    """Run ``then(order_id)`` after the provider approved, before the order is settled."""
    real = payment_services.payment_authorize

    def authorize(**kwargs: Any) -> payment_services.PaymentView:
        payment = real(**kwargs)
        then(kwargs["order_id"])
        return payment

    monkeypatch.setattr(payment_services, "payment_authorize", authorize)


def test_hold_lapsing_during_authorisation_voids_and_cancels(
    stocked_cart: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lapse(order_id: UUID) -> None:
        Order.objects.filter(pk=order_id).update(
            reservation_expires_at=timezone.now() - timedelta(seconds=1)
        )

    _after_authorize(monkeypatch, lapse)
    with pytest.raises(catalog_services.ReservationExpired) as caught:
        services.checkout(user_id=stocked_cart.id, card_number=APPROVED, hold_seconds=5)
    order = Order.objects.get(pk=caught.value.extra["order_id"])
    assert order.status == "cancelled"
    assert order.history.last().reason == "reservation_expired"  # type: ignore[union-attr]
    assert _statuses(order.id) == ["voided"]
    assert stock("A") == (5, 0)
    assert cart_selectors.cart_get(user_id=stocked_cart.id).item_count == 3


def test_reservation_released_by_the_catalog_counts_as_lapsed(stocked_cart: Customer) -> None:
    order = services.checkout(user_id=stocked_cart.id, card_number=None)
    assert order.reservation_id is not None
    catalog_services.reservation_release(reservation_id=order.reservation_id, reason="test")
    with pytest.raises(catalog_services.ReservationExpired):
        services.order_pay(user_id=stocked_cart.id, order_id=order.id, card_number=APPROVED)
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert _statuses(order.id) == []


def test_reservation_lapsed_in_the_catalog_by_the_clock(
    stocked_cart: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = services.checkout(user_id=stocked_cart.id, card_number=None, hold_seconds=1)
    later = timezone.now() + timedelta(seconds=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    with pytest.raises(catalog_services.ReservationExpired):
        services.order_pay(user_id=stocked_cart.id, order_id=order.id, card_number=APPROVED)
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert stock("A") == (5, 0)


def test_order_cancelled_while_the_payer_is_at_the_provider(
    stocked_cart: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = services.checkout(user_id=stocked_cart.id, card_number=None)

    def cancel(order_id: UUID) -> None:
        services.order_cancel(user_id=stocked_cart.id, order_id=order_id)

    _after_authorize(monkeypatch, cancel)
    with pytest.raises(IllegalTransition) as caught:
        services.order_pay(user_id=stocked_cart.id, order_id=order.id, card_number=APPROVED)
    assert caught.value.extra == {"from": "cancelled", "to": "paid"}
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert _statuses(order.id) == ["voided"]
    assert stock("A") == (5, 0)


def test_cancel_voids_an_authorisation_left_behind(stocked_cart: Customer) -> None:
    order = services.checkout(user_id=stocked_cart.id, card_number=None)
    payment_services.payment_authorize(
        order_id=order.id,
        user_id=stocked_cart.id,
        amount=order.total,
        currency=order.currency,
        card_number=APPROVED,
        idempotency_key="left-behind",
    )
    services.order_cancel(user_id=stocked_cart.id, order_id=order.id)
    assert _statuses(order.id) == ["voided"]


@pytest.fixture
def refused_capture(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**kwargs: Any) -> payment_services.PaymentView:
        raise payment_services.PaymentProviderError("refused")

    monkeypatch.setattr(payment_services, "payment_capture", refuse)


@pytest.mark.usefixtures("refused_capture")
def test_refused_capture_at_checkout_fails_the_order(stocked_cart: Customer) -> None:
    with pytest.raises(payment_services.PaymentProviderError) as caught:
        services.checkout(user_id=stocked_cart.id, card_number=APPROVED)
    order = Order.objects.get(pk=caught.value.extra["order_id"])
    assert order.status == "payment_failed"
    assert _statuses(order.id) == ["voided"]
    assert stock("A") == (5, 0)
    assert cart_selectors.cart_get(user_id=stocked_cart.id).item_count == 3


@pytest.mark.usefixtures("refused_capture")
def test_refused_capture_on_pay_leaves_the_order_payable(stocked_cart: Customer) -> None:
    order = services.checkout(user_id=stocked_cart.id, card_number=None)
    with pytest.raises(payment_services.PaymentProviderError):
        services.order_pay(user_id=stocked_cart.id, order_id=order.id, card_number=APPROVED)
    order.refresh_from_db()
    assert order.status == "pending_payment"
    assert _statuses(order.id) == ["voided"]
    assert stock("A") == (5, 2)


def test_checkout_of_an_empty_cart(alice: Customer) -> None:
    with pytest.raises(CartEmpty):
        services.checkout(user_id=alice.id, card_number=None)


def test_expire_lapsed_cancels_only_lapsed_pending_orders(
    stocked_cart: Customer, product: Callable[..., None]
) -> None:
    lapsed = services.checkout(user_id=stocked_cart.id, card_number=None, hold_seconds=1)
    product("C", on_hand=2)
    cart_services.cart_add_item(user_id=stocked_cart.id, sku="C", quantity=1)
    fresh = services.checkout(user_id=stocked_cart.id, card_number=None)
    Order.objects.filter(pk=lapsed.id).update(
        reservation_expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert services.orders_expire_lapsed() == 1
    lapsed.refresh_from_db()
    fresh.refresh_from_db()
    assert (lapsed.status, fresh.status) == ("cancelled", "pending_payment")
    assert lapsed.history.last().reason == "reservation_expired"  # type: ignore[union-attr]
    assert stock("A") == (5, 0)
    assert stock("C") == (2, 1)
    kinds = {n.kind for n in notification_selectors.notifications_of_user(user_id=stocked_cart.id)}
    assert "order_cancelled" in kinds
    assert services.orders_expire_lapsed() == 0


def test_expire_orders_command(stocked_cart: Customer) -> None:
    order = services.checkout(user_id=stocked_cart.id, card_number=None, hold_seconds=1)
    Order.objects.filter(pk=order.id).update(
        reservation_expires_at=timezone.now() - timedelta(seconds=1)
    )
    out = StringIO()
    call_command("expire_orders", stdout=out)
    assert out.getvalue().startswith("cancelled 1 lapsed order(s)")
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_versions_count_every_change(stocked_cart: Customer) -> None:
    order = services.checkout(user_id=stocked_cart.id, card_number=None)
    assert order.version == 1
    paid = services.order_pay(user_id=stocked_cart.id, order_id=order.id, card_number=APPROVED)
    assert paid.version == 3  # the payment attempt, then paid
