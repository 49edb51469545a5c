"""The catalog client's reads (``variants_get``, ``variant_get``), used when the local copy must
not settle alone (a checkout's prices, an unknown SKU): one call for many SKUs, with the
service token, an absent SKU as None, retries and the shared breaker."""

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
MUG = {
    "sku": "MUG-1",
    "product_slug": "mug",
    "product_name": "Mug",
    "variant_name": "Blue",
    "price": "12.50",
    "currency": "EUR",
    "available": 7,
    "is_active": True,
}
CUP = {**MUG, "sku": "CUP-1", "product_slug": "cup", "product_name": "Cup", "price": "3.00"}
FOUND = Answer(200, {"variants": [MUG]})
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


def test_variants_get_asks_for_the_whole_cart_in_one_call_with_the_token(
    service: FakeService, make_client: MakeClient
) -> None:
    service.answer(Answer(200, {"variants": [CUP, MUG]}))

    found = make_client().variants_get(skus=["MUG-1", "NOPE-1", "CUP-1", "MUG-1", "a/b"])

    assert found == {
        "MUG-1": VariantView(
            sku="MUG-1",
            product_slug="mug",
            product_name="Mug",
            variant_name="Blue",
            price=Decimal("12.50"),
            currency="EUR",
            available=7,
            is_active=True,
        ),
        "NOPE-1": None,  # the service sells no such SKU (unknown, or its product is inactive)
        "CUP-1": found["CUP-1"],
        "a/b": None,  # no variant can have it: never sent
    }
    assert found["CUP-1"] is not None and found["CUP-1"].price == Decimal("3.00")
    [seen] = service.seen
    assert (seen.method, seen.path) == ("POST", "/internal/catalog/variants")
    assert seen.body == {"skus": ["MUG-1", "NOPE-1", "CUP-1"]}
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"


def test_variant_get_is_one_sku_and_absent_reads_as_none(
    service: FakeService, make_client: MakeClient
) -> None:
    service.answer(FOUND, Answer(200, {"variants": []}))
    client = make_client(breaker_failures=1)

    variant = client.variant_get(sku="MUG-1")
    assert variant is not None and variant.available == 7
    assert client.variant_get(sku="MUG-2") is None
    assert client.breaker.state is State.CLOSED


@pytest.mark.parametrize("sku", ["../internal/catalog/restock", "", "a/b", "MUG-1\n", "x" * 65])
def test_a_sku_no_variant_can_have_is_none_without_a_call(
    service: FakeService, make_client: MakeClient, sku: str
) -> None:
    assert make_client().variant_get(sku=sku) is None
    assert service.seen == []


@pytest.mark.parametrize(
    "body",
    [
        {"variants": "MUG-1"},
        {},
        ["not", "an", "object"],
        {"variants": ["MUG-1"]},
        {"variants": [{"sku": "MUG-1"}]},
        {"variants": [{**MUG, "price": "cheap"}]},
        {"variants": [{**MUG, "available": None}]},
    ],
)
def test_a_malformed_answer_is_unavailable_not_a_crash(
    service: FakeService, make_client: MakeClient, body: Any
) -> None:
    service.answer(Answer(200, body))

    with pytest.raises(CatalogUnavailable, match=r"malformed|without a list|not JSON|object"):
        make_client().variants_get(skus=["MUG-1"])


def test_a_failing_read_is_retried(service: FakeService, make_client: MakeClient) -> None:
    service.answer(BUG, FOUND)

    variant = make_client(retries=2).variant_get(sku="MUG-1")

    assert variant is not None and variant.available == 7
    assert len(service.seen) == 2


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
