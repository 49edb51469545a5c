from __future__ import annotations

from rest_framework import serializers

from .models import MAX_LINE_QUANTITY
from .selectors import CartLineView, CartView


class CartItemIn(serializers.Serializer[None]):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class CartQuantityIn(serializers.Serializer[None]):
    quantity = serializers.IntegerField(min_value=0, max_value=MAX_LINE_QUANTITY)


class CartLineOut(serializers.Serializer[CartLineView]):
    sku = serializers.CharField()
    product_name = serializers.CharField()
    variant_name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)


class CartOut(serializers.Serializer[CartView]):
    items = CartLineOut(many=True, source="lines")
    currency = serializers.CharField(allow_null=True)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    item_count = serializers.IntegerField()
    updated_at = serializers.DateTimeField(allow_null=True)
