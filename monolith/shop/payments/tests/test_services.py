from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest

from shop.notifications import selectors as notifications
from shop.payments import selectors, services
from shop.payments.models import LedgerEntry, Payment
from shop.payments.tests.fakes import CountingProvider
from shop.users import services as users

pytestmark = [pytest.mark.payments, pytest.mark.django_db]

Authorize = Callable[..., services.PaymentView]


def ledger_kinds(payment_id: uuid.UUID) -> list[str]:
    return list(
        LedgerEntry.objects.filter(payment_id=payment_id)
        .order_by("at", "id")
        .values_list("kind", flat=True)
    )


def test_authorize_approved(authorize: Authorize) -> None:
    order_id = uuid.uuid4()
    view = authorize(order_id=order_id, user_id=7, card_number="4242 4242 4242 4242")

    assert view.status == "authorized"
    assert view.order_id == order_id
    assert view.user_id == 7
    assert view.amount == Decimal("12.50")
    assert view.currency == "EUR"
    assert view.card_last4 == "4242"
    assert view.decline_reason == ""
    entry = LedgerEntry.objects.get(payment_id=view.id)
    assert (entry.kind, entry.amount, entry.currency) == ("authorize", Decimal("12.50"), "EUR")
    assert entry.provider_reference.startswith("sim_")
    assert Payment.objects.get(pk=view.id).provider_reference == entry.provider_reference


@pytest.mark.parametrize(
    ("card", "reason"),
    [("4000000000000002", "card_declined"), ("4000000000009995", "insufficient_funds")],
)
def test_authorize_declined_does_not_raise(authorize: Authorize, card: str, reason: str) -> None:
    view = authorize(card_number=card)
    assert view.status == "declined"
    assert view.decline_reason == reason
    assert view.card_last4 == card[-4:]
    assert ledger_kinds(view.id) == ["decline"]


def test_each_declined_attempt_notifies_the_customer_once(authorize: Authorize) -> None:
    user_id = int(users.user_register(email="ada@example.com", password="a-long-pass-phrase").pk)
    order_id = uuid.uuid4()
    declined = "4000000000000002"
    first = authorize(order_id=order_id, user_id=user_id, card_number=declined)
    replayed = authorize(
        order_id=order_id, user_id=user_id, card_number=declined, idempotency_key="attempt-2"
    )
    # the replay of an attempt is the same attempt: no second message
    authorize(order_id=order_id, user_id=user_id, card_number=declined, idempotency_key="attempt-2")
    authorize(order_id=order_id, user_id=user_id)  # approved: no message from payments

    sent = list(notifications.notifications_of_user(user_id=user_id))
    assert sorted((n.kind, n.reference) for n in sent) == sorted(
        [("payment_declined", str(first.id)), ("payment_declined", str(replayed.id))]
    )
    message = next(n for n in sent if n.reference == str(first.id))
    assert message.subject == f"Your payment for order {order_id} was declined"
    assert "card ending 0002 was declined (card_declined) for 12.50 EUR" in message.body


def test_authorize_provider_error_records_failure(authorize: Authorize) -> None:
    view = authorize(card_number="4000000000000119")
    assert view.status == "failed"
    assert view.decline_reason == ""
    assert ledger_kinds(view.id) == ["failure"]


def test_authorize_slow_card_approves(authorize: Authorize) -> None:
    assert authorize(card_number="4000000000000259").status == "authorized"


def test_authorize_invalid_card_raises_and_writes_nothing(
    authorize: Authorize, fake_provider: CountingProvider
) -> None:
    with pytest.raises(services.InvalidCard) as caught:
        authorize(card_number="4242424242424241")
    problem = caught.value.problem()
    assert (problem.status, problem.code) == (400, "invalid_card")
    assert [e.field for e in problem.errors] == ["payment.card_number"]
    assert fake_provider.calls == []
    assert Payment.objects.count() == 0


def test_authorize_is_idempotent_and_calls_provider_once(
    authorize: Authorize, fake_provider: CountingProvider
) -> None:
    order_id = uuid.uuid4()
    first = authorize(order_id=order_id, idempotency_key="checkout-1")
    second = authorize(order_id=order_id, idempotency_key="checkout-1")

    assert second == first
    assert fake_provider.calls == [("authorize", "checkout-1")]
    assert Payment.objects.count() == 1
    assert LedgerEntry.objects.count() == 1


def test_idempotent_replay_of_a_decline_does_not_ask_again(
    authorize: Authorize, fake_provider: CountingProvider
) -> None:
    first = authorize(card_number="4000000000000002", idempotency_key="k")
    second = authorize(card_number="4000000000000002", idempotency_key="k")
    assert second == first
    assert second.status == "declined"
    assert len(fake_provider.calls) == 1


