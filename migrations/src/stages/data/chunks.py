"""How verify cuts a table into key ranges that mean the same thing on both sides.

Integer keys: fixed-width steps from the first side's smallest key (no extra scan); other keys
(text, uuid): the first side's every n-th key. A key below the first range lands in the chunk
below it (-1 / 0), so nothing on the second side goes uncounted.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any, Literal

from psycopg import sql

from .dbs import Table


@dataclass(frozen=True)
class Chunks:
    kind: Literal["step", "starts", "one"]
    low: int = 0
    step: int = 1
    starts: tuple[Any, ...] = ()

    @classmethod
    def by_step(cls, low: int | None, high: int | None, rows: int, chunk_rows: int) -> Chunks:
        if low is None or high is None or rows == 0:
            return cls("one")
        return cls("step", low=low, step=max(1, math.ceil((high - low + 1) * chunk_rows / rows)))

    @classmethod
    def by_starts(cls, starts: list[Any]) -> Chunks:
        return cls("starts", starts=tuple(starts)) if starts else cls("one")

    def bounds(self, chunk: int) -> tuple[Any, Any]:
        """``(lo, hi)``: ``lo <= key < hi``, None for open."""
        if self.kind == "step":
            if chunk < 0:
                return None, self.low
            return self.low + chunk * self.step, self.low + (chunk + 1) * self.step
        if self.kind == "starts":
            lo = self.starts[chunk - 1] if chunk > 0 else None
            hi = self.starts[chunk] if chunk < len(self.starts) else None
            return lo, hi
        return None, None

    def of(self, key: Any) -> int:
        """The chunk of one key (Python side, SQLite)."""
        if self.kind == "step":
            return -1 if key < self.low else (key - self.low) // self.step
        if self.kind == "starts":
            return bisect.bisect_right(self.starts, key)
        return 0

    def pg_expr(self, table: Table) -> tuple[sql.Composable, list[Any]]:
        key = sql.Identifier(table.key)
        if self.kind == "step":
            return (
                sql.SQL("CASE WHEN {k} < %s THEN -1 ELSE ({k} - %s) / %s END").format(k=key),
                [self.low, self.low, self.step],
            )
        if self.kind == "starts":
            return sql.SQL("width_bucket({}, %s::{}[])").format(key, sql.SQL(table.key_type)), [
                list(self.starts)
            ]
        return sql.SQL("0"), []

    def describe(self, chunk: int) -> str:
        lo, hi = self.bounds(chunk)
        return f"{'' if lo is None else lo} <= key < {'' if hi is None else hi}".strip()
