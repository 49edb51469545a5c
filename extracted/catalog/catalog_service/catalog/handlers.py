"""The catalog service's event handlers (``EVENTBUS_HANDLERS["catalog"]``): the writer's
catalog events, applied by :mod:`follower` while the service is not the writer.

Ordering.NONE: the inbox only drops duplicates; which event is newer is decided against the
rows' own ``version`` columns (the truth after a backfill or reconcile, which the inbox's
per-consumer version table knows nothing about).
"""

from __future__ import annotations

from contracts.events import ProductCreated, ProductUpdated, StockChanged, VariantPriceChanged
from eventbus.consumer import handlers
from eventbus.inbox import Ordering

from . import follower

SERVICE = "catalog"


@handlers.on(ProductCreated, service=SERVICE, ordering=Ordering.NONE)
def product_created(event: ProductCreated) -> None:
    follower.apply_product(event)


@handlers.on(ProductUpdated, service=SERVICE, ordering=Ordering.NONE)
def product_updated(event: ProductUpdated) -> None:
    follower.apply_product(event)


@handlers.on(VariantPriceChanged, service=SERVICE, ordering=Ordering.NONE)
def price_changed(event: VariantPriceChanged) -> None:
    follower.apply_price(event)


@handlers.on(StockChanged, service=SERVICE, ordering=Ordering.NONE)
def stock_changed(event: StockChanged) -> None:
    follower.apply_stock(event)
