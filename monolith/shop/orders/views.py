from __future__ import annotations

from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shop.common.auth import IsStaff, principal
from shop.common.pagination import Pagination

from . import selectors, services
from .idempotency import KEY_HEADER, idempotent
from .serializers import CheckoutIn, OrderOut, OrderPageOut, PayIn

IDEMPOTENCY_KEY = OpenApiParameter(
    KEY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="1-255 printable characters; the same key and body replay the first answer.",
)
PAGE_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False),
    OpenApiParameter("page_size", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False),
]


class OrdersView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        parameters=PAGE_PARAMETERS, responses={200: OrderPageOut}, operation_id="orders_list"
    )
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        orders = selectors.orders_for_user(user_id=principal(request).id)
        page = paginator.paginate_queryset(orders, request, view=self)
        return paginator.get_paginated_response([OrderOut(order).data for order in page or []])


class CheckoutView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        request=CheckoutIn,
        responses={201: OrderOut},
        parameters=[IDEMPOTENCY_KEY],
        operation_id="orders_checkout",
    )
    def post(self, request: Request) -> Response:
        data = CheckoutIn(data=request.data)
        data.is_valid(raise_exception=True)
        payment = data.validated_data.get("payment")

        def run() -> Response:
            order = services.checkout(
                user_id=principal(request).id,
                card_number=payment["card_number"] if payment else None,
                hold_seconds=data.validated_data.get("hold_seconds"),
            )
            return Response(OrderOut(order).data, status=status.HTTP_201_CREATED)

        return idempotent(request, run)


class OrderDetailView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(responses={200: OrderOut}, operation_id="orders_retrieve")
    def get(self, request: Request, order_id: UUID) -> Response:
        order = selectors.order_get_for_user(user_id=principal(request).id, order_id=order_id)
        return Response(OrderOut(order).data)


class OrderPayView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        request=PayIn,
        responses={200: OrderOut},
        parameters=[IDEMPOTENCY_KEY],
        operation_id="orders_pay",
    )
    def post(self, request: Request, order_id: UUID) -> Response:
        data = PayIn(data=request.data)
        data.is_valid(raise_exception=True)

        def run() -> Response:
            order = services.order_pay(
                user_id=principal(request).id,
                order_id=order_id,
                card_number=data.validated_data["payment"]["card_number"],
            )
            return Response(OrderOut(order).data)

        return idempotent(request, run)


class OrderCancelView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(request=None, responses={200: OrderOut}, operation_id="orders_cancel")
    def post(self, request: Request, order_id: UUID) -> Response:
        order = services.order_cancel(user_id=principal(request).id, order_id=order_id)
        return Response(OrderOut(order).data)


class OrderFulfilView(APIView):
    permission_classes = (IsAuthenticated, IsStaff)

    @extend_schema(request=None, responses={200: OrderOut}, operation_id="orders_fulfil")
    def post(self, request: Request, order_id: UUID) -> Response:
        return Response(OrderOut(services.order_fulfil(order_id=order_id)).data)
