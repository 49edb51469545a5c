"""Database URLs, connections and catalogs for the data verbs (SQLite files, PostgreSQL).

URLs take the SHOP_DATABASE_URL forms: ``sqlite:///abs/path`` (three or four slashes, both
absolute) and ``postgres://user@host:port/db`` (``postgresql://`` too).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psycopg
from psycopg import sql

from .errors import DataError
from .spec import TableSpec

Kind = Literal["sqlite", "postgres"]


@dataclass(frozen=True)
class Endpoint:
    url: str
    kind: Kind
    path: Path | None = None  # SQLite
    conninfo: str = ""  # PostgreSQL

    @property
    def label(self) -> str:
        """The URL without a password, for messages."""
        return re.sub(r"://([^:@/]+):[^@/]*@", r"://\1:***@", self.url)


def parse_url(url: str) -> Endpoint:
    if url.startswith("sqlite://"):
        rest = url[len("sqlite://") :]
        if rest.startswith("//"):
            rest = rest[1:]
        if not rest.startswith("/") or rest == "/":
            raise DataError(f"bad URL {url!r}: a SQLite URL is sqlite:///absolute/path/to/file")
        path = Path(rest)
        if not path.is_file():
            raise DataError(f"no SQLite database at {path} (from {url!r})")
        return Endpoint(url, "sqlite", path=path)
    match = re.fullmatch(r"postgres(?:ql)?://([^/]*)/([^/?]+)(\?.*)?", url)
    if match:
        return Endpoint(url, "postgres", conninfo="postgresql://" + url.split("://", 1)[1])
    raise DataError(
        f"bad URL {url!r}: expected sqlite:///abs/path or postgres://user@host:port/dbname"
    )


def parse_pair(first: str, second: str) -> tuple[Endpoint, Endpoint]:
    a, b = parse_url(first), parse_url(second)
    if a.kind != b.kind:
        raise DataError(
            f"both sides must use the same engine: {a.label} is {a.kind}, {b.label} is {b.kind}"
        )
    if a.url == b.url:
        raise DataError(f"both sides are the same database: {a.label}")
    return a, b


def pg_connect(endpoint: Endpoint) -> psycopg.Connection[tuple]:  # type: ignore[type-arg]
    """An autocommit connection: callers open their transactions with ``conn.transaction()``."""
    try:
        conn = psycopg.connect(endpoint.conninfo, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DataError(f"cannot connect to {endpoint.label}: {exc}".strip()) from exc
    # Row texts (checksums, samples) must not depend on each session's time zone.
    conn.execute("SET TimeZone = 'UTC'")
    conn.execute("SET DateStyle = 'ISO, YMD'")
    conn.execute("SET extra_float_digits = 1")
    return conn


def sqlite_connect(endpoint: Endpoint) -> sqlite3.Connection:
    assert endpoint.path is not None
    # isolation_level=None: the engine opens and commits its own transactions, explicitly.
    conn = sqlite3.connect(endpoint.path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool  # NOT NULL without a default: a copy that leaves it out cannot insert


def pg_columns(conn: psycopg.Connection[tuple], table: str) -> list[Column]:  # type: ignore[type-arg]
    rows = conn.execute(
        """SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull AND NOT a.atthasdef
             FROM pg_attribute a
            WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
              AND a.attgenerated = '' ORDER BY a.attnum""",
        [sql.Identifier(table).as_string(conn)],
    ).fetchall()
    return [Column(name, type_, bool(required)) for name, type_, required in rows]


def sqlite_columns(conn: sqlite3.Connection, table: str, schema: str = "main") -> list[Column]:
    rows = conn.execute(f"PRAGMA {schema}.table_info({quote_sqlite(table)})").fetchall()
    return [
        Column(name, (type_ or "").lower(), bool(notnull) and dflt is None and not pk)
        for _cid, name, type_, notnull, dflt, pk in rows
    ]


def quote_sqlite(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Table:
    """A TableSpec checked against both catalogs: what is copied and compared."""

    name: str
    key: str
    columns: tuple[str, ...]  # the key first, then the others in the first side's order
    types: tuple[str, ...]  # the first side's types, same order
    same_types: bool  # every column has the same type on both sides (binary COPY can go direct)
    only_first: tuple[str, ...]  # columns the first side has and the second lacks (not copied)
    only_second: tuple[str, ...]

    @property
    def key_type(self) -> str:
        return self.types[0]

    @property
    def others(self) -> tuple[str, ...]:
        return self.columns[1:]


def resolve(
    spec: TableSpec, first: list[Column], second: list[Column], labels: tuple[str, str]
) -> Table:
    for cols, label in ((first, labels[0]), (second, labels[1])):
        if not cols:
            raise DataError(f"table {spec.name!r} does not exist in {label}")
    by_first = {c.name: c for c in first}
    by_second = {c.name: c for c in second}
    for names, label in ((by_first, labels[0]), (by_second, labels[1])):
        if spec.key not in names:
            raise DataError(f"table {spec.name!r} has no key column {spec.key!r} in {label}")
    if spec.columns is not None:
        wanted = [spec.key, *(c for c in spec.columns if c != spec.key)]
        for names, label in ((by_first, labels[0]), (by_second, labels[1])):
            missing = [c for c in wanted if c not in names]
            if missing:
                raise DataError(
                    f"table {spec.name!r} has different columns: {', '.join(missing)} "
                    f"missing in {label}"
                )
    else:
        wanted = [spec.key, *(c.name for c in first if c.name in by_second and c.name != spec.key)]
    required = [c.name for c in second if c.required and c.name not in wanted]
    if required:
        raise DataError(
            f"table {spec.name!r} has different columns: {labels[1]} requires "
            f"{', '.join(required)}, which {labels[0]} does not have"
        )
    return Table(
        name=spec.name,
        key=spec.key,
        columns=tuple(wanted),
        types=tuple(by_first[c].type for c in wanted),
        same_types=all(by_first[c].type == by_second[c].type for c in wanted),
        only_first=tuple(c.name for c in first if c.name not in wanted),
        only_second=tuple(c.name for c in second if c.name not in wanted),
    )


def resolve_all(
    specs: Sequence[TableSpec],
    columns_first: Sequence[list[Column]],
    columns_second: Sequence[list[Column]],
    labels: tuple[str, str],
) -> list[Table]:
    if not specs:
        raise DataError("no tables given (--table name:key)")
    return [
        resolve(s, a, b, labels)
        for s, a, b in zip(specs, columns_first, columns_second, strict=True)
    ]
