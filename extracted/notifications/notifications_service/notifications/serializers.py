from __future__ import annotations

from rest_framework import serializers

from .models import Notification


class NotificationOut(serializers.ModelSerializer[Notification]):
    """The monolith's body of one notification, field for field."""

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "channel",
            "subject",
            "body",
            "reference",
            "status",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields
