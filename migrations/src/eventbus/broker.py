# mypy: disable-error-code="no-untyped-call"
# (kombu and py-amqp have no type hints)
"""Broker connections and the confirmed publisher shared by the relay, the consumer and ops.

``connect(url)`` gives a kombu connection for ``amqp://`` (RabbitMQ through py-amqp) or
``filesystem:///folder`` (the kit's embedded broker, :mod:`eventbus.fstransport`).

:class:`Publisher` sends persistent JSON messages and returns only when the broker has taken
responsibility for every one of them. On RabbitMQ it puts its channel in confirm mode, writes
the whole batch, then waits for the acks (which may each cover many messages: ``multiple``),
so a batch costs one round trip instead of one per message. A nack, a timeout or a lost
connection raises :class:`PublishFailed`; the caller keeps its rows and tries again later
(duplicates are possible, loss is not). On the embedded broker a publish is a file rename:
it is done when the call returns.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import amqp  # type: ignore[import-untyped]
from kombu.connection import Connection

from . import fstransport

CONTENT_TYPE = "application/json"


class PublishFailed(RuntimeError):
    """The broker did not confirm every message of a batch. Retry the batch."""


def connect(url: str, **options: Any) -> Connection:
    """A kombu connection for ``amqp://...`` or ``filesystem:///absolute/folder``."""
    scheme = urlsplit(url).scheme
    if scheme == "filesystem":
        root = unquote(urlsplit(url).path)
        if not root or root == "/":
            raise ValueError(f"{url}: give the broker folder, e.g. filesystem:///var/kit/broker")
        Path(root).mkdir(parents=True, exist_ok=True)
        transport_options = {"root": root, **options.pop("transport_options", {})}
        return Connection(
            transport=fstransport.Transport, transport_options=transport_options, **options
        )
    if scheme in ("amqp", "pyamqp"):
        options.setdefault("connect_timeout", 5)
        return Connection(url, **options)
    raise ValueError(f"unsupported broker URL {url!r}: use amqp://... or filesystem:///folder")


def is_amqp(connection: Connection) -> bool:
    return bool(connection.transport.driver_type == "amqp")


def connection_errors(connection: Connection) -> tuple[type[BaseException], ...]:
    """Everything that means "the broker is gone": reconnect and retry."""
    return (
        *connection.connection_errors,
        *connection.channel_errors,
        OSError,
        socket.timeout,
        amqp.exceptions.AMQPError,
        PublishFailed,
    )


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to publish: the JSON body, where it goes, and its headers."""

    body: bytes
    routing_key: str
    message_id: str
    headers: Mapping[str, Any] = field(default_factory=dict)
    exchange: str | None = None  # None: the publisher's default exchange


class Publisher:
    """Publishes batches of persistent messages with publisher confirms (see module doc)."""

    def __init__(self, url: str, *, confirm_timeout: float = 15.0) -> None:
        self.url = url
        self.confirm_timeout = confirm_timeout
        self.connection: Connection | None = None
        self._channel: Any = None
        self._amqp = False
        self._published = 0  # delivery tags on a confirm channel count from 1
        self._unconfirmed: set[int] = set()
        self._confirmed_upto = 0
        self._nacked = False

    # --- connection -----------------------------------------------------------------------

    def connect(self) -> Connection:
        if self.connection is None:
            self.connection = connect(self.url)
            self.connection.connect()
            self._channel = self.connection.channel()
            self._amqp = is_amqp(self.connection)
            if self._amqp:
                self._channel.confirm_select()
                self._channel.events["basic_ack"].add(self._on_ack)
                self._channel.events["basic_nack"].add(self._on_nack)
            self._published = 0
            self._confirmed_upto = 0
            self._unconfirmed = set()
            self._nacked = False
        return self.connection

    @property
    def channel(self) -> Any:
        self.connect()
        return self._channel

    def close(self) -> None:
        connection, self.connection, self._channel = self.connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):  # it is going away either way
                connection.release()

    def __enter__(self) -> Publisher:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- confirms -------------------------------------------------------------------------

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        if multiple:
            self._confirmed_upto = max(self._confirmed_upto, delivery_tag)
            self._unconfirmed = {t for t in self._unconfirmed if t > delivery_tag}
        else:
            self._unconfirmed.discard(delivery_tag)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._nacked = True
        self._on_ack(delivery_tag, multiple)

    # --- publishing -----------------------------------------------------------------------

    def publish(self, messages: Sequence[Outgoing] | Iterable[Outgoing], exchange: str) -> int:
        """Publish every message and wait until the broker confirmed all. Returns the count.

        Raises :class:`PublishFailed` (or a connection error) when it cannot: the caller
        must then treat the whole batch as not sent, and reconnect with :meth:`close`.
        """
        channel = self.channel
        count = 0
        for message in messages:
            body = channel.prepare_message(
                message.body,
                content_type=CONTENT_TYPE,
                content_encoding="utf-8",
                headers=dict(message.headers),
                properties={"delivery_mode": 2, "message_id": message.message_id},
            )
            if self._amqp:
                # Registered before the write: py-amqp reads pending frames (acks of this very
                # batch) inside basic_publish, to notice connection.blocked.
                self._published += 1
                self._unconfirmed.add(self._published)
            channel.basic_publish(
                body,
                exchange=exchange if message.exchange is None else message.exchange,
                routing_key=message.routing_key,
            )
            count += 1
        if self._amqp and count:
            self._wait_confirms()
        return count

    def _wait_confirms(self) -> None:
        assert self.connection is not None
        deadline = time.monotonic() + self.confirm_timeout
        while self._unconfirmed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise PublishFailed(
                    f"{len(self._unconfirmed)} messages not confirmed within "
                    f"{self.confirm_timeout:.0f}s"
                )
            try:
                self.connection.drain_events(timeout=min(remaining, 1.0))
            except TimeoutError:
                continue
        if self._nacked:
            self._nacked = False
            raise PublishFailed("the broker refused (nacked) messages of the batch")
