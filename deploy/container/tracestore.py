"""A small OTLP trace store: the air-gapped stand-in for the OpenTelemetry collector + Jaeger.

No container registry means no collector or Jaeger image, and Debian packages neither; this
process takes their place in ``compose.airgap.yaml`` under the collector's name, so the
services' OTLP settings do not change:

    :4318  POST /v1/traces     OTLP/HTTP, protobuf or JSON, gzip or not (what the SDKs send)
    :16686 GET /api/services   Jaeger's query API, the subset the kit uses:
           GET /api/traces?service=NAME&limit=N
           GET /api/traces/TRACE_ID      {"data": [{"traceID", "spans", "processes"}]}
           GET /                         the latest traces, as a plain HTML table
    :8888  GET /metrics        tracestore_spans_received_total, tracestore_traces

Spans stay in memory (the newest KIT_TRACESTORE_MAX_SPANS, default 200000), like Jaeger's
all-in-one. What it does not do: OTLP/gRPC (4317), sampling, storage, the Jaeger UI.
"""

from __future__ import annotations

import gzip
import html
import json
import os
import sys
import threading
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from prometheus_client import Counter, Gauge, start_http_server

MAX_SPANS = int(os.environ.get("KIT_TRACESTORE_MAX_SPANS", "200000"))
KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}

SPANS = Counter("tracestore_spans_received", "Spans received over OTLP", ["service"])
TRACES = Gauge("tracestore_traces", "Traces held in memory")


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def _tags(attributes: Any) -> list[dict[str, Any]]:
    return [{"key": kv.key, "value": _value(kv.value)} for kv in attributes]


class Store:
    """trace id -> {"spans": [...], "services": {...}}, oldest evicted first."""

    def __init__(self, max_spans: int) -> None:
        self.max_spans = max_spans
        self.traces: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.count = 0
        self.lock = threading.Lock()

    def add(self, request: ExportTraceServiceRequest) -> int:
        added = 0
        with self.lock:
            for resource_spans in request.resource_spans:
                resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
                service = str(resource.get("service.name", "unknown_service"))
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        trace_id = span.trace_id.hex()
                        entry = self.traces.setdefault(trace_id, {"spans": [], "services": {}})
                        self.traces.move_to_end(trace_id)
                        entry["services"][service] = resource
                        entry["spans"].append(self._span(span, trace_id, service))
                        added += 1
                SPANS.labels(service).inc(
                    sum(len(scope.spans) for scope in resource_spans.scope_spans)
                )
            self.count += added
            while self.count > self.max_spans and self.traces:
                _, dropped = self.traces.popitem(last=False)
                self.count -= len(dropped["spans"])
            TRACES.set(len(self.traces))
        return added

    @staticmethod
    def _span(span: Any, trace_id: str, service: str) -> dict[str, Any]:
        references = []
        if span.parent_span_id:
            references.append(
                {"refType": "CHILD_OF", "traceID": trace_id, "spanID": span.parent_span_id.hex()}
            )
        for link in span.links:
            references.append(
                {
                    "refType": "FOLLOWS_FROM",
                    "traceID": link.trace_id.hex(),
                    "spanID": link.span_id.hex(),
                }
            )
        tags = _tags(span.attributes)
        tags.append({"key": "span.kind", "value": KINDS.get(span.kind, "unspecified")})
        if span.status.code == 2:
            tags.append({"key": "error", "value": True})
        return {
            "traceID": trace_id,
            "spanID": span.span_id.hex(),
            "operationName": span.name,
            "references": references,
            "startTime": span.start_time_unix_nano // 1000,
            "duration": max(span.end_time_unix_nano - span.start_time_unix_nano, 0) // 1000,
            "tags": tags,
            "service": service,
        }

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        with self.lock:
            entry = self.traces.get(trace_id.lower())
            if entry is None:
                return None
            return self._jaeger(trace_id.lower(), entry)

    def find(self, service: str | None, limit: int) -> list[dict[str, Any]]:
        with self.lock:
            out = []
            for trace_id in reversed(self.traces):
                entry = self.traces[trace_id]
                if service and service not in entry["services"]:
                    continue
                out.append(self._jaeger(trace_id, entry))
                if len(out) >= limit:
                    break
            return out

    def services(self) -> list[str]:
        with self.lock:
            return sorted({s for entry in self.traces.values() for s in entry["services"]})

    @staticmethod
    def _jaeger(trace_id: str, entry: dict[str, Any]) -> dict[str, Any]:
        names = sorted(entry["services"])
        ids = {name: f"p{i + 1}" for i, name in enumerate(names)}
        spans = [
            {**{k: v for k, v in span.items() if k != "service"}, "processID": ids[span["service"]]}
            for span in sorted(entry["spans"], key=lambda s: s["startTime"])
        ]
        processes = {
            ids[name]: {"serviceName": name, "tags": _tags_from(entry["services"][name])}
            for name in names
        }
        return {"traceID": trace_id, "spans": spans, "processes": processes, "warnings": None}


