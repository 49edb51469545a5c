"""Event contracts: the envelope, the wire format, tolerant reading, the registry."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from contracts.events import (
    CartCleared,
    CartLine,
    Envelope,
    Event,
    EventError,
    OrderLine,
    OrderPlaced,
    UnknownEvent,
    VariantPriceChanged,
    VariantState,
    decode,
    registry,
)
from contracts.events.base import Registry

ORDER_ID = uuid.UUID("6f0c3a0e-1b2c-4d5e-8f90-0123456789ab")
EVENT_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
AT = datetime(2025, 1, 31, 12, 0, 0, 123456, tzinfo=UTC)


def placed() -> OrderPlaced:
    return OrderPlaced(
        event_id=EVENT_ID,
        occurred_at=AT,
        aggregate_version=1,
        order_id=ORDER_ID,
        user_id=7,
        status="pending_payment",
        currency="EUR",
        total=Decimal("25.00"),
        lines=(
            OrderLine(
                sku="TSHIRT-RED-M",
                product_name="T-shirt",
                variant_name="Red M",
                quantity=2,
                unit_price=Decimal("12.50"),
                line_total=Decimal("25.00"),
            ),
        ),
        payment_id=None,
        created_at=AT,
    )


def test_the_wire_format_is_the_envelope_with_decimals_as_strings() -> None:
    assert json.loads(placed().to_json()) == {
        "event_id": "00000000-0000-4000-8000-000000000001",
        "name": "orders.order.placed",
        "schema_version": 1,
        "occurred_at": "2025-01-31T12:00:00.123456+00:00",
        "aggregate_type": "orders.order",
        "aggregate_id": "6f0c3a0e-1b2c-4d5e-8f90-0123456789ab",
        "aggregate_version": 1,
        "payload": {
            "order_id": "6f0c3a0e-1b2c-4d5e-8f90-0123456789ab",
            "user_id": 7,
            "status": "pending_payment",
            "currency": "EUR",
            "total": "25.00",
            "lines": [
                {
                    "sku": "TSHIRT-RED-M",
                    "product_name": "T-shirt",
                    "variant_name": "Red M",
                    "quantity": 2,
                    "unit_price": "12.50",
                    "line_total": "25.00",
                }
            ],
            "payment_id": None,
            "created_at": "2025-01-31T12:00:00.123456+00:00",
        },
    }


def test_decode_gives_back_an_equal_typed_event() -> None:
    event = placed()
    again = decode(event.to_json())
    assert again == event
    assert isinstance(again, OrderPlaced)
    assert again.total == Decimal("25.00")
    assert isinstance(again.lines[0], OrderLine)


def test_new_events_get_an_id_and_a_utc_time() -> None:
    first = VariantPriceChanged(
        sku="A",
        product_id=1,
        price=Decimal("1.00"),
        currency="EUR",
        previous_price=Decimal("2.00"),
        aggregate_version=3,
    )
    second = dataclasses.replace(first, event_id=uuid.uuid4())
    assert first.event_id != second.event_id
    assert first.occurred_at.tzinfo is UTC
    assert first.aggregate_id == "A"
    assert VariantPriceChanged.aggregate_type() == "catalog.variant"


def test_events_are_frozen() -> None:
    event = placed()
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.user_id = 8  # type: ignore[misc]


def test_readers_ignore_unknown_members_and_default_missing_optional_ones() -> None:
    wire = json.loads(placed().to_json())
    wire["payload"]["loyalty_points"] = 12  # a newer producer added a member
    assert decode(json.dumps(wire)) == placed()


def test_a_missing_required_member_says_which_and_which_versions() -> None:
    wire = json.loads(placed().to_json())
    del wire["payload"]["total"]
    wire["schema_version"] = 2
    with pytest.raises(
        EventError, match=r"orders.order.placed v2: payload has no 'total' \(this reader knows v1\)"
    ):
        decode(json.dumps(wire))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda w: w["payload"].update(total=25.0), "decimals travel as strings"),
        (lambda w: w["payload"].update(status="shipped"), "is not one of"),
        (lambda w: w["payload"].update(user_id="7"), "is not an integer"),
        (lambda w: w.update(occurred_at="2025-01-31T12:00:00"), "has no UTC offset"),
        (lambda w: w.pop("event_id"), "the envelope has no 'event_id'"),
        (lambda w: w.update(name="orders.order.shipped"), "no event class is named"),
    ],
)
def test_bad_messages_raise_event_error(mutate: object, message: str) -> None:
    wire = json.loads(placed().to_json())
    mutate(wire)  # type: ignore[operator]
    with pytest.raises(EventError, match=message):
        decode(json.dumps(wire))


def test_not_json_is_an_event_error() -> None:
    with pytest.raises(EventError, match="not JSON"):
        Envelope.from_json(b"\xff{")
    with pytest.raises(UnknownEvent):
        registry().get("nope.nope.nope")


def test_nested_state_and_literals_round_trip() -> None:
    cleared = CartCleared(
        user_id=1, currency=None, items=(), reason="checked_out", aggregate_version=9
    )
    assert decode(cleared.to_json()) == cleared
    line = CartLine(
        sku="A",
        quantity=1,
        unit_price=Decimal("3.10"),
        currency="EUR",
        product_name="P",
        variant_name="V",
    )
    assert (
        json.loads(dataclasses.replace(cleared, items=(line,)).to_json())["payload"]["items"][0][
            "unit_price"
        ]
        == "3.10"
    )
    state = VariantState(
        sku="A",
        name="V",
        attributes={"size": "M"},
        price=Decimal("1.00"),
        currency="EUR",
        version=2,
    )
    assert state.attributes == {"size": "M"}


def test_every_kit_event_is_registered_with_a_past_tense_routing_key() -> None:
    names = [cls.EVENT_NAME for cls in registry().all()]
    assert len(names) == len(set(names)) >= 20
    for cls in registry().all():
        context, _aggregate, event = cls.EVENT_NAME.split(".")
        assert context in {"users", "catalog", "cart", "orders", "payments", "notifications"}
        assert event.endswith(("ed", "_changed")) or event in {"paid", "sent"}, cls.EVENT_NAME
        assert cls.AGGREGATE_ID in {f.name for f in dataclasses.fields(cls)}, cls.__name__


def test_the_registry_refuses_bad_routing_keys_and_clashes() -> None:
    local = Registry()

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Shipped(Event, register=False):
        EVENT_NAME = "warehouse.parcel.shipped"
        AGGREGATE_ID = "parcel_id"
        parcel_id: int

    with pytest.raises(TypeError, match=r"not <context>\.<aggregate>\.<event>"):
        local.add(Shipped)

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Impostor(Event, register=False):
        EVENT_NAME = "orders.order.placed"
        AGGREGATE_ID = "order_id"
        order_id: int

    local.add(OrderPlaced)
    with pytest.raises(TypeError, match="taken by OrderPlaced"):
        local.add(Impostor)
