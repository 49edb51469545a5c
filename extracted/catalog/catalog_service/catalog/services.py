"""The catalog service's writes (copied from the monolith's shop/catalog/services.py, which
the backfill and the events must stay compatible with; the demo seed is left out: the
service's data arrives by backfill).

One writer per context: every write transaction starts with
``ownership.require_writer("catalog", "service")`` (:func:`_writing`), so a follower or a
frozen service refuses writes (NotWriter -> 503 Retry-After: 1) instead of diverging from the
monolith's copy.

Stock rules: ``0 <= reserved <= on_hand`` always (CHECK constraints back it up). Every change to
an inventory row is a conditional UPDATE with F() expressions whose row count says whether the
rule held, so concurrent writers never oversell on SQLite or PostgreSQL. Locks are taken in one
global order, reservation rows (by id) before inventory rows (by SKU), so writers cannot deadlock.

Events go to the outbox in the writing transaction: every inventory change bumps the row's
``version`` in the same UPDATE and publishes StockChanged (one per SKU, the new levels);
product and variant writes publish ProductCreated/ProductUpdated (the whole product) and
VariantPriceChanged. Reservations carry no events: they move at the flip by reconcile.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from contracts.events import (
    ProductCreated,
    ProductUpdated,
    StockChanged,
    VariantPriceChanged,
    VariantState,
)
from eventbus.outbox import publish
from eventbus.ownership import services as ownership

from .errors import (
    IdempotencyConflict,
    InsufficientStock,
    InvalidInput,
    NotFound,
    OutOfStock,
    ReservationExpired,
    SkuTaken,
    SlugTaken,
    UnknownSku,
)
from .models import (
    Category,
    Inventory,
    Product,
    Reservation,
    ReservationLine,
    StockMovement,
    Variant,
)
from .selectors import (
    ReservationLineView,
    ReservationView,
    StockView,
    reservation_view,
    stock_view,
)

__all__ = [
    "CONTEXT",
    "ME",
    "IdempotencyConflict",
    "InsufficientStock",
    "InvalidInput",
    "OutOfStock",
    "ReservationExpired",
    "SkuTaken",
    "SlugTaken",
    "UnknownSku",
    "VariantInput",
    "category_create",
    "product_create",
    "product_update",
    "reservation_commit",
    "reservation_release",
    "reservations_expire",
    "stock_adjust",
    "stock_reserve",
    "stock_restock",
    "variant_update",
]

log = logging.getLogger(__name__)

Status = Reservation.Status
Kind = StockMovement.Kind

CONTEXT = "catalog"
ME = "service"  # this side's name in the ownership table
# Reserve retries name one reservation: its id is derived from the caller's idempotency key.
RESERVATION_NS = uuid.UUID("7b0c3d4e-2f1a-5c6b-9d8e-0a1b2c3d4e5f")


def _writing() -> None:
    """First statement of every write transaction (see the module doc)."""
    ownership.require_writer(CONTEXT, ME)


# --- stock ------------------------------------------------------------------------------------


def _merge(lines: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Quantities per SKU, duplicates summed, sorted by SKU (the lock order)."""
    merged: dict[str, int] = {}
    for sku, quantity in lines:
        if quantity <= 0:
            raise ValueError(f"quantity for {sku} must be positive, not {quantity}")
        merged[sku] = merged.get(sku, 0) + quantity
    return dict(sorted(merged.items()))


def _lock_inventory(skus: Iterable[str]) -> None:
    """Row-lock these inventory rows in SKU order (PostgreSQL; a no-op on SQLite, where the
    IMMEDIATE transaction already holds the database's write lock)."""
    list(
        Inventory.objects.select_for_update()
        .filter(sku__in=sorted(set(skus)))
        .order_by("sku")
        .values_list("sku", flat=True)
    )


