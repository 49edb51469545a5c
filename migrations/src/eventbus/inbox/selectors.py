"""The inbox's reads."""

from __future__ import annotations

from django.db.models import Count

from .models import AggregateVersion, InboxRecord


def inbox_counts(*, consumer: str) -> dict[str, int]:
    """How many events ``consumer`` has handled, by outcome (applied, stale)."""
    rows = InboxRecord.objects.filter(consumer=consumer).values("outcome").annotate(n=Count("id"))
    return {row["outcome"]: row["n"] for row in rows}


def applied_version(*, consumer: str, aggregate_type: str, aggregate_id: str) -> int | None:
    return (
        AggregateVersion.objects.filter(
            consumer=consumer, aggregate_type=aggregate_type, aggregate_id=aggregate_id
        )
        .values_list("version", flat=True)
        .first()
    )
