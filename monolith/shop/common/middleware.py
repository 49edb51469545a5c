"""Request id and body-size guard. Both run before any view, so every answer carries an id and
an oversized body is refused (413) before a byte of it is read."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from contracts.problems import generic

from .errors import problem_http_response

REQUEST_ID_HEADER = "X-Request-Id"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Keep the caller's ``X-Request-Id`` when it is sane (the proxy sets one), else make one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class BodySizeLimitMiddleware:
    """Refuse bodies above ``DATA_UPLOAD_MAX_MEMORY_SIZE`` by their declared length (413)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.limit = int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(declared)
        except ValueError:
            return problem_http_response(
                generic("malformed_body", "Content-Length is not a number.", instance=request.path)
            )
        if self.limit and length > self.limit:
            return problem_http_response(
                generic(
                    "body_too_large",
                    f"The body is {length} bytes; the limit is {self.limit}.",
                    instance=request.path,
                    limit=self.limit,
                )
            )
        return self.get_response(request)
