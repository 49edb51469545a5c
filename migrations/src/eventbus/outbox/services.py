"""The outbox's writes: ``publish`` (inside the business transaction) and ``outbox_prune``."""

from __future__ import annotations

from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, transaction

from contracts.events import Event
from eventbus import tracing

from . import PublishOutsideTransaction
from .models import OutboxMessage

NOTIFY_CHANNEL = "eventbus_outbox"

__all__ = ["NOTIFY_CHANNEL", "PublishOutsideTransaction", "outbox_prune", "publish"]


def publish(*events: Event, using: str | None = None) -> None:
    """Write ``events`` to the outbox, in the caller's transaction. Nothing is sent here.

    Call it after the aggregate's row is written (the write holds its lock, so the outbox ids
    of one aggregate follow commit order). If the transaction rolls back, so do the events;
    once it commits, the relay delivers them even if it was down at commit time. On
    PostgreSQL the insert also sends ``NOTIFY eventbus_outbox`` (a trigger), delivered at
    commit, which wakes the relay at once.
    """
    alias = using or DEFAULT_DB_ALIAS
    connection = transaction.get_connection(alias)
    if not connection.in_atomic_block:
        raise PublishOutsideTransaction(
            "publish() must run inside the business transaction (transaction.atomic() or an "
            "@transaction.atomic service), so the events commit or roll back with the write"
        )
    if not events:
        return
    headers = tracing.current_headers()
    rows = [
        OutboxMessage(
            event_id=event.event_id,
            name=event.EVENT_NAME,
            schema_version=event.SCHEMA_VERSION,
            aggregate_type=event.aggregate_type(),
            aggregate_id=event.aggregate_id,
            aggregate_version=event.aggregate_version,
            occurred_at=event.occurred_at,
            body=event.to_json().decode(),
            headers=headers,
        )
        for event in events
    ]
    # On PostgreSQL the table's trigger (migration 0002) sends NOTIFY eventbus_outbox.
    if len(rows) == 1:
        rows[0].save(using=alias, force_insert=True)
    else:
        OutboxMessage.objects.using(alias).bulk_create(rows)


def outbox_prune(
    *, published_before: datetime, using: str | None = None, limit: int | None = None
) -> int:
    """Delete published rows older than ``published_before`` (replay cannot go further back),
    at most ``limit`` of them (oldest ids first). Unpublished rows are never touched."""
    alias = using or DEFAULT_DB_ALIAS
    old = OutboxMessage.objects.using(alias).filter(published_at__lt=published_before)
    with transaction.atomic(using=alias):
        if limit is not None:
            ids = list(old.order_by("id").values_list("id", flat=True)[:limit])
            old = OutboxMessage.objects.using(alias).filter(id__in=ids)
        deleted, _ = old.delete()
    return deleted
