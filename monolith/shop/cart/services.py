"""cart's writes. Each one locks the user's cart row first, so writes for one user serialise.

Variants and stock come from the local catalog tables. Once the catalog service writes catalog,
those tables follow its events a few milliseconds behind, so a product created there a moment
ago may be missing here, or its stock look short. The local copy still serves the happy path;
before an add or a quantity change is refused as ``unknown_sku`` or ``insufficient_stock``, the
catalog service is asked (outside the cart's transaction: no lock is held across HTTP) and its
answer decides. If it cannot answer, the local answer stands: a cart edit never becomes a 503.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Literal, TypeVar

from django.db import transaction

from contracts.events import CartCleared, CartLine, CartUpdated
from eventbus.outbox import publish
from shop.catalog import selectors as catalog_selectors
from shop.catalog import services as catalog_services
from shop.common.errors import NotFound

from .errors import CurrencyMismatch, InsufficientStock, QuantityOutOfRange, UnknownSku
from .models import MAX_LINE_QUANTITY, Cart, CartItem
from .selectors import CartView, cart_view

__all__ = [
    "CurrencyMismatch",
    "InsufficientStock",
    "QuantityOutOfRange",
    "UnknownSku",
    "cart_add_item",
    "cart_clear",
    "cart_remove_item",
    "cart_reprice",
    "cart_set_quantity",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
Variant = catalog_selectors.VariantView


def _lock(user_id: int, *, create: bool) -> Cart | None:
    """The user's cart row, locked for the rest of the transaction."""
    if create:
        Cart.objects.get_or_create(user_id=user_id)
    return Cart.objects.select_for_update().filter(user_id=user_id).first()


ClearReason = Literal["emptied", "checked_out"]


def _touch(cart: Cart, *, cleared: ClearReason | None = None) -> None:
    """Record a change: bump the version and publish the cart's new state (CartUpdated, or
    CartCleared with ``cleared``); an empty cart has no currency."""
    items = list(cart.items.order_by("added_at", "id"))
    if not items:
        cart.currency = None
    cart.version += 1
    cart.save(update_fields=["currency", "version", "updated_at"])
    lines = tuple(
        CartLine(
            sku=item.sku,
            quantity=item.quantity,
            unit_price=item.unit_price,
            currency=item.currency,
            product_name=item.product_name,
            variant_name=item.variant_name,
        )
        for item in items
    )
    currency = cart.currency if items else None
    if cleared is None:
        publish(
            CartUpdated(
                user_id=cart.user_id,
                currency=currency,
                items=lines,
                aggregate_version=cart.version,
            )
        )
    else:
        publish(
            CartCleared(
                user_id=cart.user_id,
                currency=currency,
                items=lines,
                reason=cleared,
                aggregate_version=cart.version,
            )
        )


def _check_quantity(quantity: int, *, minimum: int) -> None:
    if not minimum <= quantity <= MAX_LINE_QUANTITY:
        raise QuantityOutOfRange(
            f"A line holds {minimum} to {MAX_LINE_QUANTITY} units; {quantity} requested.",
            field="quantity",
        )


def _unknown(sku: str) -> UnknownSku:
    return UnknownSku(f"No product is sold with SKU {sku}.", field="sku")


def _variant(sku: str, writer: Variant | None) -> Variant:
    """The writer's view if the caller already asked it, else the local copy's."""
    if writer is not None:
        return writer
    variant = catalog_selectors.variant_get(sku=sku)
    if variant is None or not variant.is_active:
        raise _unknown(sku)
    return variant


def _or_ask_the_writer(sku: str, attempt: Callable[[Variant | None], T]) -> T:
    """``attempt(None)`` on the local copy; if it refuses the SKU (unknown, or too little
    stock) while the catalog service writes catalog, ``attempt(<the service's view>)`` once.
    ``attempt`` is its own transaction, so the HTTP call runs with no lock held."""
    try:
        return attempt(None)
    except (UnknownSku, InsufficientStock) as refused:
        if not catalog_selectors.catalog_is_remote():
            raise  # the local tables are the writer's: their answer is final
        try:
            writer = catalog_selectors.variant_get_from_writer(sku=sku)
        except catalog_services.CatalogUnavailable as exc:
            log.warning("cart: %s for %s stands on the local copy: %s", refused.code, sku, exc)
            raise refused from None
        if writer is None:
            raise _unknown(sku) from None
    return attempt(writer)


def _check_stock(variant: Variant, requested: int) -> None:
    if requested > variant.available:
        raise InsufficientStock(
            f"SKU {variant.sku}: {variant.available} available, {requested} requested.",
            sku=variant.sku,
            available=variant.available,
            requested=requested,
        )


