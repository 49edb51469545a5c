"""Per-route comparison rules: declared as data, parsed ONCE into typed, compiled records.

One route's rules, as a YAML/JSON mapping (every key optional)::

    ignore: [/id, /results/*/id, "**/created_at"]     # paths never compared
    unordered: ["/tags", {"/results": "sku"}]          # arrays compared as multisets (by key)
    tolerate:                                          # values that are equal enough
      uuid: true              # any two UUIDs match
      timestamp: 5            # two ISO-8601 timestamps within 5 s match
      decimal: 2              # numbers / decimal strings equal when rounded to 2 places
      numbers_as_strings: true  # "12.50" equals 12.5
      url_path: true          # two absolute URLs match when path and query match (hosts differ)
      null_as_missing: true   # a null field equals an absent one
    status_equivalent: [[200, 201], [301, 302, 307, 308]]
    headers: [content-type]   # headers compared (default); Date, Server, X-Request-Id never

A mistake raises ValueError naming the entry and the field (``routes[3] "users.me": tolerate.
timestamp: ...``), so a bad rules file is refused as a whole when it is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .paths import PathPattern, Tokens, split_pointer

#: Headers that differ on every answer of every server; comparing them would only make noise.
NEVER_COMPARED = frozenset({"date", "server", "x-request-id"})
DEFAULT_HEADERS = ("content-type",)

RULE_FIELDS = ("ignore", "unordered", "tolerate", "status_equivalent", "headers")
TOLERANCES = ("uuid", "timestamp", "decimal", "numbers_as_strings", "url_path", "null_as_missing")


class RuleError(ValueError):
    """A rules document that cannot be used; the message names the entry and the field."""


@dataclass(frozen=True, slots=True)
class Tolerances:
    uuid: bool = False
    timestamp: float | None = None  # seconds
    decimal: int | None = None  # scale (places)
    numbers_as_strings: bool = False
    url_path: bool = False
    null_as_missing: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in TOLERANCES:
            value = getattr(self, name)
            if value not in (None, False):
                out[name] = value
        return out


@dataclass(frozen=True, slots=True)
class Unordered:
    """An array compared as a multiset; with ``key``, items are paired by that field."""

    pattern: PathPattern
    key: tuple[str, ...] | None  # a field name, or a pointer inside the item

    @property
    def label(self) -> str:
        key = "/".join(self.key) if self.key else ""
        return f"unordered:{self.pattern.text}" + (f"[{key}]" if key else "")


@dataclass(frozen=True)
class RouteRules:
    """Everything ``compare`` needs for one route. Build with :meth:`parse`, not by hand."""

    name: str = "default"
    ignore: tuple[PathPattern, ...] = ()
    unordered: tuple[Unordered, ...] = ()
    tolerate: Tolerances = field(default_factory=Tolerances)
    status_equivalent: tuple[frozenset[int], ...] = ()
    headers: tuple[str, ...] = DEFAULT_HEADERS

    def is_ignored(self, tokens: Tokens) -> bool:
        return any(pattern.matches(tokens) for pattern in self.ignore)

    def unordered_at(self, tokens: Tokens) -> Unordered | None:
        for rule in self.unordered:
            if rule.pattern.matches(tokens):
                return rule
        return None

    def same_status(self, primary: int, candidate: int) -> bool:
        if primary == candidate:
            return True
        return any(primary in group and candidate in group for group in self.status_equivalent)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ignore": [p.text for p in self.ignore],
            "unordered": [
                {u.pattern.text: "/".join(u.key) if u.key else None} for u in self.unordered
            ],
            "tolerate": self.tolerate.to_dict(),
            "status_equivalent": [sorted(group) for group in self.status_equivalent],
            "headers": list(self.headers),
        }

    @classmethod
    def parse(
        cls,
        data: Mapping[str, Any],
        *,
        entry: str = "rules",
        name: str = "default",
        base: RouteRules | None = None,
        extra_fields: Sequence[str] = (),
    ) -> RouteRules:
        """Parse one rules mapping; with ``base``, lists extend it and ``tolerate`` updates it.

        ``extra_fields`` are keys the caller handles itself (a route's ``path``, ``method``).
        """
        if not isinstance(data, Mapping):
            raise RuleError(f"{entry}: must be a mapping, not {type(data).__name__}")
        known = set(RULE_FIELDS) | set(extra_fields)
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise RuleError(
                f"{entry}: unknown field {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
        rules = replace(base, name=name) if base is not None else cls(name=name)
        if "ignore" in data:
            rules = replace(rules, ignore=rules.ignore + _ignore(data["ignore"], entry))
        if "unordered" in data:
            # The route's own arrays are looked up before the defaults'.
            rules = replace(rules, unordered=_unordered(data["unordered"], entry) + rules.unordered)
        if "tolerate" in data:
            rules = replace(rules, tolerate=_tolerate(data["tolerate"], entry, rules.tolerate))
        if "status_equivalent" in data:
            rules = replace(rules, status_equivalent=_statuses(data["status_equivalent"], entry))
        if "headers" in data:
            rules = replace(rules, headers=_headers(data["headers"], entry))
        return rules


def _pattern(text: Any, where: str) -> PathPattern:
    try:
        return PathPattern.parse(text)
    except ValueError as exc:
        raise RuleError(f"{where}: {exc}") from None


def _ignore(value: Any, entry: str) -> tuple[PathPattern, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise RuleError(f"{entry}: ignore: must be a list of paths, not {value!r}")
    return tuple(_pattern(item, f"{entry}: ignore[{i}]") for i, item in enumerate(value))


def _unordered(value: Any, entry: str) -> tuple[Unordered, ...]:
    # Accepted: ["/a", "/b"], {"/a": "key", "/b": null}, or a list mixing both forms.
    items: list[tuple[Any, Any, str]] = []
    if isinstance(value, Mapping):
        items = [(path, key, f"{entry}: unordered.{path}") for path, key in value.items()]
    elif isinstance(value, list):
        for i, item in enumerate(value):
            where = f"{entry}: unordered[{i}]"
            if isinstance(item, str):
                items.append((item, None, where))
            elif isinstance(item, Mapping) and len(item) == 1:
                ((path, key),) = item.items()
                items.append((path, key, where))
            else:
                raise RuleError(f"{where}: must be a path or {{path: key}}, not {item!r}")
    else:
        raise RuleError(f"{entry}: unordered: must be a list or a mapping, not {value!r}")
    out: list[Unordered] = []
    for path, key, where in items:
        pattern = _pattern(path, where)
        if key is None or key is False:
            out.append(Unordered(pattern, None))
            continue
        if not isinstance(key, str) or not key:
            raise RuleError(f"{where}: the key must be a field name or a pointer, not {key!r}")
        parts = split_pointer(key) if key.startswith("/") else (key,)
        out.append(Unordered(pattern, parts))
    return tuple(out)


def _tolerate(value: Any, entry: str, base: Tolerances) -> Tolerances:
    if isinstance(value, str):
        value = {value: True}
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = dict.fromkeys(value, True)
    if not isinstance(value, Mapping):
        raise RuleError(f"{entry}: tolerate: must be a mapping, not {value!r}")
    out = base
    for name, setting in value.items():
        where = f"{entry}: tolerate.{name}"
        if name in ("uuid", "numbers_as_strings", "url_path", "null_as_missing"):
            if not isinstance(setting, bool):
                raise RuleError(f"{where}: must be true or false, not {setting!r}")
            out = replace(out, **{name: setting})
        elif name == "timestamp":
            if setting is False or setting is None:
                out = replace(out, timestamp=None)
            elif isinstance(setting, bool) or not isinstance(setting, int | float) or setting < 0:
                raise RuleError(f"{where}: must be a number of seconds >= 0, not {setting!r}")
            else:
                out = replace(out, timestamp=float(setting))
        elif name == "decimal":
            if setting is False or setting is None:
                out = replace(out, decimal=None)
            elif (
                isinstance(setting, bool) or not isinstance(setting, int) or not 0 <= setting <= 12
            ):
                raise RuleError(f"{where}: must be a scale (places) from 0 to 12, not {setting!r}")
            else:
                out = replace(out, decimal=setting)
        else:
            raise RuleError(f"{where}: unknown tolerance (known: {', '.join(TOLERANCES)})")
    return out


def _statuses(value: Any, entry: str) -> tuple[frozenset[int], ...]:
    if not isinstance(value, list):
        raise RuleError(f"{entry}: status_equivalent: must be a list of lists, not {value!r}")
    groups: list[frozenset[int]] = []
    for i, group in enumerate(value):
        where = f"{entry}: status_equivalent[{i}]"
        if not isinstance(group, list) or len(group) < 2:
            raise RuleError(f"{where}: must be a list of at least two statuses, not {group!r}")
        for status in group:
            if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
                raise RuleError(f"{where}: {status!r} is not an HTTP status (100-599)")
        groups.append(frozenset(group))
    return tuple(groups)


def _headers(value: Any, entry: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(h, str) and h for h in value):
        raise RuleError(f"{entry}: headers: must be a list of header names, not {value!r}")
    names = tuple(dict.fromkeys(h.strip().lower() for h in value))
    never = sorted(NEVER_COMPARED.intersection(names))
    if never:
        raise RuleError(
            f"{entry}: headers: {', '.join(never)} differ on every answer and are never compared"
        )
    return names
