"""The catalog service's tables: the monolith's catalog models, copied column for column
(same app label, same table names) so the backfill engine copies them table by table.

The class-level annotations (``objects``, ``*_id``, reverse relations) are for mypy only: the
type checker runs with the monolith's settings, where these models are not installed, so
django-stubs' plugin cannot add them itself. Django ignores bare annotations.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager


class Category(models.Model):
    objects: ClassVar[models.Manager[Category]]
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)

    def __str__(self) -> str:
        return self.slug


class Product(models.Model):
    objects: ClassVar[models.Manager[Product]]
    category_id: int | None
    variants: RelatedManager[Variant]
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    is_active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)  # bumped on every change
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The public list always filters on is_active and orders by name or creation.
            models.Index(fields=["is_active", "name", "id"], name="catalog_product_active_name"),
            models.Index(
                fields=["is_active", "created_at", "id"], name="catalog_product_active_created"
            ),
        ]

    def __str__(self) -> str:
        return self.slug


class Variant(models.Model):
    objects: ClassVar[models.Manager[Variant]]
    product_id: int
    inventory: Inventory
    # The SKU is the variant's name everywhere (API, carts, orders), so it is the key too.
    sku = models.CharField(max_length=64, primary_key=True)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=120)
    attributes = models.JSONField(default=dict, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [
            # price_from (min per product) and the min_price/max_price filters.
            models.Index(fields=["product", "price"], name="catalog_variant_product_price"),
            models.Index(fields=["price"], name="catalog_variant_price"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="catalog_variant_price_positive"),
        ]

    def __str__(self) -> str:
        return self.sku


class Inventory(models.Model):
    """Units of one SKU: ``on_hand`` in the warehouse, of which ``reserved`` are held."""

    objects: ClassVar[models.Manager[Inventory]]
    sku_id: str

    sku = models.OneToOneField(
        Variant,
        db_column="sku",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="inventory",
    )
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name_plural = "inventories"
        constraints = [
            models.CheckConstraint(
                condition=Q(on_hand__gte=0), name="catalog_inventory_on_hand_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="catalog_inventory_reserved_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")),
                name="catalog_inventory_reserved_lte_on_hand",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}: {self.on_hand} on hand, {self.reserved} reserved"


class Reservation(models.Model):
    objects: ClassVar[models.Manager[Reservation]]
    lines: RelatedManager[ReservationLine]

    class Status(models.TextChoices):
        ACTIVE = "active"
        COMMITTED = "committed"
        RELEASED = "released"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_ref = models.CharField(max_length=128, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)  # committed or released
    released_reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        indexes = [
            # The expiry sweep: active holds whose time is up.
            models.Index(fields=["status", "expires_at"], name="catalog_reservation_due"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class ReservationLine(models.Model):
    objects: ClassVar[models.Manager[ReservationLine]]
    reservation_id: uuid.UUID

    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64, db_index=True)
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reservation", "sku"], name="catalog_reservation_line_unique_sku"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="catalog_reservation_line_quantity_gt_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} x{self.quantity}"


class StockMovement(models.Model):
    """Append-only audit of every change to an inventory row."""

    objects: ClassVar[models.Manager[StockMovement]]

    class Kind(models.TextChoices):
        INITIAL = "initial"
        RESERVE = "reserve"
        RELEASE = "release"
        COMMIT = "commit"
        RESTOCK = "restock"
        ADJUST = "adjust"

    sku = models.CharField(max_length=64, db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    on_hand_delta = models.IntegerField(default=0)
    reserved_delta = models.IntegerField(default=0)
    reason = models.CharField(max_length=200, blank=True, default="")
    reference = models.CharField(max_length=128, blank=True, default="")
    at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.sku} {self.kind} {self.on_hand_delta:+}/{self.reserved_delta:+}"
