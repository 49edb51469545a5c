from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from shop.common.auth import Principal
from shop.notifications import services
from shop.notifications.models import Notification

pytestmark = [pytest.mark.notifications, pytest.mark.django_db]


def client_for(user_id: int) -> APIClient:
    client = APIClient()
    client.force_authenticate(
        user=Principal(id=user_id, email="x@example.com", is_staff=False, token_id="t")
    )
    return client


def test_lists_own_notifications_newest_first(user_id: int, sink_file: Path) -> None:
    for reference in ("old", "new"):
        services.notification_send(
            user_id=user_id,
            kind="order_placed",
            reference=reference,
            context={"total": "1.00", "currency": "EUR"},
        )
    Notification.objects.filter(reference="old").update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    Notification.objects.create(
        user_id=user_id + 1,
        kind="order_placed",
        recipient="other@example.com",
        subject="s",
        body="b",
        reference="someone-elses",
    )

    response = client_for(user_id).get("/api/notifications")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert (body["next"], body["previous"]) == (None, None)
    assert [n["reference"] for n in body["results"]] == ["new", "old"]
    first = body["results"][0]
    assert set(first) == {
        "id",
        "kind",
        "channel",
        "subject",
        "body",
        "reference",
        "status",
        "created_at",
        "delivered_at",
    }
    assert (first["kind"], first["channel"], first["status"], first["delivered_at"]) == (
        "order_placed",
        "email",
        "queued",
        None,
    )
    assert first["subject"] == "We received your order new"


def test_paginates(user_id: int, sink_file: Path) -> None:
    for n in range(3):
        services.notification_send(
            user_id=user_id, kind="order_paid", reference=f"o-{n}", context={}
        )
    body = client_for(user_id).get("/api/notifications", {"page_size": 2}).json()
    assert (body["count"], len(body["results"])) == (3, 2)
    assert body["next"] is not None


def test_requires_authentication() -> None:
    response = APIClient().get("/api/notifications")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
