"""catalog publishes product, price and stock events in the writing transaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from catalog_service.catalog import services
from eventbus.outbox.models import OutboxMessage

MakeProduct = Callable[..., Any]

pytestmark = [pytest.mark.catalog, pytest.mark.django_db, pytest.mark.usefixtures("writer")]

Row = tuple[str, str, int, dict[str, Any]]


def _outbox(since: int = 0) -> list[Row]:
    return [
        (row.name, row.aggregate_id, row.aggregate_version, json.loads(row.body)["payload"])
        for row in OutboxMessage.objects.filter(id__gt=since).order_by("id")
    ]


def _last_id() -> int:
    return OutboxMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _stock(rows: list[Row]) -> list[tuple[str, int, int, int]]:
    """(sku, version, on_hand, reserved) of each StockChanged."""
    return [
        (agg, version, payload["on_hand"], payload["reserved"])
        for name, agg, version, payload in rows
        if name == "catalog.inventory.stock_changed"
    ]


def test_product_create_publishes_the_product_and_its_initial_stock(
    make_product: MakeProduct,
) -> None:
    product = make_product("tee", ("TEE-M", "12.50", 4), ("TEE-S", "9.99", 0), category="apparel")
    events = _outbox()
    assert [(n, a, v) for n, a, v, _ in events] == [
        ("catalog.product.created", str(product.pk), 1),
        ("catalog.inventory.stock_changed", "TEE-M", 1),
        ("catalog.inventory.stock_changed", "TEE-S", 1),
    ]
    assert events[0][3] == {
        "product_id": product.pk,
        "slug": "tee",
        "name": "Tee",
        "description": "",
        "category_slug": "apparel",
        "is_active": True,
        "variants": [
            {
                "sku": "TEE-M",
                "name": "Variant TEE-M",
                "attributes": {"sku": "TEE-M"},
                "price": "12.50",
                "currency": "USD",
                "version": 1,
            },
            {
                "sku": "TEE-S",
                "name": "Variant TEE-S",
                "attributes": {"sku": "TEE-S"},
                "price": "9.99",
                "currency": "USD",
                "version": 1,
            },
        ],
    }
    assert events[1][3] == {"sku": "TEE-M", "on_hand": 4, "reserved": 0, "available": 4}


def test_price_change_publishes_price_and_product_events(make_product: MakeProduct) -> None:
    product = make_product("tee", ("TEE-M", "12.50", 4))
    mark = _last_id()
    services.variant_update(sku="TEE-M", price=Decimal("14.00"))
    services.variant_update(sku="TEE-M", name="Medium")  # no price change: product only
    services.variant_update(sku="TEE-M", name="Medium")  # no change at all: nothing
    services.product_update(slug="tee", is_active=False)
    events = _outbox(mark)
    assert [(n, a, v) for n, a, v, _ in events] == [
        ("catalog.variant.price_changed", "TEE-M", 2),
        ("catalog.product.updated", str(product.pk), 2),
        ("catalog.product.updated", str(product.pk), 3),
        ("catalog.product.updated", str(product.pk), 4),
    ]
    assert events[0][3] == {
        "sku": "TEE-M",
        "product_id": product.pk,
        "price": "14.00",
        "currency": "USD",
        "previous_price": "12.50",
    }
    assert events[1][3]["variants"][0]["price"] == "14.00"
    assert events[1][3]["variants"][0]["version"] == 2
    assert events[2][3]["variants"][0]["name"] == "Medium"
    assert events[3][3]["is_active"] is False


def test_every_stock_change_publishes_the_new_levels(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-M", "12.50", 5), ("TEE-S", "9.99", 5))
    mark = _last_id()
    held = services.stock_reserve(
        lines=[("TEE-S", 1), ("TEE-M", 2)], owner_ref="order:1", ttl_seconds=60
    )
    services.reservation_commit(reservation_id=held.id)
    again = services.stock_reserve(lines=[("TEE-M", 1)], owner_ref="order:2", ttl_seconds=60)
    services.reservation_release(reservation_id=again.id, reason="cancelled")
    services.reservation_release(reservation_id=again.id, reason="cancelled")  # idempotent
    services.stock_restock(lines=[("TEE-M", 2), ("NOPE", 1)], reason="refund", reference="o:1")
    services.stock_adjust(sku="TEE-S", delta=-1, reason="broken")
    assert _stock(_outbox(mark)) == [
        ("TEE-M", 2, 5, 2),  # reserve, SKU order
        ("TEE-S", 2, 5, 1),
        ("TEE-M", 3, 3, 0),  # commit
        ("TEE-S", 3, 4, 0),
        ("TEE-M", 4, 3, 1),  # reserve
        ("TEE-M", 5, 3, 0),  # release
        ("TEE-M", 6, 5, 0),  # restock (the unknown SKU is skipped)
        ("TEE-S", 4, 3, 0),  # adjust
    ]
    assert len(_outbox(mark)) == 8


def test_expiry_publishes_the_released_stock(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-M", "12.50", 5))
    services.stock_reserve(lines=[("TEE-M", 2)], owner_ref="order:1", ttl_seconds=60)
    mark = _last_id()
    assert services.reservations_expire(now=timezone.now() + timedelta(minutes=5)) == 1
    assert _stock(_outbox(mark)) == [("TEE-M", 3, 5, 0)]


def test_out_of_stock_and_refused_writes_publish_nothing(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-M", "12.50", 5), ("TEE-S", "9.99", 1))
    services.stock_reserve(lines=[("TEE-M", 4)], owner_ref="order:0", ttl_seconds=60)
    mark = _last_id()
    with pytest.raises(services.OutOfStock):
        # TEE-M is held first (SKU order), then TEE-S fails: all of it rolls back.
        services.stock_reserve(lines=[("TEE-S", 2), ("TEE-M", 1)], owner_ref="o", ttl_seconds=60)
    with pytest.raises(services.InsufficientStock):
        services.stock_adjust(sku="TEE-M", delta=-2, reason="too much")
    with pytest.raises(services.InvalidInput):
        services.variant_update(sku="TEE-M", price=Decimal("0"))
    assert _outbox(mark) == []
    assert _stock(_outbox())[-1] == ("TEE-M", 2, 5, 4)
