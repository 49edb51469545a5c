"""Follow the writer's catalog events while this service is not the writer.

Before the flip the monolith writes catalog and the service keeps its copy current from the
monolith's events; after a rollback the same again. Each handler is one upsert, applied only
when the event's ``aggregate_version`` is newer than the local row's ``version``: a side's own
events echoing back, and events older than what a backfill or reconcile already copied, change
nothing. The active writer ignores catalog events altogether (its rows are the truth).

Categories have no events of their own: a product event naming an unknown category slug creates
it (named after its slug) and reconcile brings the real name at the flip.
"""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django.db.models import Model

from contracts.events import StockChanged, VariantPriceChanged
from contracts.events.catalog import ProductState
from eventbus.ownership import services as ownership

from .models import Category, Inventory, Product, Variant
from .services import CONTEXT, ME

log = logging.getLogger(__name__)

__all__ = ["apply_price", "apply_product", "apply_stock", "following"]


class NotYetKnown(RuntimeError):
    """The event needs a row an earlier event creates (retried, then dead-lettered)."""


def following() -> bool:
    """True while this side applies the writer's events (it is not the active writer)."""
    return not ownership.is_writer(CONTEXT, ME)


def _sync_sequence(model: type[Model]) -> None:
    """PostgreSQL: rows inserted with explicit ids do not move the id sequence, so raise it
    past them; otherwise this side's first create after a flip collides with a copied id."""
    if connection.vendor != "postgresql":
        return
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
            f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}), 1))",
            [table],
        )


def _category(slug: str | None) -> Category | None:
    if not slug:
        return None
    category = Category.objects.filter(slug=slug).first()
    if category is None:
        category = Category.objects.create(slug=slug, name=slug)
        _sync_sequence(Category)
    return category


@transaction.atomic
def apply_product(event: ProductState) -> bool:
    """ProductCreated / ProductUpdated: upsert the product and each variant that is newer.
    Returns whether the product row changed."""
    if not following():
        return False
    fields = {
        "slug": event.slug,
        "name": event.name,
        "description": event.description,
        "category": _category(event.category_slug),
        "is_active": event.is_active,
        "version": event.aggregate_version,
        "updated_at": event.occurred_at,
    }
    product = Product.objects.select_for_update().filter(pk=event.product_id).first()
    changed = False
    if product is None:
        product = Product.objects.create(
            pk=event.product_id, created_at=event.occurred_at, **fields
        )
        _sync_sequence(Product)
        changed = True
    elif product.version < event.aggregate_version:
        Product.objects.filter(pk=product.pk).update(**fields)
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
        updated = Variant.objects.filter(sku=state.sku, version__lt=state.version).update(**values)
        if not updated and not Variant.objects.filter(sku=state.sku).exists():
            Variant.objects.create(sku=state.sku, **values)
    return changed


@transaction.atomic
def apply_price(event: VariantPriceChanged) -> bool:
    """A newer price for a known SKU (an unknown SKU arrives with its product's event)."""
    if not following():
        return False
    return bool(
        Variant.objects.filter(sku=event.sku, version__lt=event.aggregate_version).update(
            price=event.price, currency=event.currency, version=event.aggregate_version
        )
    )


@transaction.atomic
def apply_stock(event: StockChanged) -> bool:
    """Newer stock levels of a SKU; creates its inventory row when the SKU has none yet."""
    if not following():
        return False
    levels = {
        "on_hand": event.on_hand,
        "reserved": event.reserved,
        "version": event.aggregate_version,
    }
    if Inventory.objects.filter(sku=event.sku, version__lt=event.aggregate_version).update(
        **levels
    ):
        return True
    if Inventory.objects.filter(sku=event.sku).exists():
        return False  # as new or newer already
    if not Variant.objects.filter(sku=event.sku).exists():
        if not _backfilled("catalog_variant"):
            # Before its first backfill the copy is empty: the backfill copies this SKU's
            # current state, which already includes this change (it committed before it was
            # published). Dead-lettering it would only fail the stage's DLQ gate.
            return False
        # Published after its product's event in the same transaction, so the product event
        # is just behind (or dead-lettered: redrive it first).
        raise NotYetKnown(f"stock for {event.sku} before its product")
    Inventory.objects.create(sku_id=event.sku, **levels)
    return True


def _backfilled(table: str) -> bool:
    """True once a stage backfill finished ``table`` into this database (stages.data records it
    in ``kit_backfill_progress``)."""
    if "kit_backfill_progress" not in connection.introspection.table_names():
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM kit_backfill_progress WHERE table_name = %s AND done", [table]
        )
        row = cursor.fetchone()
    return bool(row and row[0])
