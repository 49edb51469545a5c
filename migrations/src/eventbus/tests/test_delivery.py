"""The whole path with real processes: producer -> outbox -> relay -> broker -> consumer.

Each test runs on the embedded default (SQLite + the filesystem broker) and on the real
stack (PostgreSQL + RabbitMQ).
"""

from __future__ import annotations

import json
import time

import pytest

from .conftest import StackFactory

pytestmark = pytest.mark.slow

LEDGER = "SELECT count(*), count(DISTINCT event_id), coalesce(sum(amount), 0) FROM eventbus_testapp_ledgerentry WHERE consumer = ?"


def ledger(stack: object, consumer: str) -> tuple[int, int, int]:
    count, distinct, total = stack.query(LEDGER, [consumer])[0]  # type: ignore[attr-defined]
    return int(count), int(distinct), int(total)


def test_rollback_publishes_nothing_and_a_commit_is_delivered_after_the_relay_was_down(
    stack_kind: tuple[str, str], make_stack: StackFactory
) -> None:
    stack = make_stack(*stack_kind, services=("ledger",))
    consumer = stack.consumer("ledger")
    rolled_back = stack.produce(25, "1:5", "--rollback")
    committed = stack.produce(40, "1:5", "--seed", "7")
    # The relay is down: the events wait in the outbox, none reached the broker.
    assert stack.scalar("SELECT count(*) FROM eventbus_outbox WHERE published_at IS NULL") == 40
    assert stack.scalar("SELECT count(*) FROM eventbus_outbox") == 40
    assert rolled_back["amount"] == 0
    assert stack.queue_depth(stack.topology().queue_name("ledger")) == 0
    assert ledger(stack, "ledger") == (0, 0, 0)

    stack.relay()
    stack.wait_for("40 credits applied", lambda: ledger(stack, "ledger")[0] >= 40, timeout=60)
    assert ledger(stack, "ledger") == (40, 40, committed["amount"])
    assert stack.scalar("SELECT count(*) FROM eventbus_outbox WHERE published_at IS NULL") == 0
    assert consumer.alive()


def test_a_poison_message_is_dead_lettered_listed_and_redriven_once_fixed(
    stack_kind: tuple[str, str], make_stack: StackFactory
) -> None:
    stack = make_stack(*stack_kind, services=("picky",), EVENTBUS_TEST_RETRIES="3")
    stack.relay()
    broken = stack.consumer("picky")
    produced = stack.produce(30, "1:3", "--poison", "1", "--seed", "3")
    dlq = stack.topology().dlq_name("picky")
    stack.wait_for(
        "29 applied, 1 dead-lettered",
        lambda: ledger(stack, "picky")[0] == 29 and stack.queue_depth(dlq) == 1,
        timeout=60,
    )

    listed = json.loads(stack.cli("dlq", "list", "--service", "picky", "--json"))
    assert len(listed) == 1
    letter = listed[0]
    assert (letter["name"], letter["error_type"], letter["attempts"], letter["redriven"]) == (
        "bank.account.credited",
        "Poison",
        3,
        0,
    )
    assert letter["error"].startswith("13 is unlucky")
    shown = json.loads(stack.cli("dlq", "show", "--service", "picky", letter["event_id"]))
    assert shown["body"]["payload"]["amount"] == 13
    assert shown["headers"]["x-kit-service"] == "picky"
    assert stack.queue_depth(dlq) == 1  # listing and showing take nothing away

    # Redriven while still broken: it fails its attempts again and comes back, counted.
    assert letter["event_id"] in stack.cli(
        "dlq", "redrive", "--service", "picky", letter["event_id"]
    )
    stack.wait_for(
        "back in the DLQ",
        lambda: (
            stack.queue_depth(dlq) == 1
            and "Poison" in stack.cli("dlq", "list", "--service", "picky")
        ),
        timeout=60,
    )
    assert json.loads(stack.cli("dlq", "list", "--service", "picky", "--json"))[0]["redriven"] == 1

    broken.stop()
    stack.consumer("picky", EVENTBUS_TEST_FIXED="1")  # the fix is deployed
    assert "redriven 1 dead letter(s)" in stack.cli("dlq", "redrive", "--service", "picky", "--all")
    stack.wait_for(
        "the poison message applied", lambda: ledger(stack, "picky")[0] == 30, timeout=60
    )
    assert ledger(stack, "picky") == (30, 30, produced["amount"])
    assert stack.queue_depth(dlq) == 0
    assert "redriven 0" in stack.cli("dlq", "redrive", "--service", "picky", "--all")

    # Replaying everything again changes nothing: the inbox knows every event.
    assert "replayed 30 event(s) to picky" in stack.cli(
        "replay", "--service", "picky", "--since", "1h"
    )
    stack.wait_for(
        "replay consumed",
        lambda: stack.queue_depth(stack.topology().queue_name("picky")) == 0,
        timeout=60,
    )
    assert ledger(stack, "picky") == (30, 30, produced["amount"])
    status = json.loads(stack.cli("outbox", "--json"))
    assert (status["unpublished"], status["published"]) == (0, 30)


@pytest.mark.postgres
@pytest.mark.rabbitmq
def test_on_postgresql_a_commit_wakes_the_relay_at_once(make_stack: StackFactory) -> None:
    from .harness import need

    need("postgres", "rabbitmq")
    # Polling every 60 s: only the NOTIFY sent by the commit can explain a quick delivery.
    stack = make_stack(
        "postgres", "rabbitmq", services=("ledger",), EVENTBUS_TEST_POLL_SECONDS="60"
    )
    relay = stack.relay()
    consumer = stack.consumer("ledger")
    stack.wait_for(
        "ready", lambda: "relay started" in relay.log() and "consuming" in consumer.log(), 60
    )
    time.sleep(1.0)  # the relay is asleep on LISTEN now
    stack.produce(1, "1:1")
    took = stack.wait_for(
        "the event applied", lambda: ledger(stack, "ledger")[0] == 1, timeout=20, every=0.05
    )
    assert took < 5.0