def _publish_stock(skus: Iterable[str]) -> None:
    """StockChanged for each SKU (SKU order), read back after this transaction's UPDATEs."""
    rows = Inventory.objects.filter(sku__in=sorted(set(skus))).order_by("sku")
    publish(
        *(
            StockChanged(
                sku=row.sku_id,
                on_hand=row.on_hand,
                reserved=row.reserved,
                available=row.on_hand - row.reserved,
                aggregate_version=row.version,
            )
            for row in rows
        )
    )


def _bump_reserved(sku: str, delta: int) -> None:
    Inventory.objects.filter(sku=sku).update(
        reserved=F("reserved") + delta, version=F("version") + 1
    )


def _release(reservation: Reservation, *, reason: str, now: datetime) -> bool:
    """active -> released, giving its units back. False if someone else closed it first."""
    won = Reservation.objects.filter(pk=reservation.pk, status=Status.ACTIVE).update(
        status=Status.RELEASED, released_reason=reason[:200], closed_at=now
    )
    if not won:
        reservation.refresh_from_db()
        return False
    lines = sorted(reservation.lines.all(), key=lambda line: line.sku)
    _lock_inventory(line.sku for line in lines)
    for line in lines:
        _bump_reserved(line.sku, -line.quantity)
    StockMovement.objects.bulk_create(
        StockMovement(
            sku=line.sku,
            kind=Kind.RELEASE,
            reserved_delta=-line.quantity,
            reason=reason[:200],
            reference=str(reservation.pk),
            at=now,
        )
        for line in lines
    )
    _publish_stock(line.sku for line in lines)
    reservation.status = Status.RELEASED
    reservation.released_reason = reason[:200]
    reservation.closed_at = now
    return True


def _locked_reservation(reservation_id: uuid.UUID) -> Reservation:
    reservation = (
        Reservation.objects.select_for_update()
        .prefetch_related("lines")
        .filter(pk=reservation_id)
        .first()
    )
    if reservation is None:
        raise NotFound(f"No reservation {reservation_id}.")
    return reservation


def reservation_id_for(idempotency_key: str) -> uuid.UUID:
    """The reservation a reserve call with this key creates (uuid5: the same on every retry)."""
    return uuid.uuid5(RESERVATION_NS, idempotency_key)


def stock_reserve(
    *,
    lines: Sequence[tuple[str, int]],
    owner_ref: str,
    ttl_seconds: int,
    idempotency_key: str = "",
) -> ReservationView:
    """Hold every line for ``ttl_seconds`` (clamped to 1..CATALOG_RESERVATION_TTL_SECONDS), or
    nothing: the first line that cannot be held raises :class:`OutOfStock` and the transaction
    rolls back. Unknown SKUs and inactive products count as 0 available.

    With an ``idempotency_key`` the reservation's id is derived from it, so a retried call (the
    monolith's HTTP client after a timeout) returns the reservation the first call made, in
    whatever state it is now, instead of holding the stock twice. The same key with other lines
    or another owner raises :class:`IdempotencyConflict`."""
    wanted = _merge(lines)
    if not wanted:
        raise ValueError("nothing to reserve")
    if not idempotency_key:
        return _reserve(wanted, owner_ref, ttl_seconds, uuid.uuid4(), keyed=False)
    reservation_id = reservation_id_for(idempotency_key)
    try:
        return _reserve(wanted, owner_ref, ttl_seconds, reservation_id, keyed=True)
    except IntegrityError:
        # A concurrent retry with the same key created it first (our insert of the same
        # primary key failed, and our whole transaction, stock included, rolled back).
        if not Reservation.objects.filter(pk=reservation_id).exists():
            raise
        return _replay(reservation_id, wanted, owner_ref)


def _replay(reservation_id: uuid.UUID, wanted: dict[str, int], owner_ref: str) -> ReservationView:
    reservation = Reservation.objects.prefetch_related("lines").get(pk=reservation_id)
    view = reservation_view(reservation)
    if view.owner_ref != owner_ref or {line.sku: line.quantity for line in view.lines} != wanted:
        raise IdempotencyConflict(
            "This idempotency key was used for another reservation.",
            field="idempotency_key",
            reservation_id=str(reservation_id),
        )
    return view


