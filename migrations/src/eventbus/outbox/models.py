from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxMessage(models.Model):
    """One event, written in the business transaction, published later by the relay.

    ``id`` is the publish order: a business transaction publishes after it has written (and so
    locked) its aggregate, so two events of one aggregate get ids in commit order.
    Published rows stay (replay reads them) until pruned.
    """

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True)
    name = models.CharField(max_length=200)  # the routing key
    schema_version = models.PositiveIntegerField()
    aggregate_type = models.CharField(max_length=100)
    aggregate_id = models.CharField(max_length=200)
    aggregate_version = models.BigIntegerField()
    occurred_at = models.DateTimeField(db_index=True)
    body = models.TextField()  # the wire JSON, sent as is
    headers = models.JSONField(default=dict)  # traceparent, tracestate
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "eventbus_outbox"
        indexes = [
            # The relay's claim and the lag: only the unpublished rows, in id order.
            models.Index(
                fields=["id"],
                condition=Q(published_at__isnull=True),
                name="eventbus_outbox_unpublished",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.name} {self.aggregate_id}@{self.aggregate_version}"
