from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.test import override_settings
from django.utils import timezone

from shop.catalog import selectors, services
from shop.catalog.models import Inventory, Product, Reservation, StockMovement, Variant
from shop.common.errors import NotFound

from .conftest import MakeProduct

pytestmark = [pytest.mark.catalog, pytest.mark.django_db]


def stock(sku: str) -> tuple[int, int]:
    view = selectors.stock_get(sku=sku)
    assert view is not None
    assert view.available == view.on_hand - view.reserved
    return view.on_hand, view.reserved


def lapse(reservation_id: uuid.UUID) -> None:
    Reservation.objects.filter(pk=reservation_id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


# --- reserve ----------------------------------------------------------------------------------


def test_reserve_holds_every_line_and_merges_duplicates(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 5), ("TEE-M", "9.99", 3))

    view = services.stock_reserve(
        lines=[("TEE-S", 1), ("TEE-M", 2), ("TEE-S", 2)], owner_ref="order-1", ttl_seconds=60
    )

    assert view.status == "active"
    assert view.owner_ref == "order-1"
    assert view.lines == (
        selectors.ReservationLineView(sku="TEE-M", quantity=2),
        selectors.ReservationLineView(sku="TEE-S", quantity=3),
    )
    assert stock("TEE-S") == (5, 3)
    assert stock("TEE-M") == (3, 2)
    assert selectors.reservation_get(reservation_id=view.id) == view
    assert sorted(
        StockMovement.objects.filter(reference=str(view.id)).values_list(
            "sku", "kind", "reserved_delta"
        )
    ) == [("TEE-M", "reserve", 2), ("TEE-S", "reserve", 3)]


def test_reserve_is_all_or_nothing(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 5), ("TEE-M", "9.99", 1))

    with pytest.raises(services.OutOfStock) as caught:
        services.stock_reserve(
            lines=[("TEE-S", 2), ("TEE-M", 2)], owner_ref="order-1", ttl_seconds=60
        )

    assert caught.value.extra == {"sku": "TEE-M", "available": 1, "requested": 2}
    assert caught.value.problem().to_dict()["code"] == "out_of_stock"
    assert caught.value.problem().status == 409
    # TEE-S was taken before TEE-M failed: the rollback gave it back.
    assert stock("TEE-S") == (5, 0)
    assert stock("TEE-M") == (1, 0)
    assert Reservation.objects.count() == 0
    assert StockMovement.objects.filter(kind="reserve").count() == 0


def test_out_of_stock_inside_a_callers_transaction_still_leaves_nothing_reserved(
    make_product: MakeProduct,
) -> None:
    make_product("tee", ("TEE-S", "9.99", 5), ("TEE-M", "9.99", 0))

    with transaction.atomic():
        with pytest.raises(services.OutOfStock):
            services.stock_reserve(
                lines=[("TEE-S", 1), ("TEE-M", 1)], owner_ref="o", ttl_seconds=60
            )
        assert stock("TEE-S") == (5, 0)


@pytest.mark.parametrize("sku", ["NOPE-1", "OFF-1"])
def test_unknown_sku_or_inactive_product_is_out_of_stock_with_nothing_available(
    make_product: MakeProduct, sku: str
) -> None:
    make_product("tee", ("TEE-S", "9.99", 5))
    make_product("off", ("OFF-1", "9.99", 5))
    services.product_update(slug="off", is_active=False)

    with pytest.raises(services.OutOfStock) as caught:
        services.stock_reserve(lines=[("TEE-S", 1), (sku, 1)], owner_ref="o", ttl_seconds=60)

    assert caught.value.extra == {"sku": sku, "available": 0, "requested": 1}
    assert stock("TEE-S") == (5, 0)
    assert stock("OFF-1") == (5, 0)


@override_settings(CATALOG_RESERVATION_TTL_SECONDS=900)
@pytest.mark.parametrize(("asked", "granted"), [(0, 1), (-5, 1), (60, 60), (3600, 900)])
def test_reserve_clamps_the_hold(make_product: MakeProduct, asked: int, granted: int) -> None:
    make_product("tee", ("TEE-S", "9.99", 5))
    before = timezone.now()

    view = services.stock_reserve(lines=[("TEE-S", 1)], owner_ref="o", ttl_seconds=asked)

    held = (view.expires_at - before).total_seconds()
    assert granted <= held < granted + 5


def test_reserve_refuses_non_positive_quantities(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 5))
    with pytest.raises(ValueError, match="positive"):
        services.stock_reserve(lines=[("TEE-S", 0)], owner_ref="o", ttl_seconds=60)
    with pytest.raises(ValueError, match="nothing"):
        services.stock_reserve(lines=[], owner_ref="o", ttl_seconds=60)