def test_authorize_refuses_programming_errors(authorize: Authorize) -> None:
    with pytest.raises(ValueError, match="amount"):
        authorize(amount=Decimal("0.00"))
    with pytest.raises(ValueError, match="amount"):
        authorize(amount=Decimal("1.005"))
    with pytest.raises(ValueError, match="currency"):
        authorize(currency="eur")
    with pytest.raises(ValueError, match="idempotency_key"):
        authorize(idempotency_key="")
    assert Payment.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_provider_is_called_outside_any_transaction(
    authorize: Authorize, fake_provider: CountingProvider
) -> None:
    authorize()
    assert fake_provider.in_transaction == [False]


def test_capture_authorized_then_idempotent(
    authorize: Authorize, fake_provider: CountingProvider
) -> None:
    view = authorize()
    captured = services.payment_capture(payment_id=view.id)
    again = services.payment_capture(payment_id=view.id)

    assert captured.status == "captured"
    assert again == captured
    assert ledger_kinds(view.id) == ["authorize", "capture"]
    assert [c[0] for c in fake_provider.calls] == ["authorize", "capture"]


def test_void_authorized_then_idempotent(authorize: Authorize) -> None:
    view = authorize()
    assert services.payment_void(payment_id=view.id).status == "voided"
    assert services.payment_void(payment_id=view.id).status == "voided"
    assert ledger_kinds(view.id) == ["authorize", "void"]


def test_refund_captured_then_idempotent(authorize: Authorize) -> None:
    view = authorize(amount=Decimal("99.99"))
    services.payment_capture(payment_id=view.id)
    refunded = services.payment_refund(payment_id=view.id)
    assert refunded.status == "refunded"
    assert services.payment_refund(payment_id=view.id).status == "refunded"
    assert ledger_kinds(view.id) == ["authorize", "capture", "refund"]
    refund = LedgerEntry.objects.get(payment_id=view.id, kind="refund")
    assert refund.amount == Decimal("99.99")


@pytest.mark.parametrize(
    ("setup", "action"),
    [
        (["void"], services.payment_capture),  # voided cannot be captured
        (["capture"], services.payment_void),  # captured cannot be voided
        ([], services.payment_refund),  # authorized cannot be refunded
        (["void"], services.payment_refund),
        (["capture", "refund"], services.payment_capture),
        (["capture", "refund"], services.payment_void),
    ],
)
def test_illegal_transitions_raise_409(
    authorize: Authorize, setup: list[str], action: Callable[..., services.PaymentView]
) -> None:
    view = authorize()
    for step in setup:
        getattr(services, f"payment_{step}")(payment_id=view.id)
    before = ledger_kinds(view.id)
    with pytest.raises(services.IllegalPaymentState) as caught:
        action(payment_id=view.id)
    problem = caught.value.problem()
    assert (problem.status, problem.code) == (409, "illegal_payment_state")
    assert ledger_kinds(view.id) == before


@pytest.mark.parametrize("card", ["4000000000000002", "4000000000000119"])
@pytest.mark.parametrize(
    "action", [services.payment_capture, services.payment_void, services.payment_refund]
)
def test_declined_and_failed_payments_accept_no_action(
    authorize: Authorize, card: str, action: Callable[..., services.PaymentView]
) -> None:
    view = authorize(card_number=card)
    with pytest.raises(services.IllegalPaymentState):
        action(payment_id=view.id)


def test_unknown_payment_is_not_found() -> None:
    with pytest.raises(services.PaymentNotFound) as caught:
        services.payment_capture(payment_id=uuid.uuid4())
    assert caught.value.problem().status == 404


def test_provider_failure_on_capture_changes_nothing(
    authorize: Authorize, fake_provider: CountingProvider
) -> None:
    view = authorize()
    fake_provider.fail_next.add("capture")
    with pytest.raises(services.PaymentProviderError) as caught:
        services.payment_capture(payment_id=view.id)
    assert caught.value.problem().code == "payment_provider_error"
    assert Payment.objects.get(pk=view.id).status == "authorized"
    assert ledger_kinds(view.id) == ["authorize"]
    # The next attempt goes through.
    assert services.payment_capture(payment_id=view.id).status == "captured"


def test_exported_errors_for_orders() -> None:
    declined = services.PaymentDeclined(
        "declined", order_id="o-1", decline_reason="card_declined"
    ).problem()
    assert (declined.status, declined.code, declined.title) == (
        402,
        "payment_declined",
        "The payment was declined",
    )
    assert declined.to_dict()["decline_reason"] == "card_declined"
    failed = services.PaymentProviderError("x", order_id="o-1").problem()
    assert (failed.status, failed.code, failed.title) == (
        402,
        "payment_provider_error",
        "The payment provider failed",
    )


def test_selectors(authorize: Authorize) -> None:
    order_id = uuid.uuid4()
    first = authorize(order_id=order_id, card_number="4000000000000002")
    second = authorize(order_id=order_id)
    authorize()  # another order

    assert selectors.payment_get(payment_id=second.id) == second
    assert selectors.payment_get(payment_id=uuid.uuid4()) is None
    assert selectors.payments_for_order(order_id=order_id) == [first, second]
    assert selectors.payments_for_order(order_id=uuid.uuid4()) == []
