"""Test helpers, shipped with the package (like ``starlette.testclient``).

- :class:`MemoryNetwork`: a connector that serves upstream names from ASGI apps in memory, at
  the byte level (requests are real HTTP/1.1 bytes, parsed with httptools), so the whole proxy
  runs in a unit test without a socket;
- ASGI apps that play a candidate: :func:`json_app`, :class:`Hanging`, :class:`SideEffects`;
- :class:`ThreadServer`: serve an ASGI app with uvicorn on a free port, in a thread;
- :class:`ProxyProcess`: a real proxy replica (``python -m strangler_proxy``), for integration
  tests.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import httptools
import httpx

from .table import UpstreamSpec
from .upstream import Connection

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


# --- in-memory upstreams ------------------------------------------------------------------------


class _MemoryTransport(asyncio.Transport):
    """The server side of an in-memory connection: parses requests, runs the app, answers."""

    def __init__(self, network: MemoryNetwork, name: str, protocol: Connection) -> None:
        super().__init__()
        self.network = network
        self.name = name
        self.protocol = protocol
        self.loop = asyncio.get_running_loop()
        self.closed = False
        self._parser = httptools.HttpRequestParser(self)
        self._reset()

    def _reset(self) -> None:
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []

    # httptools callbacks
    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        method = self._parser.get_method().decode()
        url, headers, body = self._url, self._headers, b"".join(self._body)
        self._reset()
        self.network.requests.append((self.name, method, url.decode("latin-1"), headers, body))
        self.loop.create_task(self._serve(method, url, headers, body))

    # transport API
    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.closed:
            return
        try:
            self._parser.feed_data(bytes(data))
        except httptools.HttpParserError:
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.loop.call_soon(self.protocol.connection_lost, None)

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        return None

    def resume_reading(self) -> None:
        return None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    async def _serve(
        self, method: str, url: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        path, _, query = url.partition(b"?")
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path.decode("latin-1"),
            "raw_path": path,
            "query_string": query,
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 40000),
            "server": (self.name, 80),
        }
        sent_body = False

        async def receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()
            return {"type": "http.disconnect"}  # pragma: no cover

        chunked = False

        async def send(message: Message) -> None:
            nonlocal chunked
            if self.closed:
                return
            if message["type"] == "http.response.start":
                lines = [f"HTTP/1.1 {message['status']} X\r\n".encode()]
                names = set()
                for name, value in message.get("headers", []):
                    names.add(name.lower())
                    lines.append(name + b": " + value + b"\r\n")
                if b"content-length" not in names:
                    chunked = True
                    lines.append(b"transfer-encoding: chunked\r\n")
                lines.append(b"\r\n")
                self.protocol.data_received(b"".join(lines))
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                more = message.get("more_body", False)
                if chunked:
                    data = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") if chunk else b""
                    if not more:
                        data += b"0\r\n\r\n"
                else:
                    data = chunk
                if data:
                    self.protocol.data_received(data)

        await self.network.apps[self.name](scope, receive, send)


class MemoryNetwork:
    """Upstream names -> ASGI apps. ``connector`` opens in-memory connections to them; a name
    in ``refuse`` (or without an app) refuses connections like a closed port."""

    def __init__(self, apps: dict[str, ASGIApp] | None = None) -> None:
        self.apps: dict[str, ASGIApp] = dict(apps or {})
        self.refuse: set[str] = set()
        self.connections: dict[str, int] = {}
        self.requests: list[tuple[str, str, str, list[tuple[bytes, bytes]], bytes]] = []

    async def connector(self, factory: Callable[[], Connection], spec: UpstreamSpec) -> Connection:
        name = spec.host
        if name in self.refuse or name not in self.apps:
            raise ConnectionRefusedError(f"connection to {name} refused")
        protocol = factory()
        transport = _MemoryTransport(self, name, protocol)
        protocol.connection_made(transport)
        self.connections[name] = self.connections.get(name, 0) + 1
        return protocol

    def seen(self, name: str) -> list[tuple[str, str, list[tuple[bytes, bytes]], bytes]]:
        return [(m, u, h, b) for n, m, u, h, b in self.requests if n == name]


# --- ASGI apps that play an upstream -------------------------------------------------------------


def json_app(
    payload: Callable[[Scope, bytes], Any] | Any, status: int = 200, *, delay: float = 0.0
) -> ASGIApp:
    """Answers every request with ``payload`` (or ``payload(scope, body)``) as JSON."""

    async def app(
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if delay:
            await asyncio.sleep(delay)
        data = payload(scope, body) if callable(payload) else payload
        raw = json.dumps(data).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(raw)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": raw})

    return app


class Hanging:
    """Never answers until ``release()`` (then 503): a dead candidate."""

    def __init__(self) -> None:
        self.calls = 0
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        self.calls += 1
        while not self._released.is_set():
            await asyncio.sleep(0.05)
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": b""})


class SideEffects:
    """Counts the writes it performs. A request with ``X-Strangler-Dry-Run: 1`` runs the same
    code and rolls back (counted as ``dry_runs``, no effect). ``GET /effects`` reports."""

    def __init__(self) -> None:
        self.effects = 0
        self.dry_runs = 0
        self.shadow_marked = 0

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        headers = dict(scope["headers"])
        while True:
            message = await receive()
            if not message.get("more_body"):
                break
        if headers.get(b"x-strangler-shadow") == b"1":
            self.shadow_marked += 1
        if scope["method"] == "POST":
            if headers.get(b"x-strangler-dry-run") == b"1":
                self.dry_runs += 1
            else:
                self.effects += 1
        data = {"effects": self.effects, "dry_runs": self.dry_runs}
        raw = json.dumps(data).encode()
        status = 201 if scope["method"] == "POST" else 200
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": raw})


class FieldChanger:
    """A candidate that answers like ``origin`` (it asks it the same question) except that
    ``change`` edits the JSON body: "a candidate that differs in one field". Its answers carry
    ``X-Served-By: candidate``."""

    def __init__(self, origin: str, change: Callable[[Any], None]) -> None:
        self.origin = origin.rstrip("/")
        self.change = change
        self.calls = 0

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        self.calls += 1
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        keep = {b"authorization", b"content-type", b"accept"}
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k in keep]
        query = scope["query_string"].decode()
        async with httpx.AsyncClient(base_url=self.origin, timeout=10) as client:
            answer = await client.request(
                scope["method"],
                scope["path"] + (f"?{query}" if query else ""),
                headers=headers,
                content=body or None,
            )
        raw = answer.content
        if answer.headers.get("content-type", "").startswith("application/json") and raw:
            data = answer.json()
            self.change(data)
            raw = json.dumps(data).encode()
        await send(
            {
                "type": "http.response.start",
                "status": answer.status_code,
                "headers": [
                    (b"content-type", answer.headers.get("content-type", "").encode()),
                    (b"content-length", str(len(raw)).encode()),
                    (b"x-served-by", b"candidate"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": raw})


class Blob:
    """``GET`` streams ``size`` bytes; ``PUT``/``POST`` count what they receive."""

    def __init__(self, size: int, chunk: int = 64 * 1024) -> None:
        self.size = size
        self.chunk = chunk
        self.received: list[int] = []

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["method"] in ("PUT", "POST"):
            total = 0
            while True:
                message = await receive()
                total += len(message.get("body", b""))
                if not message.get("more_body"):
                    break
            self.received.append(total)
            raw = json.dumps({"received": total}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": raw})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/octet-stream"),
                    (b"content-length", str(self.size).encode()),
                ],
            }
        )
        block = b"b" * self.chunk
        left = self.size
        while left > 0:
            piece = block[: min(self.chunk, left)]
            left -= len(piece)
            await send({"type": "http.response.body", "body": piece, "more_body": left > 0})


async def _lifespan(
    receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        else:
            await send({"type": "lifespan.shutdown.complete"})
            return


# --- real servers -------------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ThreadServer:
    """``uvicorn`` serving an ASGI app in a background thread of the test process."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, **extra: Any) -> None:
        import uvicorn

        self.host = host
        self.port = port or free_port(host)
        config = uvicorn.Config(
            app,
            host=host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            loop="asyncio",
            timeout_graceful_shutdown=1,  # a hanging test app must not hold the test run
            **extra,
        )
        self.app = app
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="test-upstream")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test upstream did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        release = getattr(self.app, "release", None)
        if callable(release):
            release()  # hanging handlers answer, so the server can stop cleanly
        self.server.should_exit = True
        self.thread.join(10)


