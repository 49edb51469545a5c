"""Domain events: small, past-tense, frozen data, the same in the monolith and every service.

    base.py            Event (envelope fields + payload fields), Envelope (as received), decode,
                       the registry of event classes by routing key
    users.py ...       one module per context; routing key <context>.<aggregate>.<event>
    schemas.py         JSON Schemas generated from the classes, committed under contracts/schemas/

    business write --publish(event)--> outbox row --relay--> topic exchange --> consumer
                                         (eventbus, Django)                  (Envelope.event())

No Django here: an extracted service reads and writes the same classes.
"""

from __future__ import annotations

from . import cart, catalog, notifications, orders, payments, users
from .base import Envelope, Event, EventError, UnknownEvent, decode, registry
from .cart import CartCleared, CartLine, CartUpdated
from .catalog import (
    ProductCreated,
    ProductUpdated,
    StockChanged,
    VariantPriceChanged,
    VariantState,
)
from .notifications import NotificationSent
from .orders import (
    OrderCancelled,
    OrderFulfilled,
    OrderLine,
    OrderPaid,
    OrderPaymentFailed,
    OrderPlaced,
    OrderRefunded,
)
from .payments import (
    PaymentAuthorized,
    PaymentCaptured,
    PaymentDeclined,
    PaymentFailed,
    PaymentRefunded,
    PaymentVoided,
)
from .users import UserRegistered, UserUpdated

__all__ = [
    "CartCleared",
    "CartLine",
    "CartUpdated",
    "Envelope",
    "Event",
    "EventError",
    "NotificationSent",
    "OrderCancelled",
    "OrderFulfilled",
    "OrderLine",
    "OrderPaid",
    "OrderPaymentFailed",
    "OrderPlaced",
    "OrderRefunded",
    "PaymentAuthorized",
    "PaymentCaptured",
    "PaymentDeclined",
    "PaymentFailed",
    "PaymentRefunded",
    "PaymentVoided",
    "ProductCreated",
    "ProductUpdated",
    "StockChanged",
    "UnknownEvent",
    "UserRegistered",
    "UserUpdated",
    "VariantPriceChanged",
    "VariantState",
    "cart",
    "catalog",
    "decode",
    "notifications",
    "orders",
    "payments",
    "registry",
    "users",
]
