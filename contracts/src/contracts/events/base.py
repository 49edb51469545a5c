"""The event base class, the wire envelope, and JSON (de)serialisation of payloads.

An event is a frozen dataclass. Its class says what it is (``EVENT_NAME``, ``SCHEMA_VERSION``,
``AGGREGATE_ID``: the payload field that identifies the aggregate); an instance carries
``aggregate_version`` (the aggregate's version *after* the change), and gets a fresh
``event_id`` and ``occurred_at`` unless given. On the wire it is one JSON object::

    {"event_id": "6f0c...", "name": "catalog.variant.price_changed", "schema_version": 1,
     "occurred_at": "2025-01-31T12:00:00.123456+00:00", "aggregate_type": "catalog.variant",
     "aggregate_id": "TSHIRT-RED-M", "aggregate_version": 7,
     "payload": {"sku": "TSHIRT-RED-M", "price": "12.50", ...}}

Money and other decimals travel as strings, UUIDs as strings, times as ISO 8601 with offset.
Readers are tolerant: unknown payload members are ignored, missing ones take the field default.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal, Union, get_args, get_origin

CONTEXTS = ("users", "catalog", "cart", "orders", "payments", "notifications")
ROUTING_KEY = re.compile(r"^(?P<context>[a-z]+)\.(?P<aggregate>[a-z][a-z_]*)\.[a-z][a-z_]*$")
ENVELOPE_FIELDS = ("event_id", "occurred_at", "aggregate_version")


class EventError(ValueError):
    """A message is not a valid event (bad JSON, unknown name, payload does not fit)."""


class UnknownEvent(EventError):
    """No event class has this name."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event. Subclasses set the class constants and add payload fields."""

    EVENT_NAME: ClassVar[str] = ""  # routing key <context>.<aggregate>.<event>; "" = abstract
    SCHEMA_VERSION: ClassVar[int] = 1
    AGGREGATE_ID: ClassVar[str] = ""  # the payload field holding the aggregate's identity
    # True: the payload carries the whole state a follower needs to upsert the aggregate, so a
    # follower may apply it when it is newer than what it holds, even after a gap.
    STATE_CARRYING: ClassVar[bool] = True

    aggregate_version: int
    event_id: uuid.UUID = dataclasses.field(default_factory=uuid.uuid4)
    occurred_at: datetime = dataclasses.field(default_factory=_now)

    def __init_subclass__(cls, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if register and cls.__dict__.get("EVENT_NAME"):
            _REGISTRY.add(cls)

    @classmethod
    def aggregate_type(cls) -> str:
        """``<context>.<aggregate>``: the routing key without the event part."""
        return cls.EVENT_NAME.rsplit(".", 1)[0]

    @property
    def aggregate_id(self) -> str:
        return str(_jsonable(getattr(self, self.AGGREGATE_ID)))

    def payload(self) -> dict[str, Any]:
        """The payload as JSON-ready values (decimals and UUIDs as strings)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in payload_fields(type(self))}

    def to_wire(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "name": self.EVENT_NAME,
            "schema_version": self.SCHEMA_VERSION,
            "occurred_at": self.occurred_at.isoformat(),
            "aggregate_type": self.aggregate_type(),
            "aggregate_id": self.aggregate_id,
            "aggregate_version": self.aggregate_version,
            "payload": self.payload(),
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_wire(), separators=(",", ":"), ensure_ascii=False).encode()


class Registry:
    """Every concrete event class, by routing key. Filled as the context modules import."""

    def __init__(self) -> None:
        self._by_name: dict[str, type[Event]] = {}

    def add(self, cls: type[Event]) -> None:
        name = cls.EVENT_NAME
        match = ROUTING_KEY.match(name)
        if match is None or match["context"] not in CONTEXTS:
            raise TypeError(
                f"{cls.__name__}.EVENT_NAME {name!r} is not <context>.<aggregate>.<event> "
                f"with a context in {CONTEXTS}"
            )
        known = self._by_name.get(name)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise TypeError(f"{name} is taken by {known.__qualname__}")
        self._by_name[name] = cls

    def get(self, name: str) -> type[Event]:
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownEvent(f"no event class is named {name!r}") from None

    def all(self) -> list[type[Event]]:
        return [self._by_name[name] for name in sorted(self._by_name)]


_REGISTRY = Registry()


def registry() -> Registry:
    """The registry of every event class (import ``contracts.events`` to fill it)."""
    return _REGISTRY


_FIELDS: dict[type[Any], list[dataclasses.Field[Any]]] = {}
_HINTS: dict[type[Any], dict[str, Any]] = {}


def payload_fields(cls: type[Event]) -> list[dataclasses.Field[Any]]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = [f for f in dataclasses.fields(cls) if f.name not in ENVELOPE_FIELDS]
    return found


def field_types(cls: type[Any]) -> dict[str, Any]:
    found = _HINTS.get(cls)
    if found is None:
        found = _HINTS[cls] = typing.get_type_hints(cls)
    return found


@dataclasses.dataclass(frozen=True, slots=True)
class Envelope:
    """A message as received: the envelope members, the payload still as JSON values.

    Consumers route on ``name`` and order on ``aggregate_version`` without decoding the
    payload; :meth:`event` turns it into the typed event.
    """

    event_id: uuid.UUID
    name: str
    schema_version: int
    occurred_at: datetime
    aggregate_type: str
    aggregate_id: str
    aggregate_version: int
    payload: Mapping[str, Any]

    @classmethod
    def from_json(cls, body: bytes | str) -> Envelope:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise EventError(f"the message body is not JSON: {exc}") from None
        return cls.from_wire(data)

    @classmethod
    def from_wire(cls, data: object) -> Envelope:
        if not isinstance(data, dict):
            raise EventError("the message body is not a JSON object")
        try:
            payload = data["payload"]
            if not isinstance(payload, dict):
                raise EventError("payload is not an object")
            return cls(
                event_id=uuid.UUID(str(data["event_id"])),
                name=str(data["name"]),
                schema_version=_int(data["schema_version"]),
                occurred_at=_datetime(data["occurred_at"]),
                aggregate_type=str(data["aggregate_type"]),
                aggregate_id=str(data["aggregate_id"]),
                aggregate_version=_int(data["aggregate_version"]),
                payload=payload,
            )
        except KeyError as exc:
            raise EventError(f"the envelope has no {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, EventError):
                raise
            raise EventError(f"bad envelope: {exc}") from None

    @classmethod
    def of(cls, event: Event) -> Envelope:
        return cls.from_wire(event.to_wire())

    def event(self, event_cls: type[Event] | None = None) -> Event:
        """The typed event (of ``event_cls``, default: the registered class of ``name``).

        Raises :class:`EventError` when the payload does not fit.
        """
        event_cls = event_cls or _REGISTRY.get(self.name)
        if self.name != event_cls.EVENT_NAME:
            raise EventError(f"{self.name} is not {event_cls.EVENT_NAME}")
        hints = field_types(event_cls)
        values: dict[str, Any] = {
            "event_id": self.event_id,
            "occurred_at": self.occurred_at,
            "aggregate_version": self.aggregate_version,
        }
        for f in payload_fields(event_cls):
            if f.name in self.payload:
                values[f.name] = _from_json(hints[f.name], self.payload[f.name], f.name)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise EventError(
                    f"{self.name} v{self.schema_version}: payload has no {f.name!r} "
                    f"(this reader knows v{event_cls.SCHEMA_VERSION})"
                )
        return event_cls(**values)

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "event_id": str(self.event_id),
                "name": self.name,
                "schema_version": self.schema_version,
                "occurred_at": self.occurred_at.isoformat(),
                "aggregate_type": self.aggregate_type,
                "aggregate_id": self.aggregate_id,
                "aggregate_version": self.aggregate_version,
                "payload": dict(self.payload),
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()


def decode(body: bytes | str) -> Event:
    """Wire JSON -> typed event."""
    return Envelope.from_json(body).event()


# --- values --------------------------------------------------------------------------------


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    raise TypeError(f"events cannot carry {type(value).__name__} values")


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventError(f"{value!r} is not an integer")
    return value


def _datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise EventError(f"{value!r} is not a date-time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise EventError(f"{value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise EventError(f"{value!r} has no UTC offset")
    return parsed


def _from_json(tp: Any, value: object, where: str) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _from_json(args[0], value, where)
    if value is None:
        raise EventError(f"{where} is null")
    if origin is Literal:
        if value not in get_args(tp):
            raise EventError(f"{where}: {value!r} is not one of {get_args(tp)}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise EventError(f"{where} is not an array")
        item = get_args(tp)[0]
        return tuple(_from_json(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (dict, Mapping, typing.Mapping) or tp is dict:
        if not isinstance(value, dict):
            raise EventError(f"{where} is not an object")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise EventError(f"{where}: {value!r} is not a boolean")
        return value
    if tp is int:
        try:
            return _int(value)
        except EventError:
            raise EventError(f"{where}: {value!r} is not an integer") from None
    if tp is str:
        if not isinstance(value, str):
            raise EventError(f"{where}: {value!r} is not a string")
        return value
    if tp is Decimal:
        if not isinstance(value, str):
            raise EventError(f"{where}: decimals travel as strings, got {value!r}")
        try:
            return Decimal(value)
        except InvalidOperation:
            raise EventError(f"{where}: {value!r} is not a decimal") from None
    if tp is uuid.UUID:
        try:
            return uuid.UUID(str(value))
        except ValueError:
            raise EventError(f"{where}: {value!r} is not a UUID") from None
    if tp is datetime:
        return _datetime(value)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            raise EventError(f"{where} is not an object")
        hints = field_types(tp)
        kwargs = {
            f.name: _from_json(hints[f.name], value[f.name], f"{where}.{f.name}")
            for f in dataclasses.fields(tp)
            if f.name in value
        }
        try:
            return tp(**kwargs)
        except TypeError as exc:
            raise EventError(f"{where}: {exc}") from None
    raise TypeError(f"events cannot carry {tp!r} fields")
