"""Liveness (the process answers) and readiness (the database answers)."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from contracts.problems import generic

from .errors import problem_http_response


def live(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def ready(request: HttpRequest) -> HttpResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means "not ready", with the reason
        return problem_http_response(
            generic("service_unavailable", f"database: {exc}", instance=request.path)
        )
    return JsonResponse({"status": "ok", "checks": {"database": "ok"}})