def test_reserve_first_releases_lapsed_holds_on_its_skus(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 2))
    old = services.stock_reserve(lines=[("TEE-S", 2)], owner_ref="old", ttl_seconds=60)
    with pytest.raises(services.OutOfStock):
        services.stock_reserve(lines=[("TEE-S", 1)], owner_ref="new", ttl_seconds=60)
    lapse(old.id)

    new = services.stock_reserve(lines=[("TEE-S", 2)], owner_ref="new", ttl_seconds=60)

    assert new.status == "active"
    released = selectors.reservation_get(reservation_id=old.id)
    assert released is not None
    assert released.status == "released"
    assert Reservation.objects.get(pk=old.id).released_reason == "expired"
    assert stock("TEE-S") == (2, 2)


# --- commit / release / expire ---------------------------------------------------------------


def test_commit_sells_the_units_and_is_idempotent(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 5))
    held = services.stock_reserve(lines=[("TEE-S", 2)], owner_ref="o", ttl_seconds=60)

    first = services.reservation_commit(reservation_id=held.id)
    again = services.reservation_commit(reservation_id=held.id)

    assert first.status == again.status == "committed"
    assert first.lines == again.lines == held.lines
    assert stock("TEE-S") == (3, 0)
    assert StockMovement.objects.filter(kind="commit").count() == 1
    # Releasing a committed reservation changes nothing.
    assert services.reservation_release(reservation_id=held.id, reason="x").status == "committed"
    assert stock("TEE-S") == (3, 0)


def test_commit_of_a_lapsed_hold_releases_it_and_raises(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 5))
    held = services.stock_reserve(lines=[("TEE-S", 2)], owner_ref="o", ttl_seconds=60)
    lapse(held.id)

    with pytest.raises(services.ReservationExpired) as caught:
        services.reservation_commit(reservation_id=held.id)

    assert caught.value.problem().to_dict()["code"] == "reservation_expired"
    assert caught.value.status == 409
    # The release survived the error.
    assert stock("TEE-S") == (5, 0)
    view = selectors.reservation_get(reservation_id=held.id)
    assert view is not None
    assert view.status == "released"
    with pytest.raises(services.ReservationExpired):
        services.reservation_commit(reservation_id=held.id)
    assert stock("TEE-S") == (5, 0)


def test_commit_of_a_released_hold_raises_expired(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 5))
    held = services.stock_reserve(lines=[("TEE-S", 2)], owner_ref="o", ttl_seconds=60)
    services.reservation_release(reservation_id=held.id, reason="payment failed")

    with pytest.raises(services.ReservationExpired, match="payment failed"):
        services.reservation_commit(reservation_id=held.id)
    assert stock("TEE-S") == (5, 0)


def test_release_gives_units_back_once(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 5))
    held = services.stock_reserve(lines=[("TEE-S", 2)], owner_ref="o", ttl_seconds=60)
    services.stock_reserve(lines=[("TEE-S", 1)], owner_ref="other", ttl_seconds=60)

    first = services.reservation_release(reservation_id=held.id, reason="cancelled")
    again = services.reservation_release(reservation_id=held.id, reason="cancelled again")

    assert first.status == again.status == "released"
    assert stock("TEE-S") == (5, 1)  # the other hold is untouched
    assert Reservation.objects.get(pk=held.id).released_reason == "cancelled"
    assert StockMovement.objects.filter(kind="release").count() == 1


def test_unknown_reservation_is_not_found() -> None:
    with pytest.raises(NotFound):
        services.reservation_commit(reservation_id=uuid.uuid4())
    with pytest.raises(NotFound):
        services.reservation_release(reservation_id=uuid.uuid4(), reason="x")
    assert selectors.reservation_get(reservation_id=uuid.uuid4()) is None


def test_expire_releases_only_lapsed_active_holds(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 10))
    lapsed = services.stock_reserve(lines=[("TEE-S", 1)], owner_ref="a", ttl_seconds=60)
    lapsed_too = services.stock_reserve(lines=[("TEE-S", 2)], owner_ref="b", ttl_seconds=60)
    live = services.stock_reserve(lines=[("TEE-S", 3)], owner_ref="c", ttl_seconds=600)
    sold = services.stock_reserve(lines=[("TEE-S", 4)], owner_ref="d", ttl_seconds=60)
    services.reservation_commit(reservation_id=sold.id)
    later = timezone.now() + timedelta(seconds=120)

    assert services.reservations_expire(now=later, limit=1) == 1
    assert services.reservations_expire(now=later) == 1
    assert services.reservations_expire(now=later) == 0

    status = dict(Reservation.objects.values_list("id", "status"))
    assert status == {
        lapsed.id: "released",
        lapsed_too.id: "released",
        live.id: "active",
        sold.id: "committed",
    }
    assert stock("TEE-S") == (6, 3)


