"""The inbox's writes: apply an event's effect at most once, in version order.

``handle_once`` runs, in ONE transaction:

1. insert ``(consumer, event_id)`` into the inbox; if it is already there the event is a
   duplicate: nothing else happens (``Outcome.DUPLICATE``);
2. check the aggregate's version against what this consumer has applied (per ``ordering``);
   an event not newer than that is stale: recorded, its effect skipped (``Outcome.STALE``);
3. run the effect (the one service call) and record the new version (``Outcome.APPLIED``).

If the effect raises, everything rolls back, the inbox row too: the retry starts clean.

The gap rule (an event whose version is more than one above the applied one):

- ``Ordering.NEWER`` (the default, for state-carrying events): apply it. It carries the
  aggregate's whole state, so the follower converges; the skipped versions, if they arrive
  later, are stale. This also makes subscribing to a subset of an aggregate's events safe.
- ``Ordering.STRICT`` (for consumers that need every version, and subscribe to all of an
  aggregate's events): raise :class:`VersionGap`; the consumer retries with backoff (the
  missing event is usually just behind) and then parks the event in its dead-letter queue,
  from where it is redriven once the gap is filled. The first event seen for an aggregate sets
  the baseline (a backfill can set it with :func:`version_baseline`).
- ``Ordering.NONE`` (for per-event effects, e.g. "send a mail for every OrderPlaced"): only
  duplicates are skipped; versions are not consulted.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from contracts.events import Envelope

from .models import AggregateVersion, InboxRecord

__all__ = [
    "Item",
    "Ordering",
    "Outcome",
    "VersionGap",
    "handle_batch",
    "handle_once",
    "inbox_prune",
    "version_baseline",
]


class Ordering(enum.StrEnum):
    NEWER = "newer"
    STRICT = "strict"
    NONE = "none"


class Outcome(enum.StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"


class VersionGap(RuntimeError):
    """STRICT ordering: versions between the applied one and this event are missing."""


def _uuid_db(value: object, alias: str) -> Any:
    """A UUID as this database stores it (PostgreSQL: uuid; SQLite: 32 hex characters)."""
    field = InboxRecord._meta.get_field("event_id")
    return field.get_db_prep_value(value, connections[alias])


def handle_once(
    *,
    consumer: str,
    envelope: Envelope,
    effect: Callable[[], object],
    ordering: Ordering = Ordering.NEWER,
    using: str | None = None,
    savepoint: bool = True,
) -> Outcome:
    """Apply ``effect`` for ``envelope`` at most once for ``consumer`` (see the module doc).

    Inside an outer transaction (a consumer applying a batch), ``savepoint=False`` saves two
    round trips; a failure then dooms the whole outer transaction.
    """
    alias = using or DEFAULT_DB_ALIAS
    now = timezone.now()
    with (
        transaction.atomic(using=alias, savepoint=savepoint),
        connections[alias].cursor() as cursor,
    ):
        inbox = InboxRecord._meta.db_table
        cursor.execute(
            f"INSERT INTO {inbox} (consumer, event_id, name, aggregate_type, aggregate_id, "
            "aggregate_version, outcome, processed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (consumer, event_id) DO NOTHING RETURNING id",
            [
                consumer,
                _uuid_db(envelope.event_id, alias),
                envelope.name,
                envelope.aggregate_type,
                envelope.aggregate_id,
                envelope.aggregate_version,
                Outcome.APPLIED.value,
                now,
            ],
        )
        inserted = cursor.fetchone()
        if inserted is None:
            return Outcome.DUPLICATE
        if ordering is not Ordering.NONE and not _advance(
            cursor, consumer, envelope, ordering, now, alias
        ):
            cursor.execute(
                f"UPDATE {inbox} SET outcome = %s WHERE id = %s",
                [Outcome.STALE.value, inserted[0]],
            )
            return Outcome.STALE
        effect()
        return Outcome.APPLIED


def _advance(
    cursor: CursorWrapper,
    consumer: str,
    envelope: Envelope,
    ordering: Ordering,
    now: datetime,
    alias: str,
) -> bool:
    """Record ``envelope``'s version as applied; False when it is not newer (stale)."""
    table = AggregateVersion._meta.db_table
    key = [consumer, envelope.aggregate_type, envelope.aggregate_id]
    if ordering is Ordering.NEWER:
        # One statement, race-free on PostgreSQL and SQLite: insert, or raise the version only
        # if this one is newer. No row back means the stored version is as new or newer.
        cursor.execute(
            f"INSERT INTO {table} (consumer, aggregate_type, aggregate_id, version, updated_at) "
            "VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (consumer, aggregate_type, aggregate_id) DO UPDATE "
            "SET version = excluded.version, updated_at = excluded.updated_at "
            f"WHERE {table}.version < excluded.version RETURNING version",
            [*key, envelope.aggregate_version, now],
        )
        return cursor.fetchone() is not None
    lock = " FOR UPDATE" if connections[alias].vendor == "postgresql" else ""
    cursor.execute(
        f"SELECT version FROM {table} WHERE consumer = %s AND aggregate_type = %s "
        f"AND aggregate_id = %s{lock}",
        key,
    )
    row = cursor.fetchone()
    if row is None:
        AggregateVersion.objects.using(alias).create(
            consumer=consumer,
            aggregate_type=envelope.aggregate_type,
            aggregate_id=envelope.aggregate_id,
            version=envelope.aggregate_version,
            updated_at=now,
        )
        return True
    current = int(row[0])
    if envelope.aggregate_version <= current:
        return False
    if envelope.aggregate_version > current + 1:
        raise VersionGap(
            f"{envelope.name} {envelope.aggregate_type}:{envelope.aggregate_id} is version "
            f"{envelope.aggregate_version}, {consumer} has applied {current}: "
            f"{envelope.aggregate_version - current - 1} version(s) missing"
        )
    AggregateVersion.objects.using(alias).filter(
        consumer=consumer,
        aggregate_type=envelope.aggregate_type,
        aggregate_id=envelope.aggregate_id,
    ).update(version=envelope.aggregate_version, updated_at=now)
    return True