@transaction.atomic
def _reserve(
    wanted: dict[str, int],
    owner_ref: str,
    ttl_seconds: int,
    reservation_id: uuid.UUID,
    *,
    keyed: bool,
) -> ReservationView:
    _writing()
    # Only a key-derived id can exist already (a retry); a fresh uuid4 cannot.
    if keyed and Reservation.objects.filter(pk=reservation_id).exists():
        return _replay(reservation_id, wanted, owner_ref)
    now = timezone.now()
    ttl = max(1, min(int(ttl_seconds), int(settings.CATALOG_RESERVATION_TTL_SECONDS)))

    # Holds that have lapsed on these SKUs go back first, so they do not block this one.
    touching = ReservationLine.objects.filter(
        sku__in=list(wanted),
        reservation__status=Status.ACTIVE,
        reservation__expires_at__lte=now,
    ).values("reservation_id")
    lapsed = list(
        Reservation.objects.select_for_update()
        .prefetch_related("lines")
        .filter(pk__in=touching, status=Status.ACTIVE)
        .order_by("id")
    )
    for reservation in lapsed:
        _release(reservation, reason="expired", now=now)

    sellable = set(
        Variant.objects.filter(sku__in=list(wanted), product__is_active=True).values_list(
            "sku", flat=True
        )
    )
    _lock_inventory(sku for sku in wanted if sku in sellable)
    for sku, quantity in wanted.items():
        held = (
            sku in sellable
            and Inventory.objects.filter(sku=sku, on_hand__gte=F("reserved") + quantity).update(
                reserved=F("reserved") + quantity, version=F("version") + 1
            )
            == 1
        )
        if not held:
            available = 0
            if sku in sellable:
                stock = Inventory.objects.filter(sku=sku).values("on_hand", "reserved").first()
                available = 0 if stock is None else stock["on_hand"] - stock["reserved"]
            raise OutOfStock(
                f"SKU {sku}: {available} available, {quantity} requested.",
                sku=sku,
                available=available,
                requested=quantity,
            )

    reservation = Reservation.objects.create(
        id=reservation_id,
        owner_ref=owner_ref,
        expires_at=now + timedelta(seconds=ttl),
        created_at=now,
    )
    ReservationLine.objects.bulk_create(
        ReservationLine(reservation=reservation, sku=sku, quantity=quantity)
        for sku, quantity in wanted.items()
    )
    StockMovement.objects.bulk_create(
        StockMovement(
            sku=sku,
            kind=Kind.RESERVE,
            reserved_delta=quantity,
            reason=f"reserved for {owner_ref}"[:200],
            reference=str(reservation.pk),
            at=now,
        )
        for sku, quantity in wanted.items()
    )
    _publish_stock(wanted)
    return ReservationView(
        id=reservation.id,
        owner_ref=reservation.owner_ref,
        status=str(reservation.status),
        expires_at=reservation.expires_at,
        lines=tuple(ReservationLineView(sku=sku, quantity=q) for sku, q in wanted.items()),
    )


def reservation_commit(*, reservation_id: uuid.UUID) -> ReservationView:
    """active -> committed: the held units are sold (on_hand and reserved both drop).
    Idempotent for a committed reservation. A lapsed or released one raises
    :class:`ReservationExpired` (a lapsed one is released first, and that release is kept)."""
    with transaction.atomic():
        _writing()
        reservation = _locked_reservation(reservation_id)
        now = timezone.now()
        if reservation.status == Status.COMMITTED:
            return reservation_view(reservation)
        if reservation.status == Status.ACTIVE and reservation.expires_at > now:
            lines = sorted(reservation.lines.all(), key=lambda line: line.sku)
            _lock_inventory(line.sku for line in lines)
            for line in lines:
                Inventory.objects.filter(sku=line.sku).update(
                    on_hand=F("on_hand") - line.quantity,
                    reserved=F("reserved") - line.quantity,
                    version=F("version") + 1,
                )
            StockMovement.objects.bulk_create(
                StockMovement(
                    sku=line.sku,
                    kind=Kind.COMMIT,
                    on_hand_delta=-line.quantity,
                    reserved_delta=-line.quantity,
                    reason="sold",
                    reference=str(reservation.pk),
                    at=now,
                )
                for line in lines
            )
            _publish_stock(line.sku for line in lines)
            Reservation.objects.filter(pk=reservation.pk).update(
                status=Status.COMMITTED, closed_at=now
            )
            reservation.status = Status.COMMITTED
            reservation.closed_at = now
            return reservation_view(reservation)
        if reservation.status == Status.ACTIVE:
            _release(reservation, reason="expired", now=now)
    # Raised outside the atomic block so that the release above is not rolled back.
    why = reservation.released_reason or "released"
    raise ReservationExpired(
        f"The stock hold {reservation_id} is no longer active ({why}; it ran until "
        f"{reservation.expires_at.isoformat()}).",
        reservation_id=str(reservation_id),
    )


