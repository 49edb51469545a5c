"""Header hygiene, both ways, in one pass over the headers.

To the upstream:
- hop-by-hop headers (RFC 9110 7.6.1: Connection and every header it names, Keep-Alive, TE,
  Trailer, Transfer-Encoding, Upgrade, Proxy-*) and ``Expect`` are dropped; the proxy frames
  the body itself;
- internal headers a client must never set are dropped: anything ``X-Strangler-*`` (the shadow
  marker, the dry-run flag) and the identity headers in :data:`INTERNAL_IDENTITY_HEADERS`;
- ``X-Forwarded-For/-Proto/-Host`` are set (the client's own values are replaced unless the
  proxy is told to trust a proxy in front of it), the ``Host`` is kept;
- ``X-Request-Id`` is kept when sane, else made; W3C ``traceparent`` is continued with the
  proxy's span as the parent (a new trace when the caller sent none).

To the client: hop-by-hop headers are dropped; the answer gains ``X-Request-Id`` (if the
upstream did not echo it) and ``X-Strangler-Generation`` (the route table that served it).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from email.utils import formatdate
from time import time

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
INTERNAL_PREFIX = b"x-strangler-"
INTERNAL_IDENTITY_HEADERS = frozenset(
    {b"x-user-id", b"x-user-email", b"x-user-staff", b"x-authenticated-user", b"x-remote-user"}
)
SHADOW_HEADER = b"x-strangler-shadow"
DRY_RUN_HEADER = b"x-strangler-dry-run"
GENERATION_HEADER = b"x-strangler-generation"
REQUEST_ID = b"x-request-id"
_VALID_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
_TRACEPARENT = re.compile(rb"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE = b"0" * 32
_ZERO_SPAN = b"0" * 16

# Headers read on the way through; everything else is copied as is.
_SPECIAL = (
    HOP_BY_HOP
    | INTERNAL_IDENTITY_HEADERS
    | {
        b"expect",
        b"content-length",
        b"host",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        REQUEST_ID,
        b"traceparent",
        b"authorization",
        b"cookie",
    }
)


@dataclass(slots=True)
class Inbound:
    """What the proxy needs to know about a request, and the headers to forward."""

    headers: list[tuple[bytes, bytes]]  # copied as is (host, auth, cookies included)
    host: bytes = b""
    content_length: int | None = None
    chunked: bool = False
    request_id: str = ""
    trace_id: str = ""  # 32 hex
    parent_span: str = ""  # the caller's span id, "" when it started the trace
    sampled: bool = True
    authorization: str = ""
    cookie: str = ""
    forwarded_for: bytes = b""
    forwarded_proto: bytes = b""
    forwarded_host: bytes = b""
    bad_length: bool = False
    client_ip: str = ""

    @property
    def has_body(self) -> bool:
        return self.chunked or bool(self.content_length)

    def retrace(self, trace_id: str) -> None:
        """The trace id a tracer chose for a trace this proxy starts. A request id that was
        made from the old trace id follows it (the forwarded ``X-Request-Id`` included), so a
        request keeps one id to search logs and traces by."""
        if self.request_id == self.trace_id and self.request_id != trace_id:
            self.request_id = trace_id
            for i in range(len(self.headers) - 1, -1, -1):
                if self.headers[i][0] == REQUEST_ID:
                    self.headers[i] = (REQUEST_ID, trace_id.encode())
                    break
        self.trace_id = trace_id


def new_span_id() -> str:
    return f"{random.getrandbits(64) or 1:016x}"


def new_trace_id() -> str:
    return f"{random.getrandbits(128) or 1:032x}"


def inbound(
    raw: list[tuple[bytes, bytes]] | tuple[tuple[bytes, bytes], ...],
    *,
    client_ip: str,
    scheme: str,
    trust_forwarded: bool = False,
) -> Inbound:
    """Split the client's headers (names lower-case, as ASGI gives them)."""
    kept: list[tuple[bytes, bytes]] = []
    info = Inbound(kept, client_ip=client_ip)
    connection_tokens: list[bytes] = []
    traceparent = b""
    request_id = b""
    for name, value in raw:
        if name not in _SPECIAL:
            if not name.startswith(INTERNAL_PREFIX):
                kept.append((name, value))
            continue
        if name == b"host":
            info.host = value
            kept.append((name, value))
        elif name == b"content-length":
            try:
                info.content_length = int(value)
            except ValueError:
                info.bad_length = True
            kept.append((name, value))
        elif name == b"transfer-encoding":
            info.chunked = b"chunked" in value.lower()
        elif name == b"authorization":
            info.authorization = value.decode("latin-1")
            kept.append((name, value))
        elif name == b"cookie":
            info.cookie = value.decode("latin-1")
            kept.append((name, value))
        elif name == REQUEST_ID:
            request_id = value
        elif name == b"traceparent":
            traceparent = value
        elif name == b"connection":
            connection_tokens.extend(t.strip().lower() for t in value.split(b","))
        elif name == b"x-forwarded-for":
            info.forwarded_for = value
        elif name == b"x-forwarded-proto":
            info.forwarded_proto = value
        elif name == b"x-forwarded-host":
            info.forwarded_host = value
        # the rest of _SPECIAL (hop-by-hop, identity headers, expect) is dropped
    if connection_tokens:
        named = set(connection_tokens) - {b"close", b"keep-alive"}
        if named:
            kept[:] = [(n, v) for n, v in kept if n not in named]
    if info.chunked and info.content_length is not None:
        # Both framings: the proxy re-frames as chunked; a stale length must not follow it.
        kept[:] = [(n, v) for n, v in kept if n != b"content-length"]
        info.content_length = None
    match = _TRACEPARENT.match(traceparent) if traceparent else None
    if (
        match is not None
        and match.group(1) != b"ff"
        and match.group(2) != _ZERO_TRACE
        and match.group(3) != _ZERO_SPAN
    ):
        info.trace_id = match.group(2).decode()
        info.parent_span = match.group(3).decode()
        info.sampled = bool(int(match.group(4), 16) & 1)
    else:
        info.trace_id = new_trace_id()
    # A request without a (sane) id of its own is known by its trace id: one id to grep for.
    info.request_id = (
        request_id.decode() if request_id and _VALID_REQUEST_ID.match(request_id) else info.trace_id
    )
    if trust_forwarded and info.forwarded_for:
        xff = info.forwarded_for + b", " + client_ip.encode()
        proto = info.forwarded_proto or scheme.encode()
        fhost = info.forwarded_host or info.host
    else:
        xff, proto, fhost = client_ip.encode(), scheme.encode(), info.host
    kept.append((b"x-forwarded-for", xff))
    kept.append((b"x-forwarded-proto", proto))
    if fhost:
        kept.append((b"x-forwarded-host", fhost))
    kept.append((REQUEST_ID, info.request_id.encode()))
    return info


