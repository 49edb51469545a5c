"""Orders once the catalog service owns catalog: a service that cannot answer is a 503 problem
with Retry-After for the customer (never a 500), and nothing is ordered."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from eventbus.ownership import services as ownership
from shop.catalog import client
from shop.orders.models import Order

from .conftest import Customer

pytestmark = [pytest.mark.orders, pytest.mark.django_db]


@pytest.fixture
def catalog_down(stocked_cart: Customer) -> Iterator[list[httpx.Request]]:
    calls: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    config = client.ClientConfig(base_url="http://catalog.invalid", token="t", retries=2)
    previous = client.set_client(
        client.CatalogClient(config, transport=httpx.MockTransport(refuse), sleep=lambda s: None)
    )
    ownership.set_owner("catalog", "service", frozen=False, why="test: flipped")
    yield calls
    client.set_client(previous)


def test_checkout_is_a_503_problem_when_the_catalog_service_is_down(
    stocked_cart: Customer, catalog_down: list[httpx.Request]
) -> None:
    response = stocked_cart.api.post("/api/orders/checkout", {}, format="json")

    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "1"
    assert response.json()["code"] == "catalog_unavailable"
    assert len(catalog_down) == 2  # the reservation was tried, and retried once
    assert not Order.objects.exists()


def test_checkout_is_a_503_problem_while_catalog_is_frozen(stocked_cart: Customer) -> None:
    ownership.set_owner("catalog", "monolith", frozen=True, why="test: handover")

    response = stocked_cart.api.post("/api/orders/checkout", {}, format="json")

    assert response.status_code == 503, response.content
    assert (response.json()["code"], response["Retry-After"]) == ("not_the_writer", "1")
    assert not Order.objects.exists()
