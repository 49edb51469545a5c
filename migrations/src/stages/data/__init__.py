"""Moving a context's tables between two databases with the same schema (stage verbs use it).

backfill(source_url, target_url, tables)   chunked, upserting, resumable copy
verify(source_url, target_url, tables)     counts + per-chunk checksums + first diffs
reconcile(owner_url, follower_url, tables) repair the follower from the owner

spec.py          TableSpec (table, key, columns) and the CLI's name:key form
dbs.py           URLs, connections, catalogs; a TableSpec checked against both sides
checkpoint.py    kit_backfill_progress in the target, written with each chunk
pgcopy.py        binary COPY out, straight COPY in or staging + upsert (PostgreSQL)
backfill_pg.py   reader thread + writer, sequences (PostgreSQL)
backfill_sqlite.py  ATTACH + INSERT ... SELECT ... ON CONFLICT (SQLite)
chunks.py, side.py, verify.py, reconcile.py
"""

from __future__ import annotations

from .backfill import backfill
from .errors import DataError
from .reconcile import ReconcileReport, TableReconcile, reconcile
from .report import BackfillReport, Progress, TableBackfill
from .spec import TableSpec, parse_table
from .verify import ChunkDiff, RowDiff, TableVerify, VerifyReport, verify

__all__ = [
    "BackfillReport",
    "ChunkDiff",
    "DataError",
    "Progress",
    "ReconcileReport",
    "RowDiff",
    "TableBackfill",
    "TableReconcile",
    "TableSpec",
    "TableVerify",
    "VerifyReport",
    "backfill",
    "parse_table",
    "reconcile",
    "verify",
]
