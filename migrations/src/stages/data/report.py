"""What the backfill did, per table, and how the terminal shows it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# progress(table, rows in the target so far (resumed ones included), rows in the source)
Progress = Callable[[str, int, int], None]


@dataclass
class TableBackfill:
    table: str
    source_rows: int  # counted when the table started
    rows_copied: int = 0  # read from the source and written by this run
    resumed_from: Any = None  # the checkpoint's last key when this run started (None: start)
    last_key: Any = None
    chunks: int = 0
    direct_chunks: int = 0  # copied straight in (the key range was empty in the target)
    seconds: float = 0.0
    sequence_set_to: int | None = None
    not_copied_columns: tuple[str, ...] = ()  # only the source has them

    @property
    def rows_per_s(self) -> float:
        return self.rows_copied / self.seconds if self.seconds > 0 else 0.0


@dataclass
class BackfillReport:
    run_id: str
    source: str
    target: str
    tables: list[TableBackfill] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_copied(self) -> int:
        return sum(t.rows_copied for t in self.tables)

    @property
    def rows_per_s(self) -> float:
        return self.rows_copied / self.seconds if self.seconds > 0 else 0.0

    def render(self) -> str:
        lines = [f"backfill {self.source} -> {self.target} (run {self.run_id})"]
        for t in self.tables:
            resumed = "" if t.resumed_from is None else f", resumed after key {t.resumed_from}"
            lines.append(
                f"  {t.table}: {t.rows_copied} rows copied of {t.source_rows} in the source "
                f"in {t.chunks} chunks ({t.direct_chunks} straight COPY){resumed}, "
                f"{t.rows_per_s:,.0f} rows/s"
            )
            if t.sequence_set_to is not None:
                lines.append(f"    sequence set to {t.sequence_set_to}")
            if t.not_copied_columns:
                lines.append(
                    f"    not copied (the target has no such column): {', '.join(t.not_copied_columns)}"
                )
        lines.append(
            f"  total: {self.rows_copied} rows in {self.seconds:.2f} s ({self.rows_per_s:,.0f} rows/s)"
        )
        return "\n".join(lines)
