"""The SQLite backfill: the source file is ATTACHed to the target's connection and each chunk
is one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` (no row passes through Python), in the
same transaction as its checkpoint."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from . import checkpoint as ckpt
from .dbs import Table, quote_sqlite
from .report import Progress, TableBackfill


def key_range(table: Table, lo: Any, hi: Any, prefix: str = "") -> tuple[str, list[Any]]:
    key = prefix + quote_sqlite(table.key)
    parts, params = [], []
    if lo is not None:
        parts.append(f"{key} > ?")
        params.append(lo)
    if hi is not None:
        parts.append(f"{key} <= ?")
        params.append(hi)
    return (" AND ".join(parts) or "1"), params


def upsert_sql(table: Table, schema: str, where: str) -> str:
    """Copy rows matching ``where`` from ``schema`` into main, skipping unchanged rows."""
    cols = ", ".join(quote_sqlite(c) for c in table.columns)
    name = quote_sqlite(table.name)
    head = (
        f"INSERT INTO main.{name} ({cols}) SELECT {cols} FROM {schema}.{name} "
        f"WHERE {where} ORDER BY {quote_sqlite(table.key)} ON CONFLICT ({quote_sqlite(table.key)}) "
    )
    if not table.others:
        return head + "DO NOTHING"
    sets = ", ".join(f"{quote_sqlite(c)} = excluded.{quote_sqlite(c)}" for c in table.others)
    mine = ", ".join(f"main.{name}.{quote_sqlite(c)}" for c in table.others)
    theirs = ", ".join(f"excluded.{quote_sqlite(c)}" for c in table.others)
    return head + f"DO UPDATE SET {sets} WHERE ({mine}) IS NOT ({theirs})"


def _next_bound(conn: sqlite3.Connection, table: Table, lo: Any, chunk_rows: int) -> Any:
    where, params = key_range(table, lo, None)
    key, name = quote_sqlite(table.key), quote_sqlite(table.name)
    row = conn.execute(
        f"SELECT {key} FROM src.{name} WHERE {where} ORDER BY {key} LIMIT 1 OFFSET ?",
        [*params, chunk_rows - 1],
    ).fetchone()
    if row is None:
        row = conn.execute(f"SELECT max({key}) FROM src.{name} WHERE {where}", params).fetchone()
    return row[0] if row else None


def backfill_table(
    conn: sqlite3.Connection,
    table: Table,
    *,
    chunk_rows: int,
    run_id: str,
    progress: Progress | None,
) -> TableBackfill:
    """``conn``: the target, with the source attached as ``src``."""
    saved = ckpt.sqlite_load(conn, table.name)
    lo = saved.last_key if saved else None
    done_rows = saved.rows if saved else 0
    name = quote_sqlite(table.name)
    total = conn.execute(f"SELECT count(*) FROM src.{name}").fetchone()[0]
    result = TableBackfill(table.name, total, resumed_from=lo, last_key=lo)
    result.not_copied_columns = table.only_first
    if progress:
        progress(table.name, done_rows, total)
    started = time.perf_counter()
    while True:
        hi = _next_bound(conn, table, lo, chunk_rows)
        if hi is None:
            break
        where, params = key_range(table, lo, hi)
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = conn.execute(
                f"SELECT count(*) FROM src.{name} WHERE {where}", params
            ).fetchone()[0]
            conn.execute(upsert_sql(table, "src", where), params)
            done_rows += rows
            ckpt.sqlite_save(conn, table.name, hi, done_rows, run_id, done=False)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        result.rows_copied += rows
        result.chunks += 1
        result.last_key = lo = hi
        if progress:
            progress(table.name, done_rows, max(total, done_rows))
    conn.execute("BEGIN IMMEDIATE")
    ckpt.sqlite_save(conn, table.name, result.last_key, done_rows, run_id, done=True)
    conn.execute("COMMIT")
    # AUTOINCREMENT tables: SQLite raises sqlite_sequence itself when explicit keys are inserted.
    result.seconds = time.perf_counter() - started
    return result
