from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

MAX_LINE_QUANTITY = 99


class Cart(models.Model):
    """One per user. ``currency`` is that of its lines (None while empty)."""

    user_id = models.BigIntegerField(unique=True)
    # None, not "": the API answers ``"currency": null`` for a cart with no lines.
    currency = models.CharField(max_length=3, null=True, blank=True)  # noqa: DJ001
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"cart of user {self.user_id}"


class CartItem(models.Model):
    """A line. ``unit_price`` and the names are snapshots taken when the line was added."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    sku = models.CharField(max_length=64)
    quantity = models.PositiveSmallIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    product_name = models.CharField(max_length=200)
    variant_name = models.CharField(max_length=200)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cart", "sku"], name="cart_item_unique_sku"),
            models.CheckConstraint(
                condition=Q(quantity__gte=1) & Q(quantity__lte=MAX_LINE_QUANTITY),
                name="cart_item_quantity_range",
            ),
        ]
        ordering = ["added_at", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"
