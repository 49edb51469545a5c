from __future__ import annotations

from django.db import models
from django.utils import timezone


class InboxRecord(models.Model):
    """An event a consumer has handled, written in the same transaction as its effect."""

    consumer = models.CharField(max_length=100)
    event_id = models.UUIDField()
    name = models.CharField(max_length=200)
    aggregate_type = models.CharField(max_length=100)
    aggregate_id = models.CharField(max_length=200)
    aggregate_version = models.BigIntegerField()
    outcome = models.CharField(max_length=16)  # applied | stale
    processed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        db_table = "eventbus_inbox"
        constraints = [
            models.UniqueConstraint(fields=["consumer", "event_id"], name="eventbus_inbox_once"),
        ]

    def __str__(self) -> str:
        return f"{self.consumer} {self.name} {self.event_id} ({self.outcome})"


class AggregateVersion(models.Model):
    """The newest version of an aggregate a consumer has applied."""

    consumer = models.CharField(max_length=100)
    aggregate_type = models.CharField(max_length=100)
    aggregate_id = models.CharField(max_length=200)
    version = models.BigIntegerField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "eventbus_aggregate_version"
        constraints = [
            models.UniqueConstraint(
                fields=["consumer", "aggregate_type", "aggregate_id"],
                name="eventbus_aggregate_version_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.consumer} {self.aggregate_type}:{self.aggregate_id}@{self.version}"
