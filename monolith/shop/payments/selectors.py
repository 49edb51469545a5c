"""payments' reads. Other contexts get :class:`PaymentView` values, never model instances."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from .models import Payment


@dataclass(frozen=True, slots=True)
class PaymentView:
    id: uuid.UUID
    order_id: uuid.UUID
    user_id: int
    amount: Decimal
    currency: str
    status: str  # authorized | captured | voided | refunded | declined | failed
    card_last4: str
    decline_reason: str  # "" unless declined


def payment_view(payment: Payment) -> PaymentView:
    return PaymentView(
        id=payment.id,
        order_id=payment.order_id,
        user_id=payment.user_id,
        amount=payment.amount,
        currency=payment.currency,
        status=payment.status,
        card_last4=payment.card_last4,
        decline_reason=payment.decline_reason,
    )


def payment_get(*, payment_id: uuid.UUID) -> PaymentView | None:
    payment = Payment.objects.filter(pk=payment_id).first()
    return payment_view(payment) if payment is not None else None


def payments_for_order(*, order_id: uuid.UUID) -> list[PaymentView]:
    """Every attempt to pay one order, oldest first."""
    rows = Payment.objects.filter(order_id=order_id).order_by("created_at", "id")
    return [payment_view(payment) for payment in rows]


def payments_of_user(*, user_id: int, order_id: uuid.UUID | None = None) -> QuerySet[Payment]:
    """The user's own payments (optionally of one order), newest first, ledger prefetched."""
    rows = Payment.objects.filter(user_id=user_id)
    if order_id is not None:
        rows = rows.filter(order_id=order_id)
    return rows.prefetch_related("ledger").order_by("-created_at", "-id")


def payment_of_user(*, user_id: int, payment_id: uuid.UUID) -> Payment | None:
    """One payment with its ledger, or None if it does not exist or is another user's."""
    return payments_of_user(user_id=user_id).filter(pk=payment_id).first()
