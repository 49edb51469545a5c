"""The consumer's side: order facts become notifications only while this service writes;
the owner's NotificationSent is followed otherwise; contacts follow users' events.

Handlers run through ``handle_once`` (the inbox, as the consumer runs them) here, and end to
end through the relay, the embedded broker and the consumer in test_pipeline.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from contracts.events import (
    Envelope,
    Event,
    NotificationSent,
    OrderPaid,
    OrderPlaced,
    PaymentDeclined,
    UserRegistered,
    UserUpdated,
)
from contracts.ids import notification_id
from eventbus.consumer import handlers, load_handlers
from eventbus.inbox import Outcome, handle_once
from eventbus.outbox.models import OutboxMessage
from eventbus.ownership import services as ownership
from notifications_service.notifications import services, sink
from notifications_service.notifications.models import (
    Contact,
    Notification,
    PendingFact,
)

pytestmark = [pytest.mark.notifications, pytest.mark.django_db(transaction=True)]
SERVICE = "notifications"


def deliver(event: Event) -> Outcome:
    """What the consumer does with one message: the registered handler, once."""
    load_handlers(SERVICE)
    envelope = Envelope.from_json(event.to_json())
    handler = handlers.for_service(SERVICE)[envelope.name]
    typed = envelope.event(handler.event_cls)
    return handle_once(
        consumer=SERVICE,
        envelope=envelope,
        effect=lambda: handler.fn(typed),
        ordering=handler.ordering,
    )


def registered(user_id: int = 7, name: str = "Ada", version: int = 1) -> UserRegistered:
    return UserRegistered(
        user_id=user_id,
        email=f"user{user_id}@shop.test",
        name=name,
        phone="",
        is_staff=False,
        is_active=True,
        date_joined=datetime(2026, 1, 1, tzinfo=UTC),
        aggregate_version=version,
    )


def placed(user_id: int = 7, order_id: uuid.UUID | None = None) -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id or uuid.uuid4(),
        user_id=user_id,
        status="pending_payment",
        currency="EUR",
        total=Decimal("12.5"),
        lines=(),
        payment_id=None,
        created_at=datetime(2026, 1, 2, tzinfo=UTC),
        aggregate_version=1,
    )


def sent_events() -> list[str]:
    return list(
        OutboxMessage.objects.filter(name=NotificationSent.EVENT_NAME).values_list(
            "aggregate_id", flat=True
        )
    )


def test_writer_notifies_an_order_once_and_announces_it(
    service_writes: None, sink_dir: Path
) -> None:
    deliver(registered())
    order = placed()
    event = order

    assert deliver(event) is Outcome.APPLIED
    assert deliver(event) is Outcome.DUPLICATE  # the broker redelivers the same message
    # the same fact in a new message (a replay, the other side's event): still one
    assert deliver(placed(order_id=order.order_id)) is Outcome.APPLIED

    row = Notification.objects.get()
    assert row.id == notification_id(7, "order_placed", str(order.order_id))
    assert row.status == "delivered"
    assert row.recipient == "user7@shop.test"
    assert row.body.startswith(f"Hello Ada,\n\nthank you for your order {order.order_id} of 12.50")
    assert [m["id"] for m in sink.delivered(sink_dir)] == [str(row.id)]
    assert sent_events() == [str(row.id)]


def declined(user_id: int = 7, order_id: uuid.UUID | None = None) -> PaymentDeclined:
    return PaymentDeclined(
        payment_id=uuid.uuid4(),
        order_id=order_id or uuid.uuid4(),
        user_id=user_id,
        amount=Decimal("25"),
        currency="EUR",
        status="declined",
        card_last4="0002",
        decline_reason="insufficient_funds",
        provider_reference="",
        aggregate_version=1,
    )


def test_writer_notifies_each_declined_payment_once(service_writes: None, sink_dir: Path) -> None:
    deliver(registered())
    order_id = uuid.uuid4()
    first, second = declined(order_id=order_id), declined(order_id=order_id)

    assert deliver(first) is Outcome.APPLIED
    assert deliver(first) is Outcome.DUPLICATE
    assert deliver(second) is Outcome.APPLIED

    rows = {row.reference: row for row in Notification.objects.all()}
    assert set(rows) == {str(first.payment_id), str(second.payment_id)}
    row = rows[str(first.payment_id)]
    assert row.id == notification_id(7, "payment_declined", str(first.payment_id))
    # the monolith's words (shop.payments.services._notify_declined renders the same)
    assert row.subject == f"Your payment for order {order_id} was declined"
    assert row.body == (
        f"Hello Ada,\n\nyour card ending 0002 was declined (insufficient_funds) for 25.00 EUR "
        f"on order {order_id}. Nothing was charged; you can try again with another card.\n"
    )
    assert sorted(sent_events()) == sorted(str(r.id) for r in rows.values())


def test_follower_keeps_a_declined_payment_pending(sink_dir: Path) -> None:
    deliver(registered())
    event = declined()

    deliver(event)

    assert not Notification.objects.exists()
    assert PendingFact.objects.get().id == notification_id(
        7, "payment_declined", str(event.payment_id)
    )


def test_follower_does_not_notify_and_keeps_the_fact_pending(sink_dir: Path) -> None:
    deliver(registered())
    order = placed()

    deliver(order)

    assert not Notification.objects.exists()
    assert not sink_dir.exists() or sink.delivered(sink_dir) == []
    assert sent_events() == []
    assert PendingFact.objects.get().id == notification_id(7, "order_placed", str(order.order_id))


def test_follower_upserts_the_owners_notification_sent(sink_dir: Path) -> None:
    deliver(registered())
    order = placed()
    deliver(order)  # seen first: its body can be rendered here
    nid = notification_id(7, "order_placed", str(order.order_id))
    sent = NotificationSent(
        notification_id=nid,
        user_id=7,
        kind="order_placed",
        channel="email",
        recipient="user7@shop.test",
        subject=f"We received your order {order.order_id}",
        reference=str(order.order_id),
        delivered_at=datetime(2026, 1, 2, 0, 0, 1, tzinfo=UTC),
        aggregate_version=1,
    )

    assert deliver(sent) is Outcome.APPLIED
    assert deliver(sent) is Outcome.DUPLICATE

    row = Notification.objects.get()
    assert (row.id, row.status, row.delivered_at) == (nid, "delivered", sent.delivered_at)
    assert "of 12.50 EUR" in row.body
    assert not PendingFact.objects.exists()
    assert sent_events() == []  # a follower never announces
    assert not sink_dir.exists()  # nor delivers


def test_follower_takes_the_body_from_a_v2_event(sink_dir: Path) -> None:
    deliver(registered())
    reference = str(uuid.uuid4())
    sent = NotificationSent(
        notification_id=notification_id(7, "order_paid", reference),
        user_id=7,
        kind="order_paid",
        channel="email",
        recipient="user7@shop.test",
        subject="Paid",
        reference=reference,
        delivered_at=datetime(2026, 1, 2, tzinfo=UTC),
        body="Hello Ada,\n\nthe writer's words.\n",
        aggregate_version=1,
    )

    assert deliver(sent) is Outcome.APPLIED  # no order event seen here: no pending fact

    assert Notification.objects.get().body == "Hello Ada,\n\nthe writer's words.\n"


def test_writer_ignores_its_own_echo(service_writes: None, sink_dir: Path) -> None:
    deliver(registered())
    deliver(placed())
    row = Notification.objects.get()
    echo = NotificationSent(
        notification_id=row.id,
        user_id=7,
        kind="order_placed",
        channel="email",
        recipient="someone-else@shop.test",
        subject="changed",
        reference=row.reference,
        delivered_at=datetime(2030, 1, 1, tzinfo=UTC),
        aggregate_version=2,
    )
    deliver(echo)
    assert Notification.objects.get().recipient == "user7@shop.test"


def test_facts_the_frozen_owner_skipped_are_notified_after_the_flip(sink_dir: Path) -> None:
    deliver(registered())
    during_freeze = placed()
    deliver(during_freeze)  # the monolith was frozen: it notified nobody
    assert not Notification.objects.exists()

    ownership.set_owner(SERVICE, "service", frozen=False, why="flip")
    deliver(OrderPaid(**{**_state(placed()), "status": "paid"}))  # the next fact flushes

    kinds = sorted(Notification.objects.values_list("kind", "reference"))
    assert ("order_placed", str(during_freeze.order_id)) in kinds
    assert len(kinds) == 2
    assert not PendingFact.objects.exists()
    assert len(sink.delivered(sink_dir)) == 2


def _state(event: OrderPlaced) -> dict[str, object]:
    return {
        "order_id": event.order_id,
        "user_id": event.user_id,
        "status": event.status,
        "currency": event.currency,
        "total": event.total,
        "lines": event.lines,
        "payment_id": event.payment_id,
        "created_at": event.created_at,
        "aggregate_version": 2,
    }


def test_flush_command_notifies_pending_facts_only_as_writer(sink_dir: Path) -> None:
    from io import StringIO

    from django.core.management import call_command

    deliver(registered())
    deliver(placed())
    out = StringIO()
    call_command("notifications_flush", stdout=out)
    assert "not the writer" in out.getvalue()
    assert not Notification.objects.exists()

    ownership.set_owner(SERVICE, "service", frozen=False, why="flip")
    call_command("notifications_flush", stdout=out)
    assert "notified 1" in out.getvalue()
    assert Notification.objects.count() == 1


def test_frozen_service_does_not_write(sink_dir: Path) -> None:
    deliver(registered())
    ownership.set_owner(SERVICE, "service", frozen=True, why="handover")
    deliver(placed())
    assert not Notification.objects.exists()
    assert PendingFact.objects.count() == 1


def test_contacts_follow_users_and_ignore_older_versions() -> None:
    deliver(registered(name="Ada", version=1))
    deliver(
        UserUpdated(**{**registered(name="Ada L.", version=3).__dict__, "event_id": uuid.uuid4()})
    )
    deliver(
        UserUpdated(**{**registered(name="Stale", version=2).__dict__, "event_id": uuid.uuid4()})
    )

    contact = Contact.objects.get()
    assert (contact.name, contact.version) == ("Ada L.", 3)
    assert services.contact_apply(user_id=7, email="x@shop.test", name="Older", version=1) is False
    assert Contact.objects.get().name == "Ada L."


def test_writer_without_a_contact_fails_so_the_consumer_retries(service_writes: None) -> None:
    with pytest.raises(services.ContactMissing):
        deliver(placed(user_id=99))
    assert not Notification.objects.exists()


def test_contacts_sync_copies_the_monoliths_users_once(tmp_path: Path) -> None:
    import sqlite3
    from io import StringIO

    from django.core.management import call_command

    source = tmp_path / "monolith.sqlite3"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE users_user (id integer, email text, name text, version integer)")
        conn.executemany(
            "INSERT INTO users_user VALUES (?, ?, ?, ?)",
            [(1, "a@shop.test", "A", 1), (7, "old@shop.test", "Old", 1)],
        )
    conn.close()
    deliver(registered(user_id=7, name="From events", version=2))  # newer: kept

    out = StringIO()
    call_command("contacts_sync", "--from", f"sqlite:///{source}", stdout=out)
    call_command("contacts_sync", "--from", f"sqlite:///{source}", stdout=out)

    assert dict(Contact.objects.values_list("user_id", "name")) == {1: "A", 7: "From events"}
    assert "2 users read, 1 contacts written" in out.getvalue()
    assert "2 users read, 0 contacts written" in out.getvalue()


def test_a_pending_fact_without_contact_does_not_block_new_orders(sink_dir: Path) -> None:
    deliver(placed(user_id=99))  # followed, pending; user 99's contact never came
    deliver(registered())
    ownership.set_owner(SERVICE, "service", frozen=False, why="flip")

    assert deliver(placed()) is Outcome.APPLIED

    assert list(Notification.objects.values_list("user_id", flat=True)) == [7]
    assert list(PendingFact.objects.values_list("user_id", flat=True)) == [99]