@transaction.atomic
def reservation_release(*, reservation_id: uuid.UUID, reason: str) -> ReservationView:
    """active -> released (the held units become available again). Idempotent: a released or
    committed reservation is returned unchanged."""
    _writing()
    reservation = _locked_reservation(reservation_id)
    if reservation.status == Status.ACTIVE:
        _release(reservation, reason=reason, now=timezone.now())
    return reservation_view(reservation)


@transaction.atomic
def stock_restock(*, lines: Sequence[tuple[str, int]], reason: str, reference: str) -> None:
    """Units come back on hand (a refunded order). Unknown SKUs are skipped with a warning.
    Idempotent per ``(reason, reference)``, as in the monolith: a SKU that restock already put
    back is skipped, so the monolith's client may retry it."""
    _writing()
    wanted = _merge(lines)
    _lock_inventory(wanted)
    done = _restocked(wanted, reason=reason, reference=reference)
    now = timezone.now()
    moved: list[StockMovement] = []
    for sku, quantity in wanted.items():
        if sku in done:
            log.info("restock %s (%s): %s already put back, skipped", reference, reason, sku)
            continue
        updated = Inventory.objects.filter(sku=sku).update(
            on_hand=F("on_hand") + quantity, version=F("version") + 1
        )
        if not updated:
            log.warning("restock %s: unknown SKU %s skipped (%d units)", reference, sku, quantity)
            continue
        moved.append(
            StockMovement(
                sku=sku,
                kind=Kind.RESTOCK,
                on_hand_delta=quantity,
                reason=reason[:200],
                reference=reference[:128],
                at=now,
            )
        )
    StockMovement.objects.bulk_create(moved)
    _publish_stock(movement.sku for movement in moved)


def _restocked(skus: Iterable[str], *, reason: str, reference: str) -> set[str]:
    """The SKUs a restock ``(reason, reference)`` already put back (inventory rows locked)."""
    if not reference:
        return set()  # no key, no way to tell a retry from a second restock
    return set(
        StockMovement.objects.filter(
            sku__in=list(skus), kind=Kind.RESTOCK, reason=reason[:200], reference=reference[:128]
        ).values_list("sku", flat=True)
    )


