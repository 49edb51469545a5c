"""The monolith as a follower of the catalog service's events: newer states apply, older or
echoed ones change nothing, and nothing applies while the monolith is the writer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contracts.events import (
    ProductCreated,
    ProductUpdated,
    StockChanged,
    VariantPriceChanged,
    VariantState,
)
from eventbus.ownership import services as ownership
from shop.catalog import handlers, replica
from shop.catalog.models import Category, Inventory, Product, Variant

from .conftest import MakeProduct

pytestmark = [pytest.mark.catalog, pytest.mark.django_db]


@pytest.fixture
def follower() -> None:
    ownership.set_owner("catalog", "service", frozen=False, why="test: the service writes")


def _variant(sku: str, price: str, version: int) -> VariantState:
    return VariantState(
        sku=sku,
        name=f"V {sku}",
        attributes={"size": "M"},
        price=Decimal(price),
        currency="EUR",
        version=version,
    )


def _state(version: int = 1, **changes: object) -> dict[str, object]:
    """The payload of ProductCreated/ProductUpdated for product 501 at ``version``."""
    fields: dict[str, object] = {
        "product_id": 501,
        "slug": "svc-tee",
        "name": "Service Tee",
        "description": "made by the service",
        "category_slug": "apparel",
        "is_active": True,
        "variants": (_variant("SVC-M", "12.00", 1),),
        "aggregate_version": version,
    }
    fields.update(changes)
    return fields


def _created(version: int = 1) -> ProductCreated:
    return ProductCreated(**_state(version))  # type: ignore[arg-type]


def _updated(version: int, name: str, variant: VariantState) -> ProductUpdated:
    return ProductUpdated(**_state(version, name=name, variants=(variant,)))  # type: ignore[arg-type]


@pytest.mark.usefixtures("follower")
def test_a_new_product_from_the_service_is_created_with_its_ids_and_versions(
    make_product: MakeProduct,
) -> None:
    Category.objects.create(slug="apparel", name="Apparel")

    handlers.product_created(_created())
    handlers.stock_changed(
        StockChanged(sku="SVC-M", on_hand=7, reserved=2, available=5, aggregate_version=1)
    )

    product = Product.objects.get(pk=501)
    assert (product.slug, product.category.slug, product.version) == (  # type: ignore[union-attr]
        "svc-tee",
        "apparel",
        1,
    )
    variant = Variant.objects.get(sku="SVC-M")
    assert (variant.product_id, variant.price, variant.version) == (501, Decimal("12.00"), 1)
    stock = Inventory.objects.get(sku="SVC-M")
    assert (stock.on_hand, stock.reserved, stock.version) == (7, 2, 1)

    # Handed back (a rollback): the monolith's own next product does not reuse id 501.
    ownership.set_owner("catalog", "monolith", frozen=False, why="test: rollback")
    assert make_product("own", ("OWN", "1.00", 1)).pk > 501


@pytest.mark.usefixtures("follower")
def test_newer_states_apply_and_older_ones_change_nothing() -> None:
    handlers.product_created(_created())
    handlers.product_updated(_updated(3, "Renamed", _variant("SVC-M", "15.00", 2)))
    # An older update (version 2) arriving late: ignored.
    handlers.product_updated(_updated(2, "Old name", _variant("SVC-M", "13.00", 1)))
    handlers.variant_price_changed(
        VariantPriceChanged(
            sku="SVC-M",
            product_id=501,
            price=Decimal("14.00"),
            currency="EUR",
            previous_price=Decimal("12.00"),
            aggregate_version=2,  # not newer than the row
        )
    )

    product = Product.objects.get(pk=501)
    assert (product.name, product.version) == ("Renamed", 3)
    assert Variant.objects.get(sku="SVC-M").price == Decimal("15.00")

    handlers.variant_price_changed(
        VariantPriceChanged(
            sku="SVC-M",
            product_id=501,
            price=Decimal("16.00"),
            currency="EUR",
            previous_price=Decimal("15.00"),
            aggregate_version=3,
        )
    )
    handlers.stock_changed(
        StockChanged(sku="SVC-M", on_hand=9, reserved=0, available=9, aggregate_version=4)
    )
    handlers.stock_changed(
        StockChanged(sku="SVC-M", on_hand=1, reserved=0, available=1, aggregate_version=3)
    )
    assert Variant.objects.get(sku="SVC-M").price == Decimal("16.00")
    assert Inventory.objects.get(sku="SVC-M").on_hand == 9


def test_while_the_monolith_writes_catalog_the_events_are_echoes(
    make_product: MakeProduct,
) -> None:
    make_product("tee", ("TEE", "9.00", 5))

    handlers.stock_changed(
        StockChanged(sku="TEE", on_hand=100, reserved=0, available=100, aggregate_version=99)
    )
    handlers.product_created(_created())

    assert Inventory.objects.get(sku="TEE").on_hand == 5
    assert not Product.objects.filter(pk=501).exists()


@pytest.mark.usefixtures("follower")
def test_stock_for_a_variant_not_here_yet_is_a_gap_to_retry() -> None:
    with pytest.raises(replica.ReplicaGap):
        handlers.stock_changed(
            StockChanged(sku="NOPE", on_hand=1, reserved=0, available=1, aggregate_version=1)
        )


def test_the_monolith_consumer_subscribes_and_registers_these_handlers() -> None:
    from django.conf import settings

    from eventbus.consumer import handlers as registry
    from eventbus.consumer import load_handlers
    from eventbus.topology import topic_matches

    load_handlers("monolith")
    routes = registry.for_service("monolith")
    patterns = settings.EVENTBUS_SUBSCRIPTIONS["monolith"]
    for event in (ProductCreated, ProductUpdated, VariantPriceChanged, StockChanged):
        assert routes[event.EVENT_NAME].fn.__module__ == "shop.catalog.handlers"
        assert any(topic_matches(p, event.EVENT_NAME) for p in patterns)
