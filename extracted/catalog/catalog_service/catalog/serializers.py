from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from .models import Category, Inventory, Product, Variant
from .selectors import ORDERINGS, StockView

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"


def _price(**kwargs: Any) -> serializers.DecimalField:
    """A price: positive, at most two decimal places (rendered as a string "12.50")."""
    return serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0.01"), **kwargs
    )


# --- out --------------------------------------------------------------------------------------


class CategoryOut(serializers.ModelSerializer[Category]):
    class Meta:
        model = Category
        fields = ["id", "slug", "name"]
        read_only_fields = fields


class VariantOut(serializers.ModelSerializer[Variant]):
    product: serializers.SlugRelatedField[Product] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    attributes = serializers.DictField(read_only=True)
    available = serializers.SerializerMethodField()

    class Meta:
        model = Variant
        fields = ["sku", "product", "name", "attributes", "price", "currency", "available"]
        read_only_fields = fields

    def get_available(self, variant: Variant) -> int:
        """Units on hand minus units reserved."""
        try:
            inventory = variant.inventory
        except Inventory.DoesNotExist:
            return 0
        return inventory.on_hand - inventory.reserved


class ProductOut(serializers.ModelSerializer[Product]):
    """A product from ``selectors.products_list``/``product_get`` (price_from annotated,
    variants and inventory prefetched)."""

    category: serializers.SlugRelatedField[Category] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    price_from = serializers.DecimalField(
        max_digits=12, decimal_places=2, read_only=True, allow_null=True
    )
    currency = serializers.SerializerMethodField()
    variants = VariantOut(many=True, read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "slug",
            "name",
            "description",
            "category",
            "is_active",
            "price_from",
            "currency",
            "variants",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_currency(self, product: Product) -> str | None:
        """The currency of the product's prices (all its variants share one)."""
        variants = list(product.variants.all())
        return variants[0].currency if variants else None


class StockOut(serializers.Serializer[StockView]):
    sku = serializers.CharField()
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    available = serializers.IntegerField()


# --- in ---------------------------------------------------------------------------------------


class ProductListParams(serializers.Serializer[None]):
    q = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)
    category = serializers.SlugField(required=False, max_length=64)
    min_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False
    )
    max_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False
    )
    in_stock = serializers.BooleanField(required=False, default=False)
    ordering = serializers.ChoiceField(choices=list(ORDERINGS), required=False, default="name")


class CategoryIn(serializers.Serializer[None]):
    slug = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=120)


class VariantIn(serializers.Serializer[None]):
    sku = serializers.RegexField(SKU_PATTERN, max_length=64)
    name = serializers.CharField(max_length=120)
    attributes = serializers.DictField(required=False, default=dict)
    price = _price()
    currency = serializers.RegexField(CURRENCY_PATTERN)
    on_hand = serializers.IntegerField(required=False, default=0, min_value=0)


class ProductIn(serializers.Serializer[None]):
    slug = serializers.SlugField(max_length=100)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, default="", allow_blank=True)
    category = serializers.SlugField(required=False, allow_null=True, default=None, max_length=64)
    variants = VariantIn(many=True, allow_empty=False)

    def validate_variants(self, variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
        skus = [variant["sku"] for variant in variants]
        if len(set(skus)) != len(skus):
            raise serializers.ValidationError("Each variant needs its own SKU.", code="unique")
        if len({variant["currency"] for variant in variants}) > 1:
            raise serializers.ValidationError(
                "All variants of a product share one currency.", code="currency"
            )
        return variants


class ProductPatchIn(serializers.Serializer[None]):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    category = serializers.SlugField(required=False, allow_null=True, max_length=64)
    is_active = serializers.BooleanField(required=False)


class VariantPatchIn(serializers.Serializer[None]):
    price = _price(required=False)
    name = serializers.CharField(max_length=120, required=False)
    attributes = serializers.DictField(required=False)


class StockAdjustmentIn(serializers.Serializer[None]):
    delta = serializers.IntegerField(min_value=-1_000_000, max_value=1_000_000)
    reason = serializers.CharField(min_length=1, max_length=200)

    def validate_delta(self, delta: int) -> int:
        if delta == 0:
            raise serializers.ValidationError("The adjustment must not be zero.", code="zero")
        return delta
