from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from shop.common.auth import Principal
from shop.payments import services
from shop.payments.models import Payment

pytestmark = [pytest.mark.payments, pytest.mark.django_db]

Authorize = Callable[..., services.PaymentView]


def client_for(user_id: int) -> APIClient:
    client = APIClient()
    client.force_authenticate(
        user=Principal(id=user_id, email=f"u{user_id}@example.com", is_staff=False, token_id="t")
    )
    return client


def test_detail_shape(authorize: Authorize) -> None:
    order_id = uuid.uuid4()
    view = authorize(order_id=order_id, user_id=1)
    services.payment_capture(payment_id=view.id)

    response = client_for(1).get(f"/api/payments/{view.id}")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "id",
        "order_id",
        "amount",
        "currency",
        "status",
        "card_last4",
        "decline_reason",
        "ledger",
        "created_at",
    }
    assert body["id"] == str(view.id)
    assert body["order_id"] == str(order_id)
    assert body["amount"] == "12.50"
    assert body["currency"] == "EUR"
    assert body["status"] == "captured"
    assert body["card_last4"] == "4242"
    assert body["decline_reason"] == ""
    assert [(e["kind"], e["amount"], e["currency"]) for e in body["ledger"]] == [
        ("authorize", "12.50", "EUR"),
        ("capture", "12.50", "EUR"),
    ]
    assert all(set(e) == {"kind", "amount", "currency", "at"} for e in body["ledger"])


def test_declined_payment_shows_reason(authorize: Authorize) -> None:
    view = authorize(user_id=1, card_number="4000000000009995")
    body = client_for(1).get(f"/api/payments/{view.id}").json()
    assert (body["status"], body["decline_reason"]) == ("declined", "insufficient_funds")
    assert [e["kind"] for e in body["ledger"]] == ["decline"]


def test_another_users_payment_is_not_found(authorize: Authorize) -> None:
    view = authorize(user_id=1)
    response = client_for(2).get(f"/api/payments/{view.id}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_unknown_and_malformed_ids_are_not_found() -> None:
    client = client_for(1)
    assert client.get(f"/api/payments/{uuid.uuid4()}").status_code == 404
    assert client.get("/api/payments/not-a-uuid").status_code == 404


def test_list_only_own_newest_first(authorize: Authorize) -> None:
    older = authorize(user_id=1)
    newer = authorize(user_id=1)
    authorize(user_id=2)
    Payment.objects.filter(pk=older.id).update(
        created_at=Payment.objects.get(pk=newer.id).created_at - timedelta(minutes=1)
    )

    response = client_for(1).get("/api/payments")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert (body["next"], body["previous"]) == (None, None)
    assert [p["id"] for p in body["results"]] == [str(newer.id), str(older.id)]
    assert all("ledger" in p for p in body["results"])


def test_list_filters_by_order(authorize: Authorize) -> None:
    order_id = uuid.uuid4()
    mine = authorize(user_id=1, order_id=order_id)
    authorize(user_id=1)
    authorize(user_id=2, order_id=order_id)  # same order id, other user: never shown

    body = client_for(1).get("/api/payments", {"order_id": str(order_id)}).json()

    assert body["count"] == 1
    assert body["results"][0]["id"] == str(mine.id)


def test_list_rejects_malformed_order_id() -> None:
    response = client_for(1).get("/api/payments", {"order_id": "nope"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert [e["field"] for e in body["errors"]] == ["order_id"]


def test_list_paginates(authorize: Authorize) -> None:
    for _ in range(3):
        authorize(user_id=1)
    body = client_for(1).get("/api/payments", {"page_size": 2}).json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] is not None
    assert client_for(1).get("/api/payments", {"page": 9}).status_code == 404


def test_requires_authentication() -> None:
    client = APIClient()
    for path in ("/api/payments", f"/api/payments/{uuid.uuid4()}"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


def test_writes_are_not_allowed(authorize: Authorize) -> None:
    view = authorize(user_id=1)
    assert client_for(1).post("/api/payments", {}, format="json").status_code == 405
    assert client_for(1).delete(f"/api/payments/{view.id}").status_code == 405
