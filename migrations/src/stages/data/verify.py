"""``verify``: row counts and per-chunk checksums of two databases' copies of the same tables,
then, inside each differing chunk, the first differing rows (key, column, both values).

PostgreSQL: one grouped query per side, ``md5(string_agg(ROW(...)::text ORDER BY key))`` per
chunk, both sides at once (two threads, two servers' backends). SQLite: rows hashed in Python.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .chunks import Chunks
from .dbs import Table, parse_pair
from .side import Pair, Rows, Side, open_pair
from .spec import TableSpec

DEFAULT_CHUNK_ROWS = 10_000
DEFAULT_SAMPLES = 10


@dataclass(frozen=True)
class RowDiff:
    key: Any
    kind: Literal["changed", "missing", "extra"]  # missing: only the first side; extra: second
    column: str | None = None
    first: str | None = None  # the values as text (None: SQL NULL or no row)
    second: str | None = None

    def render(self) -> str:
        if self.kind == "missing":
            return f"key {self.key}: only in the first side"
        if self.kind == "extra":
            return f"key {self.key}: only in the second side"
        return f"key {self.key}: {self.column} {self.first!r} != {self.second!r}"


@dataclass(frozen=True)
class ChunkDiff:
    chunk: int
    range: str
    first_rows: int
    second_rows: int


@dataclass
class TableVerify:
    table: str
    first_rows: int = 0
    second_rows: int = 0
    chunks: int = 0
    differing: list[ChunkDiff] = field(default_factory=list)
    samples: list[RowDiff] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.differing and self.first_rows == self.second_rows


@dataclass
class VerifyReport:
    first: str
    second: str
    tables: list[TableVerify] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return all(t.clean for t in self.tables)

    def render(self) -> str:
        verdict = "clean" if self.clean else "DIFFERENT"
        lines = [f"verify {self.first} vs {self.second}: {verdict} ({self.seconds:.2f} s)"]
        for t in self.tables:
            state = "clean" if t.clean else f"{len(t.differing)} of {t.chunks} chunks differ"
            lines.append(f"  {t.table}: {t.first_rows} vs {t.second_rows} rows, {state}")
            for chunk in t.differing[:10]:
                lines.append(
                    f"    chunk {chunk.chunk} ({chunk.range}): "
                    f"{chunk.first_rows} vs {chunk.second_rows} rows"
                )
            if len(t.differing) > 10:
                lines.append(f"    ... and {len(t.differing) - 10} more chunks")
            lines.extend(f"      {diff.render()}" for diff in t.samples)
        return "\n".join(lines)


def row_diffs(
    columns: tuple[str, ...], first: dict[Any, tuple[Any, ...]], second: dict[Any, tuple[Any, ...]]
) -> list[RowDiff]:
    """Every difference between two chunks' rows (key -> values as text), first side's order."""
    diffs: list[RowDiff] = []
    for key, row in first.items():
        other = second.get(key)
        if other is None:
            diffs.append(RowDiff(key, "missing"))
            continue
        for column, a, b in zip(columns, row, other, strict=True):
            if a != b:
                diffs.append(RowDiff(key, "changed", column, a, b))
    diffs.extend(RowDiff(key, "extra") for key in second if key not in first)
    return diffs


def rows_of(table: Table, bounds: tuple[Any, Any], side: Side) -> Rows:
    return side.rows(table, bounds)


def compare_table(
    pair: Pair, table: Table, chunk_rows: int, samples: int
) -> tuple[TableVerify, Chunks, list[int]]:
    """Counts and checksums per chunk; the differing chunks' numbers and first row diffs."""
    chunks = pair.first.chunking(table, chunk_rows)
    sums_first, sums_second = pair.both(lambda side: side.checksums(table, chunks))
    result = TableVerify(table.name)
    result.first_rows = sum(n for n, _ in sums_first.values())
    result.second_rows = sum(n for n, _ in sums_second.values())
    every = sorted(set(sums_first) | set(sums_second))
    result.chunks = len(every)
    bad = [c for c in every if sums_first.get(c) != sums_second.get(c)]
    for chunk in bad:
        result.differing.append(
            ChunkDiff(
                chunk,
                chunks.describe(chunk),
                sums_first.get(chunk, (0, ""))[0],
                sums_second.get(chunk, (0, ""))[0],
            )
        )
        if len(result.samples) < samples:
            rows_a, rows_b = pair.both(functools.partial(rows_of, table, chunks.bounds(chunk)))
            found = row_diffs(table.others, rows_a, rows_b)
            result.samples.extend(found[: samples - len(result.samples)])
    return result, chunks, bad


def verify(
    source_url: str,
    target_url: str,
    tables: Sequence[TableSpec],
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    samples: int = DEFAULT_SAMPLES,
) -> VerifyReport:
    """Compare ``tables`` in both databases; ``report.clean`` is the verdict."""
    first, second = parse_pair(source_url, target_url)
    report = VerifyReport(first.label, second.label)
    started = time.perf_counter()
    labels = (f"the source ({first.label})", f"the target ({second.label})")
    with open_pair(first, second, tables, labels) as pair:
        for table in pair.tables:
            report.tables.append(compare_table(pair, table, chunk_rows, samples)[0])
    report.seconds = time.perf_counter() - started
    return report
