"""Leaf values: their JSON type, and the tolerances that make two different values equal.

Every check is a precompiled regular expression or a cheap parse, tried only after the two
values were found unequal, so identical answers cost nothing here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .rules import Tolerances

_UUID = re.compile(
    r"^(?:urn:uuid:)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
# A date AND a time: a bare "20240101" or "12.50" is never taken for a timestamp.
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_DECIMAL = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_URL = re.compile(r"^https?://", re.IGNORECASE)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _timestamp(text: str) -> datetime | None:
    if not _TIMESTAMP.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and _DECIMAL.match(value.strip()):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    return None


def _rounded(value: Decimal, scale: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_EVEN)


def _url_key(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    parts = urlsplit(text)
    return parts.path, tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))


def tolerated(primary: Any, candidate: Any, tolerate: Tolerances) -> tuple[bool, str | None]:
    """Whether two unequal leaf values are equal under ``tolerate``, and the rule that decided.

    ``(True, rule)``: a tolerance made them equal. ``(False, rule)``: ``rule`` applied to both
    values but they are too far apart ("tolerate:timestamp(5s) exceeded"). ``(False, None)``:
    no tolerance applies to this pair of values.
    """
    p_type, c_type = json_type(primary), json_type(candidate)
    if p_type == "string" and c_type == "string":
        if tolerate.uuid and _UUID.match(primary) and _UUID.match(candidate):
            return True, "tolerate:uuid"
        if tolerate.timestamp is not None:
            p_time, c_time = _timestamp(primary), _timestamp(candidate)
            if p_time is not None and c_time is not None:
                rule = f"tolerate:timestamp({_seconds(tolerate.timestamp)})"
                within = abs((p_time - c_time).total_seconds()) <= tolerate.timestamp
                return within, rule if within else rule + " exceeded"
        if tolerate.url_path and _URL.match(primary) and _URL.match(candidate):
            same = _url_key(primary) == _url_key(candidate)
            return same, "tolerate:url_path" if same else "tolerate:url_path (path or query differ)"
    if tolerate.decimal is None and not tolerate.numbers_as_strings:
        return False, None
    mixed = {p_type, c_type} == {"string", "number"}
    if mixed and not tolerate.numbers_as_strings:
        return False, None
    if not mixed and not (p_type == c_type and p_type in ("string", "number")):
        return False, None
    if not mixed and tolerate.decimal is None:
        return False, None  # numbers_as_strings alone says nothing about two strings
    p_num, c_num = _decimal(primary), _decimal(candidate)
    if p_num is None or c_num is None:
        return False, None
    if tolerate.decimal is not None:
        rule = f"tolerate:decimal({tolerate.decimal})"
        try:
            same = _rounded(p_num, tolerate.decimal) == _rounded(c_num, tolerate.decimal)
        except InvalidOperation:
            same = p_num == c_num
        if mixed:
            rule = "tolerate:numbers_as_strings+" + rule.removeprefix("tolerate:")
        return same, rule if same else rule + " exceeded"
    same = p_num == c_num
    return (
        same,
        "tolerate:numbers_as_strings" if same else "tolerate:numbers_as_strings (values differ)",
    )
