"""W3C trace context through the outbox and the broker (OpenTelemetry API only).

``publish()`` stores the caller's ``traceparent`` (the HTTP request's span) in the outbox row;
the relay starts a PRODUCER span under it and sends its own ``traceparent`` in the message
headers; the consumer starts a CONSUMER span under that. With an SDK configured (OTLP exporter,
see docs) one trace shows HTTP -> outbox -> relay -> consumer; without one, the API is a no-op
that still passes the incoming context through.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

tracer = trace.get_tracer("eventbus")


def current_headers() -> dict[str, str]:
    """``traceparent`` (and ``tracestate``) of the active span; {} when there is none."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def _recording() -> bool:
    """False while no SDK is configured (the API's proxies are no-ops)."""
    return not (
        isinstance(tracer, trace.ProxyTracer)
        and isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    )


@contextmanager
def span(
    name: str, kind: SpanKind, parent: Mapping[str, Any] | None, **attributes: Any
) -> Iterator[tuple[Span, dict[str, str]]]:
    """A span under the context in ``parent`` headers; yields it and the headers to send on."""
    if not (parent and "traceparent" in parent) and not _recording():
        # Nothing to continue and nothing records: skip the work (it is per message).
        yield trace.INVALID_SPAN, {}
        return
    context = propagate.extract(dict(parent or {}))
    with tracer.start_as_current_span(
        name, context=context, kind=kind, attributes=attributes
    ) as current:
        yield current, current_headers()
