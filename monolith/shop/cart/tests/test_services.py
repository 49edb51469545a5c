from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from shop.cart import selectors, services
from shop.cart.models import Cart
from shop.catalog import services as catalog_services
from shop.common.errors import NotFound

pytestmark = [pytest.mark.cart, pytest.mark.django_db]

USER = 7


def test_add_creates_a_line_with_the_price_snapshot(product: Callable[..., None]) -> None:
    product("TEE-M", price="12.50", on_hand=10)
    cart = services.cart_add_item(user_id=USER, sku="TEE-M", quantity=2)
    assert [(line.sku, line.quantity, line.unit_price) for line in cart.lines] == [
        ("TEE-M", 2, Decimal("12.50"))
    ]
    assert cart.lines[0].product_name == "Product TEE-M"
    assert cart.lines[0].variant_name == "Variant TEE-M"
    assert cart.currency == "EUR"
    assert cart.total == Decimal("25.00")
    assert cart.item_count == 2


def test_adding_again_raises_the_existing_line(product: Callable[..., None]) -> None:
    product("TEE-M", on_hand=10)
    services.cart_add_item(user_id=USER, sku="TEE-M", quantity=2)
    cart = services.cart_add_item(user_id=USER, sku="TEE-M", quantity=3)
    assert [(line.sku, line.quantity) for line in cart.lines] == [("TEE-M", 5)]


def test_totals_are_computed_from_the_snapshots(product: Callable[..., None]) -> None:
    product("A", price="19.99", on_hand=10)
    product("B", price="0.10", on_hand=10)
    services.cart_add_item(user_id=USER, sku="A", quantity=3)
    services.cart_add_item(user_id=USER, sku="B", quantity=7)
    cart = selectors.cart_get(user_id=USER)
    assert [line.line_total for line in cart.lines] == [Decimal("59.97"), Decimal("0.70")]
    assert cart.total == Decimal("60.67")
    assert cart.item_count == 10


def test_unknown_sku_names_the_sku_field() -> None:
    with pytest.raises(services.UnknownSku) as caught:
        services.cart_add_item(user_id=USER, sku="NOPE", quantity=1)
    assert caught.value.status == 400
    assert caught.value.code == "unknown_sku"
    assert caught.value.field == "sku"
    assert not Cart.objects.filter(user_id=USER).exists()  # rolled back


def test_inactive_product_counts_as_unknown(product: Callable[..., None]) -> None:
    product("GONE")
    catalog_services.product_update(slug="gone", is_active=False)
    with pytest.raises(services.UnknownSku):
        services.cart_add_item(user_id=USER, sku="GONE", quantity=1)


def test_line_may_not_exceed_available_stock(product: Callable[..., None]) -> None:
    product("TEE-M", on_hand=3)
    services.cart_add_item(user_id=USER, sku="TEE-M", quantity=2)
    with pytest.raises(services.InsufficientStock) as caught:
        services.cart_add_item(user_id=USER, sku="TEE-M", quantity=2)
    assert caught.value.status == 409
    assert caught.value.extra == {"sku": "TEE-M", "available": 3, "requested": 4}
    assert selectors.cart_get(user_id=USER).lines[0].quantity == 2


def test_available_stock_excludes_reserved_units(product: Callable[..., None]) -> None:
    product("TEE-M", on_hand=3)
    catalog_services.stock_reserve(lines=[("TEE-M", 2)], owner_ref="other", ttl_seconds=60)
    with pytest.raises(services.InsufficientStock) as caught:
        services.cart_add_item(user_id=USER, sku="TEE-M", quantity=2)
    assert caught.value.extra["available"] == 1


def test_other_currency_is_refused(product: Callable[..., None]) -> None:
    product("EU", currency="EUR")
    product("US", currency="USD")
    services.cart_add_item(user_id=USER, sku="EU", quantity=1)
    with pytest.raises(services.CurrencyMismatch) as caught:
        services.cart_add_item(user_id=USER, sku="US", quantity=1)
    assert caught.value.code == "currency_mismatch"
    assert caught.value.status == 409


def test_emptied_cart_accepts_another_currency(product: Callable[..., None]) -> None:
    product("EU", currency="EUR")
    product("US", currency="USD")
    services.cart_add_item(user_id=USER, sku="EU", quantity=1)
    services.cart_remove_item(user_id=USER, sku="EU")
    assert selectors.cart_get(user_id=USER).currency is None
    cart = services.cart_add_item(user_id=USER, sku="US", quantity=1)
    assert cart.currency == "USD"


