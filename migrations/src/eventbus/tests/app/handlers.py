"""The test consumers. Each handler is one write, like a real one is one service call.

ledger  Ordering.NONE    one LedgerEntry per event (exactly-once check: count and sum)
mirror  Ordering.NEWER   upsert Mirror (converges whatever the delivery order)
bench   Ordering.NEWER   one LedgerEntry per applied event (the benchmark's lag source)
strict  Ordering.STRICT  one LedgerEntry per event, in version order
picky   Ordering.NONE    like ledger, but an amount of 13 always fails (poison) until
                         the environment says EVENTBUS_TEST_FIXED=1
"""

from __future__ import annotations

import os
import time
from typing import TextIO

from django.db import transaction
from django.utils import timezone

from eventbus.consumer import handlers
from eventbus.inbox.services import Ordering

from .events import AccountCredited
from .models import LedgerEntry, Mirror


def _ledger(consumer: str, event: AccountCredited) -> None:
    LedgerEntry.objects.create(
        consumer=consumer,
        event_id=event.event_id,
        account_id=event.account_id,
        version=event.aggregate_version,
        amount=event.amount,
        occurred_at=event.occurred_at,
        applied_at=timezone.now(),
    )


@handlers.on(AccountCredited, service="ledger", ordering=Ordering.NONE)
def ledger(event: AccountCredited) -> None:
    _ledger("ledger", event)


_lag_file: TextIO | None = None


def _record_lag(occurred: float, event_id: str) -> None:
    """After the commit: '<occurred> <committed> <event id>' (epoch seconds), one per event."""
    global _lag_file
    if _lag_file is None:
        _lag_file = open(os.environ["EVENTBUS_TEST_LAG_FILE"], "a", buffering=1)  # noqa: SIM115
    _lag_file.write(f"{occurred:.6f} {time.time():.6f} {event_id}\n")


@handlers.on(AccountCredited, service="bench", ordering=Ordering.NEWER)
def bench(event: AccountCredited) -> None:
    _ledger("bench", event)
    if "EVENTBUS_TEST_LAG_FILE" in os.environ:
        # Measured when the effect is durable, i.e. after the consumer's commit.
        occurred = event.occurred_at.timestamp()
        event_id = str(event.event_id)
        transaction.on_commit(lambda: _record_lag(occurred, event_id))


@handlers.on(AccountCredited, service="strict", ordering=Ordering.STRICT)
def strict(event: AccountCredited) -> None:
    _ledger("strict", event)


@handlers.on(AccountCredited, service="mirror", ordering=Ordering.NEWER)
def mirror(event: AccountCredited) -> None:
    Mirror.objects.update_or_create(
        account_id=event.account_id,
        defaults={"version": event.aggregate_version, "balance": event.balance},
    )


class Poison(RuntimeError):
    pass


@handlers.on(AccountCredited, service="picky", ordering=Ordering.NONE)
def picky(event: AccountCredited) -> None:
    if event.amount == 13 and os.environ.get("EVENTBUS_TEST_FIXED") != "1":
        raise Poison(f"13 is unlucky (account {event.account_id})")
    _ledger("picky", event)
