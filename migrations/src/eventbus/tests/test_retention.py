"""Retention: the relay prunes old published outbox rows, a consumer its old inbox records;
unpublished rows and per-aggregate versions stay; a prune runs when due, in batches."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from contracts.events import Envelope, StockChanged
from eventbus import retention
from eventbus.consumer import EventConsumer, Handlers
from eventbus.inbox.models import AggregateVersion, InboxRecord
from eventbus.inbox.services import Ordering, handle_once
from eventbus.outbox import publish
from eventbus.outbox.models import OutboxMessage
from eventbus.relay import Relay
from eventbus.topology import Topology

pytestmark = pytest.mark.django_db(transaction=True)
SERVICE = "follower"


def stock(sku: str, version: int = 1) -> StockChanged:
    return StockChanged(sku=sku, on_hand=5, reserved=0, available=5, aggregate_version=version)


def topology() -> Topology:
    return Topology(
        prefix=f"t{uuid.uuid4().hex[:8]}.", subscriptions={SERVICE: ("catalog.inventory.*",)}
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_relay_prunes_old_published_rows_only(tmp_path: Path, settings: Any) -> None:
    settings.EVENTBUS_OUTBOX_KEEP_DAYS = 7
    with transaction.atomic():
        publish(stock("OLD"), stock("RECENT"), stock("WAITING"))
    long_ago = timezone.now() - timedelta(days=8)
    OutboxMessage.objects.filter(aggregate_id="OLD").update(published_at=long_ago)
    OutboxMessage.objects.filter(aggregate_id="RECENT").update(published_at=timezone.now())
    # WAITING is unpublished, and older than the keep time: it still goes out, never pruned
    OutboxMessage.objects.filter(aggregate_id="WAITING").update(occurred_at=long_ago)

    relay = Relay(url=f"filesystem://{tmp_path / 'broker'}", topology=topology())
    try:
        assert relay.pruner.maybe() == 1
        assert relay.pruner.maybe() == 0  # not due again for an hour
    finally:
        relay.publisher.close()

    assert sorted(OutboxMessage.objects.values_list("aggregate_id", flat=True)) == [
        "RECENT",
        "WAITING",
    ]


def test_a_consumer_prunes_its_own_old_inbox_records_and_keeps_the_versions(
    tmp_path: Path, settings: Any
) -> None:
    settings.EVENTBUS_INBOX_KEEP_DAYS = 14
    for consumer in (SERVICE, "someone-else"):
        for sku in ("A", "B"):
            envelope = Envelope.from_json(stock(sku).to_json())
            handle_once(
                consumer=consumer, envelope=envelope, effect=lambda: None, ordering=Ordering.NEWER
            )
    InboxRecord.objects.filter(aggregate_id="A").update(
        processed_at=timezone.now() - timedelta(days=15)
    )

    consumer = EventConsumer(
        service=SERVICE,
        url=f"filesystem://{tmp_path / 'broker'}",
        topology=topology(),
        registry=Handlers(),
    )
    try:
        assert consumer.pruner.maybe() == 1
    finally:
        consumer.close()

    assert sorted(InboxRecord.objects.values_list("consumer", "aggregate_id")) == [
        ("follower", "B"),
        ("someone-else", "A"),
        ("someone-else", "B"),
    ]
    assert AggregateVersion.objects.filter(consumer=SERVICE).count() == 2  # state, not history


def test_a_prune_runs_when_due_in_batches_and_survives_a_database_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(retention, "BATCH", 3)
    calls: list[int] = []
    backlog = [7]

    def prune(before: Any, limit: int) -> int:
        calls.append(limit)
        deleted = min(limit, backlog[0])
        backlog[0] -= deleted
        return deleted

    clock = Clock()
    pruner = retention.Pruner("test", prune, timedelta(days=1), every=60, clock=clock)

    assert pruner.maybe() == 7  # due at start; batches of 3 until one comes back short
    assert calls == [3, 3, 3]
    clock.now += 59
    assert pruner.maybe() == 0
    clock.now += 1
    backlog[0] = 1
    assert pruner.maybe() == 1

    def broken(before: Any, limit: int) -> int:
        from django.db import OperationalError

        raise OperationalError("database gone")

    failing = retention.Pruner("test", broken, timedelta(days=1), every=60, clock=clock)
    assert failing.maybe() == 0  # logged, tried again at the next due time
    never = retention.Pruner("test", prune, None, clock=clock)  # keep 0: forever
    assert never.maybe() == 0


def test_keep_days_zero_keeps_history_forever(settings: Any) -> None:
    settings.EVENTBUS_OUTBOX_KEEP_DAYS = 0
    assert retention.keep("EVENTBUS_OUTBOX_KEEP_DAYS", 7) is None
    settings.EVENTBUS_OUTBOX_KEEP_DAYS = 1.5
    assert retention.keep("EVENTBUS_OUTBOX_KEEP_DAYS", 7) == timedelta(days=1.5)
