"""One writer per context: a frozen or follower monolith refuses catalog writes (503), and once
the catalog service owns catalog the calls other contexts make go to it over HTTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from eventbus.ownership import services as ownership
from eventbus.ownership.services import NotWriter
from shop.catalog import client, selectors, services
from shop.catalog.models import Inventory, Product, Reservation

from .conftest import MakeProduct

pytestmark = [pytest.mark.catalog, pytest.mark.django_db]

API = "/api/catalog"


def _frozen() -> None:
    ownership.set_owner("catalog", "monolith", frozen=True, why="test: handover")


def _not_the_writer(response: object) -> None:
    assert response.status_code == 503, response.content  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/problem+json"  # type: ignore[index]
    assert response["Retry-After"] == "1"  # type: ignore[index]
    body = response.json()  # type: ignore[attr-defined]
    assert (body["code"], body["status"], body["context"]) == ("not_the_writer", 503, "catalog")


def test_a_frozen_monolith_refuses_a_product_create_and_applies_nothing(staff: APIClient) -> None:
    _frozen()
    body = {
        "slug": "tee",
        "name": "Tee",
        "variants": [{"sku": "TEE", "name": "One", "price": "9.00", "currency": "EUR"}],
    }

    _not_the_writer(staff.post(f"{API}/products", body, format="json"))

    assert not Product.objects.exists()


def test_a_frozen_monolith_refuses_price_and_stock_changes(
    staff: APIClient, make_product: MakeProduct
) -> None:
    make_product("tee", ("TEE", "9.00", 5))
    _frozen()

    _not_the_writer(staff.patch(f"{API}/skus/TEE", {"price": "1.00"}, format="json"))
    _not_the_writer(
        staff.post(f"{API}/skus/TEE/stock-adjustments", {"delta": 3, "reason": "x"}, format="json")
    )

    assert str(selectors.variant_get(sku="TEE").price) == "9.00"  # type: ignore[union-attr]
    assert Inventory.objects.get(sku="TEE").on_hand == 5
    # Reads still answer.
    assert staff.get(f"{API}/skus/TEE").status_code == 200


def test_reservations_refuse_while_frozen_and_the_expiry_job_skips(
    make_product: MakeProduct,
) -> None:
    make_product("tee", ("TEE", "9.00", 5))
    held = services.stock_reserve(lines=[("TEE", 2)], owner_ref="o", ttl_seconds=60)
    Reservation.objects.filter(pk=held.id).update(expires_at=timezone.now() - timedelta(1))
    _frozen()

    with pytest.raises(NotWriter):
        services.stock_reserve(lines=[("TEE", 1)], owner_ref="o2", ttl_seconds=60)
    assert services.reservations_expire() == 0

    assert Reservation.objects.get(pk=held.id).status == "active"
    assert Inventory.objects.get(sku="TEE").reserved == 2
    ownership.set_owner("catalog", "monolith", frozen=False, why="test: thaw")
    assert services.reservations_expire() == 1


# --- dispatch to the catalog service ----------------------------------------------------------

RID = uuid.UUID("00000000-0000-4000-8000-0000000000aa")


@pytest.fixture
def service_calls() -> Iterator[list[httpx.Request]]:
    """The catalog service owns catalog; its internal API is an httpx MockTransport."""
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if request.url.path.endswith("/restock"):
            return httpx.Response(204)
        return httpx.Response(
            200,
            json={
                "id": str(RID),
                "owner_ref": "order:9",
                "status": "active",
                "expires_at": "2030-01-01T00:00:00+00:00",
                "lines": [{"sku": "REMOTE-1", "quantity": 1}],
            },
        )

    config = client.ClientConfig(base_url="http://catalog.invalid", token="t")
    previous = client.set_client(
        client.CatalogClient(config, transport=httpx.MockTransport(answer))
    )
    ownership.set_owner("catalog", "service", frozen=False, why="test: flipped")
    yield calls
    client.set_client(previous)


def test_once_the_service_owns_catalog_other_contexts_reach_it_over_http(
    service_calls: list[httpx.Request],
) -> None:
    reserved = services.stock_reserve(lines=[("REMOTE-1", 1)], owner_ref="order:9", ttl_seconds=9)
    got = selectors.reservation_get(reservation_id=RID)
    services.reservation_commit(reservation_id=RID)
    services.reservation_release(reservation_id=RID, reason="cancelled")
    services.stock_restock(lines=[("REMOTE-1", 1)], reason="refund", reference="order:9")

    assert reserved.id == RID and got == reserved
    assert [(r.method, r.url.path) for r in service_calls] == [
        ("POST", "/internal/catalog/reservations"),
        ("GET", f"/internal/catalog/reservations/{RID}"),
        ("POST", f"/internal/catalog/reservations/{RID}/commit"),
        ("POST", f"/internal/catalog/reservations/{RID}/release"),
        ("POST", "/internal/catalog/restock"),
    ]
    assert json.loads(service_calls[3].content) == {"reason": "cancelled"}
    assert not Reservation.objects.exists()  # nothing was written locally


def test_the_follower_monolith_refuses_catalog_writes_of_its_own(
    service_calls: list[httpx.Request], staff: APIClient
) -> None:
    _not_the_writer(staff.post(f"{API}/categories", {"slug": "x", "name": "X"}, format="json"))
    assert service_calls == []
