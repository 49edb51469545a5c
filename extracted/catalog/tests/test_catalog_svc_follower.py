"""Following the writer's catalog events while the service is not the writer: each event is
one upsert, applied only when newer than the local row's version; the writer ignores them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from catalog_service.catalog import follower, services
from catalog_service.catalog.models import Category, Inventory, Product, Variant
from contracts.events import (
    Envelope,
    Event,
    ProductCreated,
    ProductUpdated,
    StockChanged,
    VariantPriceChanged,
    VariantState,
)
from eventbus.consumer import handlers, load_handlers
from eventbus.inbox import Outcome, handle_once
from eventbus.ownership import services as ownership

pytestmark = [pytest.mark.catalog, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def registered() -> None:
    load_handlers("catalog")  # what `manage.py consume catalog` does


def deliver(event: Event) -> Outcome:
    """What the consumer does with one message from the broker: wire JSON -> handler, once."""
    envelope = Envelope.from_json(event.to_json())
    handler = handlers.for_service("catalog")[envelope.name]
    typed = envelope.event(handler.event_cls)
    return handle_once(
        consumer="catalog",
        envelope=envelope,
        effect=lambda: handler.fn(typed),
        ordering=handler.ordering,
    )


def variant(sku: str, price: str, version: int = 1, name: str = "") -> VariantState:
    return VariantState(
        sku=sku,
        name=name or f"Variant {sku}",
        attributes={"size": sku[-1]},
        price=Decimal(price),
        currency="USD",
        version=version,
    )


def product_event(
    cls: type[ProductCreated] | type[ProductUpdated], version: int, **changes: Any
) -> Any:
    fields: dict[str, Any] = {
        "product_id": 41,
        "slug": "tee",
        "name": "Tee",
        "description": "cotton",
        "category_slug": "apparel",
        "is_active": True,
        "variants": (variant("TEE-M", "12.50"), variant("TEE-S", "9.99")),
        "aggregate_version": version,
    }
    fields.update(changes)
    return cls(**fields)


def stock_event(sku: str, on_hand: int, reserved: int, version: int) -> StockChanged:
    return StockChanged(
        sku=sku,
        on_hand=on_hand,
        reserved=reserved,
        available=on_hand - reserved,
        aggregate_version=version,
    )


def follow_tee() -> None:
    assert deliver(product_event(ProductCreated, 1)) is Outcome.APPLIED
    assert deliver(stock_event("TEE-M", 4, 0, 1)) is Outcome.APPLIED
    assert deliver(stock_event("TEE-S", 2, 0, 1)) is Outcome.APPLIED


def test_a_follower_builds_the_product_from_the_monolith_events() -> None:
    assert follower.following()  # no ownership row: the monolith writes
    follow_tee()
    product = Product.objects.get(pk=41)
    assert (product.slug, product.name, product.version) == ("tee", "Tee", 1)
    assert Category.objects.get(slug="apparel") == product.category
    assert list(Variant.objects.order_by("sku").values_list("sku", "price", "version")) == [
        ("TEE-M", Decimal("12.50"), 1),
        ("TEE-S", Decimal("9.99"), 1),
    ]
    assert Inventory.objects.get(sku="TEE-M").on_hand == 4
    # The public API serves the copy.
    body = APIClient().get("/api/catalog/products/tee").json()
    assert body["price_from"] == "9.99"
    assert [v["available"] for v in body["variants"]] == [4, 2]


def test_newer_events_apply_and_older_ones_change_nothing() -> None:
    follow_tee()
    newer = product_event(
        ProductUpdated,
        3,
        name="Better tee",
        variants=(variant("TEE-M", "14.00", version=2), variant("TEE-S", "9.99")),
    )
    assert deliver(newer) is Outcome.APPLIED
    older = product_event(ProductUpdated, 2, name="Stale tee")
    deliver(older)
    product = Product.objects.get(pk=41)
    assert (product.name, product.version) == ("Better tee", 3)
    assert Variant.objects.get(sku="TEE-M").price == Decimal("14.00")  # the older 12.50 lost

    price = VariantPriceChanged(
        sku="TEE-S",
        product_id=41,
        price=Decimal("8.00"),
        currency="USD",
        previous_price=Decimal("9.99"),
        aggregate_version=2,
    )
    deliver(price)
    stale_price = VariantPriceChanged(
        sku="TEE-S",
        product_id=41,
        price=Decimal("7.00"),
        currency="USD",
        previous_price=Decimal("9.99"),
        aggregate_version=2,
    )
    deliver(stale_price)
    assert Variant.objects.get(sku="TEE-S").price == Decimal("8.00")

    deliver(stock_event("TEE-M", 4, 3, 3))
    deliver(stock_event("TEE-M", 4, 1, 2))  # arrives late: older than what is applied
    row = Inventory.objects.get(sku="TEE-M")
    assert (row.on_hand, row.reserved, row.version) == (4, 3, 3)


def test_a_duplicate_delivery_is_dropped_by_the_inbox() -> None:
    follow_tee()
    event = stock_event("TEE-S", 9, 0, 5)
    assert deliver(event) is Outcome.APPLIED
    Inventory.objects.filter(sku="TEE-S").update(on_hand=1, version=1)  # pretend drift
    assert deliver(event) is Outcome.DUPLICATE
    assert Inventory.objects.get(sku="TEE-S").on_hand == 1


def _backfilled() -> None:
    """What a stage's backfill leaves in the service's database (stages.data)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE kit_backfill_progress (table_name varchar(200) PRIMARY KEY,"
            " last_key text, rows bigint, done boolean, run_id text, updated_at text)"
        )
        cursor.execute(
            "INSERT INTO kit_backfill_progress VALUES ('catalog_variant', NULL, 0, true, 'r', '')"
        )


