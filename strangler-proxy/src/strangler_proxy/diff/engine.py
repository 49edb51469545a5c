"""``compare(primary, candidate, rules) -> Diff``: status, chosen headers, then the bodies.

JSON bodies (``application/json``, ``*+json``) are walked side by side, field by field;
other bodies are compared as bytes (a digest and a short preview in the Diff). The walk:

    object  keys of both sides; a key on one side only is "missing" / "extra"
    array   index by index, or (``unordered``) as a multiset, items paired by a key field or by
            equality; unpaired items are "missing" / "extra"
    leaf    equal, or equal under a tolerance (values.py), or "changed" / "type"

An ``ignore`` pattern cuts the walk at the paths it matches. Identical answers (same status,
headers and body bytes) return at once without parsing.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from .paths import Tokens, generic_pointer, pointer
from .response import Response
from .result import Diff, FieldDiff, Kind, bounded
from .rules import RouteRules, Unordered
from .values import json_type, tolerated

MAX_DIFFERENCES = 100
_INVALID = object()


class _Differs(Exception):
    """Raised by a probing collector at the first difference: the answer is known."""


class _Collector:
    __slots__ = ("differences", "limit", "omitted", "probe", "rules")

    def __init__(self, rules: RouteRules, limit: int, *, probe: bool = False) -> None:
        self.rules = rules
        self.limit = limit
        self.probe = probe
        self.differences: list[FieldDiff] = []
        self.omitted = 0

    def add(
        self,
        tokens: Tokens,
        kind: Kind,
        primary: Any = None,
        candidate: Any = None,
        rule: str | None = None,
    ) -> None:
        if self.probe:
            raise _Differs
        if len(self.differences) >= self.limit:
            self.omitted += 1
            return
        self.differences.append(
            FieldDiff(
                pointer(tokens),
                kind,
                bounded(primary),
                bounded(candidate),
                rule,
                generic_pointer(tokens),
            )
        )

    def special(
        self, path: str, kind: Kind, primary: Any, candidate: Any, rule: str | None
    ) -> None:
        if len(self.differences) >= self.limit:
            self.omitted += 1
            return
        self.differences.append(
            FieldDiff(path, kind, bounded(primary), bounded(candidate), rule, path)
        )


def compare(
    primary: Response,
    candidate: Response,
    rules: RouteRules,
    *,
    max_differences: int = MAX_DIFFERENCES,
) -> Diff:
    """Compare two answers to the same request under one route's rules."""
    out = _Collector(rules, max_differences)
    if not rules.same_status(primary.status, candidate.status):
        rule = "status_equivalent" if rules.status_equivalent else None
        out.special("status", "status", primary.status, candidate.status, rule)
    for name in rules.headers:
        p_value, c_value = primary.headers.get(name), candidate.headers.get(name)
        if name == "content-type":
            # Parameters (charset) differ between frameworks without meaning anything.
            p_value = primary.media_type or None
            c_value = candidate.media_type or None
        elif p_value is not None and c_value is not None:
            p_value, c_value = p_value.strip(), c_value.strip()
        if p_value != c_value:
            out.special(f"header:{name}", "header", p_value, c_value, None)
    if primary.body != candidate.body:
        _bodies(primary, candidate, out)
    return Diff(tuple(out.differences), rules.name, out.omitted)


