"""Several relays on one PostgreSQL outbox: the rows are shared out, per-aggregate order holds."""

from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest
from kombu import Consumer

from eventbus.broker import connect

from .conftest import StackFactory
from .harness import need

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.mark.parametrize(
    "broker", ["filesystem", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)]
)
def test_three_relays_share_the_outbox_and_keep_each_aggregates_order(
    broker: str, make_stack: StackFactory
) -> None:
    need("postgres", *(["rabbitmq"] if broker == "rabbitmq" else []))
    stack = make_stack("postgres", broker, services=("strict",))
    events, accounts = 3000, 300  # more aggregates than a batch: relays can work side by side
    # The relays start first and the rows arrive while all three listen: started after the
    # writes, the first relay up can publish the whole outbox before the others connect.
    relays = [stack.relay("--batch", "40") for _ in range(3)]
    stack.wait_for(
        "three relays listening",
        lambda: all("relay started" in relay.log() for relay in relays),
        timeout=60,
    )
    stack.produce(events, f"1:{accounts}", "--threads", "4")
    stack.wait_for(
        "the outbox published",
        lambda: (
            stack.scalar("SELECT count(*) FROM eventbus_outbox WHERE published_at IS NULL") == 0
        ),
        timeout=120,
    )
    shares = []
    for relay in relays:
        relay.stop()
        found = re.search(r"relay stopped after (\d+) messages", relay.log())
        assert found, relay.log()
        shares.append(int(found[1]))
    assert sum(shares) >= events  # more only if a batch was sent twice
    assert sum(1 for share in shares if share > 0) >= 2, (
        f"the relays did not share the work: {shares}"
    )

    seen: dict[str, list[int]] = defaultdict(list)
    conn = connect(stack.broker_url)
    conn.connect()

    def on_message(message: object) -> None:
        body = json.loads(message.body)  # type: ignore[attr-defined]
        seen[body["aggregate_id"]].append(body["aggregate_version"])
        message.ack()  # type: ignore[attr-defined]

    with Consumer(
        conn.channel(),
        queues=[stack.topology().queue("strict")],
        on_message=on_message,
        prefetch_count=100,
    ):
        while sum(len(v) for v in seen.values()) < sum(shares):
            try:
                conn.drain_events(timeout=5)
            except TimeoutError:
                break
    conn.release()
    assert len(seen) == accounts
    for account, versions in seen.items():
        first_seen = list(dict.fromkeys(versions))  # a batch sent twice repeats, never reorders
        assert first_seen == list(range(1, len(first_seen) + 1)), (
            f"account {account}: {versions[:50]}"
        )
        assert sorted(set(versions)) == list(range(1, events // accounts + 1))
    print(f"\nrelay shares: {shares}")
