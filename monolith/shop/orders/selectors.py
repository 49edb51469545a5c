"""orders' reads."""

from __future__ import annotations

from uuid import UUID

from django.db.models import Prefetch, QuerySet

from shop.common.errors import NotFound

from .models import Order, OrderLine, OrderStatusChange


def _with_details(queryset: QuerySet[Order]) -> QuerySet[Order]:
    return queryset.prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("id")),
        Prefetch("history", queryset=OrderStatusChange.objects.order_by("at", "id")),
    )


def orders_for_user(*, user_id: int) -> QuerySet[Order]:
    """The user's orders, newest first, with lines and history prefetched."""
    return _with_details(Order.objects.filter(user_id=user_id)).order_by("-created_at", "-id")


def order_get(*, order_id: UUID) -> Order:
    """Any user's order (staff use), with details; NotFound if there is none."""
    order = _with_details(Order.objects.filter(pk=order_id)).first()
    if order is None:
        raise NotFound(f"No order {order_id}.")
    return order


def order_get_for_user(*, user_id: int, order_id: UUID) -> Order:
    """The user's order; NotFound (never 403) when it is missing or belongs to someone else."""
    order = _with_details(Order.objects.filter(pk=order_id, user_id=user_id)).first()
    if order is None:
        raise NotFound(f"No order {order_id}.")
    return order
