from __future__ import annotations

import uuid
from typing import Any, NoReturn

from django.db import models
from django.db.models import Q
from django.utils import timezone


class PaymentStatus(models.TextChoices):
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    VOIDED = "voided"
    REFUNDED = "refunded"
    DECLINED = "declined"
    FAILED = "failed"


class LedgerKind(models.TextChoices):
    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"
    DECLINE = "decline"
    FAILURE = "failure"


class Payment(models.Model):
    """One card authorisation for one order, and what became of it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order_id = models.UUIDField(db_index=True)
    user_id = models.BigIntegerField(db_index=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices)
    card_last4 = models.CharField(max_length=4)
    decline_reason = models.CharField(max_length=64, blank=True, default="")
    provider_reference = models.CharField(max_length=128, blank=True, default="")
    idempotency_key = models.CharField(max_length=255, unique=True)
    version = models.PositiveIntegerField(default=1)  # bumped on every change (events)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=PaymentStatus.values), name="payments_status_valid"
            ),
        ]


class LedgerIsAppendOnly(Exception):
    """Raised on any attempt to change or remove a ledger entry."""


class LedgerEntryQuerySet(models.QuerySet["LedgerEntry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise LedgerIsAppendOnly("ledger entries cannot be updated")

    def delete(self) -> NoReturn:
        raise LedgerIsAppendOnly("ledger entries cannot be deleted")


LedgerEntryManager = models.Manager.from_queryset(LedgerEntryQuerySet)


class LedgerEntry(models.Model):
    """One fact about a payment (authorised, captured, ...). Rows are only ever inserted."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=16, choices=LedgerKind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    at = models.DateTimeField(default=timezone.now)
    provider_reference = models.CharField(max_length=128, blank=True, default="")

    objects = LedgerEntryManager()

    class Meta:
        # Related managers (payment.ledger) and Django internals use this manager too.
        base_manager_name = "objects"
        ordering = ("at", "id")
        constraints = [
            # The database itself refuses a second capture, whatever the code above it does.
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(kind="capture"),
                name="payments_ledger_one_capture",
            ),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise LedgerIsAppendOnly("ledger entries cannot be updated")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise LedgerIsAppendOnly("ledger entries cannot be deleted")
