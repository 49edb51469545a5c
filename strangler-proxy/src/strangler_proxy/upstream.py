"""The hot-path HTTP/1.1 client: keep-alive connection pools on asyncio protocols, parsed with
httptools (the same C parser uvicorn uses), bodies streamed both ways with back-pressure.

Why not aiohttp or httpx: measured on the kit's benchmark (docs/proxy.md), a proxy spends most
of its CPU in the client; a generic client builds request/response objects, cookie jars,
header multidicts and decoders the proxy never needs. This one forwards bytes: no decoding (so
no ``Accept-Encoding`` of its own, compressed bodies pass through untouched), header names
lower-cased, nothing else. httpx stays the kit's client for service-to-service calls.

    Upstream ── pool: Pool (LIFO idle connections, at most ``max_connections``)
            ├─ breaker: Breaker, budget: RetryBudget        (used by app.py)
            └─ Connection (connection.py): send(...) -> head; next_chunk() ... b""; finish()
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable

from .breaker import Breaker, Listener
from .connection import (
    READ_HIGH_WATER,
    READ_LOW_WATER,
    BodySource,
    Connection,
    ErrorKind,
    UpstreamError,
)
from .retry import RetryBudget
from .table import UpstreamSpec

# How a pool opens a connection: (protocol factory, spec) -> the connected protocol. The
# default is a TCP (or TLS) connection; tests plug in an in-memory one (testing.py).
Connector = Callable[[Callable[[], Connection], UpstreamSpec], Awaitable[Connection]]

IDLE_TIMEOUT = 60.0  # below the monolith's 75 s keep-alive: the proxy closes first

__all__ = [
    "READ_HIGH_WATER",
    "READ_LOW_WATER",
    "BodySource",
    "Connection",
    "Connector",
    "ErrorKind",
    "Pool",
    "Upstream",
    "UpstreamError",
]


class Pool:
    """Keep-alive connections to one upstream, most recently used first."""

    def __init__(
        self,
        spec: UpstreamSpec,
        *,
        idle_timeout: float = IDLE_TIMEOUT,
        connector: Connector | None = None,
    ) -> None:
        self.spec = spec
        self.loop = asyncio.get_running_loop()
        self._connector = connector
        self.connects = 0  # connections opened so far
        self.idle_timeout = idle_timeout
        self._idle: list[Connection] = []
        self._open = 0
        self._counted: set[int] = set()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._ssl = ssl.create_default_context() if spec.scheme == "https" else None
        self.closing = False
        # Timeouts without a timer per request: connections waiting on the upstream note
        # their deadline; one timer, set for the earliest deadline, expires them.
        self._deadlines: dict[Connection, tuple[float, float]] = {}
        self._next_sweep = float("inf")
        self._sweep_handle: asyncio.TimerHandle | None = None

    def watch(self, conn: Connection, timeout: float) -> None:
        deadline = self.loop.time() + timeout
        self._deadlines[conn] = (deadline, timeout)
        if deadline < self._next_sweep:
            self._schedule(deadline)

    def unwatch(self, conn: Connection) -> None:
        self._deadlines.pop(conn, None)

    def _schedule(self, when: float) -> None:
        if self._sweep_handle is not None:
            self._sweep_handle.cancel()
        self._next_sweep = when
        self._sweep_handle = self.loop.call_at(when, self._sweep)

    def _sweep(self) -> None:
        self._sweep_handle = None
        self._next_sweep = float("inf")
        now = self.loop.time()
        for conn, (deadline, timeout) in list(self._deadlines.items()):
            if deadline <= now:
                self._deadlines.pop(conn, None)
                conn.expired(timeout)
        if self._deadlines:
            self._schedule(min(deadline for deadline, _ in self._deadlines.values()))

    @property
    def idle_connections(self) -> int:
        return len(self._idle)

    async def acquire(self) -> Connection:
        while True:
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed and time.monotonic() - conn.idle_since < self.idle_timeout:
                    return conn
                conn.close()
            if self._open < self.spec.max_connections:
                return await self._connect()
            waiter = self.loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, self.spec.connect_timeout)
            except TimeoutError:
                raise UpstreamError(
                    "pool", f"all {self.spec.max_connections} connections are busy"
                ) from None
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    async def _connect(self) -> Connection:
        self._open += 1
        self.connects += 1
        spec = self.spec
        try:
            conn = await asyncio.wait_for(
                (self._connector or self._tcp)(lambda: Connection(self), spec),
                spec.connect_timeout,
            )
        except (OSError, TimeoutError) as exc:
            self._open -= 1
            self._wake_one()
            reason = (
                "timed out" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
            )
            raise UpstreamError(
                "connect", f"cannot connect to {spec.name} at {spec.host}:{spec.port}: {reason}"
            ) from None
        self._counted.add(id(conn))
        return conn

    async def _tcp(self, factory: Callable[[], Connection], spec: UpstreamSpec) -> Connection:
        _, conn = await self.loop.create_connection(
            factory,
            spec.host,
            spec.port,
            ssl=self._ssl,
            server_hostname=spec.host if self._ssl else None,
        )
        return conn

    def release(self, conn: Connection) -> None:
        if self.closing:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        self._idle.append(conn)
        self._wake_one()

    def forget(self, conn: Connection) -> None:
        """``conn`` is closed: it no longer counts against ``max_connections``."""
        if id(conn) in self._counted:
            self._counted.discard(id(conn))
            self._open -= 1
        if conn in self._idle:
            self._idle.remove(conn)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def sweep(self) -> None:
        """Close connections idle for longer than ``idle_timeout``."""
        now = time.monotonic()
        for conn in [c for c in self._idle if now - c.idle_since >= self.idle_timeout]:
            conn.close()

    def close(self) -> None:
        self.closing = True
        for conn in list(self._idle):
            conn.close()
        self._idle.clear()


class Upstream:
    """One upstream: its pool, circuit breaker and retry budget."""

    def __init__(
        self,
        spec: UpstreamSpec,
        *,
        on_breaker_change: Listener | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
        connector: Connector | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.pool = Pool(spec, idle_timeout=idle_timeout, connector=connector)
        self.breaker = Breaker(spec.name, spec.breaker, on_change=on_breaker_change)
        self.budget = RetryBudget()
        self.base_path = spec.base_path.encode()
        self.host_header = (
            spec.host if spec.port in (80, 443) else f"{spec.host}:{spec.port}"
        ).encode()

    async def open(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | BodySource | None,
        *,
        timeout: float,
        chunked: bool = False,
    ) -> Connection:
        """Send one request; the returned connection has the answer's head. The caller reads
        the body (``next_chunk``) and calls ``finish``."""
        conn = await self.pool.acquire()
        try:
            await conn.send(
                method, self.base_path + target, headers, body, timeout=timeout, chunked=chunked
            )
        except BaseException:
            conn.finish(reuse=False)
            raise
        return conn

    async def fetch(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | None = None,
        *,
        timeout: float,
        cap: int = 1 << 20,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes | None]:
        """A whole exchange, the body read into memory (None when above ``cap``)."""
        if body is not None:
            headers = [*headers, (b"content-length", str(len(body)).encode())]
        conn = await self.open(method, target, headers, body, timeout=timeout)
        try:
            data = await conn.read_body(timeout, cap)
        except BaseException:
            conn.finish(reuse=False)
            raise
        conn.finish()
        return conn.status, conn.headers, data

    async def check_health(self, timeout: float = 2.0) -> bool:
        if not self.spec.health:
            return True
        try:
            status, _, _ = await self.fetch(
                "GET",
                self.spec.health.encode(),
                [(b"host", self.host_header), (b"user-agent", b"strangler-proxy-health")],
                timeout=timeout,
                cap=64 * 1024,
            )
        except UpstreamError:
            return False
        return 200 <= status < 400

    def close(self) -> None:
        self.pool.close()