def reservations_expire(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Release every active reservation whose ``expires_at <= now`` (at most ``limit``), each
    in its own short transaction. Returns how many were released."""
    now = now or timezone.now()
    if not ownership.is_writer(CONTEXT, ME):
        return 0  # the writer side expires holds; a follower's copy changes by reconcile
    due = list(
        Reservation.objects.filter(status=Status.ACTIVE, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("id", flat=True)[:limit]
    )
    released = 0
    for reservation_id in due:
        try:
            with transaction.atomic():
                _writing()  # ownership may move during a long sweep
                reservation = (
                    Reservation.objects.select_for_update()
                    .prefetch_related("lines")
                    .filter(pk=reservation_id, status=Status.ACTIVE)
                    .first()
                )
                if reservation is not None and _release(reservation, reason="expired", now=now):
                    released += 1
        except ownership.NotWriter:
            break  # handed over (or frozen) mid-sweep: the new writer expires the rest
    if released:
        log.info("released %d lapsed reservations", released)
    return released


@transaction.atomic
def stock_adjust(*, sku: str, delta: int, reason: str) -> StockView:
    """Staff correction of ``on_hand``. Refused (InsufficientStock) below what is reserved."""
    _writing()
    if delta == 0:
        raise ValidationError({"delta": ["The adjustment must not be zero."]})
    _lock_inventory([sku])
    updated = Inventory.objects.filter(sku=sku, on_hand__gte=F("reserved") - delta).update(
        on_hand=F("on_hand") + delta, version=F("version") + 1
    )
    inventory = Inventory.objects.filter(sku=sku).first()
    if inventory is None:
        if not Variant.objects.filter(sku=sku).exists():
            raise NotFound(f"No SKU {sku}.")
        raise InsufficientStock(
            f"SKU {sku} has no inventory record.", sku=sku, available=0, requested=delta
        )
    if not updated:
        raise InsufficientStock(
            f"SKU {sku}: {inventory.on_hand} on hand and {inventory.reserved} reserved; "
            f"cannot apply {delta:+d}.",
            field="delta",
            sku=sku,
            available=inventory.on_hand - inventory.reserved,
            requested=delta,
        )
    StockMovement.objects.create(
        sku=sku, kind=Kind.ADJUST, on_hand_delta=delta, reason=reason[:200], reference="staff"
    )
    _publish_stock([sku])
    return stock_view(inventory)


# --- products ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VariantInput:
    sku: str
    name: str
    price: Decimal
    currency: str
    attributes: dict[str, Any] = field(default_factory=dict)
    on_hand: int = 0


def _product_state(product: Product) -> dict[str, Any]:
    """The payload of ProductCreated/ProductUpdated: the product with all its variants."""
    category = (
        Category.objects.filter(pk=product.category_id).values_list("slug", flat=True).first()
        if product.category_id is not None
        else None
    )
    return {
        "product_id": product.pk,
        "slug": product.slug,
        "name": product.name,
        "description": product.description,
        "category_slug": category,
        "is_active": product.is_active,
        "variants": tuple(
            VariantState(
                sku=v.sku,
                name=v.name,
                attributes={str(k): str(a) for k, a in (v.attributes or {}).items()},
                price=v.price,
                currency=v.currency,
                version=v.version,
            )
            for v in Variant.objects.filter(product_id=product.pk).order_by("sku")
        ),
        "aggregate_version": product.version,
        # A follower stamps its copy's updated_at with the event's time: the same instant as
        # the writer's row, so parity checks compare equal rows.
        "occurred_at": product.updated_at,
    }


def _category(slug: str) -> Category:
    category = Category.objects.filter(slug=slug).first()
    if category is None:
        raise InvalidInput(f"No category {slug!r}.", field="category")
    return category


@transaction.atomic
def category_create(*, slug: str, name: str) -> Category:
    _writing()
    if Category.objects.filter(slug=slug).exists():
        raise SlugTaken(f"A category {slug!r} exists.", field="slug")
    try:
        with transaction.atomic():
            return Category.objects.create(slug=slug, name=name)
    except IntegrityError as exc:  # a concurrent create won the race
        raise SlugTaken(f"A category {slug!r} exists.", field="slug") from exc


@transaction.atomic
def product_create(
    *,
    slug: str,
    name: str,
    description: str = "",
    category: str | None = None,
    variants: Sequence[VariantInput],
) -> Product:
    """A product with its variants and their inventory (``on_hand`` each)."""
    _writing()
    if not variants:
        raise InvalidInput("A product needs at least one variant.", field="variants")
    if len({v.currency for v in variants}) > 1:
        raise InvalidInput("All variants of a product share one currency.", field="variants")
    skus = [v.sku for v in variants]
    if len(set(skus)) != len(skus):
        raise InvalidInput("Each variant needs its own SKU.", field="variants")
    for index, v in enumerate(variants):
        if v.price <= 0 or v.on_hand < 0:
            raise InvalidInput(
                "Prices must be positive and stock not negative.", field=f"variants.{index}"
            )
    if Product.objects.filter(slug=slug).exists():
        raise SlugTaken(f"A product {slug!r} exists.", field="slug")
    taken = set(Variant.objects.filter(sku__in=skus).values_list("sku", flat=True))
    if taken:
        index = next(i for i, sku in enumerate(skus) if sku in taken)
        raise SkuTaken(f"SKU {skus[index]} exists.", field=f"variants.{index}.sku", sku=skus[index])
    group = _category(category) if category else None
    now = timezone.now()
    try:
        with transaction.atomic():
            product = Product.objects.create(
                slug=slug,
                name=name,
                description=description,
                category=group,
                created_at=now,
                updated_at=now,
            )
            created = Variant.objects.bulk_create(
                Variant(
                    sku=v.sku,
                    product=product,
                    name=v.name,
                    attributes=dict(v.attributes),
                    price=v.price,
                    currency=v.currency,
                )
                for v in variants
            )
    except IntegrityError as exc:  # a concurrent create took the slug or a SKU
        raise SlugTaken(f"The product {slug!r} or one of its SKUs exists.", field="slug") from exc
    on_hand = {v.sku: v.on_hand for v in variants}
    Inventory.objects.bulk_create(Inventory(sku=v, on_hand=on_hand[v.sku]) for v in created)
    StockMovement.objects.bulk_create(
        StockMovement(
            sku=v.sku,
            kind=Kind.INITIAL,
            on_hand_delta=v.on_hand,
            reason="initial stock",
            reference=slug,
            at=now,
        )
        for v in variants
        if v.on_hand > 0
    )
    publish(ProductCreated(**_product_state(product)))
    _publish_stock(skus)
    return product


@transaction.atomic
def product_update(
    *,
    slug: str,
    name: str | None = None,
    description: str | None = None,
    category: str | None = None,
    is_active: bool | None = None,
) -> Product:
    """Change the given fields (None: unchanged; ``category=""`` removes the category)."""
    _writing()
    product = Product.objects.select_for_update().filter(slug=slug).first()
    if product is None:
        raise NotFound(f"No product {slug!r}.")
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if description is not None:
        changes["description"] = description
    if category is not None:
        changes["category"] = _category(category) if category else None
    if is_active is not None:
        changes["is_active"] = is_active
    changed = [key for key, value in changes.items() if getattr(product, key) != value]
    if not changed:
        return product
    for key in changed:
        setattr(product, key, changes[key])
    product.version += 1
    product.updated_at = timezone.now()
    product.save(update_fields=[*changed, "version", "updated_at"])
    publish(ProductUpdated(**_product_state(product)))
    return product


@transaction.atomic
def variant_update(
    *,
    sku: str,
    price: Decimal | None = None,
    name: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> Variant:
    """Change the given fields (None: unchanged). Bumps the variant's and its product's version."""
    _writing()
    variant = Variant.objects.select_for_update().filter(sku=sku).first()
    if variant is None:
        raise NotFound(f"No SKU {sku}.")
    if price is not None and price <= 0:
        raise InvalidInput("The price must be positive.", field="price")
    changes: dict[str, Any] = {"price": price, "name": name, "attributes": attributes}
    changed = [
        key
        for key, value in changes.items()
        if value is not None and getattr(variant, key) != value
    ]
    if not changed:
        return variant
    previous_price = variant.price
    for key in changed:
        setattr(variant, key, changes[key])
    variant.version += 1
    variant.save(update_fields=[*changed, "version"])
    # The product's representation (its variants, price_from) changed too.
    Product.objects.filter(pk=variant.product_id).update(
        version=F("version") + 1, updated_at=timezone.now()
    )
    if "price" in changed:
        publish(
            VariantPriceChanged(
                sku=variant.sku,
                product_id=variant.product_id,
                price=variant.price,
                currency=variant.currency,
                previous_price=previous_price,
                aggregate_version=variant.version,
            )
        )
    product = Product.objects.get(pk=variant.product_id)
    publish(ProductUpdated(**_product_state(product)))
    return variant
