from __future__ import annotations

from rest_framework import serializers

from .models import LedgerEntry, Payment


class PaymentListParams(serializers.Serializer[None]):
    order_id = serializers.UUIDField(required=False, help_text="Only the payments of this order.")


class LedgerEntryOut(serializers.ModelSerializer[LedgerEntry]):
    class Meta:
        model = LedgerEntry
        fields = ["kind", "amount", "currency", "at"]
        read_only_fields = fields


class PaymentOut(serializers.ModelSerializer[Payment]):
    ledger = LedgerEntryOut(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "order_id",
            "amount",
            "currency",
            "status",
            "card_last4",
            "decline_reason",
            "ledger",
            "created_at",
        ]
        read_only_fields = fields
