"""The outbox's reads: the status the CLI and the metrics show, and rows for replay."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, Min
from django.utils import timezone

from .models import OutboxMessage


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    unpublished: int
    oldest_unpublished_at: datetime | None
    oldest_age_seconds: float  # 0 when nothing waits: this is the relay's lag
    published: int
    last_published_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    event_id: str
    name: str
    body: str
    headers: dict[str, str]
    occurred_at: datetime


def outbox_lag(*, using: str | None = None) -> tuple[int, datetime | None]:
    """Unpublished rows and the oldest one's time: the relay's lag. Only the unpublished rows
    are read (a partial index covers them), so the relay can ask every few seconds however
    large the published history grows."""
    waiting = (
        OutboxMessage.objects.using(using or DEFAULT_DB_ALIAS)
        .filter(published_at__isnull=True)
        .aggregate(n=Count("id"), oldest=Min("created_at"))
    )
    return int(waiting["n"]), waiting["oldest"]


def lag_seconds(oldest: datetime | None) -> float:
    return max((timezone.now() - oldest).total_seconds(), 0.0) if oldest else 0.0


def outbox_status(*, using: str | None = None) -> OutboxStatus:
    """The lag plus the published history (for the CLI: it counts every published row)."""
    unpublished, oldest = outbox_lag(using=using)
    done = OutboxMessage.objects.using(using or DEFAULT_DB_ALIAS).filter(published_at__isnull=False)
    last = done.order_by("-published_at").values_list("published_at", flat=True).first()
    return OutboxStatus(
        unpublished=unpublished,
        oldest_unpublished_at=oldest,
        oldest_age_seconds=lag_seconds(oldest),
        published=done.count(),
        last_published_at=last,
    )


def outbox_events(
    *, since: datetime, until: datetime | None = None, using: str | None = None, chunk: int = 1000
) -> Iterator[StoredEvent]:
    """Stored events that occurred in [since, until), in publish (id) order."""
    rows = OutboxMessage.objects.using(using or DEFAULT_DB_ALIAS).filter(occurred_at__gte=since)
    if until is not None:
        rows = rows.filter(occurred_at__lt=until)
    for row in (
        rows.order_by("id")
        .values_list("id", "event_id", "name", "body", "headers", "occurred_at")
        .iterator(chunk_size=chunk)
    ):
        yield StoredEvent(
            id=row[0],
            event_id=str(row[1]),
            name=row[2],
            body=row[3],
            headers=dict(row[4] or {}),
            occurred_at=row[5],
        )
