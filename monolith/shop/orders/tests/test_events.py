"""orders publishes an event per transition; checkout's events land in commit order."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventbus.outbox.models import OutboxMessage
from shop.cart import services as cart_services
from shop.orders import services
from shop.payments import services as payment_services

from .conftest import Customer
from .support import APPROVED, DECLINED

pytestmark = [pytest.mark.orders, pytest.mark.django_db]

Row = tuple[str, str, int, dict[str, Any]]


def _outbox(since: int = 0) -> list[Row]:
    return [
        (row.name, row.aggregate_id, row.aggregate_version, json.loads(row.body)["payload"])
        for row in OutboxMessage.objects.filter(id__gt=since).order_by("id")
    ]


def _last_id() -> int:
    return OutboxMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _order_events(rows: list[Row]) -> list[tuple[str, int]]:
    return [(n, v) for n, _, v, _ in rows if n.startswith("orders.")]


def test_paid_checkout_publishes_in_commit_order(stocked_cart: Customer) -> None:
    mark = _last_id()
    order = services.checkout(user_id=stocked_cart.id, card_number=APPROVED)
    rows = _outbox(mark)
    assert [(n, a, v) for n, a, v, _ in rows] == [
        # T1: hold the stock, place the order
        ("catalog.inventory.stock_changed", "A", 2),
        ("catalog.inventory.stock_changed", "B", 2),
        ("orders.order.placed", str(order.id), 1),
        # the authorisation, its own transaction
        ("payments.payment.authorized", str(order.payment_id), 1),
        # T2: stock leaves, money taken, order paid, cart cleared
        ("catalog.inventory.stock_changed", "A", 3),
        ("catalog.inventory.stock_changed", "B", 3),
        ("payments.payment.captured", str(order.payment_id), 2),
        ("orders.order.paid", str(order.id), 2),
        ("cart.cart.cleared", str(stocked_cart.id), 3),
    ]
    placed, paid = (p for n, _, _, p in rows if n.startswith("orders."))
    assert placed["status"] == "pending_payment"
    assert placed["payment_id"] is None
    assert placed["total"] == "25.50"
    assert placed["user_id"] == stocked_cart.id
    assert [(line["sku"], line["quantity"], line["line_total"]) for line in placed["lines"]] == [
        ("A", 2, "20.00"),
        ("B", 1, "5.50"),
    ]
    assert paid["status"] == "paid"
    assert paid["payment_id"] == str(order.payment_id)
    assert [
        (p["on_hand"], p["reserved"]) for n, _, _, p in rows if n.endswith("stock_changed")
    ] == [
        (5, 2),
        (3, 1),
        (3, 0),
        (2, 0),
    ]
    assert rows[-1][3]["reason"] == "checked_out"
    assert rows[-1][3]["items"] == []


def test_checkout_without_card_places_and_clears(stocked_cart: Customer) -> None:
    mark = _last_id()
    order = services.checkout(user_id=stocked_cart.id, card_number=None)
    assert [n for n, *_ in _outbox(mark)] == [
        "catalog.inventory.stock_changed",
        "catalog.inventory.stock_changed",
        "orders.order.placed",
        "cart.cart.cleared",
    ]
    services.order_cancel(user_id=stocked_cart.id, order_id=order.id)
    rows = _outbox(mark)
    assert _order_events(rows) == [("orders.order.placed", 1), ("orders.order.cancelled", 2)]
    assert [(n, v) for n, _, v, _ in rows[4:]] == [
        ("orders.order.cancelled", 2),
        ("catalog.inventory.stock_changed", 3),  # the hold goes back
        ("catalog.inventory.stock_changed", 3),
    ]
    assert rows[4][3]["reason"] == "cancelled_by_customer"
    assert rows[4][3]["status"] == "cancelled"


def test_declined_checkout_keeps_its_events_after_raising(stocked_cart: Customer) -> None:
    mark = _last_id()
    with pytest.raises(payment_services.PaymentDeclined):
        services.checkout(user_id=stocked_cart.id, card_number=DECLINED)
    rows = _outbox(mark)
    assert [n for n, *_ in rows] == [
        "catalog.inventory.stock_changed",
        "catalog.inventory.stock_changed",
        "orders.order.placed",
        "payments.payment.declined",
        "orders.order.payment_failed",
        "catalog.inventory.stock_changed",
        "catalog.inventory.stock_changed",
    ]
    failed = rows[4]
    assert failed[2] == 2
    assert failed[3]["status"] == "payment_failed"
    assert failed[3]["reason"] == "card_declined"
    assert [(p["on_hand"], p["reserved"]) for *_, p in rows[5:]] == [(5, 0), (3, 0)]


def test_refund_and_fulfil_publish(stocked_cart: Customer) -> None:
    refunded = services.checkout(user_id=stocked_cart.id, card_number=APPROVED)
    cart_services.cart_add_item(user_id=stocked_cart.id, sku="A", quantity=1)
    fulfilled = services.checkout(user_id=stocked_cart.id, card_number=APPROVED)
    mark = _last_id()
    services.order_cancel(user_id=stocked_cart.id, order_id=refunded.id)
    services.order_fulfil(order_id=fulfilled.id)
    rows = _outbox(mark)
    assert [(n, a, v) for n, a, v, _ in rows] == [
        ("orders.order.refunded", str(refunded.id), 3),
        ("catalog.inventory.stock_changed", "A", 6),
        ("catalog.inventory.stock_changed", "B", 4),
        ("payments.payment.refunded", str(refunded.payment_id), 3),
        ("orders.order.fulfilled", str(fulfilled.id), 3),
    ]
    assert rows[0][3]["status"] == "refunded"
    assert rows[-1][3]["status"] == "fulfilled"


def test_failed_checkouts_and_illegal_transitions_publish_nothing(alice: Customer) -> None:
    mark = _last_id()
    with pytest.raises(services.CartEmpty):
        services.checkout(user_id=alice.id, card_number=None)
    assert _outbox(mark) == []


def test_illegal_transition_publishes_nothing(stocked_cart: Customer) -> None:
    order = services.checkout(user_id=stocked_cart.id, card_number=None)
    mark = _last_id()
    with pytest.raises(services.IllegalTransition):
        services.order_fulfil(order_id=order.id)
    assert _outbox(mark) == []
