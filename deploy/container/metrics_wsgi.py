"""The monolith's WSGI app with request metrics, for the container image.

An adapter until the monolith measures itself (see docs/containers.md): it counts every request
by method, route and status, and times it, as ``http_requests_total{method,route,status}`` and
``http_request_duration_seconds{method,route}``: the names and labels an extracted service
exposes (servicekit.metrics), so one dashboard query shows both (Prometheus adds ``service``).
The monolith's route is its context's path (``/api/catalog``): one series per context, the
traffic a stage moves.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import Counter, Histogram

from config.wsgi import application as django_application

_CONTEXT = re.compile(r"^/api/(users|catalog|cart|orders|payments|notifications)(?:/|$)")

# Same families as servicekit.metrics (its buckets too).
REQUESTS = Counter("http_requests_total", "HTTP requests answered", ["method", "route", "status"])
DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def route_of(path: str) -> str:
    match = _CONTEXT.match(path)
    if match:
        return f"/api/{match.group(1)}"
    if path == "/.well-known/jwks.json":
        return "/api/users"
    if path.startswith("/health/"):
        return "/health"
    return "other"


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    started = time.perf_counter()
    method = str(environ.get("REQUEST_METHOD", "GET"))
    route = route_of(str(environ.get("PATH_INFO", "")))
    status = ["500"]

    def recording_start_response(code: str, headers: Any, exc_info: Any = None) -> Any:
        status[0] = code[:3]
        return start_response(code, headers, exc_info)

    try:
        return django_application(environ, recording_start_response)
    finally:
        REQUESTS.labels(method, route, status[0]).inc()
        DURATION.labels(method, route).observe(time.perf_counter() - started)
