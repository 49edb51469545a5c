"""payments' writes. Other contexts call these (and selectors.py), never the models."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, cast

from django.db import IntegrityError, transaction

from contracts.events import payments as events
from eventbus.outbox import publish
from shop.notifications import services as notification_services

from .cards import card_digits, card_valid
from .errors import (
    IllegalPaymentState,
    InvalidCard,
    PaymentDeclined,
    PaymentNotFound,
    PaymentProviderError,
)
from .models import LedgerEntry, LedgerKind, Payment, PaymentStatus
from .provider import ProviderError, ProviderResult, get_provider
from .selectors import PaymentView, payment_view

__all__ = [
    "IllegalPaymentState",
    "InvalidCard",
    "PaymentDeclined",
    "PaymentNotFound",
    "PaymentProviderError",
    "PaymentView",
    "card_valid",
    "payment_authorize",
    "payment_capture",
    "payment_refund",
    "payment_void",
]

log = logging.getLogger(__name__)

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CENT = Decimal("0.01")


_EVENTS: dict[str, type[events.PaymentState]] = {
    PaymentStatus.AUTHORIZED: events.PaymentAuthorized,
    PaymentStatus.DECLINED: events.PaymentDeclined,
    PaymentStatus.FAILED: events.PaymentFailed,
    PaymentStatus.CAPTURED: events.PaymentCaptured,
    PaymentStatus.VOIDED: events.PaymentVoided,
    PaymentStatus.REFUNDED: events.PaymentRefunded,
}


def _publish(payment: Payment) -> None:
    """The event of the payment's (new) status, carrying the whole payment."""
    publish(
        _EVENTS[payment.status](
            payment_id=payment.id,
            order_id=payment.order_id,
            user_id=payment.user_id,
            amount=payment.amount,
            currency=payment.currency,
            status=cast("events.PaymentStatus", payment.status),  # a PaymentStatus value
            card_last4=payment.card_last4,
            decline_reason=payment.decline_reason,
            provider_reference=payment.provider_reference,
            aggregate_version=payment.version,
        )
    )


def _check_input(*, amount: Decimal, currency: str, idempotency_key: str) -> None:
    # Programming errors of the calling context, not user input: fail loudly.
    if not isinstance(amount, Decimal) or amount <= 0 or amount != amount.quantize(_CENT):
        raise ValueError(f"amount must be a positive Decimal with two places, not {amount!r}")
    if not _CURRENCY.match(currency):
        raise ValueError(f"currency must be 3 upper-case letters, not {currency!r}")
    if not 1 <= len(idempotency_key) <= 255:
        raise ValueError("idempotency_key must be 1 to 255 characters")


def _by_key(idempotency_key: str) -> PaymentView | None:
    payment = Payment.objects.filter(idempotency_key=idempotency_key).first()
    return payment_view(payment) if payment is not None else None


def payment_authorize(
    *,
    order_id: uuid.UUID,
    user_id: int,
    amount: Decimal,
    currency: str,
    card_number: str,
    idempotency_key: str,
) -> PaymentView:
    """Authorise ``amount`` on the card. Idempotent on ``idempotency_key``.

    Declines and provider failures do not raise: the answer's ``status`` is ``declined`` or
    ``failed``. Only a card number failing the Luhn check raises :class:`InvalidCard`.
    Call it outside a database transaction: the provider may take seconds to answer.
    """
    digits = card_digits(card_number)
    if not card_valid(digits):
        raise InvalidCard("The card number fails the Luhn check.", field="payment.card_number")
    _check_input(amount=amount, currency=currency, idempotency_key=idempotency_key)
    existing = _by_key(idempotency_key)
    if existing is not None:
        return existing

    # The provider call runs with no transaction of ours open: a slow provider must not hold
    # a database lock (on SQLite, the single write lock) while it thinks.
    try:
        result = get_provider().authorize(digits, amount, currency, idempotency_key)
    except ProviderError:
        log.warning("payment provider failed to authorise (order %s)", order_id, exc_info=True)
        status, kind, reason, reference = PaymentStatus.FAILED, LedgerKind.FAILURE, "", ""
    else:
        reference = result.reference
        if result.approved:
            status, kind, reason = PaymentStatus.AUTHORIZED, LedgerKind.AUTHORIZE, ""
        else:
            status, kind = PaymentStatus.DECLINED, LedgerKind.DECLINE
            reason = result.decline_reason or "card_declined"

    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                order_id=order_id,
                user_id=user_id,
                amount=amount,
                currency=currency,
                status=status,
                card_last4=digits[-4:],
                decline_reason=reason,
                provider_reference=reference,
                idempotency_key=idempotency_key,
            )
            LedgerEntry.objects.create(
                payment=payment,
                kind=kind,
                amount=amount,
                currency=currency,
                provider_reference=reference,
            )
            _publish(payment)
            if status == PaymentStatus.DECLINED:
                _notify_declined(payment)
    except IntegrityError:
        # A concurrent call with the same key wrote first: its answer is the answer.
        existing = _by_key(idempotency_key)
        if existing is None:
            raise
        return existing
    return payment_view(payment)


