"""The fault test: 10 000 events through PostgreSQL and RabbitMQ while things break.

During the stream the test
- kills the relay with SIGKILL (its claimed batch is rolled back and published again),
- kills the ledger consumer with SIGKILL while it holds unacknowledged messages,
- restarts RabbitMQ (``rabbitmqctl stop_app`` / ``start_app``),
- injects duplicates and reordered deliveries: copies of stored events, some not yet
  published by the relay (so the copy overtakes the original), sent straight to both queues
  in shuffled order.

Then every event's effect must be applied exactly once (ledger: one row per event, no more),
the follower must hold exactly the source's state (mirror: apply-if-newer), counts and
checksums equal. It prints the figures; every wait is bounded, so it stops by itself.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import time
from collections import Counter
from typing import Any

import pytest

from eventbus.broker import Outgoing, Publisher

from .conftest import StackFactory
from .harness import IN_CI, Stack, need

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.rabbitmq]

EVENTS = 10_000
PRODUCERS = 4
ACCOUNTS_PER_PRODUCER = 50
RATE_PER_PRODUCER = 300  # events/s: the stream lasts ~8 s unless the machine is slower
DEADLINE = 420.0  # seconds for the whole test


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


def count(stack: Stack, sql: str) -> int:
    return int(stack.scalar(sql))


class Injector:
    """Sends copies of stored events (published or not yet) straight to the queues."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.sent = 0
        self.rng = random.Random(5)
        self.publisher = Publisher(stack.broker_url, confirm_timeout=5)

    def inject(self, n: int = 30) -> None:
        rows = self.stack.query(
            "SELECT event_id::text, body FROM eventbus_outbox ORDER BY random() LIMIT %s", [n]
        )
        self.rng.shuffle(rows)
        topology = self.stack.topology()
        messages = [
            Outgoing(
                body=body.encode(),
                routing_key=topology.queue_name(service),
                message_id=event_id,
                headers={"x-test": "injected"},
                exchange="",
            )
            for event_id, body in rows
            for service in ("ledger", "mirror")
        ]
        try:
            self.sent += self.publisher.publish(messages, exchange="")
        except Exception:
            self.publisher.close()


def tallies(stack: Stack) -> dict[str, Counter[str]]:
    found: dict[str, Counter[str]] = {}
    for proc in stack.procs:
        match = re.search(r"consumer (\w+) handled: (.*)", proc.log())
        if match:
            tally = found.setdefault(match[1], Counter())
            for part in match[2].split(", "):
                key, _, value = part.partition("=")
                if value.isdigit():
                    tally[key] += int(value)
    return found


