from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from servicekit.auth import principal

from . import selectors
from .serializers import NotificationOut


class Pagination(PageNumberPagination):
    """The monolith's: ``?page=N&page_size=M``, 20 by default, at most 100."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class NotificationListView(APIView):
    permission_classes = (IsAuthenticated,)
    pagination_class = Pagination

    @extend_schema(responses={200: NotificationOut(many=True)}, operation_id="notifications_list")
    def get(self, request: Request) -> Response:
        rows = selectors.notifications_of_user(user_id=principal(request).id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self) or []
        return paginator.get_paginated_response(NotificationOut(page, many=True).data)
