"""Request and answer bodies on their way through: read whole when small, streamed when not,
and copied (up to a cap) for the shadow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .upstream import BodySource

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]


class ClientDisconnected(Exception):
    """The client went away before its request was read."""


class Tee:
    """A copy of a streamed body for the shadow, given up once it exceeds ``cap``."""

    __slots__ = ("cap", "overflow", "parts", "size")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[bytes] = []
        self.size = 0
        self.overflow = False

    def add(self, chunk: bytes) -> None:
        if self.overflow:
            return
        self.size += len(chunk)
        if self.size > self.cap:
            self.overflow = True
            self.parts = []
        else:
            self.parts.append(chunk)

    def value(self) -> bytes:
        return b"".join(self.parts)


async def read_body(receive: Receive) -> bytes:
    """The whole request body (callers use it for bodies up to ``body_buffer``)."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts) if len(parts) != 1 else parts[0]


def body_source(receive: Receive, tee: Tee | None) -> BodySource:
    """Stream the client's body to the upstream; keep a copy for the shadow in ``tee``."""

    async def next_chunk() -> tuple[bytes, bool]:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk: bytes = message.get("body", b"")
        if tee is not None:
            tee.add(chunk)
        return chunk, bool(message.get("more_body", False))

    return next_chunk
