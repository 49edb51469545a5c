from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shop.common.auth import principal
from shop.common.pagination import Pagination

from . import selectors
from .errors import PaymentNotFound
from .serializers import PaymentListParams, PaymentOut


class PaymentListView(APIView):
    permission_classes = (IsAuthenticated,)
    pagination_class = Pagination

    @extend_schema(
        parameters=[PaymentListParams],
        responses={200: PaymentOut(many=True)},
        operation_id="payments_list",
    )
    def get(self, request: Request) -> Response:
        params = PaymentListParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        rows = selectors.payments_of_user(
            user_id=principal(request).id, order_id=params.validated_data.get("order_id")
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self) or []
        return paginator.get_paginated_response(PaymentOut(page, many=True).data)


class PaymentDetailView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(responses={200: PaymentOut}, operation_id="payments_retrieve")
    def get(self, request: Request, payment_id: uuid.UUID) -> Response:
        payment = selectors.payment_of_user(user_id=principal(request).id, payment_id=payment_id)
        if payment is None:
            raise PaymentNotFound(f"No payment {payment_id}.")
        return Response(PaymentOut(payment).data)