# --- restock / adjust -------------------------------------------------------------------------


def test_restock_adds_units_and_skips_unknown_skus(
    make_product: MakeProduct, caplog: pytest.LogCaptureFixture
) -> None:
    make_product("tee", ("TEE-S", "9.99", 1))

    services.stock_restock(
        lines=[("TEE-S", 2), ("GONE-1", 4), ("TEE-S", 1)], reason="refund", reference="order-9"
    )

    assert stock("TEE-S") == (4, 0)
    assert "GONE-1" in caplog.text
    assert list(
        StockMovement.objects.filter(kind="restock").values_list(
            "sku", "on_hand_delta", "reason", "reference"
        )
    ) == [("TEE-S", 3, "refund", "order-9")]


def test_restock_puts_a_reason_and_reference_back_once(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 1), ("TEE-M", "9.99", 1))
    services.stock_restock(lines=[("TEE-S", 2)], reason="refund", reference="order-9")

    # a retry, and a retry carrying a line the first call did not have: only the new line
    services.stock_restock(lines=[("TEE-S", 2)], reason="refund", reference="order-9")
    services.stock_restock(lines=[("TEE-S", 2), ("TEE-M", 1)], reason="refund", reference="order-9")
    assert (stock("TEE-S"), stock("TEE-M")) == ((3, 0), (2, 0))

    # another reason or another reference is another restock
    services.stock_restock(lines=[("TEE-S", 1)], reason="capture_failed", reference="order-9")
    services.stock_restock(lines=[("TEE-S", 1)], reason="refund", reference="order-10")
    assert stock("TEE-S") == (5, 0)


def test_adjust_adds_and_removes_but_never_below_reserved(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 5))
    services.stock_reserve(lines=[("TEE-S", 3)], owner_ref="o", ttl_seconds=60)

    assert services.stock_adjust(sku="TEE-S", delta=4, reason="delivery") == selectors.StockView(
        sku="TEE-S", on_hand=9, reserved=3, available=6
    )
    assert services.stock_adjust(sku="TEE-S", delta=-6, reason="broken") == selectors.StockView(
        sku="TEE-S", on_hand=3, reserved=3, available=0
    )
    with pytest.raises(services.InsufficientStock) as caught:
        services.stock_adjust(sku="TEE-S", delta=-1, reason="lost")

    assert caught.value.problem().to_dict()["code"] == "insufficient_stock"
    assert caught.value.extra == {"sku": "TEE-S", "available": 0, "requested": -1}
    assert stock("TEE-S") == (3, 3)
    assert list(
        StockMovement.objects.filter(kind="adjust").values_list("on_hand_delta", "reason")
    ) == [(4, "delivery"), (-6, "broken")]


def test_adjust_unknown_sku_is_not_found_and_zero_is_invalid(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 5))
    with pytest.raises(NotFound):
        services.stock_adjust(sku="NOPE", delta=1, reason="x")
    with pytest.raises(ValidationError):
        services.stock_adjust(sku="TEE-S", delta=0, reason="x")


# --- the database's own guard ------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"on_hand": -1, "reserved": 0},
        {"on_hand": 5, "reserved": -1},
        {"on_hand": 2, "reserved": 3},
    ],
)
def test_check_constraints_refuse_impossible_stock(
    make_product: MakeProduct, change: dict[str, int]
) -> None:
    make_product("tee", ("TEE-S", "9.99", 5))
    with pytest.raises(IntegrityError), transaction.atomic():
        Inventory.objects.filter(sku="TEE-S").update(**change)
    assert stock("TEE-S") == (5, 0)


def test_check_constraint_refuses_a_blind_over_reserve(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 2))
    with pytest.raises(IntegrityError), transaction.atomic():
        Inventory.objects.filter(sku="TEE-S").update(reserved=F("reserved") + 3)


# --- selectors --------------------------------------------------------------------------------


