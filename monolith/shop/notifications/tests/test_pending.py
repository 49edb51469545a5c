"""Pending facts: an order fact the monolith sees while it does not write notifications is
kept, dropped when the writer's NotificationSent arrives, and notified once by
``manage.py notifications_flush`` (or the next send) when the monolith writes again. The
rollback window: the service is frozen and the monolith not yet the owner, so nobody writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError

from contracts.events import NotificationSent
from contracts.ids import notification_id
from eventbus.ownership import services as ownership
from shop.cart import services as cart_services
from shop.catalog import services as catalog_services
from shop.notifications import handlers, services
from shop.notifications.models import Notification, PendingFact
from shop.orders import services as orders
from shop.users import services as users

pytestmark = [pytest.mark.notifications, pytest.mark.django_db]

CONTEXT = {"total": "25.00", "currency": "EUR"}
Capture = Callable[..., Any]


def sink_ids(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def flush(capture: Capture) -> str:
    out = StringIO()
    with capture(execute=True):
        call_command("notifications_flush", stdout=out)
    return out.getvalue()


def follow_the_service() -> None:
    """After the forward flip: the service writes, the monolith follows."""
    ownership.set_owner("notifications", "service", frozen=False, why="test: flipped")


def write_again() -> None:
    """The rollback's flip: the monolith writes again."""
    ownership.set_owner("notifications", "monolith", frozen=False, why="test: rolled back")


def sent(user_id: int, kind: str, reference: str) -> NotificationSent:
    return NotificationSent(
        notification_id=notification_id(user_id, kind, reference),
        user_id=user_id,
        kind=kind,
        channel="email",
        recipient="ada@example.com",
        subject="from the service",
        reference=reference,
        delivered_at=datetime(2030, 1, 1, tzinfo=UTC),
        aggregate_version=1,
    )


def send(user_id: int, reference: str, kind: str = "order_placed") -> None:
    services.notification_send(user_id=user_id, kind=kind, reference=reference, context=CONTEXT)


def test_an_order_placed_during_the_rollback_freeze_is_notified_once_after_the_flip(
    user_id: int, sink_file: Path, django_capture_on_commit_callbacks: Capture
) -> None:
    catalog_services.product_create(
        slug="mug",
        name="Mug",
        variants=[
            catalog_services.VariantInput(
                sku="MUG-1", name="Mug", price=Decimal("12.50"), currency="EUR", on_hand=5
            )
        ],
    )
    cart_services.cart_add_item(user_id=user_id, sku="MUG-1", quantity=2)
    # The rollback's freeze: the service no longer writes, the monolith does not yet.
    follow_the_service()

    with django_capture_on_commit_callbacks(execute=True):
        order = orders.checkout(user_id=user_id, card_number=None)

    assert not Notification.objects.exists()
    assert sink_ids(sink_file) == []
    [fact] = PendingFact.objects.all()
    assert (fact.user_id, fact.kind, fact.reference) == (user_id, "order_placed", str(order.id))

    write_again()
    output = flush(django_capture_on_commit_callbacks)

    [row] = Notification.objects.all()
    assert row.id == notification_id(user_id, "order_placed", str(order.id))
    assert row.status == "delivered"
    assert "25.00 EUR" in row.body
    assert sink_ids(sink_file) == [str(row.id)]
    assert not PendingFact.objects.exists()
    assert "notified 1 pending fact(s); 0 still pending" in output


def test_flush_is_idempotent(
    user_id: int, sink_file: Path, django_capture_on_commit_callbacks: Capture
) -> None:
    follow_the_service()
    send(user_id, "order-1")
    send(user_id, "order-1")  # the same fact twice: kept once
    send(user_id, "order-1", kind="order_paid")
    assert PendingFact.objects.count() == 2
    write_again()

    first = flush(django_capture_on_commit_callbacks)
    second = flush(django_capture_on_commit_callbacks)

    assert "notified 2 pending fact(s)" in first
    assert "notified 0 pending fact(s); 0 still pending" in second
    assert sorted(Notification.objects.values_list("kind", flat=True)) == [
        "order_paid",
        "order_placed",
    ]
    assert len(sink_ids(sink_file)) == 2
    assert set(Notification.objects.values_list("status", flat=True)) == {"delivered"}


def test_the_service_s_notification_sent_drops_the_pending_fact(
    user_id: int, sink_file: Path, django_capture_on_commit_callbacks: Capture
) -> None:
    follow_the_service()
    send(user_id, "order-2")
    assert PendingFact.objects.count() == 1

    handlers.notification_sent(sent(user_id, "order_placed", "order-2"))

    assert not PendingFact.objects.exists()
    write_again()
    assert "notified 0 pending fact(s)" in flush(django_capture_on_commit_callbacks)
    [row] = Notification.objects.all()
    assert (row.subject, row.status) == ("from the service", "delivered")
    assert sink_ids(sink_file) == []  # the service delivered it; the monolith sends nothing


