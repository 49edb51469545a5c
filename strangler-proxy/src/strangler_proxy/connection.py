"""One keep-alive HTTP/1.1 connection to an upstream, on an asyncio protocol.

Answers are parsed with httptools (the C parser uvicorn uses); bodies stream both ways with
back-pressure (reading pauses once ``READ_HIGH_WATER`` bytes wait for the client); nothing is
decoded. A connection carries one exchange at a time (no pipelining); its pool (upstream.py)
lends it out, takes it back when the answer was read to the end, and times it out.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal, cast

import httptools

if TYPE_CHECKING:
    from .upstream import Pool

ErrorKind = Literal["connect", "timeout", "closed", "protocol", "pool"]
BodySource = Callable[[], Awaitable[tuple[bytes, bool]]]  # -> (chunk, more)

READ_HIGH_WATER = 256 * 1024  # pause reading the upstream above this much unsent body
READ_LOW_WATER = 64 * 1024


class UpstreamError(Exception):
    """The upstream could not be reached or did not answer properly."""

    def __init__(self, kind: ErrorKind, detail: str, *, stale: bool = False) -> None:
        super().__init__(detail)
        self.kind: ErrorKind = kind
        self.detail = detail
        # A reused keep-alive connection closed under us before any answer byte: the request
        # did not reach the application, so an idempotent request may go again at once.
        self.stale = stale

    @property
    def status(self) -> int:
        return {"timeout": 504, "pool": 503}.get(self.kind, 502)


class Connection(asyncio.Protocol):
    """One keep-alive connection; one exchange at a time (no pipelining)."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.uses = 0
        self.idle_since = 0.0
        self._write_paused = False
        self._drain: asyncio.Future[None] | None = None
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.content_length = -1  # -1: not given (chunked, or until the connection closes)
        self.chunks: deque[bytes] = deque()
        self.done = False
        self._head: asyncio.Future[None] | None = None
        self._buffered = 0
        self._reading_paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._error: UpstreamError | None = None
        self._informational = False
        self._head_only = False
        self._fresh_parser = False
        self._received = False
        self._request_sent = True
        self._keep_alive = False

    # --- asyncio callbacks --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        head = self._head
        if head is not None and not head.done():
            stale = self.uses > 1 and not self._received
            head.set_exception(
                UpstreamError("closed", "the upstream closed the connection", stale=stale)
            )
        elif head is not None and not self.done:
            if self._until_close():
                self.done = True
            else:
                self._error = UpstreamError("closed", "the upstream closed mid-answer")
        self._wake()
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_exception(UpstreamError("closed", "the upstream closed while we sent"))

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_result(None)

    def data_received(self, data: bytes) -> None:
        self._received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError("protocol", f"not a valid HTTP answer: {exc}"))

    # --- httptools callbacks ------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-length":
            try:
                self.content_length = int(value)
            except ValueError:
                self.content_length = -1
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:  # 100 Continue and friends: not the answer
            self.headers = []
            self._informational = True
            return
        self.status = status
        # Read now: llhttp resets its flags once the message is complete.
        self._keep_alive = self.parser.should_keep_alive()
        if self._head_only:  # a HEAD answer has no body whatever its Content-Length says
            self.done = True
            self._fresh_parser = True
        head = self._head
        if head is not None and not head.done():
            head.set_result(None)

    def on_body(self, body: bytes) -> None:
        if self._head_only:
            return
        self.chunks.append(body)
        self._buffered += len(body)
        if self._buffered > READ_HIGH_WATER and not self._reading_paused and self.transport:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self.done = True
        self._wake()

    # --- the exchange -------------------------------------------------------------------------

    async def send(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | BodySource | None,
        *,
        timeout: float,
        chunked: bool = False,
    ) -> None:
        """Send the request; return once the answer's status and headers are in."""
        transport = self.transport
        if transport is None or self.closed:
            raise UpstreamError("closed", "the connection is closed", stale=True)
        self.uses += 1
        self.chunks.clear()
        self._buffered = 0
        self.status = 0
        self.headers = []
        self.content_length = -1
        self.done = False
        self._error = None
        self._received = False
        self._request_sent = False
        self._keep_alive = False
        self._head_only = method == "HEAD"
        head = self._head = self.loop.create_future()
        lines = [method.encode(), b" ", target, b" HTTP/1.1\r\n"]
        lines.extend([name + b": " + value + b"\r\n" for name, value in headers])
        if chunked:
            lines.append(b"transfer-encoding: chunked\r\n")
        lines.append(b"\r\n")
        if isinstance(body, bytes):
            lines.append(body)
            transport.write(b"".join(lines))
            self._request_sent = True
        else:
            transport.write(b"".join(lines))
            if body is not None:
                self._request_sent = await self._send_body(body, chunked, timeout)
            else:
                self._request_sent = True
        if not head.done():
            self.pool.watch(self, timeout)
            try:
                await head
            finally:
                self.pool.unwatch(self)
        else:
            head.result()

    async def _send_body(self, source: BodySource, chunked: bool, timeout: float) -> bool:
        """Stream the body; False when the upstream answered before it was all sent."""
        transport = self.transport
        assert transport is not None
        more = True
        while more:
            chunk, more = await source()
            if self.closed or (self._head is not None and self._head.done()):
                return False  # the upstream answered (or failed) early: stop sending
            if chunk:
                if chunked:
                    transport.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                else:
                    transport.write(chunk)
            if self._write_paused:
                await self._wait_drain(timeout)
        if chunked:
            transport.write(b"0\r\n\r\n")
        return True

    async def _wait_drain(self, timeout: float) -> None:
        drain = self._drain = self.loop.create_future()
        try:
            await asyncio.wait_for(drain, timeout)
        except TimeoutError:
            self._fail(UpstreamError("timeout", f"the upstream took no body for {timeout:g}s"))
            raise self._error or UpstreamError("timeout", "timeout") from None
        finally:
            self._drain = None

    def expired(self, timeout: float) -> None:
        """The pool's deadline sweep: waited longer than ``timeout`` for the upstream."""
        if self._head is not None and not self._head.done():
            self._fail(UpstreamError("timeout", f"no answer within {timeout:g}s"))
        else:
            self._fail(UpstreamError("timeout", f"the answer stalled for {timeout:g}s"))

    async def next_chunk(self, timeout: float) -> bytes:
        """The next piece of the answer's body; ``b""`` once it is complete."""
        while True:
            if self.chunks:
                chunk = self.chunks.popleft()
                self._buffered -= len(chunk)
                if self._reading_paused and self._buffered < READ_LOW_WATER and self.transport:
                    self._reading_paused = False
                    self.transport.resume_reading()
                return chunk
            if self.done:
                return b""
            if self._error is not None:
                raise self._error
            waiter = self._waiter = self.loop.create_future()
            self.pool.watch(self, timeout)
            try:
                await waiter
            finally:
                self.pool.unwatch(self)
                self._waiter = None

    def take_body(self) -> bytes:
        """The whole body of a complete answer, at once."""
        chunks = self.chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._buffered = 0
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        return data

    async def wait_done(self, timeout: float) -> None:
        """Wait until the whole answer is in (for small answers: the proxy then answers with
        one write instead of a head and a body)."""
        while not self.done:
            if self._error is not None:
                raise self._error
            waiter = self._waiter = self.loop.create_future()
            self.pool.watch(self, timeout)
            try:
                await waiter
            finally:
                self.pool.unwatch(self)
                self._waiter = None

    async def read_body(self, timeout: float, cap: int) -> bytes | None:
        """The whole body, or None when it exceeds ``cap`` bytes (the connection is dropped)."""
        parts: list[bytes] = []
        size = 0
        while chunk := await self.next_chunk(timeout):
            size += len(chunk)
            if size > cap:
                self.finish(reuse=False)
                return None
            parts.append(chunk)
        return b"".join(parts)

    def finish(self, *, reuse: bool = True) -> None:
        """Give the connection back (when its answer was read to the end) or close it."""
        head, self._head = self._head, None
        if head is not None and head.done() and not head.cancelled():
            head.exception()  # retrieved: a failure was already reported to the caller
        if (
            reuse
            and self.done
            and self._request_sent
            and self._error is None
            and not self.closed
            and self._keep_alive
        ):
            if self._fresh_parser:
                self.parser = httptools.HttpResponseParser(self)
                self._fresh_parser = False
            self.pool.release(self)
        else:
            self.close()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()

    # --- helpers ------------------------------------------------------------------------------

    def _fail(self, error: UpstreamError) -> None:
        if self._error is None:
            self._error = error
        head = self._head
        if head is not None and not head.done():
            head.set_exception(error)
        self._wake()
        self.close()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _until_close(self) -> bool:
        """An answer with neither Content-Length nor chunked framing ends when the
        connection does."""
        for name, value in self.headers:
            if name == b"content-length" or (
                name == b"transfer-encoding" and b"chunked" in value.lower()
            ):
                return False
        return self.status not in (204, 304)
