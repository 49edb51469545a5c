"""The relay: outbox rows -> the broker, confirmed, in per-aggregate order, never lost.

One loop, one batch at a time (PostgreSQL)::

    BEGIN
      UPDATE eventbus_outbox SET published_at = now() WHERE id IN (
          SELECT id ... WHERE published_at IS NULL ORDER BY id LIMIT n FOR UPDATE SKIP LOCKED)
      RETURNING ...                                          -- claim and mark, one statement
      [not alone: un-mark the aggregates that have an older row in another relay's hands]
      publish the batch, wait for the broker's confirms (batched: one round trip)
    COMMIT                                                   -- only after the confirms

- A crash or a broker error before COMMIT rolls the marks back: the rows go again
  (at-least-once; the consumers' inbox drops the duplicates). Errors back off (jittered, up to
  5 s) and reconnect.
- Several relays may run on PostgreSQL: SKIP LOCKED splits the rows between them. They hold a
  shared advisory lock, so each knows whether it is alone; when it is not, it publishes an
  aggregate's events only if no older event of that aggregate is in another relay's hands, so
  per-aggregate order holds. A relay that starts waits until the others have seen it.
- It sleeps on ``LISTEN eventbus_outbox`` (a trigger notifies at every commit that wrote the
  outbox), polling as a fallback. On SQLite (no row locks, no notifications) it reads, publishes
  and marks in a short transaction, polling every 50 ms: run one relay per SQLite database.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    OperationalError,
    connections,
    transaction,
)
from django.utils import timezone
from opentelemetry.trace import SpanKind

from . import conf, metrics, tracing
from .broker import Outgoing, Publisher, connect, connection_errors
from .outbox.models import OutboxMessage
from .outbox.selectors import lag_seconds, outbox_lag
from .outbox.services import NOTIFY_CHANNEL, outbox_prune
from .retention import Pruner, keep
from .topology import Topology

log = logging.getLogger("eventbus.relay")

RELAY_LOCK = 0x6B697472  # every PostgreSQL relay holds this advisory lock, shared
ALONE_REFRESH_SECONDS = 0.25

_BROKER_ERRORS: tuple[type[BaseException], ...] | None = None


def broker_errors(url: str) -> tuple[type[BaseException], ...]:
    global _BROKER_ERRORS
    if _BROKER_ERRORS is None:
        _BROKER_ERRORS = connection_errors(connect(url))
    return _BROKER_ERRORS


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    event_id: str
    name: str
    body: str
    headers: dict[str, Any]
    aggregate: tuple[str, str]


class Relay:
    def __init__(
        self,
        *,
        url: str | None = None,
        topology: Topology | None = None,
        batch_size: int | None = None,
        poll_seconds: float | None = None,
        using: str = DEFAULT_DB_ALIAS,
    ) -> None:
        self.url = url or conf.broker_url()
        self.topology = topology or Topology.from_settings()
        self.batch_size = batch_size or conf.relay_batch()
        self.poll_seconds = poll_seconds if poll_seconds is not None else conf.poll_seconds(using)
        self.using = using
        self.publisher = Publisher(self.url)
        self.postgres = connections[using].vendor == "postgresql"
        self._listener: Any = None
        self._declared_on: object = None
        self._failures = 0
        self._status_at = 0.0
        self._session: object = None
        self._alone = True
        self._alone_at = 0.0
        self.stop = threading.Event()
        self.published = 0
        self.pruner = Pruner(
            "outbox",
            lambda before, limit: outbox_prune(published_before=before, using=using, limit=limit),
            keep("EVENTBUS_OUTBOX_KEEP_DAYS", 7),
            using=using,
        )

    # --- one batch ------------------------------------------------------------------------

    def relay_once(self) -> int:
        """Publish one batch of unpublished rows. Returns how many were published."""
        started = time.perf_counter()
        if self.postgres:
            self._prepare_session()
            with transaction.atomic(using=self.using):
                rows = self._claim_and_mark()
                if rows:
                    self._send(rows)
        else:
            # SQLite: a write transaction would lock the whole database while we wait for the
            # broker, so read, publish, then mark in a short transaction.
            rows = self._claim()
            if rows:
                self._send(rows)
                with transaction.atomic(using=self.using):
                    self._mark(rows)
        if rows:
            metrics.RELAY_PUBLISHED.inc(len(rows))
            metrics.RELAY_BATCH_SECONDS.observe(time.perf_counter() - started)
            self.published += len(rows)
        return len(rows)

    # --- PostgreSQL -----------------------------------------------------------------------

    def _prepare_session(self) -> None:
        """Once per database session: asynchronous commits, and the relays' shared lock."""
        wrapper = connections[self.using]
        wrapper.ensure_connection()
        if wrapper.connection is self._session:
            if time.monotonic() - self._alone_at > ALONE_REFRESH_SECONDS:
                self._alone = self._count_relays() == 1
                self._alone_at = time.monotonic()
            return
        with wrapper.cursor() as cursor:
            # Losing a relay's commit in a crash only means publishing the batch again
            # (consumers drop duplicates), so its commits need not wait for the WAL flush.
            cursor.execute("SET synchronous_commit TO OFF")
            cursor.execute("SELECT pg_advisory_lock_shared(%s)", [RELAY_LOCK])
        self._session = wrapper.connection
        self._alone = self._count_relays() == 1
        self._alone_at = time.monotonic()
        if not self._alone:
            # Let the other relays notice us before we claim anything (see _claim_and_mark).
            self.stop.wait(2 * ALONE_REFRESH_SECONDS)

    def _count_relays(self) -> int:
        with connections[self.using].cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 "
                "AND objid = %s AND objsubid = 1 AND granted AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())",
                [RELAY_LOCK],
            )
            return int(cursor.fetchone()[0])

    def _claim_and_mark(self) -> list[Row]:
        """Claim (lock) and mark a batch in one statement; the transaction is only committed
        after the broker confirmed, so a failure un-marks it."""
        table = OutboxMessage._meta.db_table
        with connections[self.using].cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET published_at = %s WHERE id IN (SELECT id FROM {table} "
                "WHERE published_at IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) "
                "RETURNING id, event_id, name, body, headers, aggregate_type, aggregate_id",
                [timezone.now(), self.batch_size],
            )
            rows = sorted(
                (
                    Row(
                        id=r[0],
                        event_id=str(r[1]),
                        name=r[2],
                        body=r[3],
                        headers=json.loads(r[4]) if isinstance(r[4], str) else dict(r[4] or {}),
                        aggregate=(r[5], r[6]),
                    )
                    for r in cursor.fetchall()
                ),
                key=lambda row: row.id,
            )
        if rows and not self._alone:
            kept = self._without_busy_aggregates(rows)
            if len(kept) < len(rows):
                dropped = [row.id for row in rows if row not in kept]
                log.debug("relay: %d of %d rows wait for another relay", len(dropped), len(rows))
                OutboxMessage.objects.using(self.using).filter(id__in=dropped).update(
                    published_at=None
                )
            rows = kept
        return rows

    def _without_busy_aggregates(self, rows: list[Row]) -> list[Row]:
        """Keep per-aggregate order with several relays: an older unpublished row we did not
        get (SKIP LOCKED skipped it: another relay holds it) blocks that aggregate's rows."""
        ids = [row.id for row in rows]
        busy = set(
            OutboxMessage.objects.using(self.using)
            .filter(published_at__isnull=True, id__lt=ids[-1])
            .exclude(id__in=ids)
            .values_list("aggregate_type", "aggregate_id")
            .distinct()
        )
        if not busy:
            return rows
        return [row for row in rows if row.aggregate not in busy]

    # --- SQLite ---------------------------------------------------------------------------

    def _claim(self) -> list[Row]:
        query = OutboxMessage.objects.using(self.using).filter(published_at__isnull=True)
        return [
            Row(
                id=r[0],
                event_id=str(r[1]),
                name=r[2],
                body=r[3],
                headers=r[4] or {},
                aggregate=(r[5], r[6]),
            )
            for r in query.order_by("id").values_list(
                "id", "event_id", "name", "body", "headers", "aggregate_type", "aggregate_id"
            )[: self.batch_size]
        ]

    def _mark(self, rows: Sequence[Row]) -> None:
        OutboxMessage.objects.using(self.using).filter(id__in=[row.id for row in rows]).update(
            published_at=timezone.now()
        )

    # --- both -----------------------------------------------------------------------------

    def _send(self, rows: Sequence[Row]) -> None:
        if self._declared_on is not self.publisher.connect():
            self.topology.declare(self.publisher.channel)
            self._declared_on = self.publisher.connection
        messages = []
        for row in rows:
            headers = dict(row.headers)
            if "traceparent" in headers:
                with tracing.span(
                    f"{row.name} publish",
                    SpanKind.PRODUCER,
                    headers,
                    **{"messaging.system": "rabbitmq", "messaging.message.id": row.event_id},
                ) as (_, sent):
                    headers.update(sent)
            messages.append(
                Outgoing(
                    body=row.body.encode(),
                    routing_key=row.name,
                    message_id=row.event_id,
                    headers=headers,
                )
            )
        self.publisher.publish(messages, exchange=self.topology.exchange_name)

    # --- the loop -------------------------------------------------------------------------

    def drain(self) -> int:
        """Publish until nothing is waiting. Returns how many."""
        total = 0
        while True:
            sent = self.relay_once()
            total += sent
            if sent == 0:
                return total

    def run(self, *, max_seconds: float | None = None) -> None:
        """Relay until :attr:`stop` is set (or ``max_seconds``)."""
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        log.info(
            "relay started: %s, batch %d, wake-up %s",
            self.topology.exchange_name,
            self.batch_size,
            "LISTEN/NOTIFY" if self.postgres else f"poll {self.poll_seconds}s",
        )
        while not self.stop.is_set() and (deadline is None or time.monotonic() < deadline):
            try:
                sent = self.relay_once()
                self._failures = 0
            except broker_errors(self.url) as exc:
                self._failed("broker", exc)
                self.publisher.close()
                continue
            except (OperationalError, InterfaceError, DatabaseError) as exc:
                self._failed("database", exc)
                connections[self.using].close()
                self._session = None
                self._close_listener()
                continue
            self._report_status()
            if sent == 0:
                self.pruner.maybe()  # when idle: history never delays a publish
                self._wait(self.poll_seconds)
        self.publisher.close()
        self._close_listener()
        log.info("relay stopped after %d messages", self.published)

    def _failed(self, what: str, exc: BaseException) -> None:
        metrics.RELAY_FAILURES.inc()
        self._failures += 1
        delay = min(5.0, 0.1 * 2 ** min(self._failures - 1, 6)) * random.uniform(0.5, 1.0)
        log.warning(
            "relay: %s error (%s: %s); retrying in %.2fs", what, type(exc).__name__, exc, delay
        )
        self.stop.wait(delay)

    def _report_status(self) -> None:
        now = time.monotonic()
        if now - self._status_at < 5.0:
            return
        self._status_at = now
        unpublished, oldest = outbox_lag(using=self.using)
        metrics.OUTBOX_UNPUBLISHED.set(unpublished)
        metrics.OUTBOX_OLDEST_AGE.set(lag_seconds(oldest))

    # --- wake-up --------------------------------------------------------------------------

    def _wait(self, seconds: float) -> None:
        if not self.postgres:
            self.stop.wait(seconds)
            return
        try:
            listener = self._listen()
            deadline = time.monotonic() + seconds
            # In short slices, so that a stop request (SIGTERM) is noticed quickly.
            while not self.stop.is_set() and (left := deadline - time.monotonic()) > 0:
                if list(listener.notifies(timeout=min(left, 0.5), stop_after=1)):
                    return
        except Exception as exc:
            log.warning("relay: LISTEN failed (%s); polling", exc)
            self._close_listener()
            self.stop.wait(seconds)

    def _listen(self) -> Any:
        if self._listener is None or self._listener.closed:
            wrapper = connections[self.using]
            raw = wrapper.get_new_connection(wrapper.get_connection_params())
            raw.autocommit = True
            raw.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self._listener = raw
        return self._listener

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(Exception):
                listener.close()


def run_relay(
    *, metrics_port: int | None = None, max_seconds: float | None = None, **options: Any
) -> Relay:
    """The relay process: stops cleanly on SIGTERM/SIGINT."""
    relay = Relay(**options)
    if metrics_port:
        metrics.serve(metrics_port)

    def stop(signum: int, frame: FrameType | None) -> None:
        relay.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    relay.run(max_seconds=max_seconds)
    return relay
