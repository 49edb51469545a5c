"""Which rules apply to a request: route entries matched by method and path, first match wins.

A rules document::

    defaults:                 # rules of every route (and of requests no entry matches)
      tolerate: {uuid: true}
    routes:
      - name: catalog.product          # optional; default "GET /api/catalog/products/{slug}"
        method: GET                    # a method, a list of them, or "*" (default)
        path: /api/catalog/products/{slug}   # {param} and * are one segment, ** the rest
        ignore: [/updated_at]          # + the rule fields of rules.py, added to the defaults
      - prefix: /api/orders            # a path prefix (on a segment boundary) instead of a path
        inherit: false                 # start from built-in rules instead of the defaults

Parsed once (:meth:`RuleBook.parse`); ``rules_for(method, path)`` is a short loop over
precompiled regular expressions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .rules import RouteRules, RuleError

ROUTE_FIELDS = ("name", "method", "path", "prefix", "inherit")
DEFAULT_RULES_FILE = "default_rules.yaml"
_PARAM = re.compile(r"^\{[A-Za-z_][A-Za-z0-9_]*\}$")


@dataclass(frozen=True, slots=True)
class RouteEntry:
    name: str
    methods: frozenset[str] | None  # None: any method
    regex: re.Pattern[str]
    rules: RouteRules

    def matches(self, method: str, path: str) -> bool:
        return (self.methods is None or method in self.methods) and bool(self.regex.match(path))


def _path_regex(path: str, where: str) -> re.Pattern[str]:
    if not path.startswith("/"):
        raise RuleError(f"{where}: path: {path!r} must start with '/'")
    parts: list[str] = []
    segments = path[1:].split("/")
    for i, segment in enumerate(segments):
        if segment == "**":
            if i != len(segments) - 1:
                raise RuleError(f"{where}: path: '**' may only end a path ({path!r})")
            return re.compile("^" + "".join(parts) + "(?:/.*)?$")
        if segment == "*" or _PARAM.match(segment):
            parts.append("/[^/]+")
        elif "{" in segment or "}" in segment:
            raise RuleError(f"{where}: path: {segment!r} is not a {{param}} segment ({path!r})")
        else:
            parts.append("/" + re.escape(segment))
    return re.compile("^" + "".join(parts) + "$")


def _prefix_regex(prefix: str, where: str) -> re.Pattern[str]:
    if not prefix.startswith("/"):
        raise RuleError(f"{where}: prefix: {prefix!r} must start with '/'")
    stem = prefix.rstrip("/")
    return re.compile("^" + re.escape(stem) + "(?:/.*)?$")


def _methods(value: Any, where: str) -> frozenset[str] | None:
    if value is None or value == "*":
        return None
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(m, str) for m in names):
        raise RuleError(f"{where}: method: must be a method name or a list of them, not {value!r}")
    if "*" in names:
        return None
    bad = [m for m in names if not m.isalpha()]
    if bad:
        raise RuleError(f"{where}: method: {bad[0]!r} is not an HTTP method")
    return frozenset(m.upper() for m in names)


def _entry(data: Any, index: int, defaults: RouteRules) -> RouteEntry:
    where = f"routes[{index}]"
    if not isinstance(data, Mapping):
        raise RuleError(f"{where}: must be a mapping, not {data!r}")
    name = data.get("name")
    if name is not None:
        if not isinstance(name, str) or not name:
            raise RuleError(f"{where}: name: must be a non-empty string, not {name!r}")
        where = f"{where} {name!r}"
    path, prefix = data.get("path"), data.get("prefix")
    if (path is None) == (prefix is None):
        raise RuleError(f"{where}: path: give exactly one of 'path' or 'prefix'")
    location = path if path is not None else prefix
    if not isinstance(location, str):
        field = "path" if path is not None else "prefix"
        raise RuleError(f"{where}: {field}: must be a string, not {location!r}")
    regex = _path_regex(location, where) if path is not None else _prefix_regex(location, where)
    methods = _methods(data.get("method"), where)
    label = name or f"{'|'.join(sorted(methods)) if methods else '*'} {location}"
    if name is None:
        where = f"{where} {label!r}"
    inherit = data.get("inherit", True)
    if not isinstance(inherit, bool):
        raise RuleError(f"{where}: inherit: must be true or false, not {inherit!r}")
    rules = RouteRules.parse(
        data,
        entry=where,
        name=label,
        base=defaults if inherit else RouteRules(),
        extra_fields=ROUTE_FIELDS,
    )
    return RouteEntry(label, methods, regex, rules)


class RuleBook:
    """All routes' rules. Immutable once built; share one instance between threads."""

    def __init__(self, defaults: RouteRules, entries: tuple[RouteEntry, ...] = ()) -> None:
        self.defaults = defaults
        self.entries = entries

    def rules_for(self, method: str, path: str) -> RouteRules:
        """The first entry matching ``method`` and ``path`` (query string ignored), else defaults."""
        path = path.split("?", 1)[0] or "/"
        method = method.upper()
        for entry in self.entries:
            if entry.matches(method, path):
                return entry.rules
        return self.defaults

    def to_dict(self) -> dict[str, Any]:
        return {
            "defaults": self.defaults.to_dict(),
            "routes": [e.rules.to_dict() for e in self.entries],
        }

    @classmethod
    def parse(cls, data: Any) -> RuleBook:
        """Parse a rules document (a mapping with optional ``defaults`` and ``routes``)."""
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise RuleError(f"rules: the document must be a mapping, not {type(data).__name__}")
        unknown = sorted(str(k) for k in data if k not in ("defaults", "routes", "version"))
        if unknown:
            raise RuleError(f"rules: unknown field {', '.join(unknown)} (known: defaults, routes)")
        defaults = RouteRules.parse(data.get("defaults") or {}, entry="defaults", name="default")
        routes = data.get("routes") or []
        if not isinstance(routes, list):
            raise RuleError(f"routes: must be a list of route entries, not {routes!r}")
        entries = tuple(_entry(item, i, defaults) for i, item in enumerate(routes))
        return cls(defaults, entries)

    @classmethod
    def loads(cls, text: str) -> RuleBook:
        """From YAML (or JSON, which is YAML) text."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise RuleError(f"rules: not YAML: {exc}") from None
        return cls.parse(data)

    @classmethod
    def load(cls, path: str | Path) -> RuleBook:
        """From a ``.yaml``/``.yml``/``.json`` file; errors name the file."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix == ".json":
                return cls.parse(json.loads(text))
            return cls.loads(text)
        except json.JSONDecodeError as exc:
            raise RuleError(f"{path}: not JSON: {exc}") from None
        except RuleError as exc:
            raise RuleError(f"{path}: {exc}") from None


def default_rules_text() -> str:
    """The text of the packaged default rules (``default_rules.yaml``)."""
    return (
        resources.files(__name__.rpartition(".")[0])
        .joinpath(DEFAULT_RULES_FILE)
        .read_text(encoding="utf-8")
    )


@lru_cache(maxsize=1)
def default_rulebook() -> RuleBook:
    """The packaged default rules, parsed once per process."""
    return RuleBook.loads(default_rules_text())
