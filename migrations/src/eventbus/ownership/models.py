from __future__ import annotations

from django.db import models
from django.utils import timezone


class Owner(models.TextChoices):
    MONOLITH = "monolith"
    SERVICE = "service"


class Ownership(models.Model):
    """This database's view of who writes ``context``. No row: the monolith, not frozen."""

    context = models.CharField(primary_key=True, max_length=32)
    owner = models.CharField(max_length=16, choices=Owner.choices, default=Owner.MONOLITH)
    # Frozen: nobody writes (a handover is catching up). Writers answer 503 + Retry-After.
    frozen = models.BooleanField(default=False)
    generation = models.PositiveIntegerField(default=0)  # bumped on every change
    changed_at = models.DateTimeField(default=timezone.now)
    why = models.TextField(blank=True, default="")

    class Meta:
        db_table = "eventbus_ownership"
