"""One writer per context: the check, the freeze, and the freeze waiting for in-flight writers."""

from __future__ import annotations

import io
import json
import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction

from eventbus.ownership import services as ownership

pytestmark = pytest.mark.django_db(transaction=True)


def test_without_a_row_the_monolith_writes() -> None:
    state = ownership.require_writer("catalog", "monolith")

    assert (state.owner, state.frozen) == ("monolith", False)
    assert not ownership.is_writer("catalog", "service")
    with pytest.raises(ownership.NotWriter, match="written by the monolith, not by the service"):
        ownership.require_writer("catalog", "service")


def test_a_frozen_context_has_no_writer_and_a_handover_moves_it() -> None:
    frozen = ownership.set_owner("catalog", "monolith", frozen=True, why="handover")
    with (
        pytest.raises(ownership.NotWriter, match="being handed over") as refused,
        transaction.atomic(),
    ):
        ownership.require_writer("catalog", "monolith")
    moved = ownership.set_owner("catalog", "service", frozen=False, why="flip")

    assert refused.value.state.frozen
    assert (frozen.generation, moved.generation) == (1, 2)
    assert ownership.is_writer("catalog", "service")
    assert not ownership.is_writer("catalog", "monolith")
    assert ownership.owner_of("notifications").owner == "monolith"  # per context


def test_an_unknown_owner_is_refused() -> None:
    with pytest.raises(ValueError, match="owner must be one of"):
        ownership.set_owner("catalog", "nobody", frozen=False)


def test_the_management_command_shows_and_sets() -> None:
    out = io.StringIO()
    call_command("ownership", "set", "catalog", "service", "--frozen", "--why", "t", stdout=out)
    call_command("ownership", "show", stdout=out)

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[-1] == {"context": "catalog", "owner": "service", "frozen": True, "generation": 1}


@pytest.mark.postgres
def test_a_freeze_waits_for_the_writes_already_past_the_check() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks: the PostgreSQL pass runs this (SQLite serialises writers)")
    passed, release, frozen = threading.Event(), threading.Event(), threading.Event()

    def writer() -> None:
        try:
            with transaction.atomic():
                ownership.require_writer("catalog", "monolith")
                passed.set()
                release.wait(30)
        finally:
            connections.close_all()

    def freezer() -> None:
        try:
            passed.wait(30)
            ownership.set_owner("catalog", "monolith", frozen=True)
            frozen.set()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer), threading.Thread(target=freezer)]
    for thread in threads:
        thread.start()
    try:
        assert passed.wait(30)
        _wait_until_a_backend_waits_on_a_lock()
        assert not frozen.is_set()  # the freeze is queued behind the open write
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
    assert frozen.is_set()
    assert ownership.owner_of("catalog").frozen


def _wait_until_a_backend_waits_on_a_lock() -> None:
    import time

    with connection.cursor() as cursor:
        for _ in range(300):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            row = cursor.fetchone()
            if row is not None and row[0] >= 1:
                return
            time.sleep(0.05)
    raise AssertionError("the freeze never waited on the writer's lock")
