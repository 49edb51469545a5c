"""The route store shared by several proxy replicas: PostgreSQL.

One row per generation in ``strangler_route_generations`` (the change and the whole table as
JSONB); a change takes a table lock, so generation numbers never collide, and announces
itself with ``NOTIFY strangler_routes``: every replica's workers (``LISTEN``) load it at once.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from .store import CHANNEL, Change, Generation, Store
from .table import RouteTable


class PostgresStore(Store):
    """Generations in one PostgreSQL table; changes announced with NOTIFY."""

    def __init__(
        self,
        url: str,
        upstream_urls: Mapping[str, str] | None = None,
        *,
        table: str = "strangler_route_generations",
        connect_timeout: float = 5.0,
    ) -> None:
        super().__init__(upstream_urls)
        self.url = url
        self.table = table
        self._conn = psycopg.connect(url, autocommit=True, connect_timeout=int(connect_timeout))
        self._listening = False
        self._ensure_schema()

    def _ensure_schema(self) -> None:
        ddl = (
            f"CREATE TABLE IF NOT EXISTS {self.table} ("
            " generation bigint PRIMARY KEY, at text NOT NULL, who text NOT NULL,"
            " action text NOT NULL, route text NOT NULL, from_state jsonb, to_state jsonb,"
            " why text NOT NULL DEFAULT '', table_data jsonb NOT NULL)"
        )
        for _ in range(3):  # two replicas creating it at once: one wins, the other retries
            try:
                self._conn.execute(ddl)
                return
            except psycopg.errors.UniqueViolation:
                time.sleep(0.05)

    def latest_generation(self) -> int:
        with self._lock:
            row = self._conn.execute(f"SELECT max(generation) FROM {self.table}").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def _row(self, row: Any) -> Generation:
        change = Change(
            generation=int(row[0]),
            at=row[1],
            who=row[2],
            action=row[3],
            route=row[4],
            from_state=row[5],
            to_state=row[6],
            why=row[7],
        )
        return Generation(change, row[8])

    _COLUMNS = "generation, at, who, action, route, from_state, to_state, why, table_data"

    def get(self, generation: int | None = None) -> Generation | None:
        if generation is None:
            sql = f"SELECT {self._COLUMNS} FROM {self.table} ORDER BY generation DESC LIMIT 1"
            params: tuple[Any, ...] = ()
        else:
            sql = f"SELECT {self._COLUMNS} FROM {self.table} WHERE generation = %s"
            params = (generation,)
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
        return self._row(row) if row else None

    def history(self, limit: int = 50) -> list[Change]:
        sql = f"SELECT {self._COLUMNS} FROM {self.table} ORDER BY generation DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._conn.execute(sql).fetchall()
        return [self._row(row).change for row in rows]

    def current(self) -> RouteTable | None:
        with self._lock:
            latest = self.get()
        return self.parse(latest) if latest is not None else None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Callable[[Generation], None]]:
        with self._conn.transaction():
            self._conn.execute(f"LOCK TABLE {self.table} IN SHARE ROW EXCLUSIVE MODE")
            yield self._append

    def _append(self, generation: Generation) -> None:
        c = generation.change

        self._conn.execute(
            f"INSERT INTO {self.table} ({self._COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
            (
                c.generation,
                c.at,
                c.who,
                c.action,
                c.route,
                Jsonb(c.from_state) if c.from_state is not None else None,
                Jsonb(c.to_state) if c.to_state is not None else None,
                c.why,
                Jsonb(dict(generation.data)),
            ),
        )
        self._conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(c.generation)))

    def wait(self, timeout: float) -> None:
        with self._lock:
            if not self._listening:
                self._conn.execute(f"LISTEN {CHANNEL}")
                self._listening = True
        # NOTIFY wakes us at once; polling more than once a second would only cost queries.
        for _ in self._conn.notifies(timeout=max(timeout, 1.0), stop_after=1):
            pass

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()