def test_ten_thousand_events_survive_kills_a_broker_restart_and_duplicates(
    make_stack: StackFactory, exclusive_rabbitmq: None
) -> None:
    need("postgres", "rabbitmq")
    if shutil.which("rabbitmqctl") is None:
        if IN_CI:
            pytest.fail("CI=true and rabbitmqctl is not on PATH")
        pytest.skip("rabbitmqctl is not on PATH (the test restarts RabbitMQ)")
    started = time.monotonic()
    remaining = lambda: DEADLINE - (time.monotonic() - started)  # noqa: E731
    stack = make_stack("postgres", "rabbitmq", services=("ledger", "mirror"))
    timeline: list[str] = []

    def note(what: str) -> None:
        timeline.append(f"{time.monotonic() - started:6.1f}s  {what}")

    relay = stack.relay()
    ledger = stack.consumer("ledger")
    mirror = stack.consumer("mirror")
    stack.wait_for(
        "consumers ready", lambda: "consuming" in ledger.log() and "consuming" in mirror.log(), 60
    )
    producers = [
        stack.producer(
            EVENTS // PRODUCERS,
            f"{1 + i * ACCOUNTS_PER_PRODUCER}:{(i + 1) * ACCOUNTS_PER_PRODUCER}",
            "--rate",
            str(RATE_PER_PRODUCER),
            "--seed",
            str(i),
        )
        for i in range(PRODUCERS)
    ]
    note(
        f"{PRODUCERS} producers started ({EVENTS} events, {PRODUCERS * ACCOUNTS_PER_PRODUCER} accounts)"
    )
    injector = Injector(stack)
    outbox = lambda: count(stack, "SELECT count(*) FROM eventbus_outbox")  # noqa: E731
    applied = lambda: count(stack, "SELECT count(*) FROM eventbus_testapp_ledgerentry")  # noqa: E731
    faults = {"relay": False, "consumer": False, "broker": False}
    try:
        while any(p.alive() for p in producers) and remaining() > 120:
            injector.inject()
            written = outbox()
            if not faults["relay"] and written >= 1500:
                relay.kill9()
                note(f"kill -9 relay at {written} events written")
                time.sleep(1.0)
                relay = stack.relay()
                note("relay restarted")
                faults["relay"] = True
            if not faults["consumer"] and applied() >= 3000:
                ledger.kill9()
                note(f"kill -9 ledger consumer at {applied()} applied")
                time.sleep(0.5)
                ledger = stack.consumer("ledger")
                note("ledger consumer restarted")
                faults["consumer"] = True
            if not faults["broker"] and written >= 5000:
                note(f"rabbitmqctl stop_app at {written} events written")
                rabbitmqctl("stop_app")
                try:
                    time.sleep(3.0)
                finally:
                    rabbitmqctl("start_app")
                note("rabbitmqctl start_app")
                faults["broker"] = True
            time.sleep(0.3)
        for producer in producers:
            producer.process.wait(max(remaining() - 110, 1))
        note("producers done")
        for _ in range(5):
            injector.inject()  # late duplicates of already-applied events
    finally:
        injector.publisher.close()
    assert all(faults.values()), f"not every fault was injected: {faults}\n" + "\n".join(timeline)
    produced = [json.loads(p.log().strip().splitlines()[-1]) for p in producers]
    assert sum(p["events"] for p in produced) == EVENTS

    topology = stack.topology()
    stack.wait_for(
        "every event published and handled by both consumers",
        lambda: (
            count(stack, "SELECT count(*) FROM eventbus_outbox WHERE published_at IS NULL") == 0
            and count(stack, "SELECT count(*) FROM eventbus_inbox WHERE consumer = 'ledger'")
            == EVENTS
            and count(stack, "SELECT count(*) FROM eventbus_inbox WHERE consumer = 'mirror'")
            == EVENTS
            and stack.queue_depth(topology.queue_name("ledger")) == 0
            and stack.queue_depth(topology.queue_name("mirror")) == 0
        ),
        timeout=max(remaining() - 20, 10),
        every=0.5,
    )
    note("drained")
    time.sleep(2.0)  # anything still in flight would land now
    for proc in stack.procs:
        if proc.name.startswith("consume") and proc.alive():
            proc.stop()

    figures: dict[str, Any] = {
        "events": EVENTS,
        "amount": sum(p["amount"] for p in produced),
        "ledger_rows": count(stack, "SELECT count(*) FROM eventbus_testapp_ledgerentry"),
        "ledger_distinct_events": count(
            stack, "SELECT count(DISTINCT event_id) FROM eventbus_testapp_ledgerentry"
        ),
        "ledger_amount": count(stack, "SELECT sum(amount) FROM eventbus_testapp_ledgerentry"),
        "source_balance": count(stack, "SELECT sum(balance) FROM eventbus_testapp_account"),
        "source_versions": count(stack, "SELECT sum(version) FROM eventbus_testapp_account"),
        "mirror_mismatches": count(
            stack,
            "SELECT count(*) FROM eventbus_testapp_account a LEFT JOIN eventbus_testapp_mirror m "
            "ON m.account_id = a.id WHERE m.version IS DISTINCT FROM a.version "
            "OR m.balance IS DISTINCT FROM a.balance",
        ),
        "ledger_per_account_mismatches": count(
            stack,
            "SELECT count(*) FROM eventbus_testapp_account a WHERE a.version <> "
            "(SELECT count(*) FROM eventbus_testapp_ledgerentry l WHERE l.account_id = a.id)",
        ),
        "mirror_inbox": dict(
            stack.query(
                "SELECT outcome, count(*) FROM eventbus_inbox WHERE consumer = 'mirror' GROUP BY 1"
            )
        ),
        "injected_copies": injector.sent,
        "dead_letters": stack.queue_depth(topology.dlq_name("ledger"))
        + stack.queue_depth(topology.dlq_name("mirror")),
        "consumer_tallies_of_clean_exits": {k: dict(v) for k, v in tallies(stack).items()},
        "seconds": round(time.monotonic() - started, 1),
    }
    checksum = "SELECT md5(string_agg({col}, ',' ORDER BY {col})) FROM {table}"
    figures["checksum_events"] = stack.scalar(
        checksum.format(col="event_id::text", table="eventbus_outbox")
    ) == stack.scalar(checksum.format(col="event_id::text", table="eventbus_testapp_ledgerentry"))
    figures["checksum_state"] = stack.scalar(
        checksum.format(
            col="id || ':' || version || ':' || balance", table="eventbus_testapp_account"
        )
    ) == stack.scalar(
        checksum.format(
            col="account_id || ':' || version || ':' || balance", table="eventbus_testapp_mirror"
        )
    )
    print("\nfault test timeline:\n" + "\n".join(timeline))
    print("fault test figures:\n" + json.dumps(figures, indent=2))

    assert figures["ledger_rows"] == EVENTS
    assert figures["ledger_distinct_events"] == EVENTS
    assert figures["ledger_amount"] == figures["amount"] == figures["source_balance"]
    assert figures["source_versions"] == EVENTS
    assert figures["ledger_per_account_mismatches"] == 0
    assert figures["mirror_mismatches"] == 0
    assert sum(figures["mirror_inbox"].values()) == EVENTS
    assert figures["checksum_events"] is True
    assert figures["checksum_state"] is True
    assert figures["dead_letters"] == 0
    assert figures["injected_copies"] > 0
