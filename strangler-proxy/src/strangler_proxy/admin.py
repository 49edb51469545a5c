"""The admin API, on its own port (served by the supervisor process).

    GET  /health/live, /health/ready        open (ready: every worker runs the latest table)
    GET  /metrics                           open: Prometheus text, every worker added up
    GET  /admin/routes                      the table in force, per-worker generations
    PUT  /admin/routes/{route}              {"mode", "percent"?, "why"?, "who"?}
    GET  /admin/history?limit=N             the changes, newest first
    POST /admin/rollback                    {"generation"?, "why"?, "who"?}
    GET  /admin/table, PUT /admin/table     the whole table as JSON; replace it (YAML or JSON)
    GET  /admin/shadow                      mismatch counts per route and field, samples

``/admin/*`` needs ``Authorization: Bearer <token>``. Errors use the kit's problem shape.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from contracts.problems import CONTENT_TYPE, Problem, generic

from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .metrics import pid_alive
from .store import Outcome, Store, StoreError
from .table import RouteTable, TableError, load_text

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY = 1 << 20
_ROUTE = re.compile(r"^/admin/routes/([a-z][a-z0-9_-]*)$")


class _Fail(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.detail)
        self.problem = problem


def describe_table(table: RouteTable) -> dict[str, Any]:
    return {
        "generation": table.generation,
        "default": table.default.monolith,
        "routes": [
            {
                "route": r.key,
                "prefixes": list(r.prefixes),
                "pattern": r.pattern.pattern if r.pattern else None,
                "methods": sorted(r.methods) if r.methods else None,
                "mode": r.mode.value,
                "percent": r.percent,
                "monolith": r.monolith,
                "service": r.service,
                "fallback": r.fallback,
                "shadow_writes": r.shadow.writes.value,
            }
            for r in table.routes
        ],
        "upstreams": {name: spec.url for name, spec in table.upstreams.items()},
    }


class AdminApp:
    def __init__(
        self,
        *,
        store: Store,
        token: str,
        render_metrics: Callable[[], bytes],
        var_dir: Path | None = None,
        workers: int = 0,
    ) -> None:
        self.store = store
        self.token = token.encode()
        self.render_metrics = render_metrics
        self.var_dir = var_dir
        self.workers = workers

    # --- worker files -------------------------------------------------------------------------

    def worker_states(self) -> list[dict[str, Any]]:
        if self.var_dir is None:
            return []
        out = []
        for path in sorted((self.var_dir / "workers").glob("*.json")):
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if pid_alive(int(data.get("pid", 0))):
                out.append(data)
        return out

    def shadow_report(self) -> dict[str, Any]:
        routes: dict[str, dict[str, Any]] = {}
        samples: list[dict[str, Any]] = []
        if self.var_dir is not None:
            for path in sorted((self.var_dir / "shadow").glob("*.json")):
                try:
                    data = json.loads(path.read_text())
                except (OSError, ValueError):
                    continue
                samples.extend(data.get("samples", []))
                for key, stats in data.get("report", {}).get("routes", {}).items():
                    total = routes.setdefault(
                        key, {"requests": 0, "matches": 0, "mismatches": 0, "fields": {}}
                    )
                    for name in ("requests", "matches", "mismatches"):
                        total[name] += int(stats.get(name, 0))
                    for name, field in stats.get("fields", {}).items():
                        total["fields"][name] = total["fields"].get(name, 0) + int(
                            field.get("regressions", 0)
                        )
        samples.sort(key=lambda s: str(s.get("at", "")))
        return {"routes": routes, "samples": samples[-100:]}

    # --- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        try:
            status, payload, content_type = await self._dispatch(scope, receive, path)
        except _Fail as fail:
            problem = fail.problem
            problem = Problem(**{**_fields(problem), "instance": path})
            status, payload, content_type = problem.status, problem.to_json(), CONTENT_TYPE
        headers = [
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(payload)).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _dispatch(self, scope: Scope, receive: Receive, path: str) -> tuple[int, bytes, str]:
        method: str = scope["method"]
        if path in ("/health/live", "/health/ready"):
            self._allow(method, "GET")
            if path == "/health/ready":
                return await self._ready()
            return 200, b'{"status":"ok"}', "application/json"
        if path == "/metrics":
            self._allow(method, "GET")
            data = await asyncio.to_thread(self.render_metrics)
            return 200, data, METRICS_CONTENT_TYPE
        if not path.startswith("/admin/"):
            raise _Fail(generic("not_found", f"no admin endpoint {path}"))
        self._authorize(scope)
        query = parse_qs(scope.get("query_string", b"").decode())
        if path == "/admin/routes":
            self._allow(method, "GET")
            return _json(200, await asyncio.to_thread(self._routes))
        if match := _ROUTE.match(path):
            self._allow(method, "PUT", "POST")
            body = await _json_body(receive)
            mode = body.get("mode")
            if not isinstance(mode, str):
                raise _Fail(generic("validation_error", "'mode' is required"))
            percent = body.get("percent")
            if percent is not None and (
                isinstance(percent, bool) or not isinstance(percent, int | float)
            ):
                raise _Fail(generic("validation_error", "'percent' must be a number"))
            outcome = await self._change(
                self.store.set_mode,
                match.group(1),
                mode,
                percent=float(percent) if percent is not None else None,
                who=_who(scope, body),
                why=str(body.get("why") or ""),
            )
            return _json(200, _outcome(outcome))
        if path == "/admin/history":
            self._allow(method, "GET")
            limit = int((query.get("limit") or ["50"])[0] or 50)
            changes = await asyncio.to_thread(self.store.history, limit)
            return _json(200, {"changes": [c.to_dict() for c in changes]})
        if path == "/admin/rollback":
            self._allow(method, "POST")
            body = await _json_body(receive, allow_empty=True)
            generation = body.get("generation")
            if generation is not None and (
                isinstance(generation, bool) or not isinstance(generation, int)
            ):
                raise _Fail(generic("validation_error", "'generation' must be an integer"))
            outcome = await self._change(
                self.store.rollback,
                generation,
                who=_who(scope, body),
                why=str(body.get("why") or ""),
            )
            return _json(200, _outcome(outcome))
        if path == "/admin/table":
            self._allow(method, "GET", "PUT")
            if method == "GET":
                latest = await asyncio.to_thread(self.store.get)
                if latest is None:
                    raise _Fail(generic("not_found", "no route table yet"))
                return _json(
                    200, {"generation": latest.change.generation, "table": dict(latest.data)}
                )
            raw = await _raw_body(receive)
            try:
                data = load_text(raw.decode("utf-8"), source="request body")
            except (TableError, UnicodeDecodeError) as exc:
                raise _Fail(generic("validation_error", str(exc))) from None
            who = _who(scope, {})
            why = (query.get("why") or [""])[0]
            outcome = await self._change(self.store.replace, data, who=who, why=why)
            return _json(200, _outcome(outcome))
        if path == "/admin/shadow":
            self._allow(method, "GET")
            return _json(200, await asyncio.to_thread(self.shadow_report))
        raise _Fail(generic("not_found", f"no admin endpoint {path}"))

    async def _ready(self) -> tuple[int, bytes, str]:
        latest = await asyncio.to_thread(self.store.latest_generation)
        workers = await asyncio.to_thread(self.worker_states)
        current = [w for w in workers if int(w.get("generation", 0)) == latest]
        ok = latest > 0 and len(current) >= max(1, self.workers)
        body = {
            "status": "ok" if ok else "starting",
            "generation": latest,
            "workers": len(workers),
            "workers_on_latest": len(current),
        }
        return (200 if ok else 503), json.dumps(body).encode(), "application/json"

    def _routes(self) -> dict[str, Any]:
        table = self.store.current()
        if table is None:
            raise _Fail(generic("not_found", "no route table yet"))
        out = describe_table(table)
        out["workers"] = self.worker_states()
        return out

    async def _change(self, fn: Callable[..., Outcome], *args: Any, **kwargs: Any) -> Outcome:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except TableError as exc:
            raise _Fail(generic("validation_error", str(exc))) from None
        except StoreError as exc:
            code = {404: "not_found", 409: "conflict"}.get(exc.status, "validation_error")
            raise _Fail(generic(code, str(exc))) from None

    def _authorize(self, scope: Scope) -> None:
        value = b""
        for name, raw in scope["headers"]:
            if name == b"authorization":
                value = raw
                break
        if not value:
            raise _Fail(generic("not_authenticated", "send Authorization: Bearer <admin token>"))
        scheme, _, token = value.partition(b" ")
        if scheme.lower() != b"bearer" or not hmac.compare_digest(token.strip(), self.token):
            raise _Fail(generic("invalid_token", "the admin token is not valid"))

    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise _Fail(generic("method_not_allowed", f"use {' or '.join(allowed)}"))


def _fields(problem: Problem) -> dict[str, Any]:
    return {
        "status": problem.status,
        "code": problem.code,
        "title": problem.title,
        "detail": problem.detail,
        "errors": problem.errors,
        "extra": problem.extra,
    }


def _json(status: int, data: Any) -> tuple[int, bytes, str]:
    return status, json.dumps(data, default=str).encode(), "application/json"


def _outcome(outcome: Outcome) -> dict[str, Any]:
    return {"changed": outcome.changed, "change": outcome.change.to_dict()}


def _who(scope: Scope, body: dict[str, Any]) -> str:
    if body.get("who"):
        return str(body["who"])[:200]
    for name, value in scope["headers"]:
        if name == b"x-actor":
            return value.decode("latin-1")[:200]
    return "admin-api"


async def _raw_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Fail(generic("malformed_body", "the client went away"))
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _Fail(generic("body_too_large", f"at most {MAX_BODY} bytes"))
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


async def _json_body(receive: Receive, *, allow_empty: bool = False) -> dict[str, Any]:
    raw = await _raw_body(receive)
    if not raw.strip() and allow_empty:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise _Fail(generic("malformed_body", "the body is not JSON")) from None
    if not isinstance(data, dict):
        raise _Fail(generic("malformed_body", "the body must be a JSON object"))
    return data