def test_variant_views(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 5), ("TEE-M", "12.50", 0), name="Tee")
    services.stock_reserve(lines=[("TEE-S", 2)], owner_ref="o", ttl_seconds=60)
    expected = selectors.VariantView(
        sku="TEE-S",
        product_slug="tee",
        product_name="Tee",
        variant_name="Variant TEE-S",
        price=Decimal("9.99"),
        currency="USD",
        available=3,
        is_active=True,
    )

    assert selectors.variant_get(sku="TEE-S") == expected
    assert selectors.variant_get(sku="NOPE") is None
    views = selectors.variants_get(skus=["TEE-S", "NOPE", "TEE-M"])
    assert set(views) == {"TEE-S", "TEE-M"}
    assert views["TEE-S"] == expected
    assert views["TEE-M"].available == 0
    services.product_update(slug="tee", is_active=False)
    off = selectors.variant_get(sku="TEE-S")
    assert off is not None
    assert off.is_active is False


def test_variants_get_is_one_query(
    make_product: MakeProduct, django_assert_num_queries: pytest.FixtureRequest
) -> None:
    make_product("a", ("A-1", "1.00", 1), ("A-2", "2.00", 2))
    make_product("b", ("B-1", "3.00", 3))
    with django_assert_num_queries(1):  # type: ignore[operator]
        views = selectors.variants_get(skus=iter(["A-1", "A-2", "B-1"]))
    assert [views[s].available for s in ("A-1", "A-2", "B-1")] == [1, 2, 3]


# --- products ---------------------------------------------------------------------------------


def test_product_create_makes_variants_and_inventory(make_product: MakeProduct) -> None:
    product = make_product("tee", ("TEE-S", "9.99", 5), ("TEE-M", "12.50", 0), category="apparel")

    assert product.category is not None
    assert product.category.slug == "apparel"
    assert product.version == 1
    assert sorted(Variant.objects.filter(product=product).values_list("sku", "price")) == [
        ("TEE-M", Decimal("12.50")),
        ("TEE-S", Decimal("9.99")),
    ]
    assert stock("TEE-S") == (5, 0)
    assert stock("TEE-M") == (0, 0)
    assert list(StockMovement.objects.values_list("sku", "kind", "on_hand_delta")) == [
        ("TEE-S", "initial", 5)
    ]


def test_product_create_refuses_taken_keys_and_unknown_category(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 5))
    variant = services.VariantInput(sku="NEW-1", name="n", price=Decimal("1.00"), currency="USD")

    with pytest.raises(services.SlugTaken):
        services.product_create(slug="tee", name="Tee", variants=[variant])
    with pytest.raises(services.SkuTaken) as caught:
        services.product_create(
            slug="other",
            name="Other",
            variants=[
                variant,
                services.VariantInput(sku="TEE-S", name="n", price=Decimal("1.00"), currency="USD"),
            ],
        )
    assert caught.value.field == "variants.1.sku"
    assert caught.value.extra == {"sku": "TEE-S"}
    with pytest.raises(services.InvalidInput) as unknown:
        services.product_create(slug="other", name="O", category="nope", variants=[variant])
    assert unknown.value.field == "category"
    assert unknown.value.status == 400
    assert not Product.objects.filter(slug="other").exists()
    assert not Variant.objects.filter(sku="NEW-1").exists()


def test_category_create_refuses_a_taken_slug() -> None:
    services.category_create(slug="apparel", name="Apparel")
    with pytest.raises(services.SlugTaken) as caught:
        services.category_create(slug="apparel", name="Again")
    assert caught.value.problem().to_dict()["code"] == "slug_taken"


def test_product_update_bumps_version_only_on_change(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 5), category="apparel")
    services.category_create(slug="shirts", name="Shirts")

    updated = services.product_update(slug="tee", name="Tee 2", category="shirts")
    assert (updated.name, updated.category_id is not None, updated.version) == ("Tee 2", True, 2)
    assert services.product_update(slug="tee", name="Tee 2").version == 2
    cleared = services.product_update(slug="tee", category="")
    assert (cleared.category_id, cleared.version) == (None, 3)
    with pytest.raises(NotFound):
        services.product_update(slug="nope", name="x")


def test_variant_update_bumps_variant_and_product_versions(make_product: MakeProduct) -> None:
    make_product("tee", ("TEE-S", "9.99", 5))

    variant = services.variant_update(sku="TEE-S", price=Decimal("11.00"), attributes={"size": "S"})

    assert (variant.price, variant.attributes, variant.version) == (
        Decimal("11.00"),
        {"size": "S"},
        2,
    )
    assert Product.objects.get(slug="tee").version == 2
    view = selectors.variant_get(sku="TEE-S")
    assert view is not None
    assert view.price == Decimal("11.00")
    with pytest.raises(NotFound):
        services.variant_update(sku="NOPE", name="x")