def _tags_from(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in sorted(resource.items()) if k != "service.name"]


STORE = Store(MAX_SPANS)


class Handler(BaseHTTPRequestHandler):
    server_version = "kit-tracestore/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per error only
        return

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.headers.get("Content-Encoding", "") == "gzip":
            body = gzip.decompress(body)
        if urlparse(self.path).path != "/v1/traces":
            self._json(404, {"error": "only /v1/traces (OTLP/HTTP traces) is received here"})
            return
        request = ExportTraceServiceRequest()
        try:
            if self.headers.get("Content-Type", "").startswith("application/json"):
                json_format.Parse(body, request)
            else:
                request.ParseFromString(body)
        except Exception as exc:  # a malformed export must not stop the store
            self._json(400, {"error": f"not an OTLP ExportTraceServiceRequest: {exc}"})
            return
        STORE.add(request)
        if self.headers.get("Content-Type", "").startswith("application/json"):
            self._json(200, {})
        else:
            answer = ExportTraceServiceResponse().SerializeToString()
            self._send(200, answer, "application/x-protobuf")

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path in ("/health", "/health/ready", "/"):
            if url.path == "/":
                self._send(200, self._page(), "text/html; charset=utf-8")
            else:
                self._json(200, {"status": "ok", "traces": len(STORE.traces)})
        elif url.path == "/api/services":
            self._json(200, {"data": STORE.services()})
        elif url.path.startswith("/api/traces/"):
            found = STORE.trace(url.path.rsplit("/", 1)[1])
            if found is None:
                self._json(404, {"data": None, "errors": [{"code": 404, "msg": "trace not found"}]})
            else:
                self._json(200, {"data": [found]})
        elif url.path == "/api/traces":
            limit = int((query.get("limit") or ["20"])[0])
            service = (query.get("service") or [None])[0]
            self._json(200, {"data": STORE.find(service, limit)})
        else:
            self._json(404, {"error": "not found"})

    def _page(self) -> bytes:
        rows = []
        for found in STORE.find(None, 50):
            root = found["spans"][0] if found["spans"] else {"operationName": "?"}
            services = ", ".join(p["serviceName"] for p in found["processes"].values())
            rows.append(
                f"<tr><td><a href='/api/traces/{found['traceID']}'>{found['traceID']}</a></td>"
                f"<td>{html.escape(root['operationName'])}</td><td>{len(found['spans'])}</td>"
                f"<td>{html.escape(services)}</td></tr>"
            )
        return (
            "<!doctype html><title>kit trace store</title><h1>Latest traces</h1>"
            "<table border=1><tr><th>trace</th><th>first span</th><th>spans</th>"
            "<th>services</th></tr>" + "".join(rows) + "</table>"
        ).encode()


def main() -> int:
    otlp_port = int(os.environ.get("KIT_TRACESTORE_OTLP_PORT", "4318"))
    query_port = int(os.environ.get("KIT_TRACESTORE_QUERY_PORT", "16686"))
    metrics_port = int(os.environ.get("KIT_TRACESTORE_METRICS_PORT", "8888"))
    start_http_server(metrics_port)
    servers = [ThreadingHTTPServer(("0.0.0.0", port), Handler) for port in (otlp_port, query_port)]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(
        f"tracestore: OTLP/HTTP on :{otlp_port}, query API on :{query_port}, "
        f"metrics on :{metrics_port}",
        file=sys.stderr,
        flush=True,
    )
    servers[0].serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
