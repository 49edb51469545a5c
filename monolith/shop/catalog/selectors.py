"""catalog's reads.

Other contexts use the frozen views (``VariantView``, ``StockView``, ``ReservationView``) and the
functions that return them; the querysets below them serve catalog's own views.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Exists, F, Min, OuterRef, Prefetch, Q, QuerySet, Subquery

from .models import Category, Inventory, Product, Reservation, Variant
from .writer import remote

__all__ = [
    "ORDERINGS",
    "ReservationLineView",
    "ReservationView",
    "StockView",
    "VariantView",
    "catalog_is_remote",
    "categories_list",
    "product_get",
    "products_list",
    "reservation_get",
    "stock_get",
    "variant_detail",
    "variant_get",
    "variant_get_from_writer",
    "variants_get",
    "variants_get_from_writer",
]


@dataclass(frozen=True, slots=True)
class VariantView:
    sku: str
    product_slug: str
    product_name: str
    variant_name: str
    price: Decimal
    currency: str
    available: int  # on_hand - reserved
    is_active: bool  # the product is active


@dataclass(frozen=True, slots=True)
class StockView:
    sku: str
    on_hand: int
    reserved: int
    available: int


@dataclass(frozen=True, slots=True)
class ReservationLineView:
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ReservationView:
    id: uuid.UUID
    owner_ref: str
    status: str  # "active" | "committed" | "released"
    expires_at: datetime
    lines: tuple[ReservationLineView, ...]


def _available(variant: Variant) -> int:
    try:
        inventory = variant.inventory
    except Inventory.DoesNotExist:
        return 0
    return inventory.on_hand - inventory.reserved


def _variant_view(variant: Variant) -> VariantView:
    return VariantView(
        sku=variant.sku,
        product_slug=variant.product.slug,
        product_name=variant.product.name,
        variant_name=variant.name,
        price=variant.price,
        currency=variant.currency,
        available=_available(variant),
        is_active=variant.product.is_active,
    )


def stock_view(inventory: Inventory) -> StockView:
    return StockView(
        sku=inventory.sku_id,
        on_hand=inventory.on_hand,
        reserved=inventory.reserved,
        available=inventory.on_hand - inventory.reserved,
    )


def reservation_view(reservation: Reservation) -> ReservationView:
    return ReservationView(
        id=reservation.id,
        owner_ref=reservation.owner_ref,
        status=str(reservation.status),
        expires_at=reservation.expires_at,
        lines=tuple(
            ReservationLineView(sku=line.sku, quantity=line.quantity)
            for line in sorted(reservation.lines.all(), key=lambda line: line.sku)
        ),
    )


def _variants() -> QuerySet[Variant]:
    return Variant.objects.select_related("product", "inventory")


def variant_get(*, sku: str) -> VariantView | None:
    variant = _variants().filter(sku=sku).first()
    return None if variant is None else _variant_view(variant)


def variants_get(*, skus: Iterable[str]) -> dict[str, VariantView]:
    """The known SKUs among ``skus`` (one query); unknown ones are absent."""
    wanted = set(skus)
    if not wanted:
        return {}
    return {variant.sku: _variant_view(variant) for variant in _variants().filter(sku__in=wanted)}


def catalog_is_remote() -> bool:
    """Whether the catalog service writes catalog: the local tables are then a follower's copy,
    fed by its events a few milliseconds behind its writes. Read per call, uncached."""
    return remote()


def variant_get_from_writer(*, sku: str) -> VariantView | None:
    """``variant_get`` answered by the catalog service, the writer once it owns catalog, for a
    caller about to refuse something on the local copy's word (an unknown SKU, too little
    stock, a stale price): the copy may just not have caught up. Callers ask it only when
    :func:`catalog_is_remote`. Only active products' SKUs (an inactive one is None). Raises
    ``CatalogUnavailable`` when the service cannot answer."""
    from . import client  # here: client imports this module's views

    return client.variant_get(sku=sku)


def variants_get_from_writer(*, skus: Sequence[str]) -> dict[str, VariantView | None]:
    """:func:`variant_get_from_writer` for many SKUs in one call (a checkout's cart)."""
    from . import client

    return client.variants_get(skus=skus)


def stock_get(*, sku: str) -> StockView | None:
    inventory = Inventory.objects.filter(sku=sku).first()
    return None if inventory is None else stock_view(inventory)


def reservation_get(*, reservation_id: uuid.UUID) -> ReservationView | None:
    """Reservations live with the catalog writer (reconcile moves them at a flip), so this read
    follows ownership: the local table, or the catalog service's internal API."""
    if remote():
        from . import client  # here: client imports this module's views

        return client.reservation_get(reservation_id=reservation_id)
    reservation = Reservation.objects.prefetch_related("lines").filter(pk=reservation_id).first()
    return None if reservation is None else reservation_view(reservation)


# --- catalog's own API ------------------------------------------------------------------------

ORDERINGS: dict[str, tuple[str, ...]] = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "price": ("price_from", "id"),
    "-price": ("-price_from", "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
}


def categories_list() -> QuerySet[Category]:
    return Category.objects.order_by("name", "id")


def _products() -> QuerySet[Product]:
    """Products ready to render: category joined, ``price_from`` annotated, variants and their
    inventory prefetched (three queries for a whole page)."""
    # A correlated MIN per product rather than a JOIN + GROUP BY: filters and COUNT(*) stay on
    # the product table, and the (product, price) index answers each MIN.
    price_from = Subquery(
        Variant.objects.filter(product=OuterRef("pk"))
        .order_by()
        .values("product")
        .annotate(low=Min("price"))
        .values("low")[:1]
    )
    return (
        Product.objects.select_related("category")
        .annotate(price_from=price_from)
        .prefetch_related(
            Prefetch(
                "variants", queryset=Variant.objects.select_related("inventory").order_by("sku")
            )
        )
    )


def products_list(
    *,
    q: str = "",
    category: str | None = None,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    in_stock: bool = False,
    ordering: str = "name",
) -> QuerySet[Product]:
    """Active products matching every filter. ``q``: each word in the name or description;
    ``min_price``/``max_price``: some variant costs that much; ``in_stock``: some variant has
    units available. ``ordering`` is a key of :data:`ORDERINGS`."""
    products = _products().filter(is_active=True)
    for word in q.split():
        products = products.filter(Q(name__icontains=word) | Q(description__icontains=word))
    if category:
        products = products.filter(category__slug=category)
    if min_price is not None or max_price is not None:
        priced = Variant.objects.filter(product=OuterRef("pk"))
        if min_price is not None:
            priced = priced.filter(price__gte=min_price)
        if max_price is not None:
            priced = priced.filter(price__lte=max_price)
        products = products.filter(Exists(priced))
    if in_stock:
        stocked = Inventory.objects.filter(sku__product=OuterRef("pk"), on_hand__gt=F("reserved"))
        products = products.filter(Exists(stocked))
    return products.order_by(*ORDERINGS[ordering])


def product_get(*, slug: str, include_inactive: bool = False) -> Product | None:
    products = _products().filter(slug=slug)
    if not include_inactive:
        products = products.filter(is_active=True)
    return products.first()


def variant_detail(*, sku: str, include_inactive: bool = False) -> Variant | None:
    """One variant with its product and inventory (for catalog's own views)."""
    variants = _variants().filter(sku=sku)
    if not include_inactive:
        variants = variants.filter(product__is_active=True)
    return variants.first()
