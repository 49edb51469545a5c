"""orders: the order lifecycle. Aggregate ``orders.order``, identified by ``order_id``.

Every event carries the whole order, so a follower that missed one (or got them out of
order) still converges by applying whichever is newest.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from .base import Event

OrderStatus = Literal[
    "pending_payment", "paid", "payment_failed", "cancelled", "refunded", "fulfilled"
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderLine:
    sku: str
    product_name: str
    variant_name: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderState(Event):
    AGGREGATE_ID = "order_id"

    order_id: uuid.UUID
    user_id: int
    status: OrderStatus
    currency: str
    total: Decimal
    lines: tuple[OrderLine, ...]
    payment_id: uuid.UUID | None
    created_at: datetime


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderPlaced(OrderState):
    EVENT_NAME = "orders.order.placed"


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderPaid(OrderState):
    EVENT_NAME = "orders.order.paid"


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderPaymentFailed(OrderState):
    EVENT_NAME = "orders.order.payment_failed"

    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderCancelled(OrderState):
    EVENT_NAME = "orders.order.cancelled"

    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderRefunded(OrderState):
    EVENT_NAME = "orders.order.refunded"


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderFulfilled(OrderState):
    EVENT_NAME = "orders.order.fulfilled"
