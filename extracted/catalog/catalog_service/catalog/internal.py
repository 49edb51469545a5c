"""The internal API for the monolith's remaining code (orders' checkout and refunds), under
``/internal/catalog/``. It mirrors ``services.stock_reserve / reservation_commit /
reservation_release / stock_restock`` and ``selectors.reservation_get / variants_get`` one to
one, so the monolith's HTTP client keeps those functions' signatures and exceptions.

Callers authenticate with the shared service token: ``Authorization: Bearer
<CATALOG_SERVICE_TOKEN>`` (no token configured: every call is refused). Errors are the
catalog's problem+json codes (``out_of_stock``, ``reservation_expired``, ``not_found``,
``idempotency_conflict``, ``validation_error``; ``not_the_writer`` 503 + Retry-After: 1 while
the service is a follower or frozen for a handover).

A reservation renders as::

    {"id": "<uuid>", "owner_ref": "order:42", "status": "active|committed|released",
     "expires_at": "2026-01-01T12:00:00Z", "lines": [{"sku": "TEE-M", "quantity": 2}]}
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors, services
from .errors import NotFound
from .selectors import ReservationView, VariantView
from .serializers import SKU_PATTERN

# --- auth -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceCaller:
    """The monolith (or another internal caller) holding the shared service token."""

    name: str = "service"
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_staff: bool = False


class ServiceTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <CATALOG_SERVICE_TOKEN>``, compared in constant time."""

    def authenticate(self, request: Request) -> tuple[ServiceCaller, str] | None:
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != b"bearer" or len(header) != 2:
            raise exceptions.AuthenticationFailed("Expected 'Authorization: Bearer <token>'.")
        expected = str(getattr(settings, "CATALOG_SERVICE_TOKEN", "")).encode()
        if not expected or not hmac.compare_digest(header[1], expected):
            raise exceptions.AuthenticationFailed("Not the catalog service token.")
        return ServiceCaller(), "service-token"

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="internal"'


class IsServiceCaller(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, ServiceCaller)


class InternalView(APIView):
    authentication_classes = (ServiceTokenAuthentication,)
    permission_classes = (IsServiceCaller,)


# --- bodies -----------------------------------------------------------------------------------


class LineIn(serializers.Serializer[None]):
    sku = serializers.RegexField(SKU_PATTERN, max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)


class ReserveIn(serializers.Serializer[None]):
    lines = LineIn(many=True, allow_empty=False)
    owner_ref = serializers.CharField(max_length=128)
    ttl_seconds = serializers.IntegerField(min_value=1)
    idempotency_key = serializers.CharField(min_length=1, max_length=200)


class ReleaseIn(serializers.Serializer[None]):
    reason = serializers.CharField(required=False, default="released", max_length=200)


class RestockIn(serializers.Serializer[None]):
    lines = LineIn(many=True, allow_empty=False)
    reason = serializers.CharField(max_length=200)
    # With the reason, the restock's idempotency key: required, so a retry is always safe.
    reference = serializers.CharField(max_length=128)


class VariantsIn(serializers.Serializer[None]):
    skus = serializers.ListField(
        child=serializers.RegexField(SKU_PATTERN, max_length=64),
        allow_empty=False,
        max_length=500,  # a cart's lines; more is a mistake, not a checkout
    )


class VariantOut(serializers.Serializer[VariantView]):
    sku = serializers.CharField()
    product_slug = serializers.CharField()
    product_name = serializers.CharField()
    variant_name = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    available = serializers.IntegerField()
    is_active = serializers.BooleanField()


class ReservationLineOut(serializers.Serializer[None]):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()


class ReservationOut(serializers.Serializer[ReservationView]):
    id = serializers.UUIDField()
    owner_ref = serializers.CharField()
    status = serializers.CharField()
    expires_at = serializers.DateTimeField()
    lines = ReservationLineOut(many=True)


def _lines(data: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(line["sku"], line["quantity"]) for line in data]


def _valid(serializer: serializers.Serializer[Any]) -> dict[str, Any]:
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- views ------------------------------------------------------------------------------------


class ReservationsView(InternalView):
    @extend_schema(request=ReserveIn, responses={201: ReservationOut})
    def post(self, request: Request) -> Response:
        """``stock_reserve``: hold every line or nothing (409 ``out_of_stock``). Body:
        ``{"lines": [{"sku", "quantity"}], "owner_ref", "ttl_seconds", "idempotency_key"}``.
        A retry with the same ``idempotency_key`` answers the same reservation (201, in its
        current state) without holding stock again; the key with other lines or another
        owner_ref is 409 ``idempotency_conflict``."""
        data = _valid(ReserveIn(data=request.data))
        view = services.stock_reserve(
            lines=_lines(data["lines"]),
            owner_ref=data["owner_ref"],
            ttl_seconds=data["ttl_seconds"],
            idempotency_key=data["idempotency_key"],
        )
        return Response(ReservationOut(view).data, status=status.HTTP_201_CREATED)


class ReservationDetailView(InternalView):
    @extend_schema(responses={200: ReservationOut})
    def get(self, request: Request, reservation_id: uuid.UUID) -> Response:
        """``selectors.reservation_get``: the reservation, or 404 ``not_found``."""
        view = selectors.reservation_get(reservation_id=reservation_id)
        if view is None:
            raise NotFound(f"No reservation {reservation_id}.")
        return Response(ReservationOut(view).data)


class ReservationCommitView(InternalView):
    @extend_schema(request=None, responses={200: ReservationOut})
    def post(self, request: Request, reservation_id: uuid.UUID) -> Response:
        """``reservation_commit``: no body. Idempotent for a committed reservation; a lapsed or
        released one is 409 ``reservation_expired``; unknown: 404 ``not_found``."""
        view = services.reservation_commit(reservation_id=reservation_id)
        return Response(ReservationOut(view).data)


class ReservationReleaseView(InternalView):
    @extend_schema(request=ReleaseIn, responses={200: ReservationOut})
    def post(self, request: Request, reservation_id: uuid.UUID) -> Response:
        """``reservation_release``: body ``{"reason": "..."}`` (optional). Idempotent: a
        released or committed reservation comes back unchanged; unknown: 404."""
        data = _valid(ReleaseIn(data=request.data))
        view = services.reservation_release(reservation_id=reservation_id, reason=data["reason"])
        return Response(ReservationOut(view).data)


class RestockView(InternalView):
    @extend_schema(request=RestockIn, responses={204: None})
    def post(self, request: Request) -> Response:
        """``stock_restock``: body ``{"lines": [{"sku", "quantity"}], "reason", "reference"}``;
        204. Unknown SKUs are skipped (logged). Idempotent per (reason, reference): a repeat
        puts nothing back twice."""
        data = _valid(RestockIn(data=request.data))
        services.stock_restock(
            lines=_lines(data["lines"]), reason=data["reason"], reference=data["reference"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class VariantsView(InternalView):
    @extend_schema(request=VariantsIn, responses={200: VariantOut(many=True)})
    def post(self, request: Request) -> Response:
        """``selectors.variants_get`` for the monolith's checkout and cart: body ``{"skus":
        [...]}``; 200 ``{"variants": [...]}``, the active products' SKUs among them (an unknown
        SKU or an inactive product's is absent). A read: one query, whatever the owner."""
        data = _valid(VariantsIn(data=request.data))
        found = selectors.variants_get(skus=data["skus"])
        active = [view for view in found.values() if view.is_active]
        return Response({"variants": [VariantOut(view).data for view in active]})
