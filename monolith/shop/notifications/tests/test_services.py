from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from shop.notifications import services
from shop.notifications.models import Notification

pytestmark = [pytest.mark.notifications, pytest.mark.django_db]

CONTEXT = {"total": "25.00", "currency": "EUR"}


def lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def send_then_fail(user_id: int, reference: str) -> None:
    """A caller's transaction that records a notification and then fails."""
    with transaction.atomic():
        services.notification_send(
            user_id=user_id, kind="order_placed", reference=reference, context=CONTEXT
        )
        raise RuntimeError("the caller failed after sending")


def test_send_delivers_on_commit(
    user_id: int, sink_file: Path, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    order_id = str(uuid.uuid4())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.notification_send(
            user_id=user_id, kind="order_placed", reference=order_id, context=CONTEXT
        )
    # Nothing is delivered before the commit...
    assert len(callbacks) == 1
    assert Notification.objects.get().status == "queued"
    assert lines(sink_file) == []
    # ...and the commit delivers it.
    callbacks[0]()

    row = Notification.objects.get()
    assert row.status == "delivered"
    assert row.delivered_at is not None
    assert (row.kind, row.channel, row.recipient, row.reference) == (
        "order_placed",
        "email",
        "ada@example.com",
        order_id,
    )
    assert row.subject == f"We received your order {order_id}"
    assert "Hello Ada," in row.body
    assert "25.00 EUR" in row.body
    [message] = lines(sink_file)
    assert message == {
        "id": str(row.id),
        "user_id": user_id,
        "channel": "email",
        "recipient": "ada@example.com",
        "kind": "order_placed",
        "subject": row.subject,
        "body": row.body,
        "reference": order_id,
        "created_at": row.created_at.isoformat(),
    }


def test_same_fact_notifies_once(
    user_id: int, sink_file: Path, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    order_id = str(uuid.uuid4())
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for _ in range(3):
            services.notification_send(
                user_id=user_id, kind="order_paid", reference=order_id, context=CONTEXT
            )
        services.notification_send(
            user_id=user_id, kind="order_refunded", reference=order_id, context=CONTEXT
        )
    assert len(callbacks) == 2
    assert sorted(Notification.objects.values_list("kind", flat=True)) == [
        "order_paid",
        "order_refunded",
    ]
    assert [m["kind"] for m in lines(sink_file)] == ["order_paid", "order_refunded"]


def test_rolled_back_savepoint_sends_nothing(
    user_id: int, sink_file: Path, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        send_then_fail(user_id, "o-1")
    assert callbacks == []
    assert Notification.objects.count() == 0
    assert lines(sink_file) == []


@pytest.mark.django_db(transaction=True)
def test_real_commit_delivers_and_real_rollback_does_not(user_id: int, sink_file: Path) -> None:
    with pytest.raises(RuntimeError):
        send_then_fail(user_id, "rolled-back")
    assert Notification.objects.count() == 0
    assert lines(sink_file) == []

    with transaction.atomic():
        services.notification_send(
            user_id=user_id, kind="order_placed", reference="committed", context=CONTEXT
        )
        assert lines(sink_file) == []  # not before the commit
    assert [m["reference"] for m in lines(sink_file)] == ["committed"]
    assert Notification.objects.get().status == "delivered"


def test_sink_failure_marks_failed_and_redeliver_recovers(
    user_id: int,
    settings: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings.NOTIFICATIONS_SINK = f"file:{blocker}/cannot/be/a/dir.jsonl"
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_send(
            user_id=user_id, kind="order_cancelled", reference="o-2", context={}
        )  # must not raise
    row = Notification.objects.get()
    assert (row.status, row.delivered_at) == ("failed", None)
    assert "delivering notification" in caplog.text

    good = tmp_path / "ok.jsonl"
    settings.NOTIFICATIONS_SINK = f"file:{good}"
    assert services.notifications_redeliver() == 1
    row.refresh_from_db()
    assert row.status == "delivered"
    assert [m["kind"] for m in lines(good)] == ["order_cancelled"]
    assert services.notifications_redeliver() == 0  # nothing left to do


def test_redeliver_leaves_fresh_queued_rows_to_their_own_delivery(
    user_id: int, sink_file: Path
) -> None:
    # In the test's transaction on_commit never fires: both rows stay queued.
    for reference in ("fresh", "stale"):
        services.notification_send(
            user_id=user_id, kind="order_placed", reference=reference, context=CONTEXT
        )
    Notification.objects.filter(reference="stale").update(
        created_at=timezone.now() - services.REDELIVER_GRACE - timedelta(seconds=1)
    )

    assert services.notifications_redeliver() == 1
    assert [m["reference"] for m in lines(sink_file)] == ["stale"]
    statuses = dict(Notification.objects.values_list("reference", "status"))
    assert statuses == {"fresh": "queued", "stale": "delivered"}


def test_redeliver_respects_limit(user_id: int, sink_file: Path) -> None:
    for reference in ("a", "b", "c"):
        services.notification_send(
            user_id=user_id, kind="order_placed", reference=reference, context=CONTEXT
        )
    Notification.objects.update(status="failed")
    assert services.notifications_redeliver(limit=2) == 2
    assert Notification.objects.filter(status="failed").count() == 1


def test_console_sink_logs(
    user_id: int,
    settings: Any,
    django_capture_on_commit_callbacks: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.NOTIFICATIONS_SINK = "console"
    with (
        caplog.at_level(logging.INFO, logger="shop.notifications.sink"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.notification_send(
            user_id=user_id, kind="order_paid", reference="o-3", context=CONTEXT
        )
    [record] = [r for r in caplog.records if r.name == "shop.notifications.sink"]
    assert '"reference": "o-3"' in record.getMessage()
    assert Notification.objects.get().status == "delivered"


def test_unknown_user_records_nothing(
    db: None, sink_file: Path, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.notification_send(
            user_id=999_999, kind="order_placed", reference="o-4", context=CONTEXT
        )
    assert callbacks == []
    assert Notification.objects.count() == 0


def test_bad_arguments_raise(user_id: int) -> None:
    with pytest.raises(ValueError, match="kind"):
        services.notification_send(user_id=user_id, kind="spam", reference="o", context={})
    with pytest.raises(ValueError, match="reference"):
        services.notification_send(user_id=user_id, kind="order_paid", reference="", context={})
