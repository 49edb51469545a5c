"""notifications' reads."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Notification


def notifications_of_user(*, user_id: int) -> QuerySet[Notification]:
    """The user's own messages, newest first (the monolith's order)."""
    return Notification.objects.filter(user_id=user_id).order_by("-created_at", "-id")
