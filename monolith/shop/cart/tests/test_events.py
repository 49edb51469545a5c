"""cart publishes CartUpdated / CartCleared with the whole cart, in the writing transaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from eventbus.outbox.models import OutboxMessage
from shop.cart import services
from shop.catalog import services as catalog_services

pytestmark = [pytest.mark.cart, pytest.mark.django_db]


def _cart_events(since: int = 0) -> list[tuple[str, str, int, dict[str, Any]]]:
    return [
        (row.name, row.aggregate_id, row.aggregate_version, json.loads(row.body)["payload"])
        for row in OutboxMessage.objects.filter(id__gt=since, name__startswith="cart.").order_by(
            "id"
        )
    ]


def _last_id() -> int:
    return OutboxMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_writes_publish_the_whole_cart_with_increasing_versions(
    product: Callable[..., None],
) -> None:
    product("A", price="10.00")
    product("B", price="5.50")
    services.cart_add_item(user_id=7, sku="A", quantity=1)
    services.cart_add_item(user_id=7, sku="A", quantity=2)
    services.cart_add_item(user_id=7, sku="B", quantity=1)
    services.cart_set_quantity(user_id=7, sku="B", quantity=2)
    services.cart_remove_item(user_id=7, sku="A")
    services.cart_clear(user_id=7)
    events = _cart_events()
    assert [(n, a, v) for n, a, v, _ in events] == [
        ("cart.cart.updated", "7", 1),
        ("cart.cart.updated", "7", 2),
        ("cart.cart.updated", "7", 3),
        ("cart.cart.updated", "7", 4),
        ("cart.cart.updated", "7", 5),
        ("cart.cart.cleared", "7", 6),
    ]
    assert events[2][3] == {
        "user_id": 7,
        "currency": "EUR",
        "items": [
            {
                "sku": "A",
                "quantity": 3,
                "unit_price": "10.00",
                "currency": "EUR",
                "product_name": "Product A",
                "variant_name": "Variant A",
            },
            {
                "sku": "B",
                "quantity": 1,
                "unit_price": "5.50",
                "currency": "EUR",
                "product_name": "Product B",
                "variant_name": "Variant B",
            },
        ],
    }
    assert [(i["sku"], i["quantity"]) for i in events[4][3]["items"]] == [("B", 2)]
    assert events[5][3] == {"user_id": 7, "currency": None, "items": [], "reason": "emptied"}


def test_reprice_publishes_only_when_a_price_changed(product: Callable[..., None]) -> None:
    product("A", price="10.00")
    services.cart_add_item(user_id=7, sku="A", quantity=1)
    mark = _last_id()
    assert services.cart_reprice(user_id=7) == []
    assert _cart_events(mark) == []
    catalog_services.variant_update(sku="A", price=Decimal("11.00"))
    assert services.cart_reprice(user_id=7) == ["A"]
    events = _cart_events(mark)
    assert [(n, v) for n, _, v, _ in events] == [("cart.cart.updated", 2)]
    assert events[0][3]["items"][0]["unit_price"] == "11.00"


def test_refused_writes_publish_nothing(product: Callable[..., None]) -> None:
    product("A", price="10.00", on_hand=2)
    product("U", price="3.00", currency="USD")
    services.cart_add_item(user_id=7, sku="A", quantity=1)
    mark = _last_id()
    with pytest.raises(services.InsufficientStock):
        services.cart_add_item(user_id=7, sku="A", quantity=5)
    with pytest.raises(services.UnknownSku):
        services.cart_add_item(user_id=8, sku="NOPE", quantity=1)
    with pytest.raises(services.CurrencyMismatch):
        services.cart_add_item(user_id=7, sku="U", quantity=1)
    with pytest.raises(services.QuantityOutOfRange):
        services.cart_set_quantity(user_id=7, sku="A", quantity=100)
    assert OutboxMessage.objects.filter(id__gt=mark).count() == 0
