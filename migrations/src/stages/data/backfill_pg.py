"""The PostgreSQL backfill: one thread reads chunks from the source (binary COPY) while the
caller's thread writes the previous chunk into the target, so the two servers' backends work
at the same time on two cores."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import psycopg
from psycopg import sql

from . import checkpoint as ckpt
from .dbs import Table
from .pgcopy import copy_into_table, create_stage, key_range, read_rows, stage_and_upsert
from .report import Progress, TableBackfill

_INTEGER_TYPES = ("smallint", "integer", "bigint")
_DONE = object()


class _Reader(threading.Thread):
    """Chunks ``(lo, hi, rows)`` in key order, ``lo < key <= hi``, each about ``chunk_rows``."""

    def __init__(
        self, conn: psycopg.Connection[Any], table: Table, start: Any, chunk_rows: int
    ) -> None:
        super().__init__(name=f"backfill-read-{table.name}", daemon=True)
        self.conn = conn  # the caller does not use it until the thread is joined
        self.table, self.start_key, self.chunk_rows = table, start, chunk_rows
        self.chunks: queue.Queue[Any] = queue.Queue(maxsize=2)
        self.stop = threading.Event()

    def _next_bound(self, lo: Any) -> Any:
        where, params = key_range(self.table, lo, None)
        key, name = sql.Identifier(self.table.key), sql.Identifier(self.table.name)
        row = self.conn.execute(
            sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY {} OFFSET %s LIMIT 1").format(
                key, name, where, key
            ),
            [*params, self.chunk_rows - 1],
        ).fetchone()
        if row is None:  # the last, shorter chunk: up to the largest key there is now
            # (ORDER BY DESC, not max(): PostgreSQL has no max(uuid))
            row = self.conn.execute(
                sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY {} DESC LIMIT 1").format(
                    key, name, where, key
                ),
                params,
            ).fetchone()
        return row[0] if row else None

    def _put(self, item: Any) -> None:
        while not self.stop.is_set():
            try:
                self.chunks.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def run(self) -> None:
        lo = self.start_key
        try:
            while not self.stop.is_set():
                hi = self._next_bound(lo)
                if hi is None:
                    break
                where, params = key_range(self.table, lo, hi)
                self._put((lo, hi, read_rows(self.conn, self.table, where, params)))
                lo = hi
            self._put(_DONE)
        except BaseException as exc:  # handed to the writer, which raises it
            self._put(exc)


def _range_is_empty(conn: psycopg.Connection[Any], table: Table, lo: Any, hi: Any) -> bool:
    where, params = key_range(table, lo, hi)
    row = conn.execute(
        sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {} WHERE {})").format(
            sql.Identifier(table.name), where
        ),
        params,
    ).fetchone()
    return bool(row and row[0])


def _write_chunk(
    conn: psycopg.Connection[Any], table: Table, lo: Any, hi: Any, data: bytes
) -> tuple[int, bool]:
    if table.same_types and _range_is_empty(conn, table, lo, hi):
        try:
            with conn.transaction():  # a savepoint: a concurrent writer may race us
                return copy_into_table(conn, table, data), True
        except psycopg.errors.UniqueViolation:
            pass
    return stage_and_upsert(conn, table, data), False


def set_sequence(conn: psycopg.Connection[Any], table: Table) -> int | None:
    """Move the key's sequence past the largest key, so rows the service creates later never
    collide with copied ones (never moves it backwards)."""
    if table.key_type not in _INTEGER_TYPES:
        return None
    row = conn.execute(
        "SELECT pg_get_serial_sequence(%s, %s)",
        [sql.Identifier(table.name).as_string(conn), table.key],
    ).fetchone()
    if not row or row[0] is None:
        return None
    seq = sql.SQL(row[0])
    top = conn.execute(
        sql.SQL("SELECT max({}) FROM {}").format(
            sql.Identifier(table.key), sql.Identifier(table.name)
        )
    ).fetchone()
    last = conn.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(seq)).fetchone()
    if not top or top[0] is None or not last:
        return None
    if top[0] > last[0] or (top[0] == last[0] and not last[1]):
        conn.execute("SELECT setval(%s::regclass, %s, true)", [row[0], top[0]])
        return int(top[0])
    return None


def backfill_table(
    source: psycopg.Connection[Any],
    target: psycopg.Connection[Any],
    table: Table,
    *,
    chunk_rows: int,
    run_id: str,
    progress: Progress | None,
) -> TableBackfill:
    saved = ckpt.pg_load(target, table.name)
    start = saved.last_key if saved else None
    done_rows = saved.rows if saved else 0
    row = source.execute(
        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table.name))
    ).fetchone()
    result = TableBackfill(table.name, int(row[0]) if row else 0, resumed_from=start)
    result.last_key = start
    result.not_copied_columns = table.only_first
    # A chunk's commit need not wait for its WAL flush: a server crash can only lose the
    # latest chunks *with* their checkpoint rows (same transactions), and a rerun copies them
    # again. The last commit (done=True) waits, so a finished backfill is durable.
    target.execute("SET synchronous_commit = off")
    with target.transaction():
        create_stage(target, table)
    if progress:
        progress(table.name, done_rows, result.source_rows)
    started = time.perf_counter()
    reader = _Reader(source, table, start, chunk_rows)
    reader.start()
    try:
        while True:
            item = reader.chunks.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            lo, hi, data = item
            with target.transaction():
                rows, direct = _write_chunk(target, table, lo, hi, data)
                done_rows += rows
                ckpt.pg_save(target, table.name, hi, done_rows, run_id, done=False)
            result.rows_copied += rows
            result.chunks += 1
            result.direct_chunks += direct
            result.last_key = hi
            if progress:
                progress(table.name, done_rows, max(result.source_rows, done_rows))
        with target.transaction():
            target.execute("SET LOCAL synchronous_commit = on")
            result.sequence_set_to = set_sequence(target, table)
            ckpt.pg_save(target, table.name, result.last_key, done_rows, run_id, done=True)
    finally:
        reader.stop.set()
        reader.join()
    result.seconds = time.perf_counter() - started
    return result
