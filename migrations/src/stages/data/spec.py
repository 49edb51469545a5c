"""What to move: a table, its primary key and (optionally) the columns, and how the CLI names it."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import DataError


@dataclass(frozen=True)
class TableSpec:
    """One table to copy or compare; a stage passes them parents first.

    ``columns=None`` means every column the two sides share (read from each side's catalog).
    """

    name: str
    key: str = "id"
    columns: tuple[str, ...] | None = None


def parse_table(text: str) -> TableSpec:
    """``name``, ``name:key`` or ``name:key:col1,col2`` (the CLI's ``--table``)."""
    parts = text.split(":")
    if not parts[0] or len(parts) > 3 or any(not p for p in parts[1:2]):
        raise DataError(f"--table {text!r}: expected name, name:key or name:key:col1,col2")
    key = parts[1] if len(parts) > 1 else "id"
    columns = None
    if len(parts) == 3:
        columns = tuple(c.strip() for c in parts[2].split(",") if c.strip())
        if key not in columns:
            columns = (key, *columns)
    return TableSpec(parts[0], key, columns)
