"""End to end through the real backbone: a producer's outbox -> relay -> broker -> this
service's consumer -> notification + sink + NotificationSent. On the embedded broker (SQLite or
PostgreSQL, whichever the run uses) and on RabbitMQ (marked)."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from contracts.events import NotificationSent, OrderPlaced
from eventbus.broker import Outgoing, Publisher, connect
from eventbus.consumer import EventConsumer, load_handlers
from eventbus.outbox import publish
from eventbus.outbox.models import OutboxMessage
from eventbus.ownership import services as ownership
from eventbus.relay import Relay
from eventbus.topology import Topology
from notifications_service.notifications import sink
from notifications_service.notifications.models import Notification

from .test_events import placed, registered

pytestmark = [
    pytest.mark.notifications,
    pytest.mark.django_db(transaction=True),
    # The backbone's consumer, run in-process here, leaves an inflight lock file (embedded
    # broker) or a socket (RabbitMQ) for the garbage collector: eventbus's leak, not this
    # service's (its own tests run consumers as processes). test_live.py runs ours as one.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture(
    params=[
        pytest.param("filesystem", id="filesystem"),
        pytest.param("rabbitmq", id="rabbitmq", marks=pytest.mark.rabbitmq),
    ]
)
def broker(request: pytest.FixtureRequest, settings: Any, tmp_path: Path) -> Iterator[str]:
    settings.EVENTBUS_PREFIX = f"t{uuid.uuid4().hex[:10]}."
    if request.param == "filesystem":
        settings.BROKER_URL = f"filesystem://{tmp_path / 'broker'}"
        yield settings.BROKER_URL
        gc.collect()  # the leaks named in pytestmark surface here, not in a later test
        return
    from eventbus.tests.harness import RABBITMQ_URL, need, rabbitmq_lock

    need("rabbitmq")
    settings.BROKER_URL = RABBITMQ_URL
    with rabbitmq_lock(exclusive=False):
        yield RABBITMQ_URL
        connection = connect(RABBITMQ_URL)
        try:
            Topology.from_settings().delete(connection.channel())
        finally:
            connection.release()  # type: ignore[no-untyped-call]
        gc.collect()


def consume() -> dict[str, int]:
    load_handlers("notifications")
    consumer = EventConsumer(service="notifications")
    return dict(consumer.run_until_idle(idle_seconds=0.5, max_seconds=30))


def relay() -> int:
    relay = Relay()
    try:
        return relay.drain()
    finally:
        relay.publisher.close()


def test_order_placed_is_notified_once_by_the_writer(broker: str, sink_dir: Path) -> None:
    ownership.set_owner("notifications", "service", frozen=False, why="test: writer")
    order = placed()
    with transaction.atomic():  # the producer (the monolith) commits its events
        publish(registered(), order)
    assert relay() == 2

    tally = consume()

    assert tally.get("applied") == 2, tally
    row = Notification.objects.get()
    assert (row.kind, row.reference, row.status) == (
        "order_placed",
        str(order.order_id),
        "delivered",
    )
    assert [m["id"] for m in sink.delivered(sink_dir)] == [str(row.id)]
    # ... and announced: the relay publishes NotificationSent, which comes back as our own
    # echo (we subscribe to it to follow the monolith) and changes nothing
    assert OutboxMessage.objects.filter(name=NotificationSent.EVENT_NAME).count() == 1
    assert relay() == 1
    assert consume().get("applied") == 1
    assert Notification.objects.get().delivered_at == row.delivered_at

    # the broker delivers the same message again (a lost ack): one notification, one message
    message = OutboxMessage.objects.get(name=OrderPlaced.EVENT_NAME)
    with Publisher(broker) as publisher:
        publisher.publish(
            [
                Outgoing(
                    body=message.body.encode(),
                    routing_key=message.name,
                    message_id=str(message.event_id),
                )
            ],
            exchange=Topology.from_settings().exchange_name,
        )
    assert consume().get("duplicate") == 1
    assert Notification.objects.count() == 1
    assert len(sink.delivered(sink_dir)) == 1


def test_follower_creates_nothing(broker: str, sink_dir: Path) -> None:
    with transaction.atomic():
        publish(registered(), placed())
    relay()

    assert consume().get("applied") == 2
    assert not Notification.objects.exists()
    assert not OutboxMessage.objects.filter(name=NotificationSent.EVENT_NAME).exists()
    assert not sink_dir.exists()
