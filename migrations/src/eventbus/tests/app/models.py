from __future__ import annotations

from django.db import models


class Account(models.Model):
    """The business aggregate: credited by producers, each credit publishes AccountCredited."""

    id = models.BigIntegerField(primary_key=True)
    version = models.BigIntegerField(default=0)
    balance = models.BigIntegerField(default=0)


class LedgerEntry(models.Model):
    """A per-event effect: one row per event a consumer applied (no unique key on purpose:
    a double application would show as two rows)."""

    consumer = models.CharField(max_length=50)
    event_id = models.UUIDField()
    account_id = models.BigIntegerField()
    version = models.BigIntegerField()
    amount = models.BigIntegerField()
    occurred_at = models.DateTimeField()
    applied_at = models.DateTimeField()


class Mirror(models.Model):
    """A follower's copy of an account (state-carrying events, apply-if-newer)."""

    account_id = models.BigIntegerField(primary_key=True)
    version = models.BigIntegerField()
    balance = models.BigIntegerField()
