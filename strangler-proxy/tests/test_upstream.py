"""The hot-path HTTP client against a scripted server on loopback (the behaviour under test is
the wire: framing, keep-alive, streaming, timeouts)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from strangler_proxy.table import parse_data
from strangler_proxy.upstream import READ_HIGH_WATER, Upstream, UpstreamError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    if b"transfer-encoding: chunked" in head.lower():
        while True:
            size = int((await reader.readline()).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    return head, body


async def _serve(handler: Handler) -> tuple[asyncio.Server, str]:
    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(closing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


async def _close(upstream: Upstream) -> None:
    upstream.close()
    await asyncio.sleep(0.05)  # let the transports finish closing


def _upstream(url: str, **spec: object) -> Upstream:
    data = {"upstreams": {"monolith": {"url": url, "health": None, **spec}}}
    return Upstream(parse_data(data).upstreams["monolith"])


def test_keep_alive_head_and_chunked_answers() -> None:
    heads: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head, _ = await _read_request(reader)
            except asyncio.IncompleteReadError:
                return
            heads.append(head)
            if head.startswith(b"HEAD"):
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n")
            elif head.startswith(b"GET /chunked"):
                writer.write(
                    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                    b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
                )
            else:
                writer.write(
                    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-A: 1\r\n\r\nok"
                )
            await writer.drain()

    async def scenario() -> None:
        server, url = await _serve(handler)
        async with server:
            upstream = _upstream(url)
            host = [(b"host", b"x")]
            head = await upstream.fetch("HEAD", b"/h", host, timeout=2)
            chunked = await upstream.fetch("GET", b"/chunked", host, timeout=2)
            created = await upstream.fetch("POST", b"/p", host, b"{}", timeout=2)

            assert head == (200, [(b"content-length", b"1234")], b"")
            assert chunked[0] == 200
            assert chunked[2] == b"hello world"
            assert created == (201, [(b"content-length", b"2"), (b"x-a", b"1")], b"ok")
            assert upstream.pool.connects == 1  # one connection carried all three
            assert heads[2].startswith(b"POST /p HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n")
            await _close(upstream)

    asyncio.run(scenario())


def test_an_answer_without_length_ends_with_the_connection() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nuntil the end")
        await writer.drain()
        writer.close()

    async def scenario() -> None:
        server, url = await _serve(handler)
        async with server:
            upstream = _upstream(url)
            status, _, body = await upstream.fetch("GET", b"/", [], timeout=2)

            assert (status, body) == (200, b"until the end")
            assert upstream.pool.idle_connections == 0
            await _close(upstream)

    asyncio.run(scenario())


def test_a_keep_alive_connection_closed_by_the_server_is_reported_stale() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n1")
        await writer.drain()
        await reader.read(1)  # the next request arrives... and the server hangs up unanswered
        writer.close()

    async def scenario() -> None:
        server, url = await _serve(handler)
        async with server:
            upstream = _upstream(url)
            assert (await upstream.fetch("GET", b"/", [], timeout=2))[0] == 200

            with pytest.raises(UpstreamError) as caught:
                await upstream.fetch("GET", b"/", [], timeout=2)

            assert caught.value.kind == "closed"
            assert caught.value.stale  # reused connection, no answer byte: safe to resend
            await _close(upstream)

    asyncio.run(scenario())


def test_request_bodies_stream_in_chunks() -> None:
    received: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, body = await _read_request(reader)
        received.append(body)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()

    async def scenario() -> None:
        server, url = await _serve(handler)
        async with server:
            upstream = _upstream(url)
            parts = [b"a" * 70_000, b"b" * 70_000, b"c"]

            async def source() -> tuple[bytes, bool]:
                chunk = parts.pop(0)
                return chunk, bool(parts)

            conn = await upstream.open("PUT", b"/u", [], source, timeout=2, chunked=True)
            assert await conn.next_chunk(2) == b""
            conn.finish()

            assert conn.status == 204
            assert received == [b"a" * 70_000 + b"b" * 70_000 + b"c"]
            await _close(upstream)

    asyncio.run(scenario())


def test_a_slow_reader_pauses_the_upstream_instead_of_buffering() -> None:
    total = 8 * READ_HIGH_WATER

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % total)
        for _ in range(total // 65536):
            writer.write(b"x" * 65536)
            await writer.drain()

    async def scenario() -> None:
        server, url = await _serve(handler)
        async with server:
            upstream = _upstream(url)
            conn = await upstream.open("GET", b"/big", [], None, timeout=5)
            await asyncio.sleep(0.3)  # nobody reads: the server must be held back

            buffered = sum(len(c) for c in conn.chunks)
            assert buffered <= READ_HIGH_WATER + 256 * 1024  # plus at most one socket read
            assert buffered < total // 2
            size = 0
            while chunk := await conn.next_chunk(5):
                size += len(chunk)
            conn.finish()
            assert size == total
            await _close(upstream)

    asyncio.run(scenario())


def test_timeouts_and_refusals_are_upstream_errors() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(10)

    async def scenario() -> None:
        server, url = await _serve(silent)
        async with server:
            upstream = _upstream(url)
            with pytest.raises(UpstreamError) as slow:
                await upstream.fetch("GET", b"/", [], timeout=0.2)
            await _close(upstream)
        port = url.rsplit(":", 1)[1]
        with pytest.raises(UpstreamError) as refused:
            await _upstream(f"http://127.0.0.1:{port}").fetch("GET", b"/", [], timeout=1)

        assert (slow.value.kind, slow.value.status) == ("timeout", 504)
        assert (refused.value.kind, refused.value.status) == ("connect", 502)
        assert "cannot connect to monolith" in refused.value.detail

    asyncio.run(scenario())


def test_the_pool_never_opens_more_than_max_connections() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await _read_request(reader)
            except asyncio.IncompleteReadError:
                return
            await asyncio.sleep(0.05)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()

    async def scenario() -> None:
        server, url = await _serve(handler)
        async with server:
            upstream = _upstream(url, max_connections=2)
            results = await asyncio.gather(
                *(upstream.fetch("GET", b"/", [], timeout=2) for _ in range(6))
            )

            assert [r[0] for r in results] == [200] * 6
            assert upstream.pool.connects == 2
            await _close(upstream)

    asyncio.run(scenario())
