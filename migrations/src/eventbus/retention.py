"""Retention: the outbox's published rows and the inbox's handled records are history.

Published rows serve replays (``strangler events replay``) and handled records are the
duplicate window of an idempotent consumer; both grow with every event, so the long-running
processes delete what is older than its keep time, in small batches (each its own short
transaction) and at most once per ``EVENTBUS_PRUNE_EVERY`` seconds: the relay prunes the
outbox, each consumer its own service's inbox. Unpublished rows and the per-aggregate versions
(``Ordering.NEWER``'s state) are never pruned.

EVENTBUS_OUTBOX_KEEP_DAYS   published outbox rows kept for replay (7; 0 keeps them forever)
EVENTBUS_INBOX_KEEP_DAYS    handled event ids kept against redeliveries (14; 0: forever). Keep
                            it longer than the outbox's: a replay must still find its
                            duplicates.
EVENTBUS_PRUNE_EVERY        seconds between two prunes of one process (3600)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils import timezone

from . import conf

log = logging.getLogger(__name__)

BATCH = 5000  # rows per DELETE: short transactions, no long lock on a busy table
MAX_BATCHES = 40  # per prune: a large backlog goes over a few runs, never one long stall

PruneFn = Callable[[datetime, int], int]  # (older than, at most) -> rows deleted


def keep(name: str, default_days: float) -> timedelta | None:
    days = float(conf.get(name, default_days))
    return timedelta(days=days) if days > 0 else None


class Pruner:
    """Deletes what ``prune`` finds older than ``keep``, when due (see the module doc)."""

    def __init__(
        self,
        what: str,
        prune: PruneFn,
        keep: timedelta | None,
        *,
        every: float | None = None,
        using: str = DEFAULT_DB_ALIAS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.prune = prune
        self.keep = keep
        self.every = every if every is not None else float(conf.get("EVENTBUS_PRUNE_EVERY", 3600))
        self.using = using
        self.clock = clock
        self._next = clock()  # the first prune runs at start: a restart catches up
        self.deleted = 0

    def maybe(self) -> int:
        """Prune if due; returns the rows deleted. Never raises a database error (logged, and
        tried again next time): history that stays a little longer harms nobody."""
        if self.keep is None or self.clock() < self._next:
            return 0
        if connections[self.using].in_atomic_block:
            return 0  # inside a caller's transaction (tests): a prune must not join it
        self._next = self.clock() + self.every
        cutoff = timezone.now() - self.keep
        deleted = 0
        try:
            for _ in range(MAX_BATCHES):
                batch = self.prune(cutoff, BATCH)
                deleted += batch
                if batch < BATCH:
                    break
        except DatabaseError as exc:
            log.warning("%s: prune failed (%s); trying again later", self.what, exc)
        if deleted:
            log.info("%s: pruned %d rows older than %s", self.what, deleted, cutoff.isoformat())
        self.deleted += deleted
        return deleted
