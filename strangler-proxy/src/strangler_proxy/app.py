"""The data plane: an ASGI application that forwards every request by the route table in force.

One request, start to end::

    state = self.state                       one read: this request's table generation
    route = state.router.resolve(method, path)
    decision = decide(route, method, jwt sub | canary cookie)
    headers = inbound(...)                   hygiene, X-Forwarded-*, request id, traceparent
    conn = await forward.call(...)           breaker, retries (idempotent only), fallback
    stream the answer back                   (teed for the shadow when mirrored)
    shadow.offer(Mirror)                     after the user has the answer; never waits
    metrics + JSON access log

A new table arrives from the store's watcher thread and is swapped in with one assignment on
the event loop: a request sees the old generation or the new one, never a mix, and tells the
client which (``X-Strangler-Generation``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from contracts.problems import CONTENT_TYPE, generic

from . import forward
from .accesslog import AccessLog, event
from .bodies import ClientDisconnected, Tee, body_source, read_body
from .config import ProxySettings
from .diff import Response, RuleBook, default_rulebook
from .forward import ProxyFailure
from .headers import HttpDate, Inbound, inbound, outbound
from .metrics import Metrics
from .routing import Decision, Router, cookie_value, subject_of
from .shadow import Mirror, SampleStore, Shadow, skip_reason
from .store import Store
from .table import Mode, Route, RouteTable
from .tracing import RequestTrace, Tracing
from .upstream import BodySource, Connection, Connector, Upstream, UpstreamError
from .watch import TableWatcher

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SMALL_ANSWER = 64 * 1024  # answers up to this size are sent to the client in one piece


class State:
    """One route-table generation with its router and upstream clients."""

    __slots__ = ("generation", "generation_bytes", "router", "table", "upstreams")

    def __init__(self, table: RouteTable, upstreams: Mapping[str, Upstream]) -> None:
        self.table = table
        self.router = Router(table)
        self.upstreams = dict(upstreams)
        self.generation = table.generation
        self.generation_bytes = str(table.generation).encode()


class ProxyApp:
    def __init__(
        self,
        settings: ProxySettings | None = None,
        *,
        table: RouteTable | None = None,
        store: Callable[[], Store] | None = None,
        metrics: Metrics | None = None,
        tracer_provider: Any | None = None,
        access_log: AccessLog | None = None,
        rules: RuleBook | None = None,
        samples_path: Path | None = None,
        health_checks: bool = True,
        on_swap: Callable[[RouteTable], None] | None = None,
        connector: Connector | None = None,
        metrics_dir: Path | None = None,
    ) -> None:
        self.settings = settings or ProxySettings()
        self._initial = table
        self._store_factory = store
        self.metrics = metrics or Metrics()
        self.tracing = Tracing(tracer_provider)
        self.access_log = access_log or AccessLog(None)
        self.rules = rules or default_rulebook()
        self._samples_path = samples_path
        self._health_checks = health_checks
        self._on_swap = on_swap
        self._connector = connector
        self._metrics_dir = metrics_dir
        self._state: State | None = None
        self._upstreams: dict[str, Upstream] = {}
        self._date = HttpDate()
        self._tasks: list[asyncio.Task[None]] = []
        self._watcher: TableWatcher | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.shadow: Shadow | None = None
        self._started = False

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def state(self) -> State:
        if self._state is None:
            raise RuntimeError("the proxy has not started (no route table yet)")
        return self._state

    async def startup(self) -> None:
        if self._started:
            return
        self._started = True
        self._loop = asyncio.get_running_loop()
        s = self.settings
        self.shadow = Shadow(
            send=self._send_mirror,
            metrics=self.metrics,
            rules=self.rules,
            samples=SampleStore(s.shadow_samples, self._samples_path),
            maxsize=s.shadow_queue,
            concurrency=s.shadow_concurrency,
        )
        self.shadow.start()
        table = self._initial
        known = 0
        if table is None and self._store_factory is not None:
            store = await asyncio.to_thread(self._store_factory)
            try:
                for _ in range(100):
                    table = await asyncio.to_thread(store.current)
                    if table is not None:
                        break
                    await asyncio.sleep(0.1)
            finally:
                store.close()
        if table is None:
            raise RuntimeError("no route table: pass one, or a store that has one")
        self.swap(table)
        known = table.generation
        if self._store_factory is not None:
            loop = self._loop

            def deliver(new: RouteTable) -> None:
                loop.call_soon_threadsafe(self.swap, new)

            self._watcher = TableWatcher(
                self._store_factory,
                deliver,
                interval=s.watch_interval,
                known=known,
            )
            self._watcher.start()
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="housekeeping"))
        if self._health_checks:
            self._tasks.append(asyncio.create_task(self._health_loop(), name="health-checks"))

    async def shutdown(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self.shadow is not None:
            await self.shadow.stop()
        for upstream in self._upstreams.values():
            upstream.close()
        self.access_log.close()
        if self._metrics_dir is not None:
            self.metrics.write_snapshot(self._metrics_dir, force=True)
        self._started = False

    def swap(self, table: RouteTable) -> None:
        """Put ``table`` in force (on the event loop). One assignment: atomic for requests."""
        current = self._state
        if current is not None and table.generation < current.generation:
            return  # a late delivery of an older generation
        upstreams: dict[str, Upstream] = {}
        for name, spec in table.upstreams.items():
            existing = self._upstreams.get(name)
            if existing is not None and existing.spec == spec:
                upstreams[name] = existing
            else:
                if existing is not None:
                    existing.close()
                upstreams[name] = Upstream(
                    spec, on_breaker_change=self._breaker_changed, connector=self._connector
                )
                self.metrics.breaker_state(name, 0)
        self._upstreams = upstreams
        self._state = State(table, upstreams)
        self.metrics.generation(table.generation)
        event(
            "route table in force",
            generation=table.generation,
            modes={r.key: r.state() for r in table.routes},
        )
        if self._on_swap is not None:
            self._on_swap(table)

    def _breaker_changed(self, upstream: str, state: Any) -> None:
        self.metrics.breaker_state(upstream, int(state), state.name.lower())
        event("circuit breaker", upstream=upstream, state=state.name.lower())

    async def _housekeeping(self) -> None:
        tick = 0
        while True:
            await asyncio.sleep(0.5)
            tick += 1
            self.access_log.flush()
            if self._metrics_dir is not None:
                self.metrics.write_snapshot(self._metrics_dir)
            if self.shadow is not None:
                self.shadow.samples.flush()
            if tick % 20 == 0:
                for upstream in self._upstreams.values():
                    upstream.pool.sweep()

    async def _health_loop(self) -> None:
        due: dict[str, float] = {}
        while True:
            now = time.monotonic()
            for name, upstream in list(self._upstreams.items()):
                if upstream.spec.health is None or due.get(name, 0.0) > now:
                    continue
                due[name] = now + upstream.spec.health_interval
                ok = await upstream.check_health(timeout=min(2.0, upstream.spec.health_interval))
                upstream.breaker.health(ok)
            pending = [t for n, t in due.items() if n in self._upstreams]
            await asyncio.sleep(max(0.05, min(pending, default=now + 1.0) - time.monotonic()))

    # --- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if self._state is None:
                await self.startup()
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:  # websockets are not proxied
            await send({"type": "websocket.close", "code": 1003})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        state = self._state
        assert state is not None
        method: str = scope["method"]
        path: str = scope["path"]
        route = state.router.resolve(method, path)
        client = scope.get("client")
        info = inbound(
            scope["headers"],
            client_ip=client[0] if client else "",
            scheme=scope.get("scheme", "http"),
            trust_forwarded=self.settings.trust_forwarded,
        )
        query: bytes = scope.get("query_string", b"")
        raw_path: bytes = scope.get("raw_path") or path.encode()
        target = raw_path + b"?" + query if query else raw_path
        trace = self.tracing.start(info, method, route.key)
        if info.bad_length:
            await self._problem(send, state, info, generic("malformed_body", "bad Content-Length"))
            self._done(state, route, "-", method, path, 400, started, info, trace)
            return
        subject = cookie = None
        if route.mode is Mode.CANARY:
            subject = subject_of(info.authorization) if info.authorization else None
            if subject is None and info.cookie:
                cookie = cookie_value(info.cookie, self.settings.canary_cookie)
        decision = state.router.decide(route, method, subject, cookie)

        mirror_reason = ""
        if decision.shadow is not None:
            mirror_reason = skip_reason(route.shadow, method)
            if mirror_reason:
                self.metrics.shadow_outcome(route.key, mirror_reason)
        mirroring = decision.shadow is not None and not mirror_reason
        request_tee = Tee(route.shadow.body_cap) if mirroring else None

        body: bytes | BodySource | None = None
        try:
            if info.has_body:
                if (
                    info.content_length is not None
                    and info.content_length <= self.settings.body_buffer
                ):
                    body = await read_body(receive)
                else:
                    body = body_source(receive, request_tee)
        except ClientDisconnected:
            self._done(state, route, "-", method, path, 499, started, info, trace)
            return

        try:
            conn, upstream = await forward.call(
                state.upstreams, decision, method, target, info, body, trace, self.metrics
            )
        except ProxyFailure as failure:
            problem = generic(
                failure.code,
                failure.detail,
                instance=path,
                upstream=failure.upstream,
                request_id=info.request_id,
            )
            extra = []
            if failure.retry_after is not None:
                extra.append((b"retry-after", str(max(1, round(failure.retry_after))).encode()))
            await self._problem(send, state, info, problem, extra)
            self.metrics.error(route.key, failure.code)
            self._done(
                state, route, failure.upstream, method, path, problem.status, started, info, trace
            )
            return
        except ClientDisconnected:
            self._done(state, route, "-", method, path, 499, started, info, trace)
            return

        status = conn.status
        headers = outbound(
            conn.headers, request_id=info.request_id, generation=state.generation_bytes
        )
        if decision.new_cookie:
            headers.append((b"set-cookie", self._canary_cookie(decision.new_cookie)))
        answer_tee = Tee(route.shadow.body_cap) if mirroring else None
        size = 0
        responding = False
        try:
            if not conn.done and 0 <= conn.content_length <= SMALL_ANSWER:
                # gunicorn sends the head and the body in two segments: wait for the body, and
                # answer with one write instead of two.
                await conn.wait_done(route.timeout)
            responding = True
            await send({"type": "http.response.start", "status": status, "headers": headers})
            if conn.done:  # the whole answer is in: one write
                chunk = conn.take_body()
                size = len(chunk)
                if answer_tee is not None:
                    answer_tee.add(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": False})
            else:
                flush = scope.get("extensions", {}).get("strangler.flush")
                if flush is not None:
                    flush()  # a streamed answer: the client gets the head now, not with the body
                timeout = route.timeout
                while chunk := await conn.next_chunk(timeout):
                    size += len(chunk)
                    if answer_tee is not None:
                        answer_tee.add(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except UpstreamError as exc:
            conn.finish(reuse=False)
            if not responding:
                broken = ProxyFailure.from_error(exc, upstream)
                problem = generic(
                    broken.code,
                    broken.detail,
                    instance=path,
                    upstream=upstream,
                    request_id=info.request_id,
                )
                await self._problem(send, state, info, problem)
                self.metrics.error(route.key, broken.code)
                self._done(
                    state, route, upstream, method, path, problem.status, started, info, trace
                )
                return
            # the answer broke off after it had started: the client sees a cut response
            event(
                "upstream broke off mid-answer", level="warning", upstream=upstream, error=str(exc)
            )
            self._done(state, route, upstream, method, path, status, started, info, trace)
            return
        except BaseException:
            conn.finish(reuse=False)
            raise
        conn.finish()
        self._done(state, route, upstream, method, path, status, started, info, trace, size)

        if answer_tee is not None and decision.shadow is not None:
            self._mirror(
                route,
                decision,
                method,
                path,
                target,
                info,
                body,
                request_tee,
                status,
                conn,
                answer_tee,
                trace,
            )

    def _mirror(
        self,
        route: Route,
        decision: Decision,
        method: str,
        path: str,
        target: bytes,
        info: Inbound,
        body: bytes | BodySource | None,
        request_tee: Tee | None,
        status: int,
        conn: Connection,
        answer_tee: Tee,
        trace: RequestTrace,
    ) -> None:
        if isinstance(body, bytes) or body is None:
            request_body = body or b""
        elif request_tee is not None and not request_tee.overflow:
            request_body = request_tee.value()
        else:
            self.metrics.shadow_outcome(route.key, "skipped_body_cap")
            return
        if answer_tee.overflow or self.shadow is None or decision.shadow is None:
            self.metrics.shadow_outcome(route.key, "skipped_body_cap")
            return
        primary = Response.of(
            status,
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in conn.headers],
            answer_tee.value(),
        )
        self.shadow.offer(
            Mirror(
                route=route.key,
                candidate=decision.shadow,
                primary_upstream=decision.primary,
                method=method,
                path=path,
                target=target,
                headers=info.headers,
                body=request_body,
                primary=primary,
                spec=route.shadow,
                request_id=info.request_id,
                link=trace.shadow_link(),
            )
        )

    # --- forwarding ---------------------------------------------------------------------------

    async def _send_mirror(self, mirror: Mirror, to: str) -> Response:
        return await forward.send_mirror(self.state.upstreams, mirror, to)

    # --- answers of the proxy's own -----------------------------------------------------------

    def _canary_cookie(self, value: str) -> bytes:
        name = self.settings.canary_cookie
        return f"{name}={value}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax".encode()

    async def _problem(
        self,
        send: Send,
        state: State,
        info: Inbound,
        problem: Any,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        body = problem.to_json()
        headers = [
            (b"content-type", CONTENT_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"date", self._date()),
            (b"server", b"strangler-proxy"),
            (b"x-request-id", info.request_id.encode()),
            (b"x-strangler-generation", state.generation_bytes),
            *(extra or []),
        ]
        await send({"type": "http.response.start", "status": problem.status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _done(
        self,
        state: State,
        route: Route,
        upstream: str,
        method: str,
        path: str,
        status: int,
        started: float,
        info: Inbound,
        trace: RequestTrace,
        size: int = 0,
    ) -> None:
        seconds = time.perf_counter() - started
        mode = route.mode.value
        self.metrics.request(route.key, upstream, mode, status, seconds)
        trace.end(status, {"strangler.upstream": upstream, "strangler.mode": mode})
        if self.access_log.enabled:
            self.access_log.request(
                request_id=info.request_id,
                trace_id=info.trace_id,
                span_id=trace.span_id,
                method=method,
                path=path,
                status=status,
                route=route.key,
                mode=mode,
                upstream=upstream,
                generation=state.generation,
                seconds=seconds,
                size=size,
                client=info.client_ip,
            )
