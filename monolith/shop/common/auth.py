"""Who is calling: the principal built from a verified access token.

It carries only the token's claims, not a database row, so every context (and, later, every
extracted service) knows the caller without reading the users context's tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView


@dataclass(frozen=True, slots=True)
class Principal:
    id: int
    email: str
    is_staff: bool
    token_id: str
    is_authenticated: bool = True
    is_anonymous: bool = False


class IsStaff(BasePermission):
    """Staff-only endpoints (catalog writes, stock adjustments, fulfilment)."""

    message = "Staff only."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user is not None and getattr(user, "is_staff", False))


def principal(request: Request) -> Principal:
    """The authenticated caller of a view guarded by ``IsAuthenticated``."""
    user = request.user
    assert isinstance(user, Principal), "view must require authentication"
    return user
