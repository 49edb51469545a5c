"""The catalog client's reads of the service's public API (``variant_get``), used when the local
copy would refuse a SKU: no service token, 404 as None, retries and the shared breaker."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from shop.catalog.breaker import State
from shop.catalog.client import CatalogClient, ClientConfig
from shop.catalog.errors import CatalogUnavailable
from shop.catalog.selectors import VariantView
from shop.common.fake_service import Answer, FakeService, running

pytestmark = [pytest.mark.catalog]

TOKEN = "s3rvice-token"
SKU = {
    "sku": "MUG-1",
    "product": "mug",
    "name": "Blue",
    "attributes": {},
    "price": "12.50",
    "currency": "EUR",
    "available": 7,
}
PRODUCT = {"id": 3, "slug": "mug", "name": "Mug", "is_active": True, "variants": [SKU]}
NOT_FOUND = Answer(404, {"code": "not_found", "status": 404, "detail": "No SKU MUG-1."})
BUG = Answer(500, {"code": "internal_error", "status": 500})

MakeClient = Callable[..., CatalogClient]


@pytest.fixture
def service() -> Iterator[FakeService]:
    yield from running()


@pytest.fixture
def make_client(service: FakeService) -> Iterator[MakeClient]:
    made: list[CatalogClient] = []

    def make(url: str = "", **config: Any) -> CatalogClient:
        options: dict[str, Any] = {"retries": 3, "timeout": 0.3, "connect_timeout": 0.5}
        options.update(config)
        client = CatalogClient(
            ClientConfig(base_url=url or service.url, token=TOKEN, **options),
            clock=lambda: 0.0,
            sleep=lambda seconds: None,  # backoff is computed, not waited
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_variant_get_reads_the_sku_then_its_product_without_the_token(
    service: FakeService, make_client: MakeClient
) -> None:
    service.answer(Answer(200, SKU), Answer(200, PRODUCT))

    variant = make_client().variant_get(sku="MUG-1")

    assert variant == VariantView(
        sku="MUG-1",
        product_slug="mug",
        product_name="Mug",
        variant_name="Blue",
        price=Decimal("12.50"),
        currency="EUR",
        available=7,
        is_active=True,
    )
    assert [(seen.method, seen.path) for seen in service.seen] == [
        ("GET", "/api/catalog/skus/MUG-1"),
        ("GET", "/api/catalog/products/mug"),
    ]
    # The public API reads a bearer as a user's JWT: the service token would be refused.
    assert all("authorization" not in seen.headers for seen in service.seen)


@pytest.mark.parametrize("missing", ["sku", "product"])
def test_an_unknown_sku_or_inactive_product_reads_as_none(
    service: FakeService, make_client: MakeClient, missing: str
) -> None:
    service.answer(NOT_FOUND if missing == "sku" else Answer(200, SKU), NOT_FOUND)
    client = make_client(breaker_failures=1)

    assert client.variant_get(sku="MUG-1") is None
    assert len(service.seen) == (1 if missing == "sku" else 2)
    assert client.breaker.state is State.CLOSED  # a 404 proves the service is up


@pytest.mark.parametrize("sku", ["../internal/catalog/restock", "", "a/b", "MUG-1\n", "x" * 65])
def test_a_sku_no_variant_can_have_is_none_without_a_call(
    service: FakeService, make_client: MakeClient, sku: str
) -> None:
    assert make_client().variant_get(sku=sku) is None
    assert service.seen == []


def test_a_failing_read_is_retried(service: FakeService, make_client: MakeClient) -> None:
    service.answer(BUG, Answer(200, SKU), BUG, Answer(200, PRODUCT))

    variant = make_client(retries=2).variant_get(sku="MUG-1")

    assert variant is not None and variant.available == 7
    assert len(service.seen) == 4


def test_reads_count_on_the_one_breaker(service: FakeService, make_client: MakeClient) -> None:
    service.answer(BUG, BUG)
    client = make_client(retries=1, breaker_failures=2, breaker_reset_seconds=10)

    for _ in range(2):
        with pytest.raises(CatalogUnavailable):
            client.variant_get(sku="MUG-1")

    assert client.breaker.state is State.OPEN
    # Open: the next call, a read or a reservation alike, fails fast without a request.
    with pytest.raises(CatalogUnavailable, match="paused"):
        client.stock_reserve(lines=[("MUG-1", 1)], owner_ref="order:1", ttl_seconds=60)
    assert len(service.seen) == 2


def test_an_unreachable_service_is_unavailable(make_client: MakeClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"  # nobody listens once closed

    with pytest.raises(CatalogUnavailable, match="cannot connect"):
        make_client(url=url, retries=2, breaker_failures=10).variant_get(sku="MUG-1")


@pytest.mark.parametrize(
    "sku_body",
    [
        {**SKU, "price": "cheap"},
        {**SKU, "available": None},
        {key: value for key, value in SKU.items() if key != "product"},
        ["not", "an", "object"],
    ],
)
def test_a_malformed_answer_is_unavailable(
    service: FakeService, make_client: MakeClient, sku_body: Any
) -> None:
    service.answer(Answer(200, sku_body), Answer(200, PRODUCT))

    with pytest.raises(CatalogUnavailable):
        make_client().variant_get(sku="MUG-1")
