"""Reading a route table: YAML/JSON with line numbers, validated field by field into the
records of table.py. Every error names the source, the line and the field::

    routes.yaml line 13: routes.catalog.mode: 'shadw' is not one of monolith, shadow, canary, service
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NoReturn
from urllib.parse import urlsplit

import yaml

from .table import (
    HTTP_METHODS,
    ROUTE_KEY,
    UPSTREAM_NAME,
    BreakerSpec,
    Mode,
    RetrySpec,
    Route,
    RouteTable,
    ShadowSpec,
    ShadowWrites,
    TableError,
    UpstreamSpec,
    plain_data,
)

# --- loading with line numbers ----------------------------------------------------------------


class _Map(dict[str, Any]):
    """A mapping that remembers the line of each key (1-based)."""

    line: int | None = None
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Map:
    result = _Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in result:
            raise TableError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_text(text: str, *, source: str = "routes") -> Any:
    """YAML (JSON is YAML) into plain data whose mappings remember their lines."""
    try:
        return yaml.load(text, Loader=_LineLoader)
    except TableError as exc:
        raise TableError(f"{source} {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise TableError(f"{source}{where}: not valid YAML/JSON: {problem}") from None


# --- validation -------------------------------------------------------------------------------


class _Where:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, parent: Any, key: str | None, path: str, message: str) -> NoReturn:
        line = None
        if isinstance(parent, _Map):
            line = parent.key_lines.get(key, parent.line) if key is not None else parent.line
        where = f"{self.source} line {line}" if line else self.source
        raise TableError(f"{where}: {path}: {message}")


def _only(where: _Where, data: Any, path: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        where.fail(data, None, path, f"expected a mapping, got {type(data).__name__}")
    for key in data:
        if key not in allowed:
            where.fail(data, key, f"{path}.{key}", f"unknown field (allowed: {', '.join(allowed)})")
    return data


def _number(
    where: _Where,
    data: Mapping[str, Any],
    key: str,
    path: str,
    default: float,
    lo: float,
    hi: float,
) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        where.fail(data, key, f"{path}.{key}", f"{value!r} is not a number in [{lo}, {hi}]")
    return float(value)


def _integer(
    where: _Where, data: Mapping[str, Any], key: str, path: str, default: int, lo: int, hi: int
) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        where.fail(data, key, f"{path}.{key}", f"{value!r} is not an integer in [{lo}, {hi}]")
    return int(value)


def _merged(base: Any, over: Any) -> _Map:
    """``over`` on top of ``base``, keeping the line of each key for error messages."""
    out = _Map()
    out.key_lines = {}
    out.line = getattr(over, "line", None) or getattr(base, "line", None)
    for part in (base, over):
        if isinstance(part, Mapping):
            out.update(part)
            out.key_lines.update(getattr(part, "key_lines", {}))
    return out


def _upstream(where: _Where, name: str, data: Any, url_override: str | None) -> UpstreamSpec:
    path = f"upstreams.{name}"
    if not UPSTREAM_NAME.match(name):
        where.fail(data, None, path, "upstream names are letters, digits, '_', '-' and '.'")
    if isinstance(data, str):
        data = {"url": data}
    fields = ("url", "health", "health_interval", "connect_timeout", "max_connections", "breaker")
    data = _only(where, data, path, fields)
    url = url_override or data.get("url")
    if not isinstance(url, str) or not url:
        where.fail(data, "url", f"{path}.url", "missing (or pass --upstream NAME=URL)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        where.fail(data, "url", f"{path}.url", f"{url!r} is not an http(s)://host[:port] URL")
    if parts.query or parts.fragment:
        where.fail(data, "url", f"{path}.url", f"{url!r} may not have a query or fragment")
    health = data.get("health", "/health/ready")
    if health is not None and (not isinstance(health, str) or not health.startswith("/")):
        where.fail(data, "health", f"{path}.health", f"{health!r} is not a path or null")
    b = _only(where, data.get("breaker", {}), f"{path}.breaker", BreakerSpec.__slots__)
    breaker = BreakerSpec(
        failures=_integer(where, b, "failures", f"{path}.breaker", 5, 1, 1000),
        open_seconds=_number(where, b, "open_seconds", f"{path}.breaker", 5.0, 0.01, 3600),
        probes=_integer(where, b, "probes", f"{path}.breaker", 1, 1, 100),
        successes=_integer(where, b, "successes", f"{path}.breaker", 2, 1, 100),
    )
    return UpstreamSpec(
        name=name,
        url=url.rstrip("/"),
        scheme=parts.scheme,
        host=parts.hostname or "",
        port=parts.port or (443 if parts.scheme == "https" else 80),
        base_path=parts.path.rstrip("/"),
        health=health,
        health_interval=_number(where, data, "health_interval", path, 5.0, 0.05, 3600),
        connect_timeout=_number(where, data, "connect_timeout", path, 2.0, 0.01, 120),
        max_connections=_integer(where, data, "max_connections", path, 256, 1, 100_000),
        breaker=breaker,
    )


def _retry(where: _Where, data: Any, path: str) -> RetrySpec:
    data = _only(where, data, path, ("attempts", "backoff", "backoff_max", "statuses"))
    statuses = data.get("statuses", [502, 503, 504])
    if not isinstance(statuses, list) or not all(
        isinstance(s, int) and 500 <= s <= 599 for s in statuses
    ):
        where.fail(data, "statuses", f"{path}.statuses", "expected a list of 5xx statuses")
    return RetrySpec(
        attempts=_integer(where, data, "attempts", path, 2, 1, 5),
        backoff=_number(where, data, "backoff", path, 0.025, 0.0, 10.0),
        backoff_max=_number(where, data, "backoff_max", path, 0.5, 0.0, 60.0),
        statuses=frozenset(statuses),
    )


def _shadow(where: _Where, data: Any, path: str) -> ShadowSpec:
    data = _only(
        where, data, path, ("sample", "body_cap", "timeout", "writes", "noise_sample", "recheck")
    )
    writes = data.get("writes", ShadowWrites.SKIP.value)
    if writes not in {w.value for w in ShadowWrites}:
        where.fail(data, "writes", f"{path}.writes", f"{writes!r} is not 'skip' or 'dry-run'")
    return ShadowSpec(
        sample=_number(where, data, "sample", path, 1.0, 0.0, 1.0),
        body_cap=_integer(where, data, "body_cap", path, 1 << 20, 0, 1 << 30),
        timeout=_number(where, data, "timeout", path, 2.0, 0.01, 600),
        writes=ShadowWrites(writes),
        noise_sample=_number(where, data, "noise_sample", path, 0.0, 0.0, 1.0),
        recheck=_number(where, data, "recheck", path, 0.0, 0.0, 10.0),
    )


ROUTE_FIELDS = (
    "prefixes",
    "prefix",
    "pattern",
    "methods",
    "mode",
    "percent",
    "monolith",
    "service",
    "fallback",
    "timeout",
    "retry",
    "shadow",
)


def _prefixes(where: _Where, data: Mapping[str, Any], path: str) -> tuple[str, ...]:
    raw = data.get("prefixes", [])
    if "prefix" in data:
        raw = [data["prefix"], *(raw if isinstance(raw, list) else [])]
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        where.fail(data, "prefixes", f"{path}.prefixes", "expected a list of paths")
    for prefix in raw:
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            key = "prefixes" if "prefixes" in data else "prefix"
            where.fail(data, key, f"{path}.prefixes", f"{prefix!r} must start with '/'")
    return tuple(raw)


def _route(
    where: _Where,
    key: str,
    data: Any,
    defaults: Mapping[str, Any],
    upstreams: Mapping[str, UpstreamSpec],
    default_upstream: str,
) -> Route:
    path = f"routes.{key}"
    if not ROUTE_KEY.match(key) or key == "default":
        where.fail(data, None, path, "route keys are lower-case names (and not 'default')")
    data = _only(where, data, path, ROUTE_FIELDS)
    prefixes = _prefixes(where, data, path)
    pattern = None
    if "pattern" in data:
        try:
            pattern = re.compile(str(data["pattern"]))
        except re.error as exc:
            where.fail(data, "pattern", f"{path}.pattern", f"not a regular expression: {exc}")
    if not prefixes and pattern is None:
        where.fail(data, None, path, "needs prefixes (or a pattern)")
    methods = None
    if "methods" in data:
        raw = data["methods"]
        if (
            not isinstance(raw, list)
            or not raw
            or not all(isinstance(m, str) and m.upper() in HTTP_METHODS for m in raw)
        ):
            where.fail(data, "methods", f"{path}.methods", f"{raw!r} is not a list of HTTP methods")
        methods = frozenset(m.upper() for m in raw)
    mode_raw = data.get("mode", Mode.MONOLITH.value)
    if mode_raw not in {m.value for m in Mode}:
        allowed = ", ".join(m.value for m in Mode)
        where.fail(data, "mode", f"{path}.mode", f"{mode_raw!r} is not one of {allowed}")
    mode = Mode(mode_raw)
    refs: dict[str, str | None] = {}
    # By convention the upstream named like the route (``catalog``) is its service.
    defaults_of = {"monolith": default_upstream, "service": key if key in upstreams else None}
    for ref in ("monolith", "service", "fallback"):
        value = data.get(ref, defaults_of.get(ref))
        if value is not None and value not in upstreams:
            known = ", ".join(upstreams)
            where.fail(data, ref, f"{path}.{ref}", f"unknown upstream {value!r} (known: {known})")
        refs[ref] = value
    if mode is not Mode.MONOLITH and refs["service"] is None:
        where.fail(
            data,
            "mode",
            f"{path}.mode",
            f"mode {mode.value!r} needs a service upstream: add an upstream named {key!r} "
            f"(--upstream {key}=URL) or set routes.{key}.service",
        )
    percent = 0.0
    if mode is Mode.CANARY:
        if "percent" not in data:
            where.fail(data, "mode", f"{path}.percent", "canary needs a percent (0..100)")
        percent = _number(where, data, "percent", path, 0.0, 0.0, 100.0)
    elif "percent" in data:
        _number(where, data, "percent", path, 0.0, 0.0, 100.0)
    return Route(
        key=key,
        mode=mode,
        monolith=str(refs["monolith"]),
        service=refs["service"],
        percent=percent,
        prefixes=prefixes,
        pattern=pattern,
        methods=methods,
        fallback=refs["fallback"],
        timeout=_number(where, _merged(defaults, data), "timeout", path, 30.0, 0.01, 3600),
        retry=_retry(where, _merged(defaults.get("retry", {}), data.get("retry")), f"{path}.retry"),
        shadow=_shadow(
            where, _merged(defaults.get("shadow", {}), data.get("shadow")), f"{path}.shadow"
        ),
        line=data.line if isinstance(data, _Map) else None,
    )


def parse_data(
    data: Any, *, source: str = "routes", upstream_urls: Mapping[str, str] | None = None
) -> RouteTable:
    """Validate ``data`` into a :class:`RouteTable`; ``upstream_urls`` override table URLs."""
    where = _Where(source)
    if data is None:
        data = _Map()
    top = _only(where, data, "table", ("upstreams", "default", "defaults", "routes", "version"))
    raw_upstreams = top.get("upstreams", {})
    if not isinstance(raw_upstreams, Mapping) or not raw_upstreams:
        where.fail(top, "upstreams", "upstreams", "at least one upstream is needed")
    overrides = dict(upstream_urls or {})
    upstreams = {
        name: _upstream(where, str(name), spec, overrides.pop(str(name), None))
        for name, spec in raw_upstreams.items()
    }
    for name, url in overrides.items():  # upstreams only named on the command line
        upstreams[name] = _upstream(where, name, {"url": url}, None)
    default_name = top.get("default", "monolith")
    if default_name not in upstreams:
        where.fail(top, "default", "default", f"unknown upstream {default_name!r}")
    defaults = _only(where, top.get("defaults", {}), "defaults", ("timeout", "retry", "shadow"))
    raw_routes = top.get("routes", {})
    if not isinstance(raw_routes, Mapping):
        where.fail(top, "routes", "routes", "expected a mapping of route key to route")
    routes = tuple(
        _route(where, str(key), spec, defaults, upstreams, default_name)
        for key, spec in raw_routes.items()
    )
    seen: dict[str, str] = {}
    for route in routes:
        for prefix in route.prefixes:
            for method in sorted(route.methods) if route.methods else ["*"]:
                other = seen.get(f"{method} {prefix}")
                if other is not None:
                    where.fail(
                        raw_routes[route.key],
                        "prefixes",
                        f"routes.{route.key}.prefixes",
                        f"{prefix!r} is already routed by {other!r}",
                    )
                seen[f"{method} {prefix}"] = route.key
    default = Route(
        key="default",
        mode=Mode.MONOLITH,
        monolith=str(default_name),
        timeout=_number(where, defaults, "timeout", "defaults", 30.0, 0.01, 3600),
        retry=_retry(where, defaults.get("retry", {}), "defaults.retry"),
    )
    normalised = plain_data(data)
    if upstream_urls:
        for name, url in upstream_urls.items():
            entry = normalised.setdefault("upstreams", {}).get(name)
            if isinstance(entry, dict):
                entry["url"] = url
            else:
                normalised["upstreams"][name] = {"url": url}
    return RouteTable(upstreams=upstreams, routes=routes, default=default, source=normalised)
