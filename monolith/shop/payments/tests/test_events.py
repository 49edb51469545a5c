"""payments publishes one event per status change, carrying the whole payment."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from eventbus.outbox.models import OutboxMessage
from shop.payments import services
from shop.payments.models import Payment

pytestmark = [pytest.mark.payments, pytest.mark.django_db]

Authorize = Callable[..., services.PaymentView]


def _outbox() -> list[tuple[str, str, int, dict[str, Any]]]:
    return [
        (row.name, row.aggregate_id, row.aggregate_version, json.loads(row.body)["payload"])
        for row in OutboxMessage.objects.order_by("id")
    ]


def test_authorize_capture_refund_publish_the_payment_each_time(authorize: Authorize) -> None:
    view = authorize()
    services.payment_capture(payment_id=view.id)
    services.payment_capture(payment_id=view.id)  # idempotent: no second event
    services.payment_refund(payment_id=view.id)
    events = _outbox()
    assert [(n, a, v) for n, a, v, _ in events] == [
        ("payments.payment.authorized", str(view.id), 1),
        ("payments.payment.captured", str(view.id), 2),
        ("payments.payment.refunded", str(view.id), 3),
    ]
    assert events[0][3] == {
        "payment_id": str(view.id),
        "order_id": str(view.order_id),
        "user_id": 1,
        "amount": "12.50",
        "currency": "EUR",
        "status": "authorized",
        "card_last4": "4242",
        "decline_reason": "",
        "provider_reference": Payment.objects.get(pk=view.id).provider_reference,
    }
    assert [payload["status"] for *_, payload in events] == ["authorized", "captured", "refunded"]


def test_void_publishes_voided(authorize: Authorize) -> None:
    view = authorize()
    services.payment_void(payment_id=view.id)
    assert [(n, v) for n, _, v, _ in _outbox()] == [
        ("payments.payment.authorized", 1),
        ("payments.payment.voided", 2),
    ]


@pytest.mark.parametrize(
    ("card", "name", "reason"),
    [
        ("4000000000000002", "payments.payment.declined", "card_declined"),
        ("4000000000000119", "payments.payment.failed", ""),
    ],
)
def test_declines_and_failures_are_published(
    authorize: Authorize, card: str, name: str, reason: str
) -> None:
    view = authorize(card_number=card)
    events = _outbox()
    assert [(n, a, v) for n, a, v, _ in events] == [(name, str(view.id), 1)]
    assert events[0][3]["decline_reason"] == reason


def test_idempotent_replay_and_illegal_transitions_publish_nothing(authorize: Authorize) -> None:
    view = authorize(idempotency_key="k-1")
    authorize(idempotency_key="k-1")
    with pytest.raises(services.IllegalPaymentState):
        services.payment_refund(payment_id=view.id)  # not captured
    with pytest.raises(services.InvalidCard):
        authorize(card_number="4242424242424241")
    assert [n for n, *_ in _outbox()] == ["payments.payment.authorized"]
