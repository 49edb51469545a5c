"""Liveness (the process answers) and readiness (the database and the broker answer).

The broker check opens a connection, which costs a round trip on RabbitMQ: a good answer is
kept for :data:`BROKER_CHECK_SECONDS` so a load balancer polling ``/health/ready`` does not
open one per poll.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from contracts.problems import generic
from eventbus.broker import connect

from .errors import problem_http_response

BROKER_CHECK_SECONDS = 5.0
_broker_ok_at = 0.0
_broker_lock = threading.Lock()


def live(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    global _broker_ok_at
    with _broker_lock:
        if time.monotonic() - _broker_ok_at < BROKER_CHECK_SECONDS:
            return
        conn = connect(str(settings.BROKER_URL), connect_timeout=2)
        try:
            conn.ensure_connection(max_retries=1)  # type: ignore[no-untyped-call]
        finally:
            conn.release()  # type: ignore[no-untyped-call]
        _broker_ok_at = time.monotonic()


def ready(request: HttpRequest) -> HttpResponse:
    for name, check in (("database", check_database), ("broker", check_broker)):
        try:
            check()
        except Exception as exc:  # any failure means "not ready", with the reason
            return problem_http_response(
                generic("service_unavailable", f"{name}: {exc}", instance=request.path),
                {"Retry-After": "1"},
            )
    return JsonResponse({"status": "ok", "checks": {"database": "ok", "broker": "ok"}})