def traceparent(trace_id: str, span_id: str, sampled: bool) -> bytes:
    return f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}".encode()


def outbound(
    raw: list[tuple[bytes, bytes]], *, request_id: str, generation: bytes
) -> list[tuple[bytes, bytes]]:
    """The upstream's answer headers (lower-case names) for the client."""
    out: list[tuple[bytes, bytes]] = []
    has_request_id = False
    connection_tokens: list[bytes] = []
    for name, value in raw:
        if name in HOP_BY_HOP:
            if name == b"connection":
                connection_tokens.extend(t.strip().lower() for t in value.split(b","))
            continue
        if name == REQUEST_ID:
            has_request_id = True
        out.append((name, value))
    if connection_tokens:
        named = set(connection_tokens) - {b"close", b"keep-alive"}
        if named:
            out = [(n, v) for n, v in out if n not in named]
    if not has_request_id:
        out.append((REQUEST_ID, request_id.encode()))
    out.append((GENERATION_HEADER, generation))
    return out


class HttpDate:
    """The ``Date`` header for answers the proxy makes itself, recomputed once a second (the
    ASGI server's own Date header is off: upstream answers already carry theirs)."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def __call__(self) -> bytes:
        now = time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._value = formatdate(now, usegmt=True).encode()
        return self._value
