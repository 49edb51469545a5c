"""W3C trace context for every request, and OpenTelemetry spans when a tracer provider is set.

Without a configured provider (the default) the proxy still continues the caller's trace: it
makes a span id of its own, sends ``traceparent`` upstream and logs the trace id, at the cost
of one random number. With a provider (``KIT_PROXY_OTEL=console``, or any SDK provider handed
to the app, e.g. with an in-memory exporter in tests) it records:

    proxy <METHOD> <route>      SERVER  (child of the caller's span)
      └─ upstream <name>        CLIENT  (its id is the parent the upstream sees)
      └─ shadow <name>          CLIENT  (linked to the primary upstream span)
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from .headers import Inbound, new_span_id, traceparent


class Tracing:
    def __init__(self, provider: Any | None = None) -> None:
        if provider is None:
            provider = trace.get_tracer_provider()
            enabled = not isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider)
        else:
            enabled = True
        self.enabled = enabled
        self.tracer = provider.get_tracer("strangler_proxy") if enabled else None

    def start(self, info: Inbound, method: str, route: str) -> RequestTrace:
        return RequestTrace(self, info, method, route)


class RequestTrace:
    __slots__ = ("_server", "_upstream", "info", "span_id", "tracing")

    def __init__(self, tracing: Tracing, info: Inbound, method: str, route: str) -> None:
        self.tracing = tracing
        self.info = info
        self._server: Any = None
        self._upstream: Any = None
        tracer = tracing.tracer
        if tracer is None:
            self.span_id = new_span_id()
            return
        context = None
        if info.parent_span:
            parent = SpanContext(
                trace_id=int(info.trace_id, 16),
                span_id=int(info.parent_span, 16),
                is_remote=True,
                trace_flags=TraceFlags(TraceFlags.SAMPLED if info.sampled else 0),
            )
            context = trace.set_span_in_context(NonRecordingSpan(parent))
        self._server = tracer.start_span(
            f"proxy {method} {route}",
            context=context,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "strangler.route": route},
        )
        ctx = self._server.get_span_context()
        info.retrace(f"{ctx.trace_id:032x}")
        self.span_id = f"{ctx.span_id:016x}"

    def upstream_header(self, upstream: str) -> bytes:
        """``traceparent`` for the primary upstream call (starts its client span)."""
        tracer = self.tracing.tracer
        if tracer is None:
            return traceparent(self.info.trace_id, self.span_id, self.info.sampled)
        if self._upstream is not None:  # a retry or fallback: one span per call
            self._upstream.end()
        self._upstream = tracer.start_span(
            f"upstream {upstream}",
            context=trace.set_span_in_context(self._server),
            kind=SpanKind.CLIENT,
            attributes={"strangler.upstream": upstream},
        )
        ctx = self._upstream.get_span_context()
        return traceparent(f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}", self.info.sampled)

    def end(self, status: int, attributes: dict[str, Any] | None = None) -> None:
        for span in (self._upstream, self._server):
            if span is not None:
                span.set_attribute("http.response.status_code", status)
                if attributes:
                    span.set_attributes(attributes)
                span.end()

    def shadow_link(self) -> ShadowLink:
        """What the shadow call needs to parent and link its span, after this request ended."""
        return ShadowLink(self.tracing, self._server, self._upstream, self.info)


class ShadowLink:
    __slots__ = ("info", "primary", "server", "tracing")

    def __init__(self, tracing: Tracing, server: Any, primary: Any, info: Inbound) -> None:
        self.tracing = tracing
        self.server = server
        self.primary = primary
        self.info = info

    def start(self, upstream: str) -> tuple[Any, bytes]:
        """(span or None, traceparent) for the mirrored call."""
        tracer = self.tracing.tracer
        if tracer is None or self.server is None:
            return None, traceparent(self.info.trace_id, new_span_id(), self.info.sampled)
        links = [Link(self.primary.get_span_context())] if self.primary is not None else []
        span = tracer.start_span(
            f"shadow {upstream}",
            context=trace.set_span_in_context(self.server),
            kind=SpanKind.CLIENT,
            links=links,
            attributes={"strangler.upstream": upstream, "strangler.shadow": True},
        )
        ctx = span.get_span_context()
        return span, traceparent(f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}", self.info.sampled)
