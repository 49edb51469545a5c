"""Concurrent captures of one payment, and concurrent authorisations with one key.

On SQLite the threads use a file copy of the in-memory test database, configured like
production (WAL, BEGIN IMMEDIATE, busy timeout), because the in-memory shared cache fails a
second writer at once instead of queueing it. On PostgreSQL they use the test database and
race on the row lock (SELECT ... FOR UPDATE) and the unique indexes.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import pytest
from django.db import connection

from shop.payments import services
from shop.payments.models import LedgerEntry, Payment
from shop.payments.tests.fakes import CountingProvider

pytestmark = [pytest.mark.payments]

T = TypeVar("T")
WORKERS = 8


@contextmanager
def threads_database(directory: Path) -> Iterator[None]:
    """New threads' connections open a file copy of the SQLite test database (no-op elsewhere)."""
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():  # type: ignore[attr-defined]
        yield
        return
    copy = directory / "threads.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(copy)
    try:
        connection.connection.backup(target)
        # The copy of an in-memory database is in rollback-journal mode. Switch it to WAL now,
        # once: otherwise every thread's first connection switches it (the settings'
        # init_command) while the others already write, and the switch fails with
        # "database is locked" instead of waiting.
        target.execute("PRAGMA journal_mode=WAL")
    finally:
        target.close()
    settings_dict = connection.settings_dict
    original = settings_dict["NAME"]
    settings_dict["NAME"] = str(copy)
    try:
        yield
    finally:
        settings_dict["NAME"] = original


def all_at_once(work: Callable[[], T], count: int = WORKERS) -> list[T | BaseException]:
    """Run ``work`` on ``count`` threads released together; each result or exception."""
    barrier = threading.Barrier(count)
    results: list[T | BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            outcome: T | BaseException = work()
        except BaseException as exc:  # reported to the test, which asserts there were none
            outcome = exc
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == count, "a worker thread did not finish"
    return results


def in_thread(work: Callable[[], T]) -> T:
    [result] = all_at_once(work, count=1)
    assert not isinstance(result, BaseException), result
    return result


@pytest.mark.django_db(transaction=True)
def test_concurrent_captures_capture_once(tmp_path: Path, fake_provider: CountingProvider) -> None:
    view = services.payment_authorize(
        order_id=uuid.uuid4(),
        user_id=1,
        amount=Decimal("40.00"),
        currency="EUR",
        card_number="4242424242424242",
        idempotency_key="race-capture",
    )
    with threads_database(tmp_path):
        results = all_at_once(lambda: services.payment_capture(payment_id=view.id))
        kinds = in_thread(
            lambda: list(
                LedgerEntry.objects.filter(payment_id=view.id)
                .order_by("at", "id")
                .values_list("kind", flat=True)
            )
        )

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert {r.status for r in results if not isinstance(r, BaseException)} == {"captured"}
    assert kinds == ["authorize", "capture"]
    assert [action for action, _ in fake_provider.calls].count("capture") == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_authorisations_with_one_key_make_one_payment(tmp_path: Path) -> None:
    order_id = uuid.uuid4()

    def authorize() -> services.PaymentView:
        return services.payment_authorize(
            order_id=order_id,
            user_id=1,
            amount=Decimal("15.00"),
            currency="EUR",
            card_number="4242424242424242",
            idempotency_key="race-authorize",
        )

    with threads_database(tmp_path):
        results = all_at_once(authorize)
        counts = in_thread(lambda: (Payment.objects.count(), LedgerEntry.objects.count()))

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert len({r.id for r in results if not isinstance(r, BaseException)}) == 1
    assert counts == (1, 1)
