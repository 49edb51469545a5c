"""The backfill's checkpoint: one row per table in the *target* database.

It is written in the same transaction as the chunk it describes, so after a kill -9 the
target holds exactly the chunks the checkpoint names, and a rerun starts after ``last_key``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import psycopg

TABLE = "kit_backfill_progress"

_PG_DDL = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    table_name text PRIMARY KEY,
    last_key text,
    rows bigint NOT NULL DEFAULT 0,
    done boolean NOT NULL DEFAULT false,
    run_id text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now())"""

# No type on last_key: SQLite keeps an integer key an integer, a text key text.
_SQLITE_DDL = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    table_name TEXT PRIMARY KEY,
    last_key,
    rows INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,
    run_id TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"""


@dataclass(frozen=True)
class Checkpoint:
    last_key: Any  # text on PostgreSQL (cast back with the key's type), native on SQLite
    rows: int
    done: bool
    run_id: str


def pg_ensure(conn: psycopg.Connection[Any]) -> None:
    with conn.transaction():
        conn.execute(_PG_DDL)


def pg_load(conn: psycopg.Connection[Any], table: str) -> Checkpoint | None:
    row = conn.execute(
        f"SELECT last_key, rows, done, run_id FROM {TABLE} WHERE table_name = %s", [table]
    ).fetchone()
    return Checkpoint(*row) if row else None


def pg_save(
    conn: psycopg.Connection[Any], table: str, last_key: Any, rows: int, run_id: str, done: bool
) -> None:
    conn.execute(
        f"""INSERT INTO {TABLE} (table_name, last_key, rows, done, run_id, updated_at)
            VALUES (%s, %s, %s, %s, %s, now())
            ON CONFLICT (table_name) DO UPDATE SET last_key = EXCLUDED.last_key,
                rows = EXCLUDED.rows, done = EXCLUDED.done, run_id = EXCLUDED.run_id,
                updated_at = EXCLUDED.updated_at""",
        [table, None if last_key is None else str(last_key), rows, done, run_id],
    )


def pg_drop(conn: psycopg.Connection[Any], table: str) -> None:
    conn.execute(f"DELETE FROM {TABLE} WHERE table_name = %s", [table])


def sqlite_ensure(conn: sqlite3.Connection) -> None:
    conn.execute(_SQLITE_DDL)


def sqlite_load(conn: sqlite3.Connection, table: str) -> Checkpoint | None:
    row = conn.execute(
        f"SELECT last_key, rows, done, run_id FROM main.{TABLE} WHERE table_name = ?", [table]
    ).fetchone()
    return Checkpoint(row[0], row[1], bool(row[2]), row[3]) if row else None


def sqlite_save(
    conn: sqlite3.Connection, table: str, last_key: Any, rows: int, run_id: str, done: bool
) -> None:
    conn.execute(
        f"""INSERT INTO main.{TABLE} (table_name, last_key, rows, done, run_id, updated_at)
            VALUES (?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            ON CONFLICT (table_name) DO UPDATE SET last_key = excluded.last_key,
                rows = excluded.rows, done = excluded.done, run_id = excluded.run_id,
                updated_at = excluded.updated_at""",
        [table, last_key, rows, int(done), run_id],
    )


def sqlite_drop(conn: sqlite3.Connection, table: str) -> None:
    conn.execute(f"DELETE FROM main.{TABLE} WHERE table_name = ?", [table])


def interrupted(database_url: str) -> bool:
    """True when a backfill into this database stopped before it finished: a checkpoint row not
    marked done. No checkpoint table (no backfill ever ran here) is not an interruption."""
    from contextlib import closing

    from .dbs import parse_url, pg_connect, sqlite_connect

    endpoint = parse_url(database_url)
    if endpoint.kind == "postgres":
        with closing(pg_connect(endpoint)) as conn:
            if conn.execute("SELECT to_regclass(%s)", [TABLE]).fetchone() in (None, (None,)):
                return False
            row = conn.execute(f"SELECT count(*) FROM {TABLE} WHERE NOT done").fetchone()
    else:
        with closing(sqlite_connect(endpoint)) as lite:
            exists = lite.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", [TABLE]
            ).fetchone()
            if not exists or not exists[0]:
                return False
            row = lite.execute(f"SELECT count(*) FROM {TABLE} WHERE NOT done").fetchone()
    return bool(row and row[0])
