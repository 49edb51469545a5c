"""What a comparison found: FieldDiff records in a frozen Diff, printable and storable.

Values are kept small: a string is cut to ``VALUE_LIMIT`` characters, a container whose JSON is
longer is kept as its cut JSON text, so a Diff of a megabyte body is still a few kilobytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

Kind = Literal["changed", "missing", "extra", "type", "status", "header"]
KINDS: tuple[Kind, ...] = ("changed", "missing", "extra", "type", "status", "header")
VALUE_LIMIT = 200
SUMMARY_ITEMS = 3
SUMMARY_VALUE_LIMIT = 40
ELLIPSIS = "…"


def plain(value: Any) -> Any:
    """The value with Decimals (the engine parses JSON numbers as Decimal) made JSON-able."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + ELLIPSIS


def bounded(value: Any, limit: int = VALUE_LIMIT) -> Any:
    """A JSON-able, size-bounded stand-in for ``value``."""
    if isinstance(value, str):
        return _cut(value, limit)
    if isinstance(value, dict | list):
        text = json.dumps(plain(value), separators=(",", ":"), ensure_ascii=False, default=str)
        return plain(value) if len(text) <= limit else _cut(text, limit)
    return plain(value)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return _cut(text, SUMMARY_VALUE_LIMIT)


@dataclass(frozen=True, slots=True)
class FieldDiff:
    """One difference. ``path`` is a JSON pointer into the body (``""`` is the whole body),
    ``status``, ``header:<name>``, or ``body`` for bodies compared as bytes. ``pattern`` is the
    path with array indices as ``*`` (what the noise filter counts by). ``rule`` names the rule
    that was tried and did not make the values equal (``tolerate:timestamp(5s) exceeded``)."""

    path: str
    kind: Kind
    primary: Any = None
    candidate: Any = None
    rule: str | None = None
    pattern: str = ""

    @property
    def field(self) -> str:
        return self.pattern or self.path

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "field": self.field,
            "kind": self.kind,
            "primary": self.primary,
            "candidate": self.candidate,
            "rule": self.rule,
        }

    def describe(self) -> str:
        """``/price ("12.50" != "12.60")``, ``/qty (missing in candidate)``..."""
        where = self.path or "(root)"
        if self.kind == "missing":
            note = "missing in candidate"
        elif self.kind == "extra":
            note = "only in candidate"
        else:
            note = f"{_show(self.primary)} != {_show(self.candidate)}"
            if self.kind == "type":
                note += ", type"
        if self.rule:
            note += f"; {self.rule}"
        return f"{where} ({note})"


@dataclass(frozen=True, slots=True)
class Diff:
    """The outcome of one comparison. ``omitted`` counts differences beyond the kept maximum."""

    differences: tuple[FieldDiff, ...] = ()
    route: str = ""
    omitted: int = 0

    @property
    def ok(self) -> bool:
        return not self.differences

    @property
    def count(self) -> int:
        return len(self.differences) + self.omitted

    def fields(self) -> tuple[str, ...]:
        """The distinct ``field`` names (patterns), in order of first appearance."""
        return tuple(dict.fromkeys(d.field for d in self.differences))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "route": self.route,
            "count": self.count,
            "omitted": self.omitted,
            "differences": [d.to_dict() for d in self.differences],
        }

    def summary(self) -> str:
        """One short line for a log."""
        return summarize(self.differences, self.omitted)


def summarize(differences: tuple[FieldDiff, ...], omitted: int = 0) -> str:
    total = len(differences) + omitted
    if total == 0:
        return "no differences"
    head = f"{total} field{'s differ' if total != 1 else ' differs'}: "
    shown = ", ".join(d.describe() for d in differences[:SUMMARY_ITEMS])
    rest = total - min(len(differences), SUMMARY_ITEMS)
    return head + shown + (f", and {rest} more" if rest else "")
