"""``reconcile``: make the follower's copy equal to the owner's, and say exactly what changed.

Drift is found the way ``verify`` finds it (per-chunk checksums, then rows of the differing
chunks only), so a clean table costs one checksum pass. The repair is one transaction on the
follower: upserts of the owner's rows parents first (rows the follower lacks or holds
different values for), then deletes of rows the owner does not have, children first. A
verify of the pair afterwards is part of the report; when the first pass found every table
equal, that pass is the verify (a handover's freeze pays one checksum pass, not two).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from . import backfill_sqlite, pgcopy
from .backfill_pg import set_sequence
from .dbs import Table, parse_pair, quote_sqlite
from .side import Pair, PgSide, SqliteSide, open_pair
from .spec import TableSpec
from .verify import (
    DEFAULT_CHUNK_ROWS,
    TableVerify,
    VerifyReport,
    compare_table,
    row_diffs,
    rows_of,
    verify,
)

_BATCH = 500


@dataclass
class TableReconcile:
    table: str
    inserted: list[Any] = field(default_factory=list)  # keys the follower lacked
    updated: list[Any] = field(default_factory=list)  # keys whose values differed
    deleted: list[Any] = field(default_factory=list)  # keys the owner does not have

    @property
    def changed(self) -> int:
        return len(self.inserted) + len(self.updated) + len(self.deleted)


@dataclass
class ReconcileReport:
    owner: str
    follower: str
    tables: list[TableReconcile] = field(default_factory=list)
    after: VerifyReport | None = None
    seconds: float = 0.0

    @property
    def changed(self) -> int:
        return sum(t.changed for t in self.tables)

    @property
    def clean(self) -> bool:
        return self.after is not None and self.after.clean

    def render(self) -> str:
        lines = [f"reconcile {self.follower} from its owner {self.owner} ({self.seconds:.2f} s)"]
        for t in self.tables:
            if not t.changed:
                lines.append(f"  {t.table}: nothing to repair")
                continue
            lines.append(f"  {t.table}:")
            for verb, keys in (
                ("inserted", t.inserted),
                ("updated", t.updated),
                ("deleted", t.deleted),
            ):
                if keys:
                    shown = ", ".join(str(k) for k in keys[:20])
                    more = f" ... (+{len(keys) - 20})" if len(keys) > 20 else ""
                    lines.append(f"    {verb} {len(keys)}: {shown}{more}")
        if self.after is not None:
            lines.append("afterwards: " + self.after.render())
        return "\n".join(lines)


def _drift(pair: Pair, table: Table, chunk_rows: int) -> tuple[TableReconcile, TableVerify]:
    found = TableReconcile(table.name)
    compared, chunks, bad = compare_table(pair, table, chunk_rows, samples=0)
    for chunk in bad:
        owner_rows, follower_rows = pair.both(
            functools.partial(rows_of, table, chunks.bounds(chunk))
        )
        for diff in row_diffs(table.others, owner_rows, follower_rows):
            if diff.kind == "missing":
                found.inserted.append(diff.key)
            elif diff.kind == "extra":
                found.deleted.append(diff.key)
            elif not found.updated or found.updated[-1] != diff.key:
                found.updated.append(diff.key)  # one entry per row, not per column
    return found, compared


def _batches(keys: list[Any]) -> list[list[Any]]:
    return [keys[i : i + _BATCH] for i in range(0, len(keys), _BATCH)]


def _repair_pg(pair: Pair, plans: list[tuple[Table, TableReconcile]]) -> None:
    assert isinstance(pair.first, PgSide) and isinstance(pair.second, PgSide)
    owner, follower = pair.first.conn, pair.second.conn
    with follower.transaction():
        for table, plan in plans:
            keys = plan.inserted + plan.updated
            if not keys:
                continue
            pgcopy.create_stage(follower, table)
            any_key = sql.SQL("{} = ANY(%s::{}[])").format(
                sql.Identifier(table.key), sql.SQL(table.key_type)
            )
            for batch in _batches(keys):
                data = pgcopy.read_rows(owner, table, any_key, [batch])
                pgcopy.stage_and_upsert(follower, table, data)
            if plan.inserted:
                set_sequence(follower, table)
        for table, plan in reversed(plans):
            for batch in _batches(plan.deleted):
                follower.execute(
                    sql.SQL("DELETE FROM {} WHERE {} = ANY(%s::{}[])").format(
                        sql.Identifier(table.name),
                        sql.Identifier(table.key),
                        sql.SQL(table.key_type),
                    ),
                    [batch],
                )


def _repair_sqlite(pair: Pair, plans: list[tuple[Table, TableReconcile]]) -> None:
    assert isinstance(pair.first, SqliteSide) and isinstance(pair.second, SqliteSide)
    conn = pair.second.conn
    conn.execute("ATTACH DATABASE ? AS owner", [str(pair.first.endpoint.path)])
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table, plan in plans:
                for batch in _batches(plan.inserted + plan.updated):
                    where = f"{quote_sqlite(table.key)} IN ({', '.join('?' * len(batch))})"
                    conn.execute(backfill_sqlite.upsert_sql(table, "owner", where), batch)
            for table, plan in reversed(plans):
                for batch in _batches(plan.deleted):
                    conn.execute(
                        f"DELETE FROM main.{quote_sqlite(table.name)} WHERE "
                        f"{quote_sqlite(table.key)} IN ({', '.join('?' * len(batch))})",
                        batch,
                    )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.execute("DETACH DATABASE owner")


def reconcile(
    owner_url: str,
    follower_url: str,
    tables: Sequence[TableSpec],
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> ReconcileReport:
    """Repair the follower's ``tables`` (parents first) from the owner's; ``report.clean``
    says whether the follower verified clean afterwards."""
    owner, follower = parse_pair(owner_url, follower_url)
    report = ReconcileReport(owner.label, follower.label)
    started = time.perf_counter()
    labels = (f"the owner ({owner.label})", f"the follower ({follower.label})")
    with open_pair(owner, follower, tables, labels) as pair:
        found = [(table, *_drift(pair, table, chunk_rows)) for table in pair.tables]
        plans = [(table, plan) for table, plan, _ in found]
        report.tables = [plan for _, plan in plans]
        first_pass = VerifyReport(owner.label, follower.label, [c for _, _, c in found])
        if report.changed:
            if owner.kind == "postgres":
                _repair_pg(pair, plans)
            else:
                _repair_sqlite(pair, plans)
    if first_pass.clean:
        first_pass.seconds = time.perf_counter() - started
        report.after = first_pass  # nothing differed, nothing was written: already verified
    else:
        report.after = verify(owner_url, follower_url, tables, chunk_rows=chunk_rows)
    report.seconds = time.perf_counter() - started
    return report
