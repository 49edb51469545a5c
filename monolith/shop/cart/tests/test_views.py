from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from shop.catalog import services as catalog_services

pytestmark = [pytest.mark.cart, pytest.mark.django_db]

USER = 7


@pytest.fixture
def api(client_for: Callable[[int], APIClient]) -> APIClient:
    return client_for(USER)


def test_cart_requires_a_token() -> None:
    response = APIClient().get("/api/cart")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_empty_cart(api: APIClient) -> None:
    response = api.get("/api/cart")
    assert response.status_code == 200
    assert response.json() == {
        "items": [],
        "currency": None,
        "total": "0.00",
        "item_count": 0,
        "updated_at": None,
    }


def test_add_item_answers_201_with_the_cart(api: APIClient, product: Callable[..., None]) -> None:
    product("TEE-M", price="12.50", on_hand=10)
    response = api.post("/api/cart/items", {"sku": "TEE-M", "quantity": 2}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["items"] == [
        {
            "sku": "TEE-M",
            "product_name": "Product TEE-M",
            "variant_name": "Variant TEE-M",
            "quantity": 2,
            "unit_price": "12.50",
            "currency": "EUR",
            "line_total": "25.00",
        }
    ]
    assert (body["currency"], body["total"], body["item_count"]) == ("EUR", "25.00", 2)
    assert body["updated_at"] is not None
    assert api.get("/api/cart").json() == body


def test_unknown_sku_is_400_naming_sku(api: APIClient) -> None:
    response = api.post("/api/cart/items", {"sku": "NOPE", "quantity": 1}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "unknown_sku"
    assert body["errors"][0]["field"] == "sku"


def test_insufficient_stock_is_409_with_numbers(
    api: APIClient, product: Callable[..., None]
) -> None:
    product("TEE-M", on_hand=3)
    response = api.post("/api/cart/items", {"sku": "TEE-M", "quantity": 4}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["sku"], body["available"], body["requested"]) == (
        "insufficient_stock",
        "TEE-M",
        3,
        4,
    )


def test_currency_mismatch_is_409(api: APIClient, product: Callable[..., None]) -> None:
    product("EU", currency="EUR")
    product("US", currency="USD")
    api.post("/api/cart/items", {"sku": "EU", "quantity": 1}, format="json")
    response = api.post("/api/cart/items", {"sku": "US", "quantity": 1}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "currency_mismatch"


@pytest.mark.parametrize("quantity", [0, 100, -1])
def test_quantity_out_of_range_is_400_naming_quantity(
    api: APIClient, product: Callable[..., None], quantity: int
) -> None:
    product("TEE-M", on_hand=500)
    response = api.post("/api/cart/items", {"sku": "TEE-M", "quantity": quantity}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert [error["field"] for error in body["errors"]] == ["quantity"]


def test_adding_past_99_is_400_naming_quantity(
    api: APIClient, product: Callable[..., None]
) -> None:
    product("TEE-M", on_hand=500)
    api.post("/api/cart/items", {"sku": "TEE-M", "quantity": 90}, format="json")
    response = api.post("/api/cart/items", {"sku": "TEE-M", "quantity": 10}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "quantity"


def test_patch_sets_quantity_and_zero_removes(api: APIClient, product: Callable[..., None]) -> None:
    product("TEE-M", price="2.00", on_hand=10)
    api.post("/api/cart/items", {"sku": "TEE-M", "quantity": 1}, format="json")
    response = api.patch("/api/cart/items/TEE-M", {"quantity": 5}, format="json")
    assert response.status_code == 200
    assert (response.json()["item_count"], response.json()["total"]) == (5, "10.00")
    response = api.patch("/api/cart/items/TEE-M", {"quantity": 0}, format="json")
    assert response.status_code == 200
    assert response.json()["items"] == []
    assert response.json()["currency"] is None


def test_patch_or_delete_of_a_missing_line_is_404(api: APIClient) -> None:
    assert api.patch("/api/cart/items/NOPE", {"quantity": 1}, format="json").status_code == 404
    response = api.delete("/api/cart/items/NOPE")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_delete_line_answers_the_cart(api: APIClient, product: Callable[..., None]) -> None:
    product("A")
    product("B")
    api.post("/api/cart/items", {"sku": "A", "quantity": 1}, format="json")
    api.post("/api/cart/items", {"sku": "B", "quantity": 1}, format="json")
    response = api.delete("/api/cart/items/A")
    assert response.status_code == 200
    assert [item["sku"] for item in response.json()["items"]] == ["B"]


def test_delete_cart_is_204(api: APIClient, product: Callable[..., None]) -> None:
    product("A")
    api.post("/api/cart/items", {"sku": "A", "quantity": 1}, format="json")
    response = api.delete("/api/cart")
    assert response.status_code == 204
    assert api.get("/api/cart").json()["items"] == []


def test_snapshot_price_is_shown_after_a_price_change(
    api: APIClient, product: Callable[..., None]
) -> None:
    product("A", price="10.00")
    api.post("/api/cart/items", {"sku": "A", "quantity": 3}, format="json")
    catalog_services.variant_update(sku="A", price=Decimal("12.00"))
    body = api.get("/api/cart").json()
    assert (body["items"][0]["unit_price"], body["total"]) == ("10.00", "30.00")


def test_carts_are_per_user(
    client_for: Callable[[int], APIClient], product: Callable[..., None]
) -> None:
    product("A")
    client_for(1).post("/api/cart/items", {"sku": "A", "quantity": 1}, format="json")
    assert client_for(2).get("/api/cart").json()["items"] == []
    assert client_for(2).delete("/api/cart/items/A").status_code == 404
