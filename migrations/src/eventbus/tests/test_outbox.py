"""The outbox: publish() writes a row in the caller's transaction, or nothing at all."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from contracts.events import StockChanged, VariantPriceChanged
from eventbus.outbox import PublishOutsideTransaction, publish
from eventbus.outbox.models import OutboxMessage
from eventbus.outbox.selectors import outbox_events, outbox_status
from eventbus.outbox.services import outbox_prune


def stock(sku: str = "A", version: int = 1, on_hand: int = 5) -> StockChanged:
    return StockChanged(
        sku=sku, on_hand=on_hand, reserved=1, available=on_hand - 1, aggregate_version=version
    )


def test_publish_outside_a_transaction_is_refused(transactional_db: None) -> None:
    with pytest.raises(PublishOutsideTransaction, match=r"inside the business transaction"):
        publish(stock())
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db
def test_publish_writes_the_wire_json_and_the_envelope_columns() -> None:
    event = VariantPriceChanged(
        sku="TSHIRT-RED-M",
        product_id=3,
        price=Decimal("12.50"),
        currency="EUR",
        previous_price=Decimal("14.00"),
        aggregate_version=7,
    )
    with transaction.atomic():
        publish(event)
    row = OutboxMessage.objects.get()
    assert (row.event_id, row.name, row.schema_version) == (
        event.event_id,
        "catalog.variant.price_changed",
        1,
    )
    assert (row.aggregate_type, row.aggregate_id, row.aggregate_version) == (
        "catalog.variant",
        "TSHIRT-RED-M",
        7,
    )
    assert row.occurred_at == event.occurred_at
    assert row.published_at is None
    assert json.loads(row.body) == json.loads(event.to_json())
    assert json.loads(row.body)["payload"]["price"] == "12.50"


def test_a_write_that_rolls_back_publishes_nothing(transactional_db: None) -> None:
    class Boom(Exception):
        pass

    seen_inside = []

    @transaction.atomic
    def write_then_fail() -> None:
        publish(stock("A", 1), stock("B", 1))
        seen_inside.append(OutboxMessage.objects.count())
        raise Boom

    with pytest.raises(Boom):
        write_then_fail()
    assert seen_inside == [2]
    assert OutboxMessage.objects.count() == 0
    with transaction.atomic():
        publish(stock("C", 1))
    assert list(OutboxMessage.objects.values_list("aggregate_id", flat=True)) == ["C"]


@pytest.mark.django_db
def test_ids_follow_publish_order_and_status_reports_the_lag() -> None:
    with transaction.atomic():
        publish(*(stock("A", v) for v in range(1, 4)))
    with transaction.atomic():
        publish(stock("B", 1))
    rows = list(
        OutboxMessage.objects.order_by("id").values_list("aggregate_id", "aggregate_version")
    )
    assert rows == [("A", 1), ("A", 2), ("A", 3), ("B", 1)]
    OutboxMessage.objects.filter(aggregate_id="A", aggregate_version=1).update(
        created_at=timezone.now() - timedelta(seconds=30)
    )
    status = outbox_status()
    assert status.unpublished == 4
    assert status.published == 0
    assert 30 <= status.oldest_age_seconds < 40
    OutboxMessage.objects.update(published_at=timezone.now())
    status = outbox_status()
    assert (status.unpublished, status.published, status.oldest_age_seconds) == (0, 4, 0.0)


@pytest.mark.django_db
def test_stored_events_for_replay_and_prune() -> None:
    with transaction.atomic():
        publish(stock("A", 1), stock("A", 2))
    old = timezone.now() - timedelta(days=10)
    OutboxMessage.objects.filter(aggregate_version=1).update(occurred_at=old, published_at=old)
    recent = list(outbox_events(since=timezone.now() - timedelta(days=1)))
    assert [json.loads(e.body)["aggregate_version"] for e in recent] == [2]
    everything = list(outbox_events(since=old - timedelta(seconds=1)))
    assert [json.loads(e.body)["aggregate_version"] for e in everything] == [1, 2]
    assert outbox_prune(published_before=timezone.now() - timedelta(days=7)) == 1
    assert OutboxMessage.objects.count() == 1


@pytest.mark.postgres
def test_postgres_commit_notifies_the_relay(transactional_db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's (KIT_DB=postgres runs it)")
    listener = connection.get_new_connection(connection.get_connection_params())
    listener.autocommit = True
    listener.execute("LISTEN eventbus_outbox")
    try:
        with transaction.atomic():
            publish(stock(str(uuid.uuid4()), 1))
        got = list(listener.notifies(timeout=5, stop_after=1))
        assert [n.channel for n in got] == ["eventbus_outbox"]

        @transaction.atomic
        def write_then_fail() -> None:
            publish(stock(str(uuid.uuid4()), 1))
            raise ZeroDivisionError

        with pytest.raises(ZeroDivisionError):
            write_then_fail()
        assert list(listener.notifies(timeout=0.5, stop_after=1)) == []
    finally:
        listener.close()
