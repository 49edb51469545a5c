"""Ask and change who writes a context. Reads are uncached: a handover must be seen at once."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from .models import Owner, Ownership

__all__ = [
    "NotWriter",
    "OwnerState",
    "is_writer",
    "owner_of",
    "owners",
    "require_writer",
    "set_owner",
]

SIDES = tuple(Owner.values)


@dataclass(frozen=True, slots=True)
class OwnerState:
    context: str
    owner: str
    frozen: bool
    generation: int

    def writer(self, me: str) -> bool:
        return self.owner == me and not self.frozen

    def describe(self) -> str:
        return f"{self.context}: {self.owner}" + (" (frozen for a handover)" if self.frozen else "")


class NotWriter(Exception):
    """A write reached a side that does not write ``state.context`` right now.

    Frozen: a handover is catching up (under a second); the client should retry. Not the owner:
    the proxy should not have sent the write here (routes and ownership disagree)."""

    def __init__(self, state: OwnerState, me: str) -> None:
        self.state = state
        self.me = me
        if state.frozen:
            reason = f"{state.context} is being handed over; retry in a moment"
        else:
            reason = f"{state.context} is written by the {state.owner}, not by the {me}"
        super().__init__(reason)


def _state(row: Ownership | None, context: str) -> OwnerState:
    if row is None:
        return OwnerState(context, Owner.MONOLITH, False, 0)
    return OwnerState(context, row.owner, row.frozen, row.generation)


def owner_of(context: str, *, using: str = DEFAULT_DB_ALIAS) -> OwnerState:
    return _state(Ownership.objects.using(using).filter(pk=context).first(), context)


def owners(*, using: str = DEFAULT_DB_ALIAS) -> list[OwnerState]:
    return [_state(row, row.context) for row in Ownership.objects.using(using).order_by("pk")]


def is_writer(context: str, me: str, *, using: str = DEFAULT_DB_ALIAS) -> bool:
    return owner_of(context, using=using).writer(me)


def require_writer(context: str, me: str, *, using: str = DEFAULT_DB_ALIAS) -> OwnerState:
    """Raise :class:`NotWriter` unless ``me`` writes ``context``. Call it first, inside the
    writing transaction: on PostgreSQL the row is read ``FOR SHARE``, so a freeze (an UPDATE of
    the row) waits until every write that passed this check has committed. SQLite serialises
    writers anyway (the monolith's transactions take the write lock at BEGIN)."""
    connection = connections[using]
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        state = _locked_state(context, using)
    else:
        state = owner_of(context, using=using)
    if not state.writer(me):
        raise NotWriter(state, me)
    return state


def _locked_state(context: str, using: str) -> OwnerState:
    """The row ``FOR SHARE`` (Django's ORM only has FOR UPDATE, which would make concurrent
    writers queue behind each other). A missing row is created first, so that even the very
    first freeze of a context has a row to wait on."""
    select = "SELECT owner, frozen, generation FROM eventbus_ownership WHERE context = %s FOR SHARE"
    with connections[using].cursor() as cursor:
        cursor.execute(select, [context])
        row = cursor.fetchone()
        if row is None:
            cursor.execute(
                "INSERT INTO eventbus_ownership (context, owner, frozen, generation, changed_at,"
                " why) VALUES (%s, %s, false, 0, now(), '') ON CONFLICT (context) DO NOTHING",
                [context, Owner.MONOLITH],
            )
            cursor.execute(select, [context])
            row = cursor.fetchone()
    assert row is not None
    return OwnerState(context, str(row[0]), bool(row[1]), int(row[2]))


def set_owner(
    context: str, owner: str, *, frozen: bool, why: str = "", using: str = DEFAULT_DB_ALIAS
) -> OwnerState:
    """Record who writes ``context`` in this database (waits for in-flight writers)."""
    if owner not in SIDES:
        raise ValueError(f"owner must be one of {', '.join(SIDES)}, not {owner!r}")
    with transaction.atomic(using=using):
        row, _ = Ownership.objects.using(using).select_for_update().get_or_create(pk=context)
        row.owner = owner
        row.frozen = frozen
        row.generation += 1
        row.changed_at = timezone.now()
        row.why = why
        row.save(using=using)
    return _state(row, context)
