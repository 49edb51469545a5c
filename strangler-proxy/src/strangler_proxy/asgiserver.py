"""uvicorn, run the way the proxy's processes need it.

- Signals: SIGTERM and SIGINT ask for a graceful stop and nothing else. (uvicorn's own handler
  re-raises the signal once it has stopped, which would kill the supervisor before it has
  stopped its workers.)
- The event loop: uvloop when present; uvicorn's own housekeeping tick once a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

import uvicorn

T = TypeVar("T")


class Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        loop = asyncio.get_running_loop()
        sigs = (signal.SIGINT, signal.SIGTERM)
        for sig in sigs:
            loop.add_signal_handler(sig, self.stop)
        try:
            yield
        finally:
            for sig in sigs:
                loop.remove_signal_handler(sig)

    def stop(self) -> None:
        if self.should_exit:
            self.force_exit = True
        self.should_exit = True

    async def main_loop(self) -> None:
        # uvicorn ticks ten times a second (for its Date header, which the proxy turns off);
        # at a few hundred requests a second those wake-ups show in the CPU per request.
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 10) % 864000
            await asyncio.sleep(1.0)
            should_exit = await self.on_tick(counter)


def run(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # pragma: no cover (uvloop ships with uvicorn[standard])
        return asyncio.run(main)
    return uvloop.run(main)


class CorkedTransport:
    """Holds back the status line and headers of a response until its first body write, so
    both leave in one ``send`` (uvicorn writes them separately: two system calls, each on a
    loopback connection about as costly as the proxy's Python work for a request).

    The protocol below marks where a response's head starts (``expect_head``) and flushes
    when the response is complete (HEAD and 204 answers have no body write). A streaming
    app flushes after ``http.response.start`` through the ``strangler.flush`` extension.
    Nothing is ever reordered: held bytes go out before anything written after them."""

    __slots__ = ("_head", "_transport", "expect_head")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head: bytes | None = None
        self.expect_head = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.expect_head and data[:12] != b"HTTP/1.1 100":
            self.expect_head = False
            self.flush()
            self._head = bytes(data)
            return
        head = self._head
        if head is not None:
            self._head = None
            data = head + data
        self._transport.write(data)

    def flush(self) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._head = None
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def corked_http_protocol() -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol, writing through a :class:`CorkedTransport`."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class CorkedHttpToolsProtocol(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self._cork = CorkedTransport(transport)
            super().connection_made(self._cork)  # type: ignore[arg-type]

        def on_headers_complete(self) -> None:
            self._cork.expect_head = True
            self.scope["extensions"] = {"strangler.flush": self._cork.flush}  # type: ignore[dict-item]
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            self._cork.flush()
            super().on_response_complete()

    return CorkedHttpToolsProtocol
