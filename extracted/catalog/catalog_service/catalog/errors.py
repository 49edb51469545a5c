"""The catalog service's business errors: the monolith's catalog errors, same status and
``code`` (clients and the behaviour suite key on them), plus the internal API's own."""

from servicekit.errors import DomainError, NotFound

__all__ = [
    "DomainError",
    "IdempotencyConflict",
    "InsufficientStock",
    "InvalidInput",
    "NotFound",
    "OutOfStock",
    "ReservationExpired",
    "SkuTaken",
    "SlugTaken",
    "UnknownSku",
]


class OutOfStock(DomainError):
    """A reservation could not take every line; nothing was reserved.
    Extra fields: ``sku``, ``available``, ``requested``."""

    status = 409
    code = "out_of_stock"
    title = "Not enough stock"


class InsufficientStock(DomainError):
    """A cart line or a stock adjustment exceeds what is available."""

    status = 409
    code = "insufficient_stock"
    title = "Not enough stock"


class ReservationExpired(DomainError):
    status = 409
    code = "reservation_expired"
    title = "The stock hold has lapsed"


class UnknownSku(DomainError):
    status = 400
    code = "unknown_sku"
    title = "No such SKU"


class SlugTaken(DomainError):
    status = 409
    code = "slug_taken"
    title = "That slug is already in use"


class SkuTaken(DomainError):
    status = 409
    code = "sku_taken"
    title = "That SKU already exists"


class InvalidInput(DomainError):
    """A rule the serializers cannot check alone (e.g. an unknown category): 400, one field."""

    status = 400
    code = "validation_error"
    title = "The request is not valid"


class IdempotencyConflict(DomainError):
    """A reserve retry whose idempotency key names a reservation with other lines or owner."""

    status = 409
    code = "idempotency_conflict"
    title = "The idempotency key was used for another request"
