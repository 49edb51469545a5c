"""catalog: products, prices and stock.

Aggregates: ``catalog.product`` (by ``product_id``, carries its variants), ``catalog.variant``
(by ``sku``: price changes) and ``catalog.inventory`` (by ``sku``: stock levels).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal

from .base import Event


@dataclasses.dataclass(frozen=True, kw_only=True)
class VariantState:
    sku: str
    name: str
    attributes: Mapping[str, str]
    price: Decimal
    currency: str
    version: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProductState(Event):
    """A product with all its variants: enough for a follower to upsert the whole product."""

    AGGREGATE_ID = "product_id"

    product_id: int
    slug: str
    name: str
    description: str
    category_slug: str | None
    is_active: bool
    variants: tuple[VariantState, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProductCreated(ProductState):
    EVENT_NAME = "catalog.product.created"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProductUpdated(ProductState):
    """Any change to the product or one of its variants (name, activity, price, ...)."""

    EVENT_NAME = "catalog.product.updated"


@dataclasses.dataclass(frozen=True, kw_only=True)
class VariantPriceChanged(Event):
    """A variant's price changed; carts reprice on it."""

    EVENT_NAME = "catalog.variant.price_changed"
    AGGREGATE_ID = "sku"

    sku: str
    product_id: int
    price: Decimal
    currency: str
    previous_price: Decimal


@dataclasses.dataclass(frozen=True, kw_only=True)
class StockChanged(Event):
    """The stock level of a SKU after a reservation, release, commit, restock or adjustment."""

    EVENT_NAME = "catalog.inventory.stock_changed"
    AGGREGATE_ID = "sku"

    sku: str
    on_hand: int
    reserved: int
    available: int
