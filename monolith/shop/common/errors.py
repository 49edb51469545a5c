"""Every error leaves the monolith as ``application/problem+json`` (see contracts.problems).

Services raise :class:`DomainError` subclasses (``OutOfStock``, ``IllegalTransition``...);
DRF's exceptions and Django's 404/500 are translated here, in one place.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from contracts.problems import CONTENT_TYPE, FieldError, Problem, generic
from eventbus.ownership.services import NotWriter

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule refused the request. Subclasses fix ``status``, ``code`` and ``title``."""

    status: ClassVar[int] = 409
    code: ClassVar[str] = "conflict"
    title: ClassVar[str] = "Conflict"

    def __init__(self, detail: str = "", *, field: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.field = field  # set when one input field is to blame (named in ``errors``)
        self.extra = extra

    def problem(self, instance: str = "") -> Problem:
        errors = (
            (FieldError(self.field, self.code, self.detail or self.title),) if self.field else ()
        )
        return Problem(
            status=self.status,
            code=self.code,
            title=self.title,
            detail=self.detail,
            instance=instance,
            errors=errors,
            extra=self.extra,
        )


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"


def _field_errors(detail: Any, prefix: str = "") -> list[FieldError]:
    """Flatten DRF's nested validation detail into dotted field paths."""
    if isinstance(detail, Mapping):
        out: list[FieldError] = []
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)
            path = f"{prefix}.{name}" if prefix and name else (name or prefix)
            out.extend(_field_errors(value, path))
        return out
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [
                FieldError(field=prefix, code=getattr(item, "code", "invalid"), message=str(item))
                for item in detail
            ]
        out = []
        for index, item in enumerate(detail):
            if item:
                out.extend(_field_errors(item, f"{prefix}.{index}" if prefix else str(index)))
        return out
    return [FieldError(field=prefix, code=getattr(detail, "code", "invalid"), message=str(detail))]


def _django_detail(exc: DjangoValidationError) -> Any:
    if hasattr(exc, "error_dict"):
        return {name: [str(m) for m in messages] for name, messages in exc.message_dict.items()}
    return list(exc.messages)


# A handover of a context (design: one writer per context) lasts well under a second.
NOT_THE_WRITER_RETRY_AFTER = 1


def _not_the_writer(exc: NotWriter, instance: str) -> Problem:
    return Problem(
        status=503,
        code="not_the_writer",
        title="This side does not write that data right now",
        detail=str(exc),
        instance=instance,
        extra={"context": exc.state.context, "retry_after": NOT_THE_WRITER_RETRY_AFTER},
    )


def retry_after(exc: BaseException) -> int | None:
    """Seconds for the Retry-After header of a temporary refusal, or None."""
    if isinstance(exc, NotWriter):
        return NOT_THE_WRITER_RETRY_AFTER
    if isinstance(exc, drf.Throttled):
        throttle_wait = getattr(exc, "wait", None)
        return None if throttle_wait is None else int(throttle_wait) + 1
    wait = getattr(exc, "retry_after", None) if isinstance(exc, DomainError) else None
    return wait if isinstance(wait, int) else None


def to_problem(exc: BaseException, instance: str = "") -> Problem | None:
    """The problem for a known exception, or None for a bug."""
    if isinstance(exc, DomainError):
        return exc.problem(instance)
    if isinstance(exc, NotWriter):
        return _not_the_writer(exc, instance)
    if isinstance(exc, drf.ValidationError | DjangoValidationError):
        detail = exc.detail if isinstance(exc, drf.ValidationError) else _django_detail(exc)
        errors = _field_errors(detail)
        names = ", ".join(sorted({e.field for e in errors if e.field})) or "the body"
        status, title = 400, "The request is not valid"
        return Problem(
            status=status,
            code="validation_error",
            title=title,
            detail=f"Invalid input: {names}.",
            instance=instance,
            errors=errors,
        )
    if isinstance(exc, RequestDataTooBig):
        return generic("body_too_large", str(exc), instance=instance)
    if isinstance(exc, Http404 | drf.NotFound):
        return generic("not_found", "The resource does not exist.", instance=instance)
    if isinstance(exc, PermissionDenied):
        return generic("permission_denied", str(exc) or "Not allowed.", instance=instance)
    simple: dict[type[drf.APIException], str] = {
        drf.ParseError: "malformed_body",
        drf.NotAuthenticated: "not_authenticated",
        drf.AuthenticationFailed: "invalid_token",
        drf.PermissionDenied: "permission_denied",
        drf.MethodNotAllowed: "method_not_allowed",
        drf.NotAcceptable: "not_acceptable",
        drf.UnsupportedMediaType: "unsupported_media_type",
        drf.Throttled: "throttled",
    }
    for kind, code in simple.items():
        if isinstance(exc, kind):
            extra: dict[str, Any] = {}
            wait = getattr(exc, "wait", None)  # only Throttled has it
            if wait is not None:
                extra["retry_after"] = int(wait) + 1
            return generic(code, str(exc.detail), instance=instance, **extra)
    if isinstance(exc, drf.APIException):
        status = int(exc.status_code)
        return Problem(status=status, code=str(exc.default_code), title=str(exc.detail))
    return None


def problem_response(problem: Problem, headers: Mapping[str, str] | None = None) -> Response:
    response = Response(problem.to_dict(), status=problem.status, content_type=CONTENT_TYPE)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def problem_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every known exception becomes problem+json."""
    request = context.get("request")
    instance = request.path if request is not None else ""
    problem = to_problem(exc, instance)
    if problem is None:
        return None  # a bug: Django's handler500 answers, and the error is logged
    headers: dict[str, str] = {}
    wait = retry_after(exc)
    if wait is not None:
        headers["Retry-After"] = str(wait)
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return problem_response(problem, headers)


def problem_http_response(problem: Problem) -> HttpResponse:
    """Plain Django response (outside DRF views: URL resolver 404s, middleware, 500)."""
    return HttpResponse(problem.to_json(), status=problem.status, content_type=CONTENT_TYPE)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_http_response(
        generic("not_found", f"No route for {request.path}.", instance=request.path)
    )


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        return problem_http_response(generic("body_too_large", instance=request.path))
    return problem_http_response(
        generic("malformed_body", str(exception or ""), instance=request.path)
    )


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_http_response(generic("permission_denied", instance=request.path))


def handler500(request: HttpRequest) -> HttpResponse:
    return problem_http_response(
        generic("internal_error", "This is a bug; it has been logged.", instance=request.path)
    )
