"""The monolith's copy of catalog while the catalog service writes it (a follower's writes).

The service publishes the same events as the monolith (ProductCreated/ProductUpdated with the
whole product, VariantPriceChanged, StockChanged) with row versions as ``aggregate_version``.
Each apply function upserts a row only when the event is newer than the row's ``version``: a
side's own events echoing back, and events overtaken by a newer state, change nothing. The
handlers (``shop.catalog.handlers``) call these only while the monolith is not the writer.

Not replicated by events: categories (``category_create`` publishes nothing; an unknown
category slug leaves the product without one until reconcile), reservations and stock
movements (the writer's own records; reconcile moves reservations at a flip).
"""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django.db.models import Model

from contracts.events import StockChanged, VariantPriceChanged
from contracts.events.catalog import ProductState

from .models import Category, Inventory, Product, Variant

__all__ = ["ReplicaGap", "product_apply", "stock_apply", "variant_price_apply"]

log = logging.getLogger(__name__)


class ReplicaGap(LookupError):
    """The event refers to a row this copy does not have yet (its creation is behind it): the
    consumer retries, then parks it in the dead-letter queue."""


def _advance_sequence(model: type[Model]) -> None:
    """PostgreSQL: rows inserted with the writer's ids do not move the local sequence; move it
    past them, or the monolith's first insert after a rollback would collide."""
    if connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
            f"GREATEST((SELECT MAX(id) FROM {table}), 1))",
            [model._meta.db_table],
        )


@transaction.atomic
def product_apply(*, event: ProductState) -> bool:
    """Upsert the product and each of its variants that is newer here. True if the product
    row itself changed."""
    category = (
        Category.objects.filter(slug=event.category_slug).first() if event.category_slug else None
    )
    if event.category_slug and category is None:
        log.warning(
            "product %s: category %r unknown here; left empty until reconcile",
            event.slug,
            event.category_slug,
        )
    fields = {
        "slug": event.slug,
        "name": event.name,
        "description": event.description,
        "category": category,
        "is_active": event.is_active,
        "version": event.aggregate_version,
        "updated_at": event.occurred_at,
    }
    product = Product.objects.select_for_update().filter(pk=event.product_id).first()
    changed = False
    if product is None:
        Product.objects.create(id=event.product_id, created_at=event.occurred_at, **fields)
        _advance_sequence(Product)
        changed = True
    elif product.version < event.aggregate_version:
        Product.objects.filter(pk=event.product_id).update(**fields)
        changed = True
    for state in event.variants:
        values = {
            "product_id": event.product_id,
            "name": state.name,
            "attributes": dict(state.attributes),
            "price": state.price,
            "currency": state.currency,
            "version": state.version,
        }
        if Variant.objects.filter(sku=state.sku, version__lt=state.version).update(**values):
            continue
        if not Variant.objects.filter(sku=state.sku).exists():
            Variant.objects.create(sku=state.sku, **values)
            # The stock arrives with StockChanged (version >= 1) right behind this event.
            Inventory.objects.get_or_create(
                sku_id=state.sku, defaults={"on_hand": 0, "reserved": 0, "version": 0}
            )
    return changed


@transaction.atomic
def variant_price_apply(*, event: VariantPriceChanged) -> bool:
    updated = Variant.objects.filter(sku=event.sku, version__lt=event.aggregate_version).update(
        price=event.price, currency=event.currency, version=event.aggregate_version
    )
    if not updated and not Variant.objects.filter(sku=event.sku).exists():
        raise ReplicaGap(f"price of SKU {event.sku}: no such variant here yet")
    return bool(updated)


@transaction.atomic
def stock_apply(*, event: StockChanged) -> bool:
    updated = Inventory.objects.filter(sku=event.sku, version__lt=event.aggregate_version).update(
        on_hand=event.on_hand, reserved=event.reserved, version=event.aggregate_version
    )
    if updated or Inventory.objects.filter(sku=event.sku).exists():
        return bool(updated)
    if not Variant.objects.filter(sku=event.sku).exists():
        raise ReplicaGap(f"stock of SKU {event.sku}: no such variant here yet")
    Inventory.objects.create(
        sku_id=event.sku,
        on_hand=event.on_hand,
        reserved=event.reserved,
        version=event.aggregate_version,
    )
    return True
