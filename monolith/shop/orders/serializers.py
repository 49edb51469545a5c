from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from .models import Order, OrderLine, OrderStatusChange


class CardPaymentIn(serializers.Serializer[None]):
    card_number = serializers.CharField(max_length=32)


class CheckoutIn(serializers.Serializer[None]):
    payment = CardPaymentIn(required=False)
    hold_seconds = serializers.IntegerField(
        min_value=1, max_value=settings.CATALOG_RESERVATION_TTL_SECONDS, required=False
    )


class PayIn(serializers.Serializer[None]):
    payment = CardPaymentIn()


class OrderLineOut(serializers.Serializer[OrderLine]):
    sku = serializers.CharField()
    product_name = serializers.CharField()
    variant_name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)


class OrderHistoryOut(serializers.Serializer[OrderStatusChange]):
    status = serializers.CharField(source="to_status")
    at = serializers.DateTimeField()
    reason = serializers.CharField()


class OrderOut(serializers.Serializer[Order]):
    id = serializers.UUIDField()
    status = serializers.CharField(
        help_text="pending_payment, paid, payment_failed, cancelled, refunded or fulfilled"
    )
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    lines = OrderLineOut(many=True)
    payment_id = serializers.UUIDField(allow_null=True)
    reservation_expires_at = serializers.DateTimeField(allow_null=True)
    history = OrderHistoryOut(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class OrderPageOut(serializers.Serializer[None]):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = OrderOut(many=True)
