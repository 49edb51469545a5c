"""The cart: price snapshots, quantities, server-side totals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .api_client import ApiClient, field_names, problem, unique
from .conftest import Product
from .steps import in_cart

pytestmark = [pytest.mark.behaviour, pytest.mark.cart]


def lines(cart: dict[str, Any]) -> dict[str, tuple[int, str, str]]:
    """sku -> (quantity, unit_price, line_total)."""
    return {i["sku"]: (i["quantity"], i["unit_price"], i["line_total"]) for i in cart["items"]}


def test_add_snapshots_the_price(
    customer: ApiClient, staff: ApiClient, product: Callable[..., Product]
) -> None:
    item = product(price="12.50", currency="EUR", on_hand=10)

    response = customer.add_to_cart(item.sku, 2)

    assert response.status_code == 201, response.text
    cart = response.json()
    assert set(cart) == {"items", "currency", "total", "item_count", "updated_at"}
    assert cart["items"] == [
        {
            "sku": item.sku,
            "product_name": item.name,
            "variant_name": "Standard",
            "quantity": 2,
            "unit_price": "12.50",
            "currency": "EUR",
            "line_total": "25.00",
        }
    ]
    assert (cart["currency"], cart["total"], cart["item_count"]) == ("EUR", "25.00", 2)
    # a later price change does not touch the line already in the cart
    assert staff.update_sku(item.sku, price="13.00").status_code == 200
    assert lines(customer.cart().json()) == {item.sku: (2, "12.50", "25.00")}


def test_adding_again_sums_the_quantity(
    customer: ApiClient, product: Callable[..., Product]
) -> None:
    item = product(price="1.50", on_hand=10)
    in_cart(customer, item.sku, 2)

    response = customer.add_to_cart(item.sku, 3)

    assert response.status_code == 201, response.text
    assert lines(response.json()) == {item.sku: (5, "1.50", "7.50")}
    assert response.json()["item_count"] == 5


def test_set_quantity(customer: ApiClient, product: Callable[..., Product]) -> None:
    item = product(price="2.00", on_hand=10)
    in_cart(customer, item.sku, 1)

    response = customer.set_cart_quantity(item.sku, 4)

    assert response.status_code == 200, response.text
    assert lines(response.json()) == {item.sku: (4, "2.00", "8.00")}
    assert response.json()["total"] == "8.00"


def test_set_quantity_above_the_stock(customer: ApiClient, product: Callable[..., Product]) -> None:
    item = product(price="2.00", on_hand=3)
    in_cart(customer, item.sku, 1)

    response = customer.set_cart_quantity(item.sku, 4)

    assert response.status_code == 409
    assert problem(response)["code"] == "insufficient_stock"
    assert lines(customer.cart().json()) == {item.sku: (1, "2.00", "2.00")}


def test_quantity_zero_removes_the_line(
    customer: ApiClient, product: Callable[..., Product]
) -> None:
    item = product(price="2.00")
    in_cart(customer, item.sku, 1)

    response = customer.set_cart_quantity(item.sku, 0)

    assert response.status_code == 200, response.text
    assert response.json()["items"] == []
    assert (response.json()["total"], response.json()["item_count"]) == ("0.00", 0)


def test_remove_a_line(customer: ApiClient, product: Callable[..., Product]) -> None:
    kept, dropped = product(price="1.00"), product(price="2.00")
    in_cart(customer, kept.sku, 1)
    in_cart(customer, dropped.sku, 1)

    response = customer.remove_from_cart(dropped.sku)

    assert response.status_code == 200, response.text
    assert lines(response.json()) == {kept.sku: (1, "1.00", "1.00")}
    assert response.json()["total"] == "1.00"


def test_a_line_that_is_not_in_the_cart(
    customer: ApiClient, product: Callable[..., Product]
) -> None:
    item = product()

    for response in (customer.set_cart_quantity(item.sku, 1), customer.remove_from_cart(item.sku)):
        assert response.status_code == 404, response.text
        assert problem(response)["code"] == "not_found"


def test_unknown_sku(customer: ApiClient) -> None:
    response = customer.add_to_cart(unique("NOPE-"), 1)

    assert response.status_code == 400
    body = problem(response)
    assert body["code"] == "unknown_sku"
    assert field_names(body)[0] == "sku"


@pytest.mark.parametrize("quantity", [0, 100, -1])
def test_quantity_out_of_range_names_quantity(
    customer: ApiClient, product: Callable[..., Product], quantity: int
) -> None:
    item = product(on_hand=200)

    response = customer.add_to_cart(item.sku, quantity)

    assert response.status_code == 400
    body = problem(response)
    assert body["code"] == "validation_error"
    assert field_names(body) == ["quantity"]


def test_one_currency_per_cart(customer: ApiClient, product: Callable[..., Product]) -> None:
    euros = product(price="10.00", currency="EUR")
    dollars = product(price="10.00", currency="USD")
    in_cart(customer, euros.sku, 1)

    response = customer.add_to_cart(dollars.sku, 1)

    assert response.status_code == 409
    assert problem(response)["code"] == "currency_mismatch"
    assert lines(customer.cart().json()) == {euros.sku: (1, "10.00", "10.00")}


def test_totals_are_computed_by_the_server(
    customer: ApiClient, product: Callable[..., Product]
) -> None:
    shirt = product(price="12.50", currency="GBP")
    sticker = product(price="0.10", currency="GBP")
    in_cart(customer, shirt.sku, 2)
    in_cart(customer, sticker.sku, 3)

    cart = customer.cart()

    assert cart.status_code == 200, cart.text
    assert lines(cart.json()) == {
        shirt.sku: (2, "12.50", "25.00"),
        sticker.sku: (3, "0.10", "0.30"),
    }
    assert (cart.json()["currency"], cart.json()["total"], cart.json()["item_count"]) == (
        "GBP",
        "25.30",
        5,
    )


def test_clear(customer: ApiClient, product: Callable[..., Product]) -> None:
    in_cart(customer, product().sku, 1)

    response = customer.clear_cart()

    assert response.status_code == 204
    assert response.content == b""
    cart = customer.cart().json()
    assert (cart["items"], cart["currency"], cart["total"], cart["item_count"]) == (
        [],
        None,
        "0.00",
        0,
    )
