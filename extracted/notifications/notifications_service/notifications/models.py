from __future__ import annotations

import uuid
from typing import ClassVar

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
    """The monolith's ``notifications_notification``, column for column: the stage verbs copy
    and compare the two tables by name. New rows get the deterministic id
    (contracts.ids.notification_id), so both sides name one fact alike."""

    # Declared, not implied: type checkers run with the monolith's settings, where this app
    # (label "notifications" there is shop.notifications) is not installed.
    objects: ClassVar[models.Manager[Notification]] = models.Manager()

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
            # One fact notifies once: replays and retries cannot send twice.
            models.UniqueConstraint(
                fields=["user_id", "kind", "reference"], name="notifications_once_per_fact"
            ),
        ]


class Contact(models.Model):
    """Where to send a user's messages, kept from ``users.user.*`` events (this service has
    no users table). ``version`` is the user aggregate's: older events never overwrite."""

    # Declared, not implied: type checkers run with the monolith's settings, where this app
    # (label "notifications" there is shop.notifications) is not installed.
    objects: ClassVar[models.Manager[Contact]] = models.Manager()

    user_id = models.BigIntegerField(primary_key=True)
    email = models.CharField(max_length=254)
    name = models.CharField(max_length=150, blank=True, default="")
    version = models.PositiveIntegerField(default=0)


class PendingFact(models.Model):
    """An order fact seen while this service did not write notifications. The owner notifies
    it (its NotificationSent then removes the row); if the owner was frozen and did nothing,
    this service notifies it once it writes (services.pending_flush). Service-local table."""

    # Declared, not implied: type checkers run with the monolith's settings, where this app
    # (label "notifications" there is shop.notifications) is not installed.
    objects: ClassVar[models.Manager[PendingFact]] = models.Manager()

    id = models.UUIDField(primary_key=True)  # the notification id the fact will have
    user_id = models.BigIntegerField()
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    reference = models.CharField(max_length=64)
    context = models.JSONField(default=dict)
    seen_at = models.DateTimeField(default=timezone.now)
