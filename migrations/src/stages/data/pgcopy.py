"""PostgreSQL row moves: binary ``COPY ... TO STDOUT`` out of one side, then either ``COPY``
straight into the table (a key range the target does not have yet) or ``COPY`` into a temp
staging table and one upsert.

Measured on 1 M catalog rows (2 cores): straight binary COPY ~420 000 rows/s, staging +
``INSERT ... ON CONFLICT DO UPDATE`` ~215 000 rows/s. So the backfill takes the straight path
whenever a chunk's key range is empty in the target (a first backfill, or a resumed one) and
falls back to the upsert when the range holds rows or a concurrent writer got there first.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from .dbs import Table

# Types without an equality operator: compare them as text in the upsert's "changed?" test.
_NO_EQUALITY = ("json", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle")


def ident_list(names: tuple[str, ...]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def key_range(table: Table, lo: Any, hi: Any) -> tuple[sql.Composable, list[Any]]:
    """``lo < key <= hi`` (either bound may be None: open), with the key's type cast."""
    key, cast = sql.Identifier(table.key), sql.SQL(table.key_type)
    parts: list[sql.Composable] = []
    params: list[Any] = []
    if lo is not None:
        parts.append(sql.SQL("{} > %s::{}").format(key, cast))
        params.append(lo)
    if hi is not None:
        parts.append(sql.SQL("{} <= %s::{}").format(key, cast))
        params.append(hi)
    return (sql.SQL(" AND ").join(parts) if parts else sql.SQL("true")), params


def read_rows(
    conn: psycopg.Connection[Any], table: Table, where: sql.Composable, params: list[Any]
) -> bytes:
    """The rows matching ``where``, in PostgreSQL's binary COPY format."""
    query = sql.SQL("COPY (SELECT {} FROM {} WHERE {}) TO STDOUT (FORMAT binary)").format(
        ident_list(table.columns), sql.Identifier(table.name), where
    )
    blocks: list[bytes] = []
    with conn.cursor() as cur, cur.copy(query, params) as copy:
        for block in copy:
            blocks.append(bytes(block))
    return b"".join(blocks)


def copy_into_table(conn: psycopg.Connection[Any], table: Table, data: bytes) -> int:
    """Binary COPY straight into the table (only when every column type matches)."""
    query = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
        sql.Identifier(table.name), ident_list(table.columns)
    )
    with conn.cursor() as cur:
        with cur.copy(query) as copy:
            copy.write(data)
        return cur.rowcount


def stage_name(table: Table) -> sql.Identifier:
    return sql.Identifier(f"kit_stage_{table.name}"[:63])


def create_stage(conn: psycopg.Connection[Any], table: Table) -> None:
    """A temp table with the *first* side's column types: binary COPY needs exact types; the
    upsert then casts to the target's types like any INSERT would."""
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t))
        for c, t in zip(table.columns, table.types, strict=True)
    )
    conn.execute(
        sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ({})").format(stage_name(table), columns)
    )


def _distinct_side(table: Table, prefix: sql.Composable) -> sql.Composed:
    items = []
    for column, type_ in zip(table.others, table.types[1:], strict=True):
        item = sql.SQL("{}.{}").format(prefix, sql.Identifier(column))
        if type_.split("(")[0].split("[")[0] in _NO_EQUALITY:
            item = sql.SQL("{}::text").format(item)
        items.append(item)
    return sql.SQL("ROW({})").format(sql.SQL(", ").join(items))


def upsert_sql(table: Table, source: sql.Composable) -> sql.Composed:
    """INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE, skipping rows that are unchanged
    (a rerun then writes nothing and leaves no dead tuples)."""
    target = sql.Identifier(table.name)
    head = sql.SQL("INSERT INTO {} AS t ({}) SELECT {} FROM {} ON CONFLICT ({}) ").format(
        target,
        ident_list(table.columns),
        ident_list(table.columns),
        source,
        sql.Identifier(table.key),
    )
    if not table.others:
        return head + sql.SQL("DO NOTHING")
    sets = sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in table.others
    )
    return head + sql.SQL("DO UPDATE SET {} WHERE {} IS DISTINCT FROM {}").format(
        sets, _distinct_side(table, sql.SQL("t")), _distinct_side(table, sql.SQL("EXCLUDED"))
    )


def stage_and_upsert(conn: psycopg.Connection[Any], table: Table, data: bytes) -> int:
    """Binary COPY into the staging table, then one upsert; returns the rows staged."""
    stage = stage_name(table)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("TRUNCATE {}").format(stage))
        with cur.copy(sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(stage)) as copy:
            copy.write(data)
        staged = cur.rowcount
        cur.execute(upsert_sql(table, stage))
    return staged
