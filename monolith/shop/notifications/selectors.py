"""notifications' reads."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Notification, PendingFact


def notifications_of_user(*, user_id: int) -> QuerySet[Notification]:
    """The user's own messages, newest first."""
    return Notification.objects.filter(user_id=user_id).order_by("-created_at", "-id")


def pending_count() -> int:
    """Order facts kept while the monolith did not write notifications, not yet notified."""
    return PendingFact.objects.count()
