"""The moves a stage makes outside HTTP: ownership rows, outbox lag, queue and DLQ depth.

They talk to each side's database and to the broker directly (plain SQL, kombu), so the CLI
needs neither side's Django settings and works the same against local processes and containers.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from contextlib import closing
from typing import Any

from eventbus.topology import Topology

from .data.dbs import parse_url, pg_connect, sqlite_connect


class HandoverFailed(RuntimeError):
    """A handover step did not complete; the message says which and what to check."""


def run_sql(database_url: str, sql_pg: str, sql_lite: str, params: tuple[Any, ...]) -> list[Any]:
    endpoint = parse_url(database_url)
    if endpoint.kind == "postgres":
        with closing(pg_connect(endpoint)) as conn:
            pg_cursor = conn.execute(sql_pg, params)
            return list(pg_cursor.fetchall()) if pg_cursor.description else []
    with closing(sqlite_connect(endpoint)) as lite:
        lite_cursor = lite.execute(sql_lite, params)
        rows = list(lite_cursor.fetchall()) if lite_cursor.description else []
        lite.commit()
        return rows


_SET = (
    "INSERT INTO eventbus_ownership (context, owner, frozen, generation, changed_at, why)"
    " VALUES ({p}, {p}, {p}, 1, {now}, {p}) ON CONFLICT (context) DO UPDATE SET"
    " owner = excluded.owner, frozen = excluded.frozen,"
    " generation = eventbus_ownership.generation + 1, changed_at = excluded.changed_at,"
    " why = excluded.why RETURNING owner, frozen, generation"
)


def set_owner(database_url: str, context: str, owner: str, *, frozen: bool, why: str) -> int:
    """Record who writes ``context`` in one side's database; returns the row's generation.

    On PostgreSQL the UPDATE waits for every write transaction that already passed its
    ``require_writer`` check (they hold the row FOR SHARE): after a freeze returns, no write
    that the old writer accepted is still in flight."""
    rows = run_sql(
        database_url,
        _SET.format(p="%s", now="now()"),
        _SET.format(p="?", now="strftime('%Y-%m-%d %H:%M:%f', 'now')"),
        (context, owner, frozen, why),
    )
    return int(rows[0][2])


def owner_of(database_url: str, context: str) -> tuple[str, bool]:
    rows = run_sql(
        database_url,
        "SELECT owner, frozen FROM eventbus_ownership WHERE context = %s",
        "SELECT owner, frozen FROM eventbus_ownership WHERE context = ?",
        (context,),
    )
    return (str(rows[0][0]), bool(rows[0][1])) if rows else ("monolith", False)


def outbox_lag(database_url: str) -> int:
    """Outbox rows written but not yet published by that side's relay."""
    sql = "SELECT count(*) FROM eventbus_outbox WHERE published_at IS NULL"
    return int(run_sql(database_url, sql, sql, ())[0][0])


def _depth(broker_url: str, queue: str, *, missing_ok: bool = True) -> int:
    """Messages in ``queue`` (a passive declare: the queue is never created here)."""
    from eventbus.broker import connect

    with connect(broker_url) as conn:
        channel = conn.channel()
        try:
            return int(channel.queue_declare(queue, passive=True).message_count)
        except conn.channel_errors:
            if missing_ok:  # a queue nobody declared yet holds nothing
                return 0
            raise
        finally:
            with contextlib.suppress(Exception):
                channel.close()


def queue_depth(broker_url: str, prefix: str, service: str) -> int:
    """Messages waiting in ``service``'s queue (a consumer that keeps up shows 0)."""
    return _depth(broker_url, Topology(prefix=prefix).queue_name(service))


def dlq_depth(broker_url: str, prefix: str, service: str) -> int:
    return _depth(broker_url, Topology(prefix=prefix).dlq_name(service))


def wait_for(
    what: str, check: Callable[[], bool], *, timeout: float = 60.0, interval: float = 0.1
) -> float:
    """Poll ``check`` until true; return the seconds waited, or raise HandoverFailed."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise HandoverFailed(f"{what}: not reached after {timeout:.0f}s")
        time.sleep(interval)
    return time.monotonic() - started


def queue_exists(broker_url: str, prefix: str, service: str) -> bool:
    """True once ``service``'s consumer has declared its queue."""
    try:
        _depth(broker_url, Topology(prefix=prefix).queue_name(service), missing_ok=False)
    except Exception:
        return False
    return True
