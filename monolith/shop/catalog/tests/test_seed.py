from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from shop.catalog import selectors, services
from shop.catalog.models import Category, Inventory, Product, Reservation, Variant

from .conftest import MakeProduct

pytestmark = [pytest.mark.catalog, pytest.mark.django_db]


def test_seed_creates_deterministic_demo_data() -> None:
    report = services.catalog_seed(products=25, variants_per_product=2, on_hand=7)

    assert report == services.SeedReport(categories=10, products=25, variants=50, inventories=50)
    assert Category.objects.count() == 10
    assert Product.objects.filter(slug__startswith="seed-").count() == 25
    assert set(Inventory.objects.values_list("on_hand", "reserved")) == {(7, 0)}
    view = selectors.variant_get(sku="SEED-000007-2")
    assert view is not None
    assert (view.product_slug, view.currency, view.available, view.is_active) == (
        "seed-000007",
        "USD",
        7,
        True,
    )
    assert view.price > Decimal("0")
    assert view.price == view.price.quantize(Decimal("0.01"))
    product = selectors.product_get(slug="seed-000007")
    assert product is not None
    assert product.category is not None
    assert len(product.name.split()) >= 3
    assert product.description.endswith(" Item #7.")
    # Older numbers were "created" earlier.
    first, last = (Product.objects.get(slug=s).created_at for s in ("seed-000000", "seed-000024"))
    assert first < last


def test_seed_is_idempotent_and_adds_only_what_is_missing() -> None:
    services.catalog_seed(products=10)
    before = {
        v.sku: (v.name, v.price, v.attributes, v.product.name)
        for v in Variant.objects.select_related("product")
    }

    assert services.catalog_seed(products=10) == services.SeedReport(0, 0, 0, 0)
    assert services.catalog_seed(products=12) == services.SeedReport(0, 2, 4, 4)
    assert services.catalog_seed(products=12, variants_per_product=3) == services.SeedReport(
        0, 0, 12, 12
    )
    assert services.catalog_seed(products=5) == services.SeedReport(0, 0, 0, 0)

    after = {
        v.sku: (v.name, v.price, v.attributes, v.product.name)
        for v in Variant.objects.select_related("product")
    }
    assert len(after) == 36
    # What existed is unchanged, and the same numbers get the same data on every run.
    assert {sku: after[sku] for sku in before} == before


def test_seed_leaves_stock_that_is_already_there(make_product: MakeProduct) -> None:
    services.catalog_seed(products=2, on_hand=5)
    services.stock_adjust(sku="SEED-000001-1", delta=-3, reason="sold elsewhere")

    services.catalog_seed(products=2, on_hand=50)

    stock = selectors.stock_get(sku="SEED-000001-1")
    assert stock is not None
    assert stock.on_hand == 2


def test_seed_command() -> None:
    out = StringIO()
    call_command("seed_catalog", "--products", "3", stdout=out)
    assert "created 10 categories, 3 products, 6 variants, 6 inventory rows" in out.getvalue()


def test_expire_reservations_command(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 5))
    held = services.stock_reserve(lines=[("TEE-S", 2)], owner_ref="o", ttl_seconds=60)
    Reservation.objects.filter(pk=held.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    out = StringIO()

    call_command("expire_reservations", stdout=out)

    assert out.getvalue() == "released 1 lapsed reservation(s)\n"
    assert selectors.stock_get(sku="TEE-S") == selectors.StockView(
        sku="TEE-S", on_hand=5, reserved=0, available=5
    )
