"""payments: authorise, capture, void, refund. Aggregate ``payments.payment`` by ``payment_id``."""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal
from typing import Literal

from .base import Event

PaymentStatus = Literal["authorized", "captured", "voided", "refunded", "declined", "failed"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class PaymentState(Event):
    AGGREGATE_ID = "payment_id"

    payment_id: uuid.UUID
    order_id: uuid.UUID
    user_id: int
    amount: Decimal
    currency: str
    status: PaymentStatus
    card_last4: str
    decline_reason: str
    provider_reference: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class PaymentAuthorized(PaymentState):
    EVENT_NAME = "payments.payment.authorized"


@dataclasses.dataclass(frozen=True, kw_only=True)
class PaymentDeclined(PaymentState):
    EVENT_NAME = "payments.payment.declined"


@dataclasses.dataclass(frozen=True, kw_only=True)
class PaymentFailed(PaymentState):
    """The provider could not be reached or answered with an error."""

    EVENT_NAME = "payments.payment.failed"


@dataclasses.dataclass(frozen=True, kw_only=True)
class PaymentCaptured(PaymentState):
    EVENT_NAME = "payments.payment.captured"


@dataclasses.dataclass(frozen=True, kw_only=True)
class PaymentVoided(PaymentState):
    EVENT_NAME = "payments.payment.voided"


@dataclasses.dataclass(frozen=True, kw_only=True)
class PaymentRefunded(PaymentState):
    EVENT_NAME = "payments.payment.refunded"
