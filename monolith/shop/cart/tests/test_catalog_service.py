"""The cart once the catalog service owns catalog: the local copy (a follower, a few ms behind)
serves the happy path; before refusing a SKU as unknown or short of stock the cart asks the
service, and a service that cannot answer leaves the local answer standing (never a 503)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from eventbus.ownership import services as ownership
from shop.cart import selectors, services
from shop.catalog import services as catalog_services
from shop.common.fake_service import Answer, FakeService

pytestmark = [pytest.mark.cart, pytest.mark.django_db]

USER = 7
NOT_SOLD = Answer(200, {"variants": []})  # unknown there, or its product is inactive
DOWN = Answer(500, {"code": "internal_error", "status": 500})


def at_the_service(sku: str, *, available: int, price: str = "12.50") -> Answer:
    """The service's answer to ``POST /internal/catalog/variants`` for ``sku``."""
    variant = {
        "sku": sku,
        "product_slug": sku.lower(),
        "product_name": f"Product {sku}",
        "variant_name": f"Variant {sku}",
        "price": price,
        "currency": "EUR",
        "available": available,
        "is_active": True,
    }
    return Answer(200, {"variants": [variant]})


@pytest.fixture
def service() -> Iterator[FakeService]:
    with FakeService() as fake:
        config = catalog_services.ClientConfig(base_url=fake.url, token="t", retries=2, timeout=1.0)
        previous = catalog_services.set_client(
            catalog_services.CatalogClient(config, sleep=lambda seconds: None)
        )
        try:
            yield fake
        finally:
            made = catalog_services.set_client(previous)
            if made is not None:
                made.close()


def flip() -> None:
    """The catalog service writes catalog; the local tables follow its events."""
    ownership.set_owner("catalog", "service", frozen=False, why="test: flipped")


def test_a_sku_the_copy_has_not_seen_yet_is_added_from_the_service(
    service: FakeService,
) -> None:
    flip()
    service.answer(at_the_service("NEW-1", available=4, price="7.25"))

    cart = services.cart_add_item(user_id=USER, sku="NEW-1", quantity=2)

    [line] = cart.lines
    assert (line.sku, line.quantity, line.unit_price, line.currency) == (
        "NEW-1",
        2,
        Decimal("7.25"),
        "EUR",
    )
    assert (line.product_name, line.variant_name) == ("Product NEW-1", "Variant NEW-1")
    assert [(seen.path, seen.body) for seen in service.seen] == [
        ("/internal/catalog/variants", {"skus": ["NEW-1"]})
    ]


def test_stock_the_copy_shows_short_is_checked_with_the_service(
    service: FakeService, product: Callable[..., None]
) -> None:
    product("TEE-M", price="12.50", on_hand=1)
    flip()
    service.answer(at_the_service("TEE-M", available=10))

    cart = services.cart_add_item(user_id=USER, sku="TEE-M", quantity=3)

    assert [(line.sku, line.quantity) for line in cart.lines] == [("TEE-M", 3)]
    assert len(service.seen) == 1


def test_set_quantity_asks_the_service_before_refusing(
    service: FakeService, product: Callable[..., None]
) -> None:
    product("TEE-M", on_hand=2)
    services.cart_add_item(user_id=USER, sku="TEE-M", quantity=1)
    flip()
    service.answer(at_the_service("TEE-M", available=6))

    cart = services.cart_set_quantity(user_id=USER, sku="TEE-M", quantity=6)

    assert cart.item_count == 6


def test_the_service_s_refusal_is_final(service: FakeService, product: Callable[..., None]) -> None:
    product("TEE-M", on_hand=1)
    flip()
    service.answer(NOT_SOLD, at_the_service("TEE-M", available=2))

    with pytest.raises(services.UnknownSku):
        services.cart_add_item(user_id=USER, sku="NOPE", quantity=1)
    with pytest.raises(services.InsufficientStock) as caught:
        services.cart_add_item(user_id=USER, sku="TEE-M", quantity=3)

    # The numbers are the service's, not the stale copy's.
    assert (caught.value.extra["available"], caught.value.extra["requested"]) == (2, 3)
    assert selectors.cart_get(user_id=USER).lines == ()


def test_a_sku_the_service_no_longer_sells_is_unknown(
    service: FakeService, product: Callable[..., None]
) -> None:
    product("TEE-M", on_hand=1)
    flip()
    service.answer(NOT_SOLD)  # deactivated at the service; the copy has not seen it yet

    with pytest.raises(services.UnknownSku):
        services.cart_add_item(user_id=USER, sku="TEE-M", quantity=2)


def test_an_unreachable_service_leaves_the_local_answer(
    service: FakeService, product: Callable[..., None], client_for: Callable[[int], APIClient]
) -> None:
    product("TEE-M", on_hand=1)
    flip()
    service.default = DOWN
    api = client_for(USER)

    unknown = api.post("/api/cart/items", {"sku": "NEW-1", "quantity": 1}, format="json")
    short = api.post("/api/cart/items", {"sku": "TEE-M", "quantity": 2}, format="json")

    assert (unknown.status_code, unknown.json()["code"]) == (400, "unknown_sku")
    assert (short.status_code, short.json()["code"]) == (409, "insufficient_stock")
    assert short.json()["available"] == 1
    assert len(service.seen) == 4  # each asked, and retried once


def test_the_happy_path_stays_local(service: FakeService, product: Callable[..., None]) -> None:
    product("TEE-M", on_hand=5)
    flip()

    services.cart_add_item(user_id=USER, sku="TEE-M", quantity=2)
    services.cart_set_quantity(user_id=USER, sku="TEE-M", quantity=5)

    assert service.seen == []


@pytest.mark.parametrize("frozen", [False, True])
def test_while_the_monolith_owns_catalog_nothing_is_asked(
    service: FakeService, product: Callable[..., None], frozen: bool
) -> None:
    product("TEE-M", on_hand=1)
    if frozen:  # a forward flip's freeze: the local tables are still the writer's
        ownership.set_owner("catalog", "monolith", frozen=True, why="test: freeze")

    with pytest.raises(services.UnknownSku):
        services.cart_add_item(user_id=USER, sku="NEW-1", quantity=1)
    with pytest.raises(services.InsufficientStock):
        services.cart_add_item(user_id=USER, sku="TEE-M", quantity=2)

    assert service.seen == []
