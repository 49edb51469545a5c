from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class NotificationKind(models.TextChoices):
    ORDER_PLACED = "order_placed"
    ORDER_PAID = "order_paid"
    ORDER_CANCELLED = "order_cancelled"
    ORDER_REFUNDED = "order_refunded"
    PAYMENT_DECLINED = "payment_declined"


class NotificationStatus(models.TextChoices):
    QUEUED = "queued"
    DELIVERED = "delivered"
    FAILED = "failed"


class Notification(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.BigIntegerField(db_index=True)
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    channel = models.CharField(max_length=16, choices=[("email", "email")], default="email")
    recipient = models.CharField(max_length=254)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    reference = models.CharField(max_length=64, db_index=True)
    status = models.CharField(
        max_length=16, choices=NotificationStatus.choices, default=NotificationStatus.QUEUED
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One fact notifies once: replays and retries of the caller cannot send twice.
            models.UniqueConstraint(
                fields=["user_id", "kind", "reference"], name="notifications_once_per_fact"
            ),
        ]


class PendingFact(models.Model):
    """An order fact the monolith saw while it did not write notifications (a freeze, or the
    service writing). The writer usually notifies it, and its NotificationSent removes the row
    (handlers.notification_sent); during a rollback's freeze nobody writes, so the monolith
    notifies what is left once it writes again (services.pending_flush). Same shape as the
    notifications service's table of the same name; each side keeps its own (not copied)."""

    id = models.UUIDField(primary_key=True)  # the notification id the fact will have
    user_id = models.BigIntegerField()
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    reference = models.CharField(max_length=64)
    context = models.JSONField(default=dict)
    seen_at = models.DateTimeField(default=timezone.now)