def _parse(response: Response) -> Any:
    if not response.is_json or not response.body:
        return _INVALID
    try:
        return json.loads(response.body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return _INVALID


def _preview(body: bytes) -> str:
    digest = hashlib.sha256(body).hexdigest()[:16]
    try:
        text = body[:120].decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    return f"{len(body)} bytes sha256:{digest}" + (f" {text!r}" if text else "")


def _bodies(primary: Response, candidate: Response, out: _Collector) -> None:
    if out.rules.is_ignored(()):
        return
    p_json, c_json = _parse(primary), _parse(candidate)
    if p_json is _INVALID or c_json is _INVALID:
        kind: Kind = "type" if (p_json is _INVALID) != (c_json is _INVALID) else "changed"
        out.special("body", kind, _preview(primary.body), _preview(candidate.body), None)
        return
    _walk(p_json, c_json, (), out)


def _walk(p: Any, c: Any, tokens: Tokens, out: _Collector) -> None:
    p_class, c_class = type(p), type(c)
    if p_class is c_class:
        if p_class is dict:
            _objects(p, c, tokens, out)
            return
        if p_class is list:
            rule = out.rules.unordered_at(tokens) if out.rules.unordered else None
            if rule is None:
                _ordered(p, c, tokens, out)
            else:
                _unordered(p, c, tokens, rule, out)
            return
        if p == c:
            return  # the common case: one type, one value (True == 1 is not reached here)
    _leaf(p, c, tokens, out)


def _objects(p: dict[str, Any], c: dict[str, Any], tokens: Tokens, out: _Collector) -> None:
    rules = out.rules
    null_as_missing = rules.tolerate.null_as_missing
    for key, p_value in p.items():
        here = (*tokens, key)
        if rules.ignore and rules.is_ignored(here):
            continue
        if key in c:
            _walk(p_value, c[key], here, out)
        elif not (p_value is None and null_as_missing):
            out.add(here, "missing", p_value, None)
    for key, c_value in c.items():
        if key in p:
            continue
        here = (*tokens, key)
        if rules.ignore and rules.is_ignored(here):
            continue
        if not (c_value is None and null_as_missing):
            out.add(here, "extra", None, c_value)


def _ordered(p: list[Any], c: list[Any], tokens: Tokens, out: _Collector) -> None:
    rules = out.rules
    for index in range(max(len(p), len(c))):
        here = (*tokens, index)
        if rules.ignore and rules.is_ignored(here):
            continue
        if index >= len(c):
            out.add(here, "missing", p[index], None)
        elif index >= len(p):
            out.add(here, "extra", None, c[index])
        else:
            _walk(p[index], c[index], here, out)


def _leaf(p: Any, c: Any, tokens: Tokens, out: _Collector) -> None:
    p_type, c_type = json_type(p), json_type(c)
    if p_type == c_type and p == c:
        return
    same, rule = tolerated(p, c, out.rules.tolerate)
    if same:
        return
    out.add(tokens, "changed" if p_type == c_type else "type", p, c, rule)


def _equal(p: Any, c: Any, tokens: Tokens, rules: RouteRules) -> bool:
    """Whether two items compare equal under the rules (used to pair unordered items)."""
    try:
        _walk(p, c, tokens, _Collector(rules, 0, probe=True))
    except _Differs:
        return False
    return True


def _key_of(item: Any, key: tuple[str, ...]) -> Any:
    value = item
    for part in key:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _INVALID
    # Keys are compared as JSON text: a dict or a list can be a key too.
    return json.dumps(value, sort_keys=True, default=str)


def _unordered(
    p: list[Any], c: list[Any], tokens: Tokens, rule: Unordered, out: _Collector
) -> None:
    rules = out.rules
    pairs: list[tuple[int, int]] = []
    p_left: list[int] = []
    c_left = list(range(len(c)))
    if rule.key is not None:
        by_key: dict[Any, list[int]] = {}
        keyless: list[int] = []
        for j in c_left:
            k = _key_of(c[j], rule.key)
            if k is _INVALID:
                keyless.append(j)
            else:
                by_key.setdefault(k, []).append(j)
        for i, item in enumerate(p):
            k = _key_of(item, rule.key)
            bucket = by_key.get(k) if k is not _INVALID else None
            if bucket:
                pairs.append((i, bucket.pop(0)))
            else:
                p_left.append(i)
        c_left = sorted(keyless + [j for bucket in by_key.values() for j in bucket])
        # Items without the key (or keys on one side only) fall back to pairing by equality.
        p_left, c_left = _pair_equal(p, c, p_left, c_left, tokens, rules, pairs)
    else:
        p_left, c_left = _pair_equal(p, c, list(range(len(p))), c_left, tokens, rules, pairs)
    for i, j in sorted(pairs):
        _walk(p[i], c[j], (*tokens, i), out)
    for i in p_left:
        out.add((*tokens, i), "missing", p[i], None, rule.label)
    for j in c_left:
        out.add((*tokens, j), "extra", None, c[j], rule.label)


def _pair_equal(
    p: list[Any],
    c: list[Any],
    p_left: list[int],
    c_left: list[int],
    tokens: Tokens,
    rules: RouteRules,
    pairs: list[tuple[int, int]],
) -> tuple[list[int], list[int]]:
    if not p_left or not c_left:
        return p_left, c_left
    # Cheap first: identical JSON text; then equality under the rules (tolerances, ignores).
    by_text: dict[str, list[int]] = {}
    for j in c_left:
        by_text.setdefault(_text(c[j]), []).append(j)
    unmatched: list[int] = []
    for i in p_left:
        bucket = by_text.get(_text(p[i]))
        if bucket:
            pairs.append((i, bucket.pop(0)))
        else:
            unmatched.append(i)
    remaining = sorted(j for bucket in by_text.values() for j in bucket)
    still: list[int] = []
    for i in unmatched:
        found = next((j for j in remaining if _equal(p[i], c[j], (*tokens, i), rules)), None)
        if found is None:
            still.append(i)
        else:
            remaining.remove(found)
            pairs.append((i, found))
    return still, remaining


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
