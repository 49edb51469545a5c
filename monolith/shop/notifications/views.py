from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shop.common.auth import principal
from shop.common.pagination import Pagination

from . import selectors
from .serializers import NotificationOut


class NotificationListView(APIView):
    permission_classes = (IsAuthenticated,)
    pagination_class = Pagination

    @extend_schema(responses={200: NotificationOut(many=True)}, operation_id="notifications_list")
    def get(self, request: Request) -> Response:
        rows = selectors.notifications_of_user(user_id=principal(request).id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self) or []
        return paginator.get_paginated_response(NotificationOut(page, many=True).data)
