# mypy: disable-error-code="no-untyped-call"
# (kombu and py-amqp have no type hints)
"""Operations: outbox status, dead letters (list / show / redrive), replay. The CLI calls these.

Reading a dead-letter queue takes its messages without acknowledging them and closes the
channel, which puts them back in order; redrive acknowledges only what it re-sent. So a
listing never loses or reorders a dead letter, on RabbitMQ or on the embedded broker.
Redrive and replay send straight to the service's queue (the default exchange, routing key =
queue name), so other services do not see the message again; the inbox drops whatever the
service had already applied.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.events import Envelope, EventError

from . import conf
from .broker import Outgoing, Publisher
from .outbox.selectors import OutboxStatus, outbox_events, outbox_status
from .topology import Topology, topic_matches

__all__ = [
    "DeadLetterView",
    "OutboxStatus",
    "dlq_depth",
    "dlq_list",
    "dlq_redrive",
    "dlq_show",
    "outbox_status",
    "replay",
    "topic_matches",
]

ERROR_HEADERS = (
    "x-kit-service",
    "x-kit-routing-key",
    "x-kit-error-type",
    "x-kit-error",
    "x-kit-attempts",
    "x-kit-failed-at",
)


@dataclass(frozen=True, slots=True)
class DeadLetterView:
    event_id: str
    name: str
    aggregate: str
    error_type: str
    error: str
    attempts: int
    failed_at: str
    redriven: int
    body: str
    headers: dict[str, Any]


def _view(message: Any) -> DeadLetterView:
    headers = dict(message.headers or {})
    body = message.body.decode() if isinstance(message.body, bytes) else str(message.body)
    try:
        envelope = Envelope.from_json(body)
        event_id, name = str(envelope.event_id), envelope.name
        aggregate = (
            f"{envelope.aggregate_type}:{envelope.aggregate_id}@{envelope.aggregate_version}"
        )
    except EventError:
        event_id = str((message.properties or {}).get("message_id") or "?")
        name, aggregate = str(headers.get("x-kit-routing-key", "?")), "?"
    return DeadLetterView(
        event_id=event_id,
        name=name,
        aggregate=aggregate,
        error_type=str(headers.get("x-kit-error-type", "")),
        error=str(headers.get("x-kit-error", "")),
        attempts=int(headers.get("x-kit-attempts", 0) or 0),
        failed_at=str(headers.get("x-kit-failed-at", "")),
        redriven=int(headers.get("x-kit-redriven", 0) or 0),
        body=body,
        headers=headers,
    )


@contextmanager
def _browse(
    service: str, topology: Topology, url: str, limit: int
) -> Iterator[tuple[Publisher, list[Any]]]:
    """Take up to ``limit`` dead letters unacknowledged; closing puts back all not acked."""
    publisher = Publisher(url)
    channel = publisher.channel
    topology.declare(channel, [service])
    reader = publisher.connection.channel()  # type: ignore[union-attr]
    dlq = topology.dlq(service)(reader)
    messages = []
    try:
        for _ in range(limit):
            message = dlq.get(no_ack=False)
            if message is None:
                break
            messages.append(message)
        yield publisher, messages
    finally:
        try:
            reader.close()
        finally:
            publisher.close()


def _setup(topology: Topology | None, url: str | None) -> tuple[Topology, str]:
    return topology or Topology.from_settings(), url or conf.broker_url()


def dlq_list(
    *, service: str, limit: int = 100, topology: Topology | None = None, url: str | None = None
) -> list[DeadLetterView]:
    topology, url = _setup(topology, url)
    with _browse(service, topology, url, limit) as (_, messages):
        return [_view(m) for m in messages]


def dlq_show(
    *,
    service: str,
    event_id: str,
    limit: int = 10000,
    topology: Topology | None = None,
    url: str | None = None,
) -> DeadLetterView | None:
    for view in dlq_list(service=service, limit=limit, topology=topology, url=url):
        if view.event_id == event_id:
            return view
    return None


def dlq_depth(*, service: str, topology: Topology | None = None, url: str | None = None) -> int:
    topology, url = _setup(topology, url)
    with Publisher(url) as publisher:
        topology.declare(publisher.channel, [service])
        return int(
            publisher.channel.queue_declare(topology.dlq_name(service), passive=True).message_count
        )


def dlq_redrive(
    *,
    service: str,
    event_ids: Collection[str] | None = None,
    limit: int = 10000,
    topology: Topology | None = None,
    url: str | None = None,
) -> list[str]:
    """Send dead letters (all, or those with ``event_ids``) back to the service's queue.

    Returns the event ids re-sent. Each is acknowledged in the DLQ only after the broker
    confirmed the re-send; the rest stay where they were.
    """
    topology, url = _setup(topology, url)
    wanted = None if event_ids is None else set(event_ids)
    sent: list[str] = []
    with _browse(service, topology, url, limit) as (publisher, messages):
        chosen = [(m, _view(m)) for m in messages]
        chosen = [(m, v) for m, v in chosen if wanted is None or v.event_id in wanted]
        if not chosen:
            return []
        outgoing = []
        for _, view in chosen:
            headers = {k: v for k, v in view.headers.items() if k not in ERROR_HEADERS}
            headers["x-kit-redriven"] = view.redriven + 1
            outgoing.append(
                Outgoing(
                    body=view.body.encode(),
                    routing_key=topology.queue_name(service),
                    message_id=view.event_id,
                    headers=headers,
                    exchange="",
                )
            )
        publisher.publish(outgoing, exchange="")
        for message, view in chosen:
            message.ack()
            sent.append(view.event_id)
    return sent


def replay(
    *,
    service: str,
    since: datetime,
    until: datetime | None = None,
    topology: Topology | None = None,
    url: str | None = None,
    using: str | None = None,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Re-send to one service the stored events it subscribes to, from ``since`` on.

    For a follower that lost data or joined late (after a backfill taken at ``since``). The
    inbox skips what it has already applied, so replaying too much is harmless.
    """
    topology, url = _setup(topology, url)
    patterns = topology.patterns(service)
    sent = 0
    with Publisher(url) as publisher:
        topology.declare(publisher.channel, [service])
        pending: list[Outgoing] = []
        for stored in outbox_events(since=since, until=until, using=using):
            if not any(topic_matches(p, stored.name) for p in patterns):
                continue
            pending.append(
                Outgoing(
                    body=stored.body.encode(),
                    routing_key=topology.queue_name(service),
                    message_id=stored.event_id,
                    headers={**stored.headers, "x-kit-replay": True},
                    exchange="",
                )
            )
            if len(pending) >= batch:
                sent += publisher.publish(pending, exchange="")
                pending = []
                if progress:
                    progress(sent)
        if pending:
            sent += publisher.publish(pending, exchange="")
            if progress:
                progress(sent)
    return sent