@dataclass(frozen=True, slots=True)
class Item:
    envelope: Envelope
    effect: Callable[[], object]
    ordering: Ordering = Ordering.NEWER


def handle_batch(
    *, consumer: str, items: Sequence[Item], using: str | None = None
) -> list[Outcome]:
    """The outcomes of ``handle_once`` for each item in order, in ONE transaction.

    The inbox and the versions take a handful of statements for the whole batch (the effects
    still run one by one, in order), which is what lets a consumer keep up with a relay. Any
    failure (an effect, a STRICT gap) rolls the whole batch back: redo it one by one.
    """
    alias = using or DEFAULT_DB_ALIAS
    now = timezone.now()
    outcomes: list[Outcome | None] = [None] * len(items)
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        inbox_ids = _record_batch(cursor, consumer, items, outcomes, now, alias)
        stale = _versions_batch(cursor, consumer, items, outcomes, now, alias)
        for index, item in enumerate(items):
            if outcomes[index] is None:
                item.effect()
                outcomes[index] = Outcome.APPLIED
        if stale:
            marks = ", ".join(["%s"] * len(stale))
            cursor.execute(
                f"UPDATE {InboxRecord._meta.db_table} SET outcome = %s WHERE id IN ({marks})",
                [Outcome.STALE.value, *(inbox_ids[i] for i in stale)],
            )
    return [outcome or Outcome.DUPLICATE for outcome in outcomes]


def _record_batch(
    cursor: CursorWrapper,
    consumer: str,
    items: Sequence[Item],
    outcomes: list[Outcome | None],
    now: datetime,
    alias: str,
) -> dict[int, int]:
    """Insert the inbox rows; mark duplicates. Returns item index -> inbox row id."""
    first: dict[Any, int] = {}
    for index, item in enumerate(items):
        key = _uuid_db(item.envelope.event_id, alias)
        if key in first:
            outcomes[index] = Outcome.DUPLICATE
        else:
            first[key] = index
    values: list[Any] = []
    for key, index in first.items():
        env = items[index].envelope
        values += [
            consumer,
            key,
            env.name,
            env.aggregate_type,
            env.aggregate_id,
            env.aggregate_version,
            Outcome.APPLIED.value,
            now,
        ]
    rows = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(first))
    cursor.execute(
        f"INSERT INTO {InboxRecord._meta.db_table} (consumer, event_id, name, aggregate_type, "
        f"aggregate_id, aggregate_version, outcome, processed_at) VALUES {rows} "
        "ON CONFLICT (consumer, event_id) DO NOTHING RETURNING id, event_id",
        values,
    )
    inserted = {_uuid_db(event_id, alias): row_id for row_id, event_id in cursor.fetchall()}
    ids = {}
    for key, index in first.items():
        if key in inserted:
            ids[index] = inserted[key]
        else:
            outcomes[index] = Outcome.DUPLICATE
    return ids


