"""cart's writes. Each one locks the user's cart row first, so writes for one user serialise."""

from __future__ import annotations

from typing import Literal

from django.db import transaction

from contracts.events import CartCleared, CartLine, CartUpdated
from eventbus.outbox import publish
from shop.catalog import selectors as catalog_selectors
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


def _variant(sku: str) -> catalog_selectors.VariantView:
    variant = catalog_selectors.variant_get(sku=sku)
    if variant is None or not variant.is_active:
        raise UnknownSku(f"No product is sold with SKU {sku}.", field="sku")
    return variant


def _check_stock(variant: catalog_selectors.VariantView, requested: int) -> None:
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


@transaction.atomic
def cart_add_item(*, user_id: int, sku: str, quantity: int) -> CartView:
    """Add units of a SKU; adding a SKU already in the cart raises that line's quantity."""
    _check_quantity(quantity, minimum=1)
    cart = _lock(user_id, create=True)
    assert cart is not None
    variant = _variant(sku)
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


@transaction.atomic
def cart_set_quantity(*, user_id: int, sku: str, quantity: int) -> CartView:
    """Set a line's quantity; 0 removes the line."""
    if quantity == 0:
        return cart_remove_item(user_id=user_id, sku=sku)
    _check_quantity(quantity, minimum=0)
    cart = _lock(user_id, create=False)
    if cart is None:
        raise NotFound(f"SKU {sku} is not in the cart.")
    item = _line(cart, sku)
    _check_stock(_variant(sku), quantity)
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
def cart_reprice(*, user_id: int) -> list[str]:
    """Bring every line's price snapshot to the current price; the SKUs whose price changed.

    Lines whose SKU is gone or inactive keep their snapshot (reserving them fails at checkout).
    """
    cart = _lock(user_id, create=False)
    if cart is None:
        return []
    items = list(cart.items.order_by("added_at", "id"))
    variants = catalog_selectors.variants_get(skus=[item.sku for item in items])
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
