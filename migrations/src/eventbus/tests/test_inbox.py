"""The inbox: effect and inbox record in one transaction; duplicates, stale versions, gaps.

The effect here is a real write: a follow-up event published to the outbox (what a process
manager does), so "applied once" is counted in the database and rolls back with the inbox.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from contracts.events import Envelope, StockChanged
from eventbus.inbox.models import AggregateVersion, InboxRecord
from eventbus.inbox.selectors import applied_version, inbox_counts
from eventbus.inbox.services import Ordering, Outcome, VersionGap, handle_once, version_baseline
from eventbus.outbox import publish
from eventbus.outbox.models import OutboxMessage


def change(version: int, sku: str = "A") -> Envelope:
    return Envelope.of(
        StockChanged(
            sku=sku, on_hand=version, reserved=0, available=version, aggregate_version=version
        )
    )


def effects(sku: str = "A") -> list[int]:
    """Versions whose effect ran (each effect publishes one follow-up event)."""
    return list(
        OutboxMessage.objects.filter(aggregate_id=f"follow-{sku}")
        .order_by("id")
        .values_list("aggregate_version", flat=True)
    )


def handle(
    envelope: Envelope, ordering: Ordering = Ordering.NEWER, consumer: str = "mirror"
) -> Outcome:
    def effect() -> None:
        publish(
            StockChanged(
                sku=f"follow-{envelope.aggregate_id}",
                on_hand=0,
                reserved=0,
                available=0,
                aggregate_version=envelope.aggregate_version,
            )
        )

    return handle_once(consumer=consumer, envelope=envelope, effect=effect, ordering=ordering)


@pytest.mark.django_db
def test_a_duplicate_is_skipped_and_the_effect_runs_once() -> None:
    first = change(1)
    assert handle(first) is Outcome.APPLIED
    assert handle(first) is Outcome.DUPLICATE
    assert handle(first, consumer="other") is Outcome.APPLIED  # each consumer has its own inbox
    assert effects() == [1, 1]
    assert inbox_counts(consumer="mirror") == {"applied": 1}


@pytest.mark.django_db
def test_newer_applies_in_order_skips_stale_and_applies_across_a_gap() -> None:
    sent = {v: change(v) for v in range(1, 6)}
    assert [handle(sent[v]).value for v in (1, 2, 4, 3, 2, 5)] == [
        "applied",
        "applied",
        "applied",
        "stale",
        "duplicate",
        "applied",
    ]
    assert effects() == [1, 2, 4, 5]
    assert (
        applied_version(consumer="mirror", aggregate_type="catalog.inventory", aggregate_id="A")
        == 5
    )
    assert inbox_counts(consumer="mirror") == {"applied": 4, "stale": 1}
    assert handle(sent[3]) is Outcome.DUPLICATE  # a stale event is remembered too


@pytest.mark.django_db
def test_strict_raises_on_a_gap_and_applies_once_it_is_filled() -> None:
    sent = {v: change(v) for v in range(1, 4)}
    assert handle(sent[1], Ordering.STRICT) is Outcome.APPLIED
    with pytest.raises(
        VersionGap, match=r"version 3, mirror has applied 1: 1 version\(s\) missing"
    ):
        handle(sent[3], Ordering.STRICT)
    assert InboxRecord.objects.filter(aggregate_version=3).count() == 0  # rolled back: retryable
    assert handle(sent[2], Ordering.STRICT) is Outcome.APPLIED
    assert handle(sent[3], Ordering.STRICT) is Outcome.APPLIED
    assert handle(sent[2], Ordering.STRICT) is Outcome.DUPLICATE
    assert effects() == [1, 2, 3]


@pytest.mark.django_db
def test_strict_starts_from_a_baseline() -> None:
    version_baseline(
        consumer="mirror", aggregate_type="catalog.inventory", aggregate_id="A", version=10
    )
    with pytest.raises(VersionGap):
        handle(change(12), Ordering.STRICT)
    assert handle(change(9), Ordering.STRICT) is Outcome.STALE
    assert handle(change(11), Ordering.STRICT) is Outcome.APPLIED


@pytest.mark.django_db
def test_none_ordering_applies_every_event_once_whatever_the_order() -> None:
    sent = {v: change(v) for v in range(1, 4)}
    assert [handle(sent[v], Ordering.NONE).value for v in (3, 1, 2, 1)] == [
        "applied",
        "applied",
        "applied",
        "duplicate",
    ]
    assert effects() == [3, 1, 2]
    assert AggregateVersion.objects.count() == 0


def test_a_failing_effect_leaves_no_inbox_record_and_no_version(transactional_db: None) -> None:
    envelope = change(1)

    def failing() -> None:
        publish(
            StockChanged(sku="follow-A", on_hand=0, reserved=0, available=0, aggregate_version=1)
        )
        raise RuntimeError("handler bug")

    with pytest.raises(RuntimeError, match="handler bug"):
        handle_once(consumer="mirror", envelope=envelope, effect=failing)
    assert (InboxRecord.objects.count(), AggregateVersion.objects.count(), effects()) == (0, 0, [])
    assert handle(envelope) is Outcome.APPLIED  # the retry starts clean
    assert effects() == [1]


def test_without_savepoint_a_failure_dooms_the_whole_batch(transactional_db: None) -> None:
    def failing() -> None:
        raise RuntimeError("second fails")

    @transaction.atomic
    def batch() -> None:
        handle_once(consumer="mirror", envelope=change(1), effect=lambda: None, savepoint=False)
        handle_once(consumer="mirror", envelope=change(2), effect=failing, savepoint=False)

    with pytest.raises(RuntimeError, match="second fails"):
        batch()
    assert InboxRecord.objects.count() == 0


# --- batches: the same outcomes as one by one ----------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ordering", [Ordering.NEWER, Ordering.NONE, Ordering.STRICT])
def test_a_batch_decides_exactly_like_a_sequence(seed: int, ordering: Ordering) -> None:
    import random

    from eventbus.inbox.services import Item, handle_batch

    rng = random.Random(seed)
    pool = [change(v, sku) for sku in ("A", "B", "C") for v in range(1, 7)]
    if ordering is Ordering.STRICT:
        # No gaps in a strict stream (a gap is an exception: tested above); duplicates are fine.
        stream = sorted(pool, key=lambda e: (e.aggregate_version, rng.random()))
        stream = [e for e in stream for _ in range(rng.choice((1, 1, 2)))]
    else:
        stream = [rng.choice(pool) for _ in range(40)]
    chunks, i = [], 0
    while i < len(stream):
        size = rng.randint(1, 9)
        chunks.append(stream[i : i + size])
        i += size

    def recorder(consumer: str, log: list[tuple[str, int]]) -> object:
        def make(envelope: Envelope) -> Item:
            return Item(
                envelope,
                lambda: log.append((envelope.aggregate_id, envelope.aggregate_version)),
                ordering,
            )

        return make

    one_log: list[tuple[str, int]] = []
    batch_log: list[tuple[str, int]] = []
    one_by_one = [
        handle_once(
            consumer="one",
            envelope=e,
            effect=lambda e=e: one_log.append((e.aggregate_id, e.aggregate_version)),
            ordering=ordering,
        )
        for e in stream
    ]
    make = recorder("batch", batch_log)
    batched = [
        o
        for chunk in chunks
        for o in handle_batch(consumer="batch", items=[make(e) for e in chunk])
    ]  # type: ignore[operator]
    assert batched == one_by_one
    assert batch_log == one_log
    for sku in ("A", "B", "C"):
        assert applied_version(
            consumer="batch", aggregate_type="catalog.inventory", aggregate_id=sku
        ) == (applied_version(consumer="one", aggregate_type="catalog.inventory", aggregate_id=sku))
    assert inbox_counts(consumer="batch") == inbox_counts(consumer="one")


@pytest.mark.django_db
def test_a_strict_gap_in_a_batch_rolls_the_batch_back() -> None:
    from eventbus.inbox.services import Item, handle_batch

    first = change(1)
    assert handle(first, Ordering.STRICT) is Outcome.APPLIED
    ran: list[int] = []
    with pytest.raises(VersionGap):
        handle_batch(
            consumer="mirror",
            items=[
                Item(change(2, "B"), lambda: ran.append(1), Ordering.STRICT),
                Item(change(3), lambda: ran.append(3), Ordering.STRICT),
            ],
        )
    assert InboxRecord.objects.filter(aggregate_id="B").count() == 0
    assert (
        applied_version(consumer="mirror", aggregate_type="catalog.inventory", aggregate_id="B")
        is None
    )
