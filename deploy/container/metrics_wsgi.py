"""The monolith's WSGI app with request metrics, for the container image.

An adapter until the monolith measures itself (see docs/containers.md): it counts every request
by context (the proxy's route key), method and status, and times it, as
``kit_http_requests_total{service,route,method,status}`` and
``kit_http_request_duration_seconds{service,route,method}``: the same names an extracted
service exposes, so one dashboard shows both.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import Counter, Histogram

from config.wsgi import application as django_application

SERVICE = os.environ.get("KIT_SERVICE_NAME", "monolith")
_CONTEXT = re.compile(r"^/api/(users|catalog|cart|orders|payments|notifications)(?:/|$)")

REQUESTS = Counter(
    "kit_http_requests", "HTTP requests answered", ["service", "route", "method", "status"]
)
DURATION = Histogram(
    "kit_http_request_duration_seconds",
    "Time to the answer's head",
    ["service", "route", "method"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def route_of(path: str) -> str:
    match = _CONTEXT.match(path)
    if match:
        return match.group(1)
    if path == "/.well-known/jwks.json":
        return "users"
    if path.startswith("/health/"):
        return "health"
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
        REQUESTS.labels(SERVICE, route, method, status[0]).inc()
        DURATION.labels(SERVICE, route, method).observe(time.perf_counter() - started)
