"""cart's reads. ``CartView`` is what crosses to other contexts (orders reads it at checkout)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .models import Cart, CartItem

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class CartLineView:
    sku: str
    product_name: str
    variant_name: str
    quantity: int
    unit_price: Decimal
    currency: str
    line_total: Decimal


@dataclass(frozen=True, slots=True)
class CartView:
    lines: tuple[CartLineView, ...]
    currency: str | None
    total: Decimal
    item_count: int
    updated_at: datetime | None


def _line(item: CartItem) -> CartLineView:
    return CartLineView(
        sku=item.sku,
        product_name=item.product_name,
        variant_name=item.variant_name,
        quantity=item.quantity,
        unit_price=item.unit_price,
        currency=item.currency,
        line_total=(item.unit_price * item.quantity).quantize(CENT),
    )


def cart_view(cart: Cart | None) -> CartView:
    """The view of a cart row (None: the user has never written to a cart)."""
    if cart is None:
        return CartView(
            lines=(), currency=None, total=Decimal("0.00"), item_count=0, updated_at=None
        )
    lines = tuple(_line(item) for item in cart.items.order_by("added_at", "id"))
    return CartView(
        lines=lines,
        currency=cart.currency if lines else None,
        total=sum((line.line_total for line in lines), Decimal("0.00")),
        item_count=sum(line.quantity for line in lines),
        updated_at=cart.updated_at,
    )


def cart_get(*, user_id: int) -> CartView:
    return cart_view(Cart.objects.filter(user_id=user_id).first())