def _notify_declined(payment: Payment) -> None:
    """Tell the customer, once per declined attempt (the payment is the fact's reference).
    The notifications service builds the same message from ``payments.payment.declined``."""
    notification_services.notification_send(
        user_id=payment.user_id,
        kind="payment_declined",
        reference=str(payment.id),
        context={
            "order_id": str(payment.order_id),
            "total": f"{payment.amount:.2f}",
            "currency": payment.currency,
            "reason": payment.decline_reason,
            "card_last4": payment.card_last4,
        },
    )


Action = Literal["capture", "void", "refund"]


@dataclass(frozen=True, slots=True)
class _Rule:
    source: PaymentStatus
    target: PaymentStatus
    kind: LedgerKind


_RULES: dict[Action, _Rule] = {
    "capture": _Rule(PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED, LedgerKind.CAPTURE),
    "void": _Rule(PaymentStatus.AUTHORIZED, PaymentStatus.VOIDED, LedgerKind.VOID),
    "refund": _Rule(PaymentStatus.CAPTURED, PaymentStatus.REFUNDED, LedgerKind.REFUND),
}


def _call_provider(action: Action, payment: Payment) -> ProviderResult:
    provider = get_provider()
    if action == "capture":
        return provider.capture(payment.provider_reference, payment.amount)
    if action == "void":
        return provider.void(payment.provider_reference)
    return provider.refund(payment.provider_reference, payment.amount)


def _transition(payment_id: uuid.UUID, action: Action) -> PaymentView:
    rule = _RULES[action]
    # The row lock serialises concurrent calls for one payment (PostgreSQL: FOR UPDATE;
    # SQLite: the IMMEDIATE transaction already holds the write lock), so the provider is
    # asked once and one ledger entry is written. Unlike authorisation, these calls are
    # quick, and asking the provider exactly once is worth holding the lock for it.
    payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
    if payment is None:
        raise PaymentNotFound(f"No payment {payment_id}.", payment_id=str(payment_id))
    if payment.status == rule.target:
        return payment_view(payment)  # already done: idempotent
    if payment.status != rule.source:
        raise IllegalPaymentState(
            f"Cannot {action} a payment that is {payment.status}.",
            payment_id=str(payment.id),
            payment_status=payment.status,
        )
    try:
        result = _call_provider(action, payment)
    except ProviderError as exc:
        log.warning("payment provider failed to %s payment %s", action, payment.id, exc_info=True)
        raise PaymentProviderError(
            f"The provider failed to {action} the payment; nothing changed.",
            payment_id=str(payment.id),
        ) from exc
    if not result.approved:
        raise PaymentProviderError(
            f"The provider refused to {action} the payment: {result.decline_reason or 'no reason'}.",
            payment_id=str(payment.id),
        )
    payment.status = rule.target
    payment.version += 1
    payment.save(update_fields=["status", "version", "updated_at"])
    LedgerEntry.objects.create(
        payment=payment,
        kind=rule.kind,
        amount=payment.amount,
        currency=payment.currency,
        provider_reference=result.reference,
    )
    _publish(payment)
    return payment_view(payment)


@transaction.atomic
def payment_capture(*, payment_id: uuid.UUID) -> PaymentView:
    """authorized -> captured; captured stays captured; anything else: IllegalPaymentState."""
    return _transition(payment_id, "capture")


@transaction.atomic
def payment_void(*, payment_id: uuid.UUID) -> PaymentView:
    """authorized -> voided; voided stays voided; anything else: IllegalPaymentState."""
    return _transition(payment_id, "void")


@transaction.atomic
def payment_refund(*, payment_id: uuid.UUID) -> PaymentView:
    """captured -> refunded; refunded stays refunded; anything else: IllegalPaymentState."""
    return _transition(payment_id, "refund")
