"""The internal API the monolith's HTTP client calls: /internal/catalog/... with the service
token, bodies mirroring services.py, the catalog's problem codes, idempotent reserve."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from catalog_service.catalog import selectors
from catalog_service.catalog.models import Reservation, StockMovement
from eventbus.ownership import services as ownership

MakeProduct = Callable[..., Any]

pytestmark = [pytest.mark.catalog, pytest.mark.django_db, pytest.mark.usefixtures("writer")]

API = "/internal/catalog"


@pytest.fixture
def monolith() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {settings.CATALOG_SERVICE_TOKEN}")
    return client


@pytest.fixture
def tee(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 5), ("TEE-M", "12.50", 3))


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def reserve(client: APIClient, key: str, **overrides: Any) -> Any:
    body = {
        "lines": [{"sku": "TEE-S", "quantity": 2}, {"sku": "TEE-M", "quantity": 1}],
        "owner_ref": "order:1",
        "ttl_seconds": 60,
        "idempotency_key": key,
        **overrides,
    }
    return client.post(f"{API}/reservations", body, format="json")


def stock(sku: str) -> tuple[int, int]:
    view = selectors.stock_get(sku=sku)
    assert view is not None
    return view.on_hand, view.reserved


@pytest.mark.usefixtures("tee")
def test_reserve_commit_and_read_back(monolith: APIClient) -> None:
    created = reserve(monolith, "k1")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["owner_ref"] == "order:1"
    assert body["status"] == "active"
    assert body["lines"] == [{"sku": "TEE-M", "quantity": 1}, {"sku": "TEE-S", "quantity": 2}]
    assert stock("TEE-S") == (5, 2)

    read = monolith.get(f"{API}/reservations/{body['id']}")
    assert read.status_code == 200
    assert read.json() == body

    committed = monolith.post(f"{API}/reservations/{body['id']}/commit")
    assert committed.status_code == 200, committed.content
    assert committed.json()["status"] == "committed"
    assert stock("TEE-S") == (3, 0)
    # Commit is idempotent: a retry answers the same and sells nothing twice.
    again = monolith.post(f"{API}/reservations/{body['id']}/commit")
    assert again.json()["status"] == "committed"
    assert stock("TEE-S") == (3, 0)


@pytest.mark.usefixtures("tee")
def test_reserve_retry_with_the_same_key_holds_once(monolith: APIClient) -> None:
    first = reserve(monolith, "same-key").json()
    second = reserve(monolith, "same-key")
    assert second.status_code == 201
    assert second.json() == first
    assert stock("TEE-S") == (5, 2)
    assert Reservation.objects.count() == 1
    assert StockMovement.objects.filter(kind="reserve").count() == 2  # two lines, once

    # Released in between: the retry still names that reservation, it does not hold again.
    monolith.post(f"{API}/reservations/{first['id']}/release", {"reason": "x"}, format="json")
    third = reserve(monolith, "same-key").json()
    assert third["id"] == first["id"]
    assert third["status"] == "released"
    assert stock("TEE-S") == (5, 0)

    other = reserve(monolith, "another-key")
    assert other.status_code == 201
    assert other.json()["id"] != first["id"]


@pytest.mark.usefixtures("tee")
def test_the_same_key_for_another_request_is_a_conflict(monolith: APIClient) -> None:
    reserve(monolith, "k2")
    body = problem(
        reserve(monolith, "k2", lines=[{"sku": "TEE-S", "quantity": 1}]),
        409,
        "idempotency_conflict",
    )
    assert body["errors"][0]["field"] == "idempotency_key"
    problem(reserve(monolith, "k2", owner_ref="order:2"), 409, "idempotency_conflict")
    assert stock("TEE-S") == (5, 2)


@pytest.mark.usefixtures("tee")
def test_out_of_stock_holds_nothing(monolith: APIClient) -> None:
    body = problem(
        reserve(
            monolith, "k3", lines=[{"sku": "TEE-S", "quantity": 1}, {"sku": "TEE-M", "quantity": 4}]
        ),
        409,
        "out_of_stock",
    )
    assert (body["sku"], body["available"], body["requested"]) == ("TEE-M", 3, 4)
    assert stock("TEE-S") == (5, 0)
    assert not Reservation.objects.exists()
    # The key was not used up by the failed attempt: once stock is there it reserves.
    assert reserve(monolith, "k3", lines=[{"sku": "TEE-M", "quantity": 3}]).status_code == 201


@pytest.mark.usefixtures("tee")
def test_commit_of_a_lapsed_hold_is_reservation_expired(monolith: APIClient) -> None:
    body = reserve(monolith, "k4").json()
    Reservation.objects.filter(pk=body["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    problem(monolith.post(f"{API}/reservations/{body['id']}/commit"), 409, "reservation_expired")
    # The lapse released the units, and that release was kept.
    assert stock("TEE-S") == (5, 0)
    assert monolith.get(f"{API}/reservations/{body['id']}").json()["status"] == "released"


@pytest.mark.usefixtures("tee")
def test_release_is_idempotent_and_restock_adds_units(monolith: APIClient) -> None:
    body = reserve(monolith, "k5").json()
    for _ in range(2):
        released = monolith.post(
            f"{API}/reservations/{body['id']}/release", {"reason": "payment failed"}, format="json"
        )
        assert released.status_code == 200
        assert released.json()["status"] == "released"
    assert stock("TEE-S") == (5, 0)

    restocked = monolith.post(
        f"{API}/restock",
        {
            "lines": [{"sku": "TEE-S", "quantity": 2}, {"sku": "NOPE-1", "quantity": 1}],
            "reason": "refund",
            "reference": "order:9",
        },
        format="json",
    )
    assert restocked.status_code == 204, restocked.content
    assert stock("TEE-S") == (7, 0)  # the unknown SKU is skipped
    again = monolith.post(
        f"{API}/restock",
        {"lines": [{"sku": "TEE-S", "quantity": 2}], "reason": "refund", "reference": "order:9"},
        format="json",
    )
    assert again.status_code == 204, again.content
    assert stock("TEE-S") == (7, 0)  # a retry puts nothing back twice
    unkeyed = monolith.post(
        f"{API}/restock",
        {"lines": [{"sku": "TEE-S", "quantity": 2}], "reason": "refund"},
        format="json",
    )
    body = problem(unkeyed, 400, "validation_error")
    assert [e["field"] for e in body["errors"]] == ["reference"]


@pytest.mark.usefixtures("tee")
def test_unknown_reservations_and_bad_bodies(monolith: APIClient) -> None:
    missing = uuid.uuid4()
    problem(monolith.get(f"{API}/reservations/{missing}"), 404, "not_found")
    problem(monolith.post(f"{API}/reservations/{missing}/commit"), 404, "not_found")
    problem(monolith.post(f"{API}/reservations/{missing}/release"), 404, "not_found")
    problem(monolith.get(f"{API}/reservations/not-a-uuid"), 404, "not_found")
    body = problem(
        monolith.post(
            f"{API}/reservations",
            {"lines": [{"sku": "TEE-S", "quantity": 0}], "owner_ref": "o", "ttl_seconds": 5},
            format="json",
        ),
        400,
        "validation_error",
    )
    assert {e["field"] for e in body["errors"]} == {"lines.0.quantity", "idempotency_key"}
    problem(monolith.post(f"{API}/restock", {"lines": []}, format="json"), 400, "validation_error")


@pytest.mark.usefixtures("tee")
def test_the_service_token_is_required(staff: APIClient) -> None:
    anonymous = APIClient()
    problem(anonymous.post(f"{API}/restock", {}, format="json"), 401, "not_authenticated")
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Bearer not-the-token")
    problem(wrong.get(f"{API}/reservations/{uuid.uuid4()}"), 401, "invalid_token")
    # A staff user's session is not the service: the internal API only knows the token.
    problem(staff.get(f"{API}/reservations/{uuid.uuid4()}"), 403, "permission_denied")


@pytest.mark.usefixtures("tee")
@pytest.mark.parametrize("frozen", [False, True], ids=["follower", "frozen"])
def test_a_side_that_does_not_write_answers_503_retry_after(
    monolith: APIClient, staff: APIClient, frozen: bool
) -> None:
    owner = "service" if frozen else "monolith"
    ownership.set_owner("catalog", owner, frozen=frozen, why="test")
    for response in (
        reserve(monolith, "k6"),
        monolith.post(
            f"{API}/restock",
            {"lines": [{"sku": "TEE-S", "quantity": 1}], "reason": "r", "reference": "order:1"},
            format="json",
        ),
        staff.patch("/api/catalog/skus/TEE-S", {"price": "1.00"}, format="json"),
        staff.post(
            "/api/catalog/skus/TEE-S/stock-adjustments", {"delta": 1, "reason": "r"}, format="json"
        ),
        staff.post("/api/catalog/categories", {"slug": "new", "name": "New"}, format="json"),
    ):
        body = problem(response, 503, "not_the_writer")
        assert response["Retry-After"] == "1"
        assert body["type"].endswith("/not-the-writer")
    assert stock("TEE-S") == (5, 0)
    assert not Reservation.objects.exists()
    # Reads still answer from the local copy.
    assert staff.get("/api/catalog/skus/TEE-S").status_code == 200
    assert monolith.get(f"{API}/reservations/{uuid.uuid4()}").status_code == 404


@pytest.mark.usefixtures("tee")
def test_variants_answers_the_active_skus_among_many_in_one_call(
    monolith: APIClient, make_product: MakeProduct
) -> None:
    from catalog_service.catalog import services

    make_product("old-mug", ("MUG-OLD", "5.00", 9))
    services.product_update(slug="old-mug", is_active=False)
    reserve(monolith, "k-variants")  # TEE-S: 2 of 5 held, TEE-M: 1 of 3

    answer = monolith.post(
        f"{API}/variants", {"skus": ["TEE-S", "TEE-M", "NOPE-1", "MUG-OLD"]}, format="json"
    )

    assert answer.status_code == 200, answer.content
    assert sorted(answer.json()["variants"], key=lambda v: v["sku"]) == [
        {
            "sku": "TEE-M",
            "product_slug": "tee",
            "product_name": "Tee",
            "variant_name": "Variant TEE-M",
            "price": "12.50",
            "currency": "USD",
            "available": 2,
            "is_active": True,
        },
        {
            "sku": "TEE-S",
            "product_slug": "tee",
            "product_name": "Tee",
            "variant_name": "Variant TEE-S",
            "price": "9.99",
            "currency": "USD",
            "available": 3,
            "is_active": True,
        },
    ]
    # a read: a follower answers it too (the monolith asks whoever it thinks writes)
    ownership.set_owner("catalog", "monolith", frozen=False, why="test")
    again = monolith.post(f"{API}/variants", {"skus": ["TEE-S"]}, format="json")
    assert [v["sku"] for v in again.json()["variants"]] == ["TEE-S"]
    for bad in ({"skus": []}, {"skus": ["../x"]}, {"skus": ["A"] * 501}, {}):
        problem(monolith.post(f"{API}/variants", bad, format="json"), 400, "validation_error")
