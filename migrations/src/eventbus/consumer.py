# mypy: disable-error-code="no-untyped-call"
# (kombu and py-amqp have no type hints)
"""Consumers: one process per service, reading its durable queue with kombu.

    kit.<service> --(prefetch n, late ack)--> EventConsumer._on_message
        Envelope.from_json -> handler for envelope.name -> handle_once(effect=handler(event))
        ok: ack.   handler fails: retry in process with jittered backoff;
        still failing after EVENTBUS_RETRIES attempts (or undecodable): publish the message,
        with the error in its headers, to kit.<service>.dlx (confirmed), then ack.

The dead-letter path is the same code on RabbitMQ and on the embedded broker (no
broker-specific reject/x-death), so ``dlq list|show|redrive`` work the same on both.
A database outage is not the handler's fault: the consumer waits and retries without
spending the message's attempts.

Handlers translate at the edge: wire JSON -> typed event -> ONE service call::

    from contracts.events import OrderPlaced
    from eventbus.consumer import handlers
    from eventbus.inbox import Ordering

    @handlers.on(OrderPlaced, service="notifications", ordering=Ordering.NONE)
    def order_placed(event: OrderPlaced) -> None:
        notification_services.notification_send(user_id=event.user_id, ...)

Why kombu and not Celery tasks: see docs/events.md.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import random
import signal
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from types import FrameType
from typing import Any, TypeVar

from django.db import (
    DEFAULT_DB_ALIAS,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connections,
)
from kombu.connection import Connection
from kombu.mixins import ConsumerMixin
from kombu.transport.base import Message
from opentelemetry.trace import SpanKind

from contracts.events import Envelope, Event, EventError

from . import conf, metrics, tracing
from .broker import Outgoing, Publisher, connect, is_amqp
from .inbox.services import Item, Ordering, Outcome, handle_batch, handle_once, inbox_prune
from .retention import Pruner, keep
from .topology import Topology, topic_matches

log = logging.getLogger("eventbus.consumer")

E = TypeVar("E", bound=Event)
HandlerFn = Callable[[Any], object]


@dataclass(frozen=True, slots=True)
class Handler:
    service: str
    event_cls: type[Event]
    fn: HandlerFn
    ordering: Ordering


class Handlers:
    """The handler registry: service -> routing key -> handler."""

    def __init__(self) -> None:
        self._by_service: dict[str, dict[str, Handler]] = {}

    def register(
        self,
        event_cls: type[E],
        fn: Callable[[E], object],
        *,
        service: str,
        ordering: Ordering = Ordering.NEWER,
    ) -> None:
        if not event_cls.EVENT_NAME:
            raise TypeError(f"{event_cls.__name__} is not a concrete event (no EVENT_NAME)")
        routes = self._by_service.setdefault(service, {})
        known = routes.get(event_cls.EVENT_NAME)
        if known is not None and known.fn is not fn:
            raise ValueError(
                f"{service} already handles {event_cls.EVENT_NAME} with {known.fn.__qualname__}"
            )
        routes[event_cls.EVENT_NAME] = Handler(service, event_cls, fn, ordering)

    def on(
        self, event_cls: type[E], *, service: str, ordering: Ordering = Ordering.NEWER
    ) -> Callable[[Callable[[E], object]], Callable[[E], object]]:
        """Decorator form of :meth:`register`."""

        def decorate(fn: Callable[[E], object]) -> Callable[[E], object]:
            self.register(event_cls, fn, service=service, ordering=ordering)
            return fn

        return decorate

    def for_service(self, service: str) -> Mapping[str, Handler]:
        return dict(self._by_service.get(service, {}))

    def unregister(self, service: str) -> None:
        self._by_service.pop(service, None)


handlers = Handlers()


def load_handlers(service: str) -> None:
    """Import the modules named in ``EVENTBUS_HANDLERS[service]`` (they register handlers)."""
    for module in conf.handler_modules(service):
        importlib.import_module(module)


class EventConsumer(ConsumerMixin):
    """Consumes one service's queue (see the module doc)."""

    def __init__(
        self,
        *,
        service: str,
        url: str | None = None,
        topology: Topology | None = None,
        registry: Handlers | None = None,
        retries: int | None = None,
        retry_base: float | None = None,
        retry_max: float | None = None,
        prefetch: int | None = None,
        using: str = DEFAULT_DB_ALIAS,
    ) -> None:
        self.service = service
        self.url = url or conf.broker_url()
        self.topology = topology or Topology.from_settings()
        self.topology.patterns(service)  # fail early: no subscription
        self.routes = (registry or handlers).for_service(service)
        self.retries = max(1, retries if retries is not None else conf.retries())
        self.retry_base = retry_base if retry_base is not None else conf.retry_base()
        self.retry_max = retry_max if retry_max is not None else conf.retry_max()
        self.prefetch = prefetch or conf.prefetch()
        self.using = using
        self.connection: Connection = connect(self.url)
        self._amqp = is_amqp(self.connection)
        self.dead_letters = Publisher(self.url)
        self.tally: Tally[str] = Tally()
        self._depth_at = 0.0
        self._checked_at = 0.0
        self._buffer: list[Message] = []
        self.pruner = Pruner(
            f"inbox {service}",
            lambda before, limit: inbox_prune(
                consumer=service, processed_before=before, limit=limit
            ),
            keep("EVENTBUS_INBOX_KEEP_DAYS", 14),
            using=using,
        )

    # --- kombu wiring ---------------------------------------------------------------------

    def get_consumers(self, consumer_cls: Any, channel: Any) -> list[Any]:
        self.topology.declare(channel, [self.service])
        return [
            consumer_cls(
                queues=[self.topology.queue(self.service)],
                on_message=self._on_message,
                prefetch_count=self.prefetch,
                no_ack=False,
            )
        ]

    @contextlib.contextmanager
    def establish_connection(self) -> Iterator[Connection]:
        # kombu's default waits 2, 4, 6 ... 30 s between attempts; a broker restart should
        # cost seconds, not half a minute.
        with self.create_connection() as connection:
            connection.ensure_connection(
                self.on_connection_error,
                self.connect_max_retries,
                interval_start=0.2,
                interval_step=0.5,
                interval_max=3.0,
            )
            yield connection

    def on_connection_error(self, exc: BaseException, interval: float) -> None:
        log.warning(
            "%s: broker connection lost (%s); retrying in %.1fs", self.service, exc, interval
        )

    def on_iteration(self) -> None:
        self._report_depth()
        if time.monotonic() - self._checked_at > 10.0:
            self._db_checkup()
        self.pruner.maybe()

    def _db_checkup(self) -> None:
        """Drop a broken or too old database connection (Django's CONN_MAX_AGE), between
        transactions only (inside one, e.g. a test's, closing would break it). At most every
        10 s when all is well: with CONN_MAX_AGE=0 Django would reconnect every time."""
        self._checked_at = time.monotonic()
        if not connections[self.using].in_atomic_block:
            close_old_connections()

    def on_consume_ready(
        self, connection: Any, channel: Any, consumers: Any, **kwargs: Any
    ) -> None:
        log.info(
            "%s: consuming %s (prefetch %d, %d attempts)",
            self.service,
            self.topology.queue_name(self.service),
            self.prefetch,
            self.retries,
        )

    # --- messages -------------------------------------------------------------------------

    def consume(
        self,
        limit: int | None = None,
        timeout: float | None = None,
        safety_interval: float = 1,
        **kwargs: Any,
    ) -> Any:
        """ConsumerMixin's loop, plus batching: after a message arrives, take whatever else is
        already there (up to the prefetch), apply it all in one transaction, then ack."""
        with self.consumer_context(**kwargs) as (conn, _channel, _consumers):
            self._buffer = []
            while not self.should_stop:
                self.on_iteration()
                try:
                    conn.drain_events(timeout=safety_interval)
                except TimeoutError:
                    conn.heartbeat_check()
                    continue
                except OSError:
                    if self.should_stop:
                        break
                    raise
                self._take_ready(conn)
                self.flush()
                yield

    def _take_ready(self, connection: Connection) -> None:
        """Buffer the messages already delivered to us, without waiting for more."""
        while len(self._buffer) < self.prefetch:
            try:
                connection.drain_events(timeout=0)
            except TimeoutError:
                return

    def _on_message(self, message: Message) -> None:
        self._buffer.append(message)

    def flush(self) -> None:
        """Handle and ack the buffered messages: together in one transaction while they
        succeed; a batch that fails is redone one message at a time (with retries)."""
        batch, self._buffer = self._buffer, []
        if len(batch) > 1:
            try:
                outcomes = self._apply_batch(batch)
            except Exception as exc:
                log.debug("%s: batch of %d failed (%r); one by one", self.service, len(batch), exc)
                self._db_checkup()
            else:
                for message, outcome in zip(batch, outcomes, strict=True):
                    self._done(message, outcome, ack=not self._amqp)
                if self._amqp:
                    batch[-1].ack(multiple=True)  # one frame acknowledges the whole batch
                return
        for message in batch:
            self._done(message, self._process_one(message))

    def _done(self, message: Message, outcome: str, *, ack: bool = True) -> None:
        self.tally[outcome] += 1
        metrics.CONSUMER_MESSAGES.labels(self.service, outcome).inc()
        if ack:
            message.ack()

    def _process_one(self, message: Message) -> str:
        try:
            return self.process(message)
        except Exception as exc:
            if not self.should_stop:
                # Could not even dead-letter it (the broker went away?): it stays unacked and
                # is delivered again once the connection is back.
                log.warning("%s: message left for redelivery: %r", self.service, exc)
                self.dead_letters.close()
            raise

    def _apply_batch(self, batch: list[Message]) -> list[str]:
        """All of ``batch`` in one transaction, no retries: raises if any message fails."""
        items: list[Item] = []
        slots: list[int | None] = []
        for message in batch:
            envelope = Envelope.from_json(message.body)
            handler = self.routes.get(envelope.name)
            if handler is None:
                slots.append(None)
                continue
            event = envelope.event(handler.event_cls)
            slots.append(len(items))
            items.append(
                Item(
                    envelope,
                    partial(self._traced, message, envelope, handler.fn, event),
                    handler.ordering,
                )
            )
        done = handle_batch(consumer=self.service, items=items, using=self.using) if items else []
        now = datetime.now(UTC)
        lag = metrics.CONSUMER_LAG.labels(self.service)
        outcomes = []
        for slot in slots:
            if slot is None:
                outcomes.append("ignored")
                continue
            if done[slot] is Outcome.APPLIED:
                lag.observe(max((now - items[slot].envelope.occurred_at).total_seconds(), 0.0))
            outcomes.append(done[slot].value)
        return outcomes

    def _traced(self, message: Message, envelope: Envelope, fn: HandlerFn, event: Event) -> object:
        with self._span(message, envelope):
            return fn(event)

    def process(self, message: Message) -> str:
        """Handle (or dead-letter) one message, with retries; the caller acks it afterwards."""
        routing_key = str((message.delivery_info or {}).get("routing_key", ""))
        try:
            envelope = Envelope.from_json(message.body)
        except EventError as exc:
            self._dead_letter(message, routing_key, exc, attempts=0)
            return "dead_lettered"
        handler = self.routes.get(envelope.name)
        if handler is None:
            log.debug("%s: no handler for %s; acknowledged", self.service, envelope.name)
            return "ignored"
        with self._span(message, envelope):
            try:
                event = envelope.event(handler.event_cls)
            except EventError as exc:
                self._dead_letter(message, routing_key, exc, attempts=0)
                return "dead_lettered"
            return self._apply(message, routing_key, envelope, event, handler)

    def _span(self, message: Message, envelope: Envelope) -> Any:
        return tracing.span(
            f"{envelope.name} process",
            SpanKind.CONSUMER,
            message.headers,
            **{
                "messaging.consumer.group.name": self.service,
                "messaging.message.id": str(envelope.event_id),
            },
        )

    def _apply(
        self, message: Message, routing_key: str, envelope: Envelope, event: Event, handler: Handler
    ) -> str:
        attempt = 0
        outage = 0
        while True:
            try:
                outcome = handle_once(
                    consumer=self.service,
                    envelope=envelope,
                    effect=lambda: handler.fn(event),
                    ordering=handler.ordering,
                    using=self.using,
                )
            except (OperationalError, InterfaceError) as exc:
                # The database, not the handler: wait, without spending an attempt.
                outage += 1
                delay = self._backoff(min(outage, 6))
                log.warning("%s: database error (%s); retrying in %.2fs", self.service, exc, delay)
                if not connections[self.using].in_atomic_block:
                    connections[self.using].close()
                time.sleep(delay)
                if self.should_stop:
                    raise
                continue
            except Exception as exc:
                attempt += 1
                metrics.CONSUMER_ERRORS.labels(self.service, envelope.name).inc()
                self._db_checkup()
                if attempt >= self.retries:
                    log.error(
                        "%s: %s %s failed %d times, dead-lettered: %r",
                        self.service,
                        envelope.name,
                        envelope.event_id,
                        attempt,
                        exc,
                    )
                    self._dead_letter(message, routing_key, exc, attempts=attempt)
                    return "dead_lettered"
                delay = self._backoff(attempt)
                log.info(
                    "%s: %s %s attempt %d failed (%r); retrying in %.2fs",
                    self.service,
                    envelope.name,
                    envelope.event_id,
                    attempt,
                    exc,
                    delay,
                )
                time.sleep(delay)
                continue
            if outcome is Outcome.APPLIED:
                lag = (datetime.now(UTC) - envelope.occurred_at).total_seconds()
                metrics.CONSUMER_LAG.labels(self.service).observe(max(lag, 0.0))
            return outcome.value

    def _backoff(self, attempt: int) -> float:
        """Exponential, capped, with full jitter on the upper half (no thundering herd)."""
        ceiling = min(self.retry_max, self.retry_base * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _dead_letter(
        self, message: Message, routing_key: str, exc: BaseException, *, attempts: int
    ) -> None:
        headers = dict(message.headers or {})
        headers.update(
            {
                "x-kit-service": self.service,
                "x-kit-routing-key": routing_key,
                "x-kit-error-type": type(exc).__name__,
                "x-kit-error": str(exc)[:2000],
                "x-kit-attempts": attempts,
                "x-kit-failed-at": datetime.now(UTC).isoformat(),
            }
        )
        body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
        message_id = str((message.properties or {}).get("message_id") or "")
        self.dead_letters.publish(
            [Outgoing(body=body, routing_key=routing_key, message_id=message_id, headers=headers)],
            exchange=self.topology.dlx_name(self.service),
        )

    def _report_depth(self) -> None:
        now = time.monotonic()
        if now - self._depth_at < 10.0:
            return
        self._depth_at = now
        try:
            metrics.DLQ_DEPTH.labels(self.service).set(
                self.dead_letters.channel.queue_declare(
                    self.topology.dlq_name(self.service), passive=True
                ).message_count
            )
        except Exception:
            self.dead_letters.close()

    # --- running --------------------------------------------------------------------------

    def run_until_idle(self, *, idle_seconds: float = 1.0, max_seconds: float = 60.0) -> Tally[str]:
        """Consume until no message came for ``idle_seconds`` (tests, one-off catch-up)."""
        deadline = time.monotonic() + max_seconds
        with self.Consumer() as (connection, _channel, _consumers):
            self._buffer = []
            while time.monotonic() < deadline:
                try:
                    connection.drain_events(timeout=idle_seconds)
                except TimeoutError:
                    break
                self._take_ready(connection)
                self.flush()
        self.close()
        return self.tally

    def close(self) -> None:
        self.dead_letters.close()
        with contextlib.suppress(Exception):
            self.connection.release()

    def summary(self) -> str:
        parts = ", ".join(f"{k}={v}" for k, v in sorted(self.tally.items()))
        return f"consumer {self.service} handled: {parts or 'nothing'}"


def run_consumer(*, service: str, metrics_port: int | None = None, **options: Any) -> EventConsumer:
    """The consumer process for ``service``: stops cleanly on SIGTERM/SIGINT."""
    load_handlers(service)
    consumer = EventConsumer(service=service, **options)
    if not consumer.routes:
        raise SystemExit(
            f"no handlers are registered for {service!r}: list their modules in "
            f"EVENTBUS_HANDLERS[{service!r}]"
        )
    patterns = consumer.topology.patterns(service)
    for name in consumer.routes:
        if not any(topic_matches(pattern, name) for pattern in patterns):
            log.warning(
                "%s handles %s but EVENTBUS_SUBSCRIPTIONS[%r] = %s does not route it here",
                service,
                name,
                service,
                list(patterns),
            )
    if metrics_port:
        metrics.serve(metrics_port)

    def stop(signum: int, frame: FrameType | None) -> None:
        consumer.should_stop = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        consumer.run()
    finally:
        consumer.close()
        log.info(consumer.summary())
    return consumer
