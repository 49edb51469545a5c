# mypy: disable-error-code="no-untyped-call"
# (kombu and py-amqp have no type hints)
"""Where events go: one topic exchange, one durable queue per consuming service.

    kit.events (topic, durable) --<patterns>--> kit.<service>       (durable queue)
                                                    | the consumer gives up on a message
                                                    v
                                   kit.<service>.dlx (fanout) --> kit.<service>.dlq

Messages are persistent (delivery mode 2). The relay declares every configured queue before it
publishes, so a service that is down keeps receiving into its queue. The main queue also names
its DLX (``x-dead-letter-exchange``) so a message RabbitMQ itself rejects lands there too.
A prefix (tests: one per run) namespaces every name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kombu.entity import Exchange, Queue, binding

EXCHANGE = "kit.events"
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
PATTERN = re.compile(r"^([a-z0-9_]+|\*|#)(\.([a-z0-9_]+|\*|#))*$")


@dataclass(frozen=True)
class Topology:
    prefix: str = ""
    subscriptions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for service, patterns in self.subscriptions.items():
            if not SERVICE_NAME.match(service):
                raise ValueError(f"bad service name {service!r}: lower-case letters, digits, _-")
            for pattern in patterns:
                if not PATTERN.match(pattern):
                    raise ValueError(f"{service}: bad routing pattern {pattern!r}")

    @classmethod
    def from_settings(cls) -> Topology:
        from . import conf

        return cls(prefix=conf.prefix(), subscriptions=conf.subscriptions())

    @property
    def exchange_name(self) -> str:
        return f"{self.prefix}{EXCHANGE}"

    def queue_name(self, service: str) -> str:
        return f"{self.prefix}kit.{service}"

    def dlx_name(self, service: str) -> str:
        return f"{self.prefix}kit.{service}.dlx"

    def dlq_name(self, service: str) -> str:
        return f"{self.prefix}kit.{service}.dlq"

    def patterns(self, service: str) -> tuple[str, ...]:
        try:
            return self.subscriptions[service]
        except KeyError:
            known = ", ".join(sorted(self.subscriptions)) or "none"
            raise KeyError(
                f"no subscription for service {service!r} (configured: {known}); "
                "add it to EVENTBUS_SUBSCRIPTIONS"
            ) from None

    def exchange(self) -> Exchange:
        return Exchange(self.exchange_name, type="topic", durable=True, delivery_mode=2)

    def dlx(self, service: str) -> Exchange:
        return Exchange(self.dlx_name(service), type="fanout", durable=True, delivery_mode=2)

    def queue(self, service: str) -> Queue:
        exchange = self.exchange()
        return Queue(
            self.queue_name(service),
            bindings=[binding(exchange, routing_key=p) for p in self.patterns(service)],
            durable=True,
            auto_delete=False,
            queue_arguments={"x-dead-letter-exchange": self.dlx_name(service)},
        )

    def dlq(self, service: str) -> Queue:
        return Queue(
            self.dlq_name(service),
            exchange=self.dlx(service),
            routing_key="#",
            durable=True,
            auto_delete=False,
        )

    def declare(self, channel: Any, services: list[str] | None = None) -> None:
        """Declare the exchange, and each service's queue, bindings, DLX and DLQ."""
        self.exchange()(channel).declare()
        for service in self.subscriptions if services is None else services:
            self.dlx(service)(channel).declare()
            self.dlq(service)(channel).declare()
            self.queue(service)(channel).declare()

    def delete(self, channel: Any) -> None:
        """Remove everything this topology declared (tests clean up with it)."""
        for service in self.subscriptions:
            for queue in (self.queue(service), self.dlq(service)):
                queue(channel).delete()
            self.dlx(service)(channel).delete()
        self.exchange()(channel).delete()


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: ``*`` is exactly one word, ``#`` is zero or more words."""
    return _match(pattern.split("."), routing_key.split("."))


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    return bool(words) and head in ("*", words[0]) and _match(rest, words[1:])
