"""catalog's business errors. Other contexts import them from ``shop.catalog.services``."""

from typing import Any

from shop.common.errors import DomainError


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


class CatalogUnavailable(DomainError):
    """The catalog service (which owns catalog now) could not be reached, kept failing, or its
    circuit is open. After a timeout the call's outcome is unknown, so callers only retry what
    is idempotent; a client may retry the request after ``retry_after`` seconds (sent as the
    Retry-After header)."""

    status = 503
    code = "catalog_unavailable"
    title = "The catalog is unavailable"

    def __init__(self, detail: str = "", *, retry_after: int = 1, **extra: Any) -> None:
        wait = max(1, retry_after)
        super().__init__(detail, retry_after=wait, **extra)
        self.retry_after = wait