def _line(cart: Cart, sku: str) -> CartItem:
    item = cart.items.filter(sku=sku).first()
    if item is None:
        raise NotFound(f"SKU {sku} is not in the cart.")
    return item


def cart_add_item(*, user_id: int, sku: str, quantity: int) -> CartView:
    """Add units of a SKU; adding a SKU already in the cart raises that line's quantity."""
    _check_quantity(quantity, minimum=1)
    return _or_ask_the_writer(sku, lambda writer: _add_item(user_id, sku, quantity, writer))


@transaction.atomic
def _add_item(user_id: int, sku: str, quantity: int, writer: Variant | None) -> CartView:
    cart = _lock(user_id, create=True)
    assert cart is not None
    variant = _variant(sku, writer)
    item = cart.items.filter(sku=sku).first()
    if item is None and cart.items.exists() and cart.currency != variant.currency:
        raise CurrencyMismatch(
            f"The cart holds {cart.currency}; {sku} is priced in {variant.currency}."
        )
    new_quantity = quantity + (item.quantity if item is not None else 0)
    _check_quantity(new_quantity, minimum=1)
    _check_stock(variant, new_quantity)
    if item is None:
        # The price is a snapshot: later price changes surface at checkout as price_changed.
        CartItem.objects.create(
            cart=cart,
            sku=variant.sku,
            quantity=new_quantity,
            unit_price=variant.price,
            currency=variant.currency,
            product_name=variant.product_name,
            variant_name=variant.variant_name,
        )
        cart.currency = variant.currency
    else:
        item.quantity = new_quantity
        item.save(update_fields=["quantity"])
    _touch(cart)
    return cart_view(cart)


def cart_set_quantity(*, user_id: int, sku: str, quantity: int) -> CartView:
    """Set a line's quantity; 0 removes the line."""
    if quantity == 0:
        return cart_remove_item(user_id=user_id, sku=sku)
    _check_quantity(quantity, minimum=0)
    return _or_ask_the_writer(sku, lambda writer: _set_quantity(user_id, sku, quantity, writer))


@transaction.atomic
def _set_quantity(user_id: int, sku: str, quantity: int, writer: Variant | None) -> CartView:
    cart = _lock(user_id, create=False)
    if cart is None:
        raise NotFound(f"SKU {sku} is not in the cart.")
    item = _line(cart, sku)
    _check_stock(_variant(sku, writer), quantity)
    item.quantity = quantity
    item.save(update_fields=["quantity"])
    _touch(cart)
    return cart_view(cart)


@transaction.atomic
def cart_remove_item(*, user_id: int, sku: str) -> CartView:
    cart = _lock(user_id, create=False)
    if cart is None:
        raise NotFound(f"SKU {sku} is not in the cart.")
    _line(cart, sku).delete()
    _touch(cart)
    return cart_view(cart)


@transaction.atomic
def cart_clear(*, user_id: int, reason: ClearReason = "emptied") -> None:
    """Empty the cart; ``reason="checked_out"`` when checkout turned it into an order."""
    cart = _lock(user_id, create=False)
    if cart is None:
        return
    cart.items.all().delete()
    _touch(cart, cleared=reason)


@transaction.atomic
def cart_reprice(
    *,
    user_id: int,
    current: Mapping[str, catalog_selectors.VariantView | None] | None = None,
) -> list[str]:
    """Bring every line's price snapshot to the current price; the SKUs whose price changed.

    ``current`` gives the writer's own answers for some SKUs (checkout passes them once the
    catalog service writes catalog: the local copy may be a few events behind a price change);
    the other SKUs are read from the local copy. Lines whose SKU is gone or inactive keep their
    snapshot (reserving them fails at checkout).
    """
    cart = _lock(user_id, create=False)
    if cart is None:
        return []
    items = list(cart.items.order_by("added_at", "id"))
    variants = catalog_selectors.variants_get(skus=[item.sku for item in items])
    for sku, variant in (current or {}).items():
        if variant is None:
            variants.pop(sku, None)
        else:
            variants[sku] = variant
    changed: list[str] = []
    for item in items:
        variant = variants.get(item.sku)
        if variant is None or variant.price == item.unit_price:
            continue
        item.unit_price = variant.price
        item.product_name = variant.product_name
        item.variant_name = variant.variant_name
        item.save(update_fields=["unit_price", "product_name", "variant_name"])
        changed.append(item.sku)
    if changed:
        _touch(cart)
    return changed