def _versions_batch(
    cursor: CursorWrapper,
    consumer: str,
    items: Sequence[Item],
    outcomes: list[Outcome | None],
    now: datetime,
    alias: str,
) -> list[int]:
    """Decide stale / applied per item as a sequence would; raise VersionGap (STRICT).
    Returns the indexes of stale items."""
    pending = [
        i
        for i, item in enumerate(items)
        if outcomes[i] is None and item.ordering is not Ordering.NONE
    ]
    if not pending:
        return []
    table = AggregateVersion._meta.db_table
    keys = sorted(
        {(items[i].envelope.aggregate_type, items[i].envelope.aggregate_id) for i in pending}
    )
    # A placeholder row (version 0: nothing applied) for every aggregate, so that the lock
    # below also covers aggregates this consumer has never seen (sorted: no deadlocks).
    rows = ", ".join(["(%s, %s, %s, 0, %s)"] * len(keys))
    cursor.execute(
        f"INSERT INTO {table} (consumer, aggregate_type, aggregate_id, version, updated_at) "
        f"VALUES {rows} ON CONFLICT (consumer, aggregate_type, aggregate_id) DO NOTHING",
        [v for key in keys for v in (consumer, *key, now)],
    )
    lock = " FOR UPDATE" if connections[alias].vendor == "postgresql" else ""
    pairs = ", ".join(["(%s, %s)"] * len(keys))
    cursor.execute(
        f"SELECT aggregate_type, aggregate_id, version FROM {table} WHERE consumer = %s "
        f"AND (aggregate_type, aggregate_id) IN (VALUES {pairs}) "
        f"ORDER BY aggregate_type, aggregate_id{lock}",
        [consumer, *(v for key in keys for v in key)],
    )
    current = {(t, i): int(v) for t, i, v in cursor.fetchall()}
    changed: dict[tuple[str, str], int] = {}
    stale = []
    for index in pending:
        env = items[index].envelope
        key = (env.aggregate_type, env.aggregate_id)
        applied = current[key]
        if env.aggregate_version <= applied:
            outcomes[index] = Outcome.STALE
            stale.append(index)
            continue
        if (
            items[index].ordering is Ordering.STRICT
            and applied
            and env.aggregate_version > applied + 1
        ):
            raise VersionGap(
                f"{env.name} {env.aggregate_type}:{env.aggregate_id} is version "
                f"{env.aggregate_version}, {consumer} has applied {applied}: "
                f"{env.aggregate_version - applied - 1} version(s) missing"
            )
        current[key] = changed[key] = env.aggregate_version
    if changed:
        rows = ", ".join(["(%s, %s, %s)"] * len(changed))
        cursor.execute(
            f"WITH v(t, i, version) AS (VALUES {rows}) UPDATE {table} SET version = v.version, "
            f"updated_at = %s FROM v WHERE {table}.consumer = %s AND {table}.aggregate_type = v.t "
            f"AND {table}.aggregate_id = v.i",
            [*(x for key, version in changed.items() for x in (*key, version)), now, consumer],
        )
    return stale


@transaction.atomic
def version_baseline(
    *, consumer: str, aggregate_type: str, aggregate_id: str, version: int
) -> None:
    """Record that ``consumer`` holds ``version`` of an aggregate (after a backfill copied it)."""
    AggregateVersion.objects.update_or_create(
        consumer=consumer,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        defaults={"version": version, "updated_at": timezone.now()},
    )


@transaction.atomic
def inbox_prune(*, consumer: str, processed_before: datetime, limit: int | None = None) -> int:
    """Forget handled events older than ``processed_before``: the duplicate window. At most
    ``limit`` records (oldest first); the per-aggregate versions stay (they are state).

    Keep it longer than any redelivery, redrive or replay you may run.
    """
    old = InboxRecord.objects.filter(consumer=consumer, processed_at__lt=processed_before)
    if limit is not None:
        ids = list(old.order_by("processed_at", "pk").values_list("pk", flat=True)[:limit])
        old = InboxRecord.objects.filter(pk__in=ids)
    deleted, _ = old.delete()
    return deleted