@pytest.mark.parametrize(("existing", "added"), [(0, 0), (0, 100), (60, 40)])
def test_line_quantity_is_1_to_99(product: Callable[..., None], existing: int, added: int) -> None:
    product("TEE-M", on_hand=500)
    if existing:
        services.cart_add_item(user_id=USER, sku="TEE-M", quantity=existing)
    with pytest.raises(services.QuantityOutOfRange) as caught:
        services.cart_add_item(user_id=USER, sku="TEE-M", quantity=added)
    assert caught.value.status == 400
    assert caught.value.field == "quantity"


def test_99_units_fit_in_a_line(product: Callable[..., None]) -> None:
    product("TEE-M", on_hand=500)
    services.cart_add_item(user_id=USER, sku="TEE-M", quantity=60)
    cart = services.cart_add_item(user_id=USER, sku="TEE-M", quantity=39)
    assert cart.lines[0].quantity == 99


def test_set_quantity_replaces_and_zero_removes(product: Callable[..., None]) -> None:
    product("TEE-M", on_hand=10)
    services.cart_add_item(user_id=USER, sku="TEE-M", quantity=2)
    assert services.cart_set_quantity(user_id=USER, sku="TEE-M", quantity=7).item_count == 7
    cart = services.cart_set_quantity(user_id=USER, sku="TEE-M", quantity=0)
    assert cart.lines == ()
    assert cart.currency is None


def test_set_quantity_checks_stock_and_bounds(product: Callable[..., None]) -> None:
    product("TEE-M", on_hand=4)
    services.cart_add_item(user_id=USER, sku="TEE-M", quantity=2)
    with pytest.raises(services.InsufficientStock):
        services.cart_set_quantity(user_id=USER, sku="TEE-M", quantity=5)
    with pytest.raises(services.QuantityOutOfRange):
        services.cart_set_quantity(user_id=USER, sku="TEE-M", quantity=100)
    assert selectors.cart_get(user_id=USER).lines[0].quantity == 2


def test_missing_line_is_not_found(product: Callable[..., None]) -> None:
    product("TEE-M")
    with pytest.raises(NotFound):
        services.cart_set_quantity(user_id=USER, sku="TEE-M", quantity=1)
    services.cart_add_item(user_id=USER, sku="TEE-M", quantity=1)
    with pytest.raises(NotFound):
        services.cart_remove_item(user_id=USER, sku="OTHER")


def test_price_change_keeps_the_snapshot_until_repriced(product: Callable[..., None]) -> None:
    product("A", price="10.00")
    product("B", price="5.00")
    services.cart_add_item(user_id=USER, sku="A", quantity=2)
    services.cart_add_item(user_id=USER, sku="B", quantity=1)
    catalog_services.variant_update(sku="A", price=Decimal("11.00"))

    assert selectors.cart_get(user_id=USER).lines[0].unit_price == Decimal("10.00")
    services.cart_add_item(user_id=USER, sku="A", quantity=1)  # adding keeps the snapshot too
    assert selectors.cart_get(user_id=USER).lines[0].unit_price == Decimal("10.00")

    assert services.cart_reprice(user_id=USER) == ["A"]
    cart = selectors.cart_get(user_id=USER)
    assert [line.unit_price for line in cart.lines] == [Decimal("11.00"), Decimal("5.00")]
    assert cart.total == Decimal("38.00")
    assert services.cart_reprice(user_id=USER) == []


def test_every_write_bumps_the_version(product: Callable[..., None]) -> None:
    product("TEE-M", on_hand=10)
    services.cart_add_item(user_id=USER, sku="TEE-M", quantity=1)
    services.cart_set_quantity(user_id=USER, sku="TEE-M", quantity=2)
    services.cart_clear(user_id=USER)
    assert Cart.objects.get(user_id=USER).version == 3


def test_clear_empties_only_this_users_cart(product: Callable[..., None]) -> None:
    product("TEE-M", on_hand=10)
    services.cart_add_item(user_id=USER, sku="TEE-M", quantity=1)
    services.cart_add_item(user_id=USER + 1, sku="TEE-M", quantity=1)
    services.cart_clear(user_id=USER)
    assert selectors.cart_get(user_id=USER).lines == ()
    assert selectors.cart_get(user_id=USER + 1).item_count == 1


def test_cart_of_a_new_user_is_empty() -> None:
    cart = selectors.cart_get(user_id=12345)
    assert cart == selectors.CartView(
        lines=(), currency=None, total=Decimal("0.00"), item_count=0, updated_at=None
    )
