"""``backfill``: copy tables from a source database into a target one, chunk by chunk in key
order, with upserts (a rerun changes nothing) and a checkpoint per chunk in the target (a run
killed with SIGKILL resumes after the last committed chunk).

Rows the source deletes after they were copied are not removed here: that is the event
stream's job while a stage runs, and ``reconcile``'s when something drifted.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

import psycopg

from . import backfill_pg, backfill_sqlite
from . import checkpoint as ckpt
from .dbs import parse_pair, pg_columns, pg_connect, resolve_all, sqlite_columns, sqlite_connect
from .report import BackfillReport, Progress
from .spec import TableSpec

DEFAULT_CHUNK_ROWS = 20_000


def backfill(
    source_url: str,
    target_url: str,
    tables: Sequence[TableSpec],
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
    fresh: bool = False,
) -> BackfillReport:
    """Copy ``tables`` (parents first) from source to target; ``fresh`` forgets the
    checkpoints and starts over (rows already in the target are upserted again)."""
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    source, target = parse_pair(source_url, target_url)
    report = BackfillReport(uuid.uuid4().hex[:12], source.label, target.label)
    started = time.perf_counter()
    labels = (f"the source ({source.label})", f"the target ({target.label})")
    if source.kind == "postgres":
        # Autocommit: each ``dst.transaction()`` is then a real transaction that commits with
        # its chunk (in an implicit outer transaction it would only be a savepoint).
        with pg_connect(source) as src, pg_connect(target) as dst:
            # One snapshot of the source for every table: a child row copied later cannot name
            # a parent written after the parent's table was copied, so the target's foreign
            # keys hold while the source keeps taking writes.
            src.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            src.read_only = True
            with src.transaction():
                resolved = resolve_all(
                    tables,
                    [pg_columns(src, s.name) for s in tables],
                    [pg_columns(dst, s.name) for s in tables],
                    labels,
                )
                ckpt.pg_ensure(dst)
                for table in resolved:
                    if fresh:
                        with dst.transaction():
                            ckpt.pg_drop(dst, table.name)
                    report.tables.append(
                        backfill_pg.backfill_table(
                            src,
                            dst,
                            table,
                            chunk_rows=chunk_rows,
                            run_id=report.run_id,
                            progress=progress,
                        )
                    )
    else:
        conn = sqlite_connect(target)
        try:
            conn.execute("ATTACH DATABASE ? AS src", [str(source.path)])
            resolved = resolve_all(
                tables,
                [sqlite_columns(conn, s.name, "src") for s in tables],
                [sqlite_columns(conn, s.name, "main") for s in tables],
                labels,
            )
            ckpt.sqlite_ensure(conn)
            for table in resolved:
                if fresh:
                    ckpt.sqlite_drop(conn, table.name)
                report.tables.append(
                    backfill_sqlite.backfill_table(
                        conn,
                        table,
                        chunk_rows=chunk_rows,
                        run_id=report.run_id,
                        progress=progress,
                    )
                )
        finally:
            conn.close()
    report.seconds = time.perf_counter() - started
    return report
