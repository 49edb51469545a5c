"""One database of a compared pair (verify, reconcile): checksums per chunk and rows as text,
for PostgreSQL (in SQL) and SQLite (in Python)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from psycopg import sql

from .chunks import Chunks
from .dbs import (
    Endpoint,
    Table,
    pg_columns,
    pg_connect,
    quote_sqlite,
    resolve_all,
    sqlite_columns,
    sqlite_connect,
)
from .pgcopy import ident_list
from .spec import TableSpec

T = TypeVar("T")
Sums = dict[int, tuple[int, str]]  # chunk -> (rows, checksum)
Rows = dict[Any, tuple[str | None, ...]]  # key -> the other columns' values as text

_PG_INTEGER = ("smallint", "integer", "bigint")


class Side(Protocol):
    endpoint: Endpoint

    def chunking(self, table: Table, chunk_rows: int) -> Chunks: ...
    def checksums(self, table: Table, chunks: Chunks) -> Sums: ...
    def rows(self, table: Table, bounds: tuple[Any, Any]) -> Rows: ...
    def close(self) -> None: ...


class PgSide:
    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.conn = pg_connect(endpoint)

    def _where(self, table: Table, bounds: tuple[Any, Any]) -> tuple[sql.Composable, list[Any]]:
        key, cast = sql.Identifier(table.key), sql.SQL(table.key_type)
        parts: list[sql.Composable] = [sql.SQL("true")]
        params: list[Any] = []
        if bounds[0] is not None:
            parts.append(sql.SQL("{} >= %s::{}").format(key, cast))
            params.append(bounds[0])
        if bounds[1] is not None:
            parts.append(sql.SQL("{} < %s::{}").format(key, cast))
            params.append(bounds[1])
        return sql.SQL(" AND ").join(parts), params

    def chunking(self, table: Table, chunk_rows: int) -> Chunks:
        key, name = sql.Identifier(table.key), sql.Identifier(table.name)
        if table.key_type in _PG_INTEGER:
            row = self.conn.execute(
                sql.SQL("SELECT min({}), max({}), count(*) FROM {}").format(key, key, name)
            ).fetchone()
            assert row is not None
            return Chunks.by_step(row[0], row[1], row[2], chunk_rows)
        starts = self.conn.execute(
            sql.SQL(
                "SELECT k FROM (SELECT {} AS k, row_number() OVER (ORDER BY {}) AS n FROM {}) s"
                " WHERE n %% %s = 1 ORDER BY k"
            ).format(key, key, name),
            [chunk_rows],
        ).fetchall()
        return Chunks.by_starts([r[0] for r in starts])

    def checksums(self, table: Table, chunks: Chunks) -> Sums:
        expr, params = chunks.pg_expr(table)
        query = sql.SQL(
            "SELECT {} AS c, count(*), md5(string_agg(ROW({})::text, E'\\n' ORDER BY {}))"
            " FROM {} GROUP BY 1"
        ).format(
            expr, ident_list(table.columns), sql.Identifier(table.key), sql.Identifier(table.name)
        )
        return {c: (n, digest) for c, n, digest in self.conn.execute(query, params)}

    def rows(self, table: Table, bounds: tuple[Any, Any]) -> Rows:
        where, params = self._where(table, bounds)
        texts = sql.SQL(", ").join(
            sql.SQL("{}::text").format(sql.Identifier(c)) for c in table.others
        )
        query = sql.SQL("SELECT {}{} FROM {} WHERE {} ORDER BY {}").format(
            sql.Identifier(table.key),
            sql.SQL(", ") + texts if table.others else sql.SQL(""),
            sql.Identifier(table.name),
            where,
            sql.Identifier(table.key),
        )
        return {r[0]: tuple(r[1:]) for r in self.conn.execute(query, params)}

    def close(self) -> None:
        self.conn.close()


def _text(value: Any) -> str | None:
    # repr: an integer 1 and a text '1' are different values to SQLite, and to the checksum.
    return None if value is None else repr(value)


class SqliteSide:
    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.conn = sqlite_connect(endpoint)

    def chunking(self, table: Table, chunk_rows: int) -> Chunks:
        key, name = quote_sqlite(table.key), quote_sqlite(table.name)
        if "int" in table.key_type:
            low, high, rows = self.conn.execute(
                f"SELECT min({key}), max({key}), count(*) FROM {name}"
            ).fetchone()
            return Chunks.by_step(low, high, rows, chunk_rows)
        starts = self.conn.execute(
            f"SELECT k FROM (SELECT {key} AS k, row_number() OVER (ORDER BY {key}) AS n "
            f"FROM {name}) WHERE n % ? = 1 ORDER BY k",
            [chunk_rows],
        ).fetchall()
        return Chunks.by_starts([r[0] for r in starts])

    def checksums(self, table: Table, chunks: Chunks) -> Sums:
        cols = ", ".join(quote_sqlite(c) for c in table.columns)
        query = f"SELECT {cols} FROM {quote_sqlite(table.name)} ORDER BY {quote_sqlite(table.key)}"
        hashes: dict[int, Any] = {}
        counts: dict[int, int] = {}
        for row in self.conn.execute(query):
            chunk = chunks.of(row[0])
            if chunk not in hashes:
                hashes[chunk], counts[chunk] = hashlib.md5(usedforsecurity=False), 0
            hashes[chunk].update(repr(row).encode())
            counts[chunk] += 1
        return {c: (counts[c], h.hexdigest()) for c, h in hashes.items()}

    def rows(self, table: Table, bounds: tuple[Any, Any]) -> Rows:
        key = quote_sqlite(table.key)
        parts, params = ["1"], []
        if bounds[0] is not None:
            parts.append(f"{key} >= ?")
            params.append(bounds[0])
        if bounds[1] is not None:
            parts.append(f"{key} < ?")
            params.append(bounds[1])
        cols = ", ".join(quote_sqlite(c) for c in table.columns)
        query = (
            f"SELECT {cols} FROM {quote_sqlite(table.name)} WHERE {' AND '.join(parts)} "
            f"ORDER BY {key}"
        )
        return {r[0]: tuple(_text(v) for v in r[1:]) for r in self.conn.execute(query, params)}

    def close(self) -> None:
        self.conn.close()


@dataclass
class Pair:
    first: Side
    second: Side
    tables: list[Table]
    _pool: ThreadPoolExecutor | None

    def both(self, work: Callable[[Side], T]) -> tuple[T, T]:
        """``work`` on each side; at the same time on PostgreSQL (two servers' backends)."""
        if self._pool is None:
            return work(self.first), work(self.second)
        a = self._pool.submit(work, self.first)
        b = self._pool.submit(work, self.second)
        return a.result(), b.result()


def _columns(side: Side, name: str) -> list[Any]:
    if isinstance(side, PgSide):
        return pg_columns(side.conn, name)
    assert isinstance(side, SqliteSide)
    return sqlite_columns(side.conn, name)


@contextlib.contextmanager
def open_pair(
    first: Endpoint, second: Endpoint, specs: Sequence[TableSpec], labels: tuple[str, str]
) -> Iterator[Pair]:
    make: Callable[[Endpoint], Side] = PgSide if first.kind == "postgres" else SqliteSide
    sides: list[Side] = []
    pool = ThreadPoolExecutor(2, "verify") if first.kind == "postgres" else None
    try:
        sides.append(make(first))
        sides.append(make(second))
        tables = resolve_all(
            specs,
            [_columns(sides[0], s.name) for s in specs],
            [_columns(sides[1], s.name) for s in specs],
            labels,
        )
        yield Pair(sides[0], sides[1], tables, pool)
    finally:
        for side in sides:
            side.close()
        if pool is not None:
            pool.shutdown()
