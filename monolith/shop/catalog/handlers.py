"""The monolith follows the catalog service's events while the service writes catalog.

Registered for the ``monolith`` consumer (``EVENTBUS_HANDLERS["monolith"]``). Each handler
translates one event into one call of :mod:`shop.catalog.replica`, unless the monolith is the
catalog writer (then the event is its own echo, or a stale one from the service's time as
writer: the local rows are the truth). Ordering.NONE: the inbox drops duplicates, and the
replica compares each row's own version, which is what makes echoes no-ops across flips.
"""

from __future__ import annotations

from contracts.events import ProductCreated, ProductUpdated, StockChanged, VariantPriceChanged
from eventbus.consumer import handlers
from eventbus.inbox import Ordering

from . import replica
from .writer import is_writer

SERVICE = "monolith"


@handlers.on(ProductCreated, service=SERVICE, ordering=Ordering.NONE)
def product_created(event: ProductCreated) -> None:
    if not is_writer():
        replica.product_apply(event=event)


@handlers.on(ProductUpdated, service=SERVICE, ordering=Ordering.NONE)
def product_updated(event: ProductUpdated) -> None:
    if not is_writer():
        replica.product_apply(event=event)


@handlers.on(VariantPriceChanged, service=SERVICE, ordering=Ordering.NONE)
def variant_price_changed(event: VariantPriceChanged) -> None:
    if not is_writer():
        replica.variant_price_apply(event=event)


@handlers.on(StockChanged, service=SERVICE, ordering=Ordering.NONE)
def stock_changed(event: StockChanged) -> None:
    if not is_writer():
        replica.stock_apply(event=event)
