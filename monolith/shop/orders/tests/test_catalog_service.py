"""Orders once the catalog service owns catalog: a service that cannot answer is a 503 problem
with Retry-After for the customer (never a 500), and nothing is ordered."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from eventbus.ownership import services as ownership
from shop.catalog import services as catalog_services
from shop.orders.models import Order

from .conftest import Customer

pytestmark = [pytest.mark.orders, pytest.mark.django_db]


@pytest.fixture
def catalog_down(stocked_cart: Customer) -> Iterator[list[httpx.Request]]:
    calls: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    config = catalog_services.ClientConfig(base_url="http://catalog.invalid", token="t", retries=2)
    previous = catalog_services.set_client(
        catalog_services.CatalogClient(
            config, transport=httpx.MockTransport(refuse), sleep=lambda s: None
        )
    )
    ownership.set_owner("catalog", "service", frozen=False, why="test: flipped")
    yield calls
    catalog_services.set_client(previous)


def test_checkout_is_a_503_problem_when_the_catalog_service_is_down(
    stocked_cart: Customer, catalog_down: list[httpx.Request]
) -> None:
    response = stocked_cart.api.post("/api/orders/checkout", {}, format="json")

    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "1"
    assert response.json()["code"] == "catalog_unavailable"
    assert len(catalog_down) == 2  # the writer's prices of the cart, asked and retried once
    assert not Order.objects.exists()


def test_checkout_is_a_503_problem_while_catalog_is_frozen(stocked_cart: Customer) -> None:
    ownership.set_owner("catalog", "monolith", frozen=True, why="test: handover")

    response = stocked_cart.api.post("/api/orders/checkout", {}, format="json")

    assert response.status_code == 503, response.content
    assert (response.json()["code"], response["Retry-After"]) == ("not_the_writer", "1")
    assert not Order.objects.exists()


def test_checkout_prices_with_the_writer_not_a_stale_copy(stocked_cart: Customer) -> None:
    # The service raised A's price; the monolith's copy has not seen the event yet.
    asked: list[object] = []

    def service(request: httpx.Request) -> httpx.Response:
        skus = json.loads(request.content)["skus"]
        asked.append((request.url.path, skus))
        prices = {"A": "12.00", "B": "5.50"}
        variants = [
            {
                "sku": sku,
                "product_slug": sku.lower(),
                "product_name": sku.upper(),
                "variant_name": sku,
                "price": prices[sku],
                "currency": "EUR",
                "available": 5,
                "is_active": True,
            }
            for sku in skus
        ]
        return httpx.Response(200, json={"variants": variants})

    config = catalog_services.ClientConfig(base_url="http://catalog.invalid", token="t", retries=1)
    previous = catalog_services.set_client(
        catalog_services.CatalogClient(
            config, transport=httpx.MockTransport(service), sleep=lambda s: None
        )
    )
    ownership.set_owner("catalog", "service", frozen=False, why="test: flipped")
    try:
        response = stocked_cart.api.post("/api/orders/checkout", {}, format="json")
        cart = stocked_cart.api.get("/api/cart").json()
    finally:
        catalog_services.set_client(previous)

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "price_changed"
    assert [(i["sku"], i["unit_price"]) for i in cart["items"]] == [("A", "12.00"), ("B", "5.50")]
    assert not Order.objects.exists()
    assert asked == [("/internal/catalog/variants", ["A", "B"])]  # one call for the whole cart
