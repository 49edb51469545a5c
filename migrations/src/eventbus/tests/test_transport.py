"""Topology, routing, the confirmed publisher, and the embedded broker's delivery guarantees."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Consumer

from eventbus.broker import Outgoing, Publisher, connect
from eventbus.ops import topic_matches
from eventbus.topology import Topology

from .harness import RABBITMQ_URL, need


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("orders.order.*", "orders.order.placed", True),
        ("orders.order.*", "orders.order", False),
        ("orders.#", "orders.order.placed", True),
        ("orders.#", "orders", True),
        ("#", "users.user.updated", True),
        ("*.order.paid", "orders.order.paid", True),
        ("catalog.variant.price_changed", "catalog.variant.price_changed", True),
        ("catalog.*.price_changed", "catalog.inventory.stock_changed", False),
        ("#.paid", "orders.order.paid", True),
    ],
)
def test_topic_matching(pattern: str, key: str, matches: bool) -> None:
    assert topic_matches(pattern, key) is matches


def test_topology_names_and_validation() -> None:
    topology = Topology(prefix="t1.", subscriptions={"notifications": ("orders.order.*",)})
    assert topology.exchange_name == "t1.kit.events"
    assert topology.queue_name("notifications") == "t1.kit.notifications"
    assert topology.dlx_name("notifications") == "t1.kit.notifications.dlx"
    assert topology.dlq_name("notifications") == "t1.kit.notifications.dlq"
    queue = topology.queue("notifications")
    assert queue.durable
    assert not queue.auto_delete
    assert queue.queue_arguments == {"x-dead-letter-exchange": "t1.kit.notifications.dlx"}
    assert [b.routing_key for b in queue.bindings] == ["orders.order.*"]
    assert topology.exchange().type == "topic"
    assert topology.exchange().durable
    with pytest.raises(KeyError, match="no subscription for service 'cart'"):
        topology.patterns("cart")
    with pytest.raises(ValueError, match="bad routing pattern"):
        Topology(subscriptions={"cart": ("Orders..x",)})
    with pytest.raises(ValueError, match="bad service name"):
        Topology(subscriptions={"Cart Service": ("#",)})


def test_broker_urls() -> None:
    with pytest.raises(ValueError, match="give the broker folder"):
        connect("filesystem://")
    with pytest.raises(ValueError, match="unsupported broker URL"):
        connect("redis://localhost")


# --- both brokers ---------------------------------------------------------------------------


@pytest.fixture(params=["filesystem", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Topology]]:
    if request.param == "rabbitmq":
        need("rabbitmq")
        url = RABBITMQ_URL
    else:
        url = f"filesystem://{tmp_path / 'broker'}"
    topology = Topology(
        prefix=f"t{uuid.uuid4().hex[:8]}.",
        subscriptions={"orders": ("orders.#",), "everything": ("#",)},
    )
    with Publisher(url) as publisher:
        topology.declare(publisher.channel)
    yield url, topology
    with Publisher(url) as publisher:
        topology.delete(publisher.channel)


def drain(url: str, queue: object, limit: int = 100000, ack: bool = True) -> list[bytes]:
    got: list[bytes] = []
    conn = connect(url)
    conn.connect()
    channel = conn.channel()

    def on_message(message: object) -> None:
        body = message.body  # type: ignore[attr-defined]
        got.append(body.encode() if isinstance(body, str) else body)
        if ack:
            message.ack()  # type: ignore[attr-defined]

    with Consumer(channel, queues=[queue], on_message=on_message, prefetch_count=50):
        while len(got) < limit:
            try:
                conn.drain_events(timeout=1.0)
            except TimeoutError:
                break
    conn.release()
    return got


def outgoing(n: int, key: str = "orders.order.placed") -> list[Outgoing]:
    return [Outgoing(body=b'{"n":%d}' % i, routing_key=key, message_id=str(i)) for i in range(n)]


def test_confirmed_batches_are_routed_by_topic_in_order(broker: tuple[str, Topology]) -> None:
    url, topology = broker
    with Publisher(url) as publisher:
        assert publisher.publish(outgoing(300), exchange=topology.exchange_name) == 300
        for _ in range(50):  # many tiny batches: each must be confirmed, none may hang
            publisher.publish(outgoing(1, "users.user.updated"), exchange=topology.exchange_name)
    assert drain(url, topology.queue("orders")) == [b'{"n":%d}' % i for i in range(300)]
    assert len(drain(url, topology.queue("everything"))) == 350


def test_an_unacknowledged_message_comes_back_after_a_clean_close(
    broker: tuple[str, Topology],
) -> None:
    url, topology = broker
    with Publisher(url) as publisher:
        publisher.publish(outgoing(5), exchange=topology.exchange_name)
    assert len(drain(url, topology.queue("orders"), limit=3, ack=False)) >= 3
    assert drain(url, topology.queue("orders")) == [b'{"n":%d}' % i for i in range(5)]


KILLED_CONSUMER = """
import sys, time
from kombu import Consumer
from eventbus.broker import connect
from eventbus.topology import Topology
topology = Topology(prefix=sys.argv[2], subscriptions={"orders": ("orders.#",), "everything": ("#",)})
conn = connect(sys.argv[1]); conn.connect()
held = []
def on_message(message):
    held.append(message)   # never acknowledged
with Consumer(conn.channel(), queues=[topology.queue("orders")], on_message=on_message, prefetch_count=3):
    while len(held) < 3:
        conn.drain_events(timeout=10)
print("holding", len(held), flush=True)
time.sleep(60)
"""


def test_messages_held_by_a_killed_consumer_are_delivered_again(
    broker: tuple[str, Topology],
) -> None:
    url, topology = broker
    with Publisher(url) as publisher:
        publisher.publish(outgoing(10), exchange=topology.exchange_name)
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_CONSUMER, url, topology.prefix],
        stdout=subprocess.PIPE,
        text=True,
    ) as victim:
        try:
            assert victim.stdout is not None
            assert victim.stdout.readline().strip() == "holding 3"
        finally:
            victim.kill()  # SIGKILL: no clean close, no chance to put anything back
            victim.wait(10)
    time.sleep(0.2)
    assert sorted(drain(url, topology.queue("orders"))) == sorted(
        b'{"n":%d}' % i for i in range(10)
    )


def test_competing_consumers_never_share_a_message(broker: tuple[str, Topology]) -> None:
    url, topology = broker
    with Publisher(url) as publisher:
        publisher.publish(outgoing(400), exchange=topology.exchange_name)
    results: list[list[bytes]] = [[], []]

    def run(i: int) -> None:
        results[i] = drain(url, topology.queue("orders"))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results[0] + results[1]) == sorted(b'{"n":%d}' % i for i in range(400))
