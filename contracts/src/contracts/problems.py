"""The kit's one API error shape: ``application/problem+json`` (RFC 9457) with a stable ``code``.

Every error answer of every HTTP surface in the kit (monolith, services, proxy) is built here::

    {
      "type": "https://strangler-kit.dev/problems/out-of-stock",
      "title": "Not enough stock",
      "status": 409,
      "code": "out_of_stock",
      "detail": "SKU TSHIRT-RED-M has 1 available, 3 requested.",
      "instance": "/api/cart/items",
      "errors": [{"field": "quantity", "code": "invalid", "message": "..."}]   # validation only
    }

``code`` is the stable, machine-readable part; ``title`` and ``detail`` are for people.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://strangler-kit.dev/problems/"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid input field. ``field`` is a dotted path (``items.0.quantity``)."""

    field: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Problem:
    """An API error, ready to render."""

    status: int
    code: str
    title: str
    detail: str = ""
    instance: str = ""
    errors: Sequence[FieldError] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return TYPE_BASE + self.code.replace("_", "-")

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "code": self.code,
        }
        if self.detail:
            body["detail"] = self.detail
        if self.instance:
            body["instance"] = self.instance
        if self.errors:
            body["errors"] = [
                {"field": e.field, "code": e.code, "message": e.message} for e in self.errors
            ]
        for key, value in self.extra.items():
            body.setdefault(key, value)
        return body

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), default=str).encode()


# Stable codes used across the kit, with the status and title each one carries.
# Contexts add their own (``out_of_stock``, ``illegal_transition``...) next to their services;
# these are the transport-level ones every surface shares.
GENERIC: dict[str, tuple[int, str]] = {
    "validation_error": (400, "The request is not valid"),
    "malformed_body": (400, "The request body could not be parsed"),
    "not_authenticated": (401, "Authentication required"),
    "invalid_token": (401, "The token is not valid"),
    "permission_denied": (403, "Not allowed"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "not_acceptable": (406, "Not acceptable"),
    "conflict": (409, "Conflict"),
    "body_too_large": (413, "The request body is too large"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "throttled": (429, "Too many requests"),
    "internal_error": (500, "Internal error"),
    "bad_gateway": (502, "The upstream failed"),
    "service_unavailable": (503, "Service unavailable"),
    "gateway_timeout": (504, "The upstream timed out"),
}


def generic(code: str, detail: str = "", *, instance: str = "", **extra: Any) -> Problem:
    """A :class:`Problem` for one of the :data:`GENERIC` codes."""
    status, title = GENERIC[code]
    return Problem(
        status=status, code=code, title=title, detail=detail, instance=instance, extra=extra
    )