class ProxyProcess:
    """A proxy replica in its own process group (``python -m strangler_proxy``)."""

    def __init__(self, var_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.var_dir = Path(var_dir)
        self.args = args
        self.env = dict(os.environ, **(env or {}))
        self.process: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}
        self.log_path = self.var_dir.parent / f"{self.var_dir.name}.log"

    def start(self, timeout: float = 30.0) -> ProxyProcess:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        (self.var_dir / "proxy.json").unlink(missing_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "strangler_proxy",
                "--port",
                "0",
                "--admin-port",
                "0",
                "--var-dir",
                str(self.var_dir),
                *self.args,
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the proxy exited: {self.log()}")
            try:
                self.info = json.loads((self.var_dir / "proxy.json").read_text())
                if httpx.get(self.admin_url + "/health/ready", timeout=2).status_code == 200:
                    return self
            except (OSError, ValueError, httpx.HTTPError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the proxy was not ready in {timeout:g}s: {self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    @property
    def url(self) -> str:
        return str(self.info["data_url"])

    @property
    def admin_url(self) -> str:
        return str(self.info["admin_url"])

    @property
    def token(self) -> str:
        return (self.var_dir / "admin-token").read_text().strip()

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method,
            self.admin_url + path,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
            **kwargs,
        )

    def worker_pids(self) -> list[int]:
        return [int(p.stem) for p in (self.var_dir / "workers").glob("*.json")]

    def pids(self) -> list[int]:
        assert self.process is not None
        return [self.process.pid, *self.worker_pids()]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def __enter__(self) -> ProxyProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
