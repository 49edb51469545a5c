"""notifications under one-writer-per-context: deterministic ids, the monolith records nothing
while the service writes, follows the service's NotificationSent, and publishes its own."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contracts.events import NotificationSent
from contracts.ids import notification_id
from eventbus.outbox.models import OutboxMessage
from eventbus.ownership import services as ownership
from shop.notifications import handlers, services
from shop.notifications.models import Notification, PendingFact

pytestmark = [pytest.mark.notifications, pytest.mark.django_db]

CONTEXT = {"total": "25.00", "currency": "EUR"}
Capture = Callable[..., Any]


def _sent(user_id: int, reference: str, body: str = "") -> NotificationSent:
    return NotificationSent(
        notification_id=notification_id(user_id, "order_paid", reference),
        user_id=user_id,
        kind="order_paid",
        channel="email",
        recipient="ada@example.com",
        subject="Paid",
        reference=reference,
        delivered_at=datetime(2030, 1, 1, tzinfo=UTC),
        body=body,
        aggregate_version=1,
    )


def test_the_id_names_the_fact_and_delivery_publishes_notification_sent(
    user_id: int, sink_file: Path, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_send(
            user_id=user_id, kind="order_paid", reference="order-1", context=CONTEXT
        )

    row = Notification.objects.get()
    assert row.id == notification_id(user_id, "order_paid", "order-1")
    [event] = OutboxMessage.objects.filter(name="notifications.notification.sent")
    payload = json.loads(event.body)["payload"]
    assert (payload["notification_id"], payload["reference"]) == (str(row.id), "order-1")
    assert (
        payload["body"] == row.body and "25.00 EUR" in row.body
    )  # v2: the follower's copy is whole
    assert json.loads(event.body)["schema_version"] == 2
    assert [json.loads(line)["id"] for line in sink_file.read_text().splitlines()] == [str(row.id)]


@pytest.mark.parametrize("frozen", [True, False])
def test_not_the_writer_records_and_delivers_nothing_but_keeps_the_fact(
    user_id: int, sink_file: Path, django_capture_on_commit_callbacks: Capture, frozen: bool
) -> None:
    owner = "monolith" if frozen else "service"
    ownership.set_owner("notifications", owner, frozen=frozen, why="test")

    with django_capture_on_commit_callbacks(execute=True):
        services.notification_send(
            user_id=user_id, kind="order_placed", reference="order-2", context=CONTEXT
        )

    assert not Notification.objects.exists()
    assert not sink_file.exists()
    # Kept for the writer's NotificationSent to drop, or for a flush once the monolith writes.
    [fact] = PendingFact.objects.all()
    assert fact.id == notification_id(user_id, "order_placed", "order-2")
    assert fact.context == CONTEXT


def test_the_follower_upserts_the_service_s_notification_once(user_id: int) -> None:
    ownership.set_owner("notifications", "service", frozen=False, why="test")
    event = _sent(user_id, "order-3", body="Hello Ada, ...")

    handlers.notification_sent(event)
    handlers.notification_sent(event)  # a redelivery changes nothing

    row = Notification.objects.get()
    assert (row.id, row.status, row.reference) == (event.notification_id, "delivered", "order-3")
    assert row.delivered_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert row.body == "Hello Ada, ..."


def test_a_v1_notification_sent_without_a_body_still_reads(user_id: int) -> None:
    from contracts.events import Envelope

    ownership.set_owner("notifications", "service", frozen=False, why="test")
    wire = json.loads(_sent(user_id, "order-6").to_json())
    wire["schema_version"] = 1
    del wire["payload"]["body"]
    event = Envelope.from_json(json.dumps(wire).encode()).event(NotificationSent)

    handlers.notification_sent(event)  # type: ignore[arg-type]

    row = Notification.objects.get()
    assert (row.reference, row.body) == ("order-6", "")  # reconcile brings the body
    handlers.notification_sent(_sent(user_id, "order-6", body="late body"))
    assert Notification.objects.get().body == "late body"


def test_the_follower_marks_a_row_it_already_has_for_that_fact(user_id: int) -> None:
    # A row recorded before ids were deterministic: same fact, other id.
    Notification.objects.create(
        id=uuid.uuid4(),
        user_id=user_id,
        kind="order_paid",
        recipient="ada@example.com",
        subject="Paid",
        body="b",
        reference="order-4",
    )
    ownership.set_owner("notifications", "service", frozen=False, why="test")

    handlers.notification_sent(_sent(user_id, "order-4"))

    row = Notification.objects.get()
    assert (row.status, row.body) == ("delivered", "b")


def test_the_writer_ignores_its_own_echo(user_id: int) -> None:
    handlers.notification_sent(_sent(user_id, "order-5"))
    assert not Notification.objects.exists()
