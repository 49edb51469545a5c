"""Sending one request upstream: circuit breaker, retries within the budget, fallback.

    call(upstreams, decision, ...)       the primary, then (safe methods) the route's fallback
      └─ attempts(upstream, route, ...)  breaker permit ─ send ─ retry? (idempotent, body in
                                         memory, budget left, jittered backoff) ─ outcome
    send_mirror(upstreams, mirror, to)   a shadow copy: marked, own timeout, body-capped

Failures the proxy answers itself come out as :class:`ProxyFailure` (502/503/504).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from .diff import Response
from .headers import DRY_RUN_HEADER, SHADOW_HEADER, Inbound
from .metrics import Metrics
from .retry import backoff, is_idempotent, may_retry
from .routing import Decision
from .shadow import Mirror
from .table import Route
from .tracing import RequestTrace
from .upstream import BodySource, Connection, Upstream, UpstreamError

FAILOVER_STATUSES = frozenset({502, 503, 504})


class ProxyFailure(Exception):
    """The proxy answers itself: 502, 503 or 504 in the kit's problem shape."""

    def __init__(
        self, code: str, detail: str, *, upstream: str, retry_after: float | None = None
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.upstream = upstream
        self.retry_after = retry_after

    @classmethod
    def from_error(cls, error: UpstreamError, upstream: str) -> ProxyFailure:
        code = {504: "gateway_timeout", 503: "service_unavailable"}.get(error.status, "bad_gateway")
        return cls(code, f"upstream {upstream!r}: {error.detail}", upstream=upstream)


async def call(
    upstreams: Mapping[str, Upstream],
    decision: Decision,
    method: str,
    target: bytes,
    info: Inbound,
    body: bytes | BodySource | None,
    trace: RequestTrace,
    metrics: Metrics,
) -> tuple[Connection, str]:
    """The answer's head from the primary, or from the fallback when the primary is down."""
    replayable = body is None or isinstance(body, bytes)
    names = [decision.primary]
    if decision.fallback and decision.fallback != decision.primary and replayable:
        names.append(decision.fallback)
    failure: ProxyFailure | None = None
    for index, name in enumerate(names):
        last = index == len(names) - 1
        try:
            conn = await attempts(
                upstreams[name], decision.route, method, target, info, body, trace, metrics
            )
        except ProxyFailure as exc:
            failure = exc
            continue
        if not last and conn.status in FAILOVER_STATUSES:
            conn.finish(reuse=False)
            failure = ProxyFailure(
                "bad_gateway", f"upstream {name!r} answered {conn.status}", upstream=name
            )
            continue
        if index > 0:
            metrics.fallback(decision.route.key, name)
        return conn, name
    assert failure is not None
    raise failure


async def attempts(
    upstream: Upstream,
    route: Route,
    method: str,
    target: bytes,
    info: Inbound,
    body: bytes | BodySource | None,
    trace: RequestTrace,
    metrics: Metrics,
) -> Connection:
    """One upstream, tried again while the retry rules allow it."""
    replayable = body is None or isinstance(body, bytes)
    spec = route.retry
    breaker = upstream.breaker
    upstream.budget.deposit()
    attempt = 0
    stale_retried = False
    while True:
        permit = breaker.acquire()
        if permit is None:
            raise ProxyFailure(
                "service_unavailable",
                f"upstream {upstream.name!r} is unavailable (circuit open)",
                upstream=upstream.name,
                retry_after=breaker.retry_after() or upstream.spec.breaker.open_seconds,
            )
        headers = [*info.headers, (b"traceparent", trace.upstream_header(upstream.name))]
        try:
            conn = await upstream.open(
                method, target, headers, body, timeout=route.timeout, chunked=info.chunked
            )
        except UpstreamError as exc:
            if exc.stale and replayable and is_idempotent(method) and not stale_retried:
                breaker.release(permit)  # a keep-alive race, not the upstream's fault
                stale_retried = True
                continue
            breaker.record(permit, False)
            if (
                may_retry(method, body_replayable=replayable, spec=spec, attempt=attempt)
                and upstream.budget.withdraw()
            ):
                metrics.retry(upstream.name, exc.kind)
                await asyncio.sleep(backoff(spec, attempt))
                attempt += 1
                continue
            raise ProxyFailure.from_error(exc, upstream.name) from None
        except BaseException:
            breaker.release(permit)
            raise
        if conn.status in spec.statuses:
            breaker.record(permit, False)
            if (
                may_retry(method, body_replayable=replayable, spec=spec, attempt=attempt)
                and upstream.budget.withdraw()
            ):
                conn.finish(reuse=False)
                metrics.retry(upstream.name, str(conn.status))
                await asyncio.sleep(backoff(spec, attempt))
                attempt += 1
                continue
            return conn
        breaker.record(permit, True)
        return conn


async def send_mirror(upstreams: Mapping[str, Upstream], mirror: Mirror, to: str) -> Response:
    """Send a mirrored request to ``to`` (the candidate, or the primary again for noise)."""
    upstream = upstreams.get(to)
    if upstream is None:
        raise UpstreamError("connect", f"upstream {to!r} is not in the route table")
    permit = upstream.breaker.acquire()
    if permit is None:
        raise UpstreamError("connect", f"upstream {to!r}: circuit open")
    span, parent = mirror.link.start(to) if mirror.link is not None else (None, b"")
    headers = [(k, v) for k, v in mirror.headers if k != b"content-length"]
    headers.append((SHADOW_HEADER, b"1"))
    if mirror.dry_run:
        headers.append((DRY_RUN_HEADER, b"1"))
    if parent:
        headers.append((b"traceparent", parent))
    body = mirror.body if (mirror.body or mirror.method not in ("GET", "HEAD")) else None
    ok = False
    try:
        status, raw, data = await upstream.fetch(
            mirror.method,
            mirror.target,
            headers,
            body,
            timeout=mirror.spec.timeout,
            cap=mirror.spec.body_cap,
        )
        ok = status not in FAILOVER_STATUSES
    finally:
        upstream.breaker.record(permit, ok)
        if span is not None:
            span.set_attribute("strangler.ok", ok)
            span.end()
    if data is None:
        raise UpstreamError("protocol", "the candidate's answer exceeds the body cap")
    return Response.of(status, [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw], data)
