"""cart: one cart per user. Aggregate ``cart.cart``, identified by ``user_id``."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Literal

from .base import Event


@dataclasses.dataclass(frozen=True, kw_only=True)
class CartLine:
    sku: str
    quantity: int
    unit_price: Decimal
    currency: str
    product_name: str
    variant_name: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class CartState(Event):
    AGGREGATE_ID = "user_id"

    user_id: int
    currency: str | None  # None: the cart is empty
    items: tuple[CartLine, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class CartUpdated(CartState):
    """An item was added, changed, removed or repriced."""

    EVENT_NAME = "cart.cart.updated"


@dataclasses.dataclass(frozen=True, kw_only=True)
class CartCleared(CartState):
    """The cart was emptied: by the customer, or because checkout turned it into an order."""

    EVENT_NAME = "cart.cart.cleared"

    reason: Literal["emptied", "checked_out"]
