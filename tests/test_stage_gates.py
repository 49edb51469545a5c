"""A failed gate stops `stage apply` before the flip, names the gate and says why, and leaves
the monolith the writer with its routes back in monolith mode (embedded default)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from stages import handover
from stages.localstack import LocalStack, start_stack
from stages.plan import load_plan
from stages.runner import GateFailed, StageRunner

pytestmark = [pytest.mark.slow]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    running = start_stack(tmp_path / "kit", db="sqlite", products=20)
    try:
        yield running
    finally:
        running.stop()


def _dead_letter(stack: LocalStack, service: str) -> None:
    """One message parked in ``service``'s dead-letter queue, as a failing handler leaves it."""
    from eventbus.broker import Outgoing, Publisher
    from eventbus.topology import Topology

    topology = Topology(prefix=stack.info.eventbus_prefix)
    with Publisher(stack.info.broker_url) as publisher:
        # Known to this process too (the embedded broker keeps exchange types per process).
        topology.dlq(service)(publisher.channel).declare()  # type: ignore[no-untyped-call]
        publisher.publish(
            [Outgoing(body=b'{"event": "poison"}', routing_key="x", message_id="poison-1")],
            exchange=topology.dlx_name(service),
        )


def test_a_dead_letter_stops_the_apply_before_the_flip(stack: LocalStack) -> None:
    _dead_letter(stack, "notifications")
    info = stack.info
    assert handover.dlq_depth(info.broker_url, info.eventbus_prefix, "notifications") == 1
    runner = StageRunner(info, load_plan())

    with pytest.raises(GateFailed) as failed:
        runner.apply(1)

    assert failed.value.gate == "dlq"
    assert "dead letters" in str(failed.value) and "strangler dlq list" in str(failed.value)
    [state] = [s for s in runner.status() if s.stage.number == 1]
    assert not state.applied
    assert state.routes == {"notifications": "monolith"}  # shadow was undone
    assert handover.owner_of(info.monolith.database_url, "notifications") == ("monolith", False)


def test_a_candidate_that_answers_differently_fails_the_shadow_gate(stack: LocalStack) -> None:
    info = stack.info
    [[staff_id]] = handover.run_sql(
        info.monolith.database_url,
        "SELECT id FROM users_user WHERE email = %s",
        "SELECT id FROM users_user WHERE email = ?",
        (info.staff_email,),
    )
    # A row only the service has (the backfill upserts and never deletes): the staff's
    # notification list, which the shadow run mirrors, differs on the candidate.
    handover.run_sql(
        info.side("notifications").database_url,
        "",
        "INSERT INTO notifications_notification (id, user_id, kind, channel, recipient, subject,"
        " body, reference, status, created_at, delivered_at)"
        " VALUES (?, ?, 'order_paid', 'email', 'x@shop.test', 'stray', '', 'stray', 'delivered',"
        " '2026-01-01 00:00:00', NULL)",
        (uuid.uuid4().hex, staff_id),
    )
    runner = StageRunner(info, load_plan())

    with pytest.raises(GateFailed) as failed:
        runner.apply(1)

    assert failed.value.gate == "shadow"
    assert "mismatch rate 100.0%" in str(failed.value)
    [state] = [s for s in runner.status() if s.stage.number == 1]
    assert not state.applied
    assert state.routes == {"notifications": "monolith"}
    assert handover.owner_of(info.monolith.database_url, "notifications") == ("monolith", False)