def test_stock_of_an_unknown_sku_before_the_first_backfill_is_left_to_the_backfill() -> None:
    # The backfill copies the SKU's current state, which already includes this change.
    assert deliver(stock_event("OLD-1", 3, 0, 1)) is Outcome.APPLIED
    assert not Inventory.objects.filter(sku="OLD-1").exists()


def test_stock_before_its_product_is_retried_not_lost() -> None:
    _backfilled()
    event = stock_event("NEW-1", 3, 0, 1)
    with pytest.raises(follower.NotYetKnown):
        deliver(event)
    # The failed attempt left no inbox row: once the product is there, the redelivery applies.
    deliver(product_event(ProductCreated, 1, variants=(variant("NEW-1", "5.00"),)))
    assert deliver(event) is Outcome.APPLIED
    assert Inventory.objects.get(sku="NEW-1").on_hand == 3


def test_the_writer_ignores_catalog_events_and_creates_after_copied_ids() -> None:
    follow_tee()
    ownership.set_owner("catalog", "service", frozen=False, why="flip")
    assert not follower.following()
    deliver(product_event(ProductUpdated, 9, name="Echo"))
    deliver(stock_event("TEE-M", 0, 0, 9))
    assert Product.objects.get(pk=41).name == "Tee"
    assert Inventory.objects.get(sku="TEE-M").on_hand == 4
    # The copied rows carried explicit ids: the writer's own creates must not collide with them.
    created = services.category_create(slug="home", name="Home")
    product = services.product_create(
        slug="mug",
        name="Mug",
        category="home",
        variants=[
            services.VariantInput(sku="MUG-1", name="Mug", price=Decimal("5"), currency="USD")
        ],
    )
    assert created.pk > Category.objects.get(slug="apparel").pk
    assert product.pk > 41


def test_a_frozen_service_follows_events_but_refuses_writes() -> None:
    """Frozen for a handover: not the writer, so events apply (catch-up), writes refuse."""
    ownership.set_owner("catalog", "service", frozen=True, why="handover")
    follow_tee()
    assert Product.objects.filter(pk=41).exists()
    with pytest.raises(ownership.NotWriter):
        services.category_create(slug="x", name="X")
