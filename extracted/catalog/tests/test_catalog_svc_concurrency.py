"""Twenty buyers, five units: exactly five holds, never an oversell.

On SQLite the test database lives in memory with a shared cache, where a second writer fails
at once with "database table is locked" instead of waiting. So the buyers run against a file
copy of it, configured like production (WAL, BEGIN IMMEDIATE, busy timeout): writers queue on
the busy timeout there, which is the path this test is about. On PostgreSQL they use the test
database itself, and the conditional UPDATEs race on row locks.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import pytest
from django.db import connection

from catalog_service.catalog import selectors, services
from catalog_service.catalog.models import Reservation

pytestmark = [pytest.mark.catalog, pytest.mark.usefixtures("writer")]

T = TypeVar("T")


@contextmanager
def threads_database(directory: Path) -> Iterator[None]:
    """New threads' connections open a file copy of the SQLite test database (no-op elsewhere).

    Only connections opened inside the block see the copy: the main thread's in-memory
    connection stays open (closing it would destroy the test database)."""
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():  # type: ignore[attr-defined]
        yield
        return
    copy = directory / "threads.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(copy)
    try:
        connection.connection.backup(target)
    finally:
        target.close()
    # Threads build their connections from this dict (shared with the main thread's wrapper).
    settings_dict = connection.settings_dict
    original = settings_dict["NAME"]
    settings_dict["NAME"] = str(copy)
    try:
        yield
    finally:
        settings_dict["NAME"] = original


def in_thread(work: Callable[[], T]) -> T:
    """Run ``work`` on a fresh thread (hence a fresh database connection) and return its result."""
    box: list[T] = []

    def run() -> None:
        try:
            box.append(work())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert box, "the worker thread failed"
    return box[0]


@pytest.mark.django_db(transaction=True)
def test_twenty_threads_reserve_one_unit_each_of_five(tmp_path: Path) -> None:
    services.product_create(
        slug="hot",
        name="Hot item",
        variants=[
            services.VariantInput(
                sku="HOT-1", name="One", price=Decimal("9.99"), currency="USD", on_hand=5
            )
        ],
    )
    start = threading.Barrier(20)
    outcomes: list[str] = []
    record = threading.Lock()

    def buy(number: int) -> None:
        try:
            start.wait(timeout=30)
            try:
                services.stock_reserve(
                    lines=[("HOT-1", 1)], owner_ref=f"buyer-{number}", ttl_seconds=60
                )
                result = "held"
            except services.OutOfStock as exc:
                expected = {"sku": "HOT-1", "available": 0, "requested": 1}
                result = "out" if exc.extra == expected else f"wrong extra: {exc.extra}"
            except Exception as exc:  # recorded, so that the assertion below shows it
                result = f"error: {exc!r}"
            with record:
                outcomes.append(result)
        finally:
            connection.close()

    with threads_database(tmp_path):
        threads = [threading.Thread(target=buy, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        stock = in_thread(lambda: selectors.stock_get(sku="HOT-1"))
        held = in_thread(
            lambda: sum(line.quantity for ref in range(20) for line in _lines_of(f"buyer-{ref}"))
        )

    assert sorted(outcomes) == ["held"] * 5 + ["out"] * 15
    assert stock == selectors.StockView(sku="HOT-1", on_hand=5, reserved=5, available=0)
    assert held == 5


def _lines_of(owner_ref: str) -> list[selectors.ReservationLineView]:
    ids = Reservation.objects.filter(owner_ref=owner_ref).values_list("id", flat=True)
    lines: list[selectors.ReservationLineView] = []
    for reservation_id in ids:
        view = selectors.reservation_get(reservation_id=reservation_id)
        assert view is not None
        lines.extend(view.lines)
    return lines


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_one_reserve_hold_once(tmp_path: Path) -> None:
    """The monolith's client retried a reserve whose first answer was lost: eight copies of one
    call at once make one reservation, and every copy answers it."""
    services.product_create(
        slug="hot",
        name="Hot item",
        variants=[
            services.VariantInput(
                sku="HOT-1", name="One", price=Decimal("9.99"), currency="USD", on_hand=5
            )
        ],
    )
    start = threading.Barrier(8)
    answers: list[str] = []
    record = threading.Lock()

    def retry() -> None:
        try:
            start.wait(timeout=30)
            try:
                view = services.stock_reserve(
                    lines=[("HOT-1", 2)],
                    owner_ref="order:1",
                    ttl_seconds=60,
                    idempotency_key="checkout-1",
                )
                result = str(view.id)
            except Exception as exc:  # recorded, so that the assertion below shows it
                result = f"error: {exc!r}"
            with record:
                answers.append(result)
        finally:
            connection.close()

    with threads_database(tmp_path):
        threads = [threading.Thread(target=retry) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        stock = in_thread(lambda: selectors.stock_get(sku="HOT-1"))
        count = in_thread(lambda: Reservation.objects.count())

    assert answers == [str(services.reservation_id_for("checkout-1"))] * 8
    assert stock == selectors.StockView(sku="HOT-1", on_hand=5, reserved=2, available=3)
    assert count == 1