def test_a_row_brought_by_reconcile_is_not_notified_again(
    user_id: int, sink_file: Path, django_capture_on_commit_callbacks: Capture
) -> None:
    follow_the_service()
    send(user_id, "order-3")
    # The flip's reconcile copied the service's delivered row; its event never reached here.
    Notification.objects.create(
        id=notification_id(user_id, "order_placed", "order-3"),
        user_id=user_id,
        kind="order_placed",
        recipient="ada@example.com",
        subject="from the service",
        body="b",
        reference="order-3",
        status="delivered",
    )
    write_again()

    assert "notified 0 pending fact(s); 0 still pending" in flush(
        django_capture_on_commit_callbacks
    )
    assert Notification.objects.get().subject == "from the service"
    assert sink_ids(sink_file) == []


def test_a_fact_the_service_also_delivered_reaches_the_sink_once(
    user_id: int, sink_file: Path, django_capture_on_commit_callbacks: Capture
) -> None:
    """Both sides notify one fact during a handover (the service before its freeze, its event
    and row not here yet): one id, one message in the sink."""
    nid = str(notification_id(user_id, "order_placed", "order-4"))
    sink_file.parent.mkdir(parents=True)
    sink_file.write_text(json.dumps({"id": nid}) + "\n")
    marker = sink_file.with_name(sink_file.name + ".ids") / nid
    marker.parent.mkdir()
    marker.touch()  # what the service's delivery to this sink left
    follow_the_service()
    send(user_id, "order-4")
    write_again()

    flush(django_capture_on_commit_callbacks)

    assert Notification.objects.get().status == "delivered"
    assert sink_ids(sink_file) == [nid]


def test_the_next_send_flushes_facts_left_from_a_handover(
    user_id: int, sink_file: Path, django_capture_on_commit_callbacks: Capture
) -> None:
    follow_the_service()
    send(user_id, "order-5")
    write_again()

    with django_capture_on_commit_callbacks(execute=True):
        send(user_id, "order-6")

    assert sorted(Notification.objects.values_list("reference", flat=True)) == [
        "order-5",
        "order-6",
    ]
    # The older fact first.
    assert sink_ids(sink_file) == [
        str(notification_id(user_id, "order_placed", ref)) for ref in ("order-5", "order-6")
    ]
    assert not PendingFact.objects.exists()


@pytest.mark.parametrize("frozen", [True, False])
def test_flush_does_nothing_while_the_monolith_does_not_write(
    user_id: int, sink_file: Path, django_capture_on_commit_callbacks: Capture, frozen: bool
) -> None:
    follow_the_service()
    send(user_id, "order-7")
    if frozen:  # a forward flip's freeze: the monolith owns notifications but may not write
        ownership.set_owner("notifications", "monolith", frozen=True, why="test: freeze")

    output = flush(django_capture_on_commit_callbacks)

    assert "nothing notified" in output
    assert services.pending_flush() == 0
    assert PendingFact.objects.count() == 1
    assert not Notification.objects.exists()
    assert sink_ids(sink_file) == []


def test_a_fact_that_fails_stays_pending_and_the_others_go_on(
    user_id: int,
    sink_file: Path,
    django_capture_on_commit_callbacks: Capture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bob = int(users.user_register(email="bob@example.com", password="a-long-pass-phrase").pk)
    follow_the_service()
    send(bob, "order-8")
    send(user_id, "order-9")
    write_again()
    real = services.user_contact

    def contact(*, user_id: int) -> Any:
        if user_id == bob:
            raise DatabaseError("the users table is locked")
        return real(user_id=user_id)

    monkeypatch.setattr(services, "user_contact", contact)

    output = flush(django_capture_on_commit_callbacks)

    assert "notified 1 pending fact(s); 1 still pending" in output
    assert Notification.objects.get().user_id == user_id
    assert PendingFact.objects.get().user_id == bob


def test_a_fact_about_an_unknown_user_is_dropped(
    db: None, sink_file: Path, django_capture_on_commit_callbacks: Capture
) -> None:
    follow_the_service()
    send(424242, "order-10")
    write_again()

    assert "notified 0 pending fact(s); 0 still pending" in flush(
        django_capture_on_commit_callbacks
    )
    assert not Notification.objects.exists()


def test_flush_rejects_a_bad_limit(db: None) -> None:
    with pytest.raises(CommandError, match="--limit"):
        call_command("notifications_flush", "--limit", "0")
