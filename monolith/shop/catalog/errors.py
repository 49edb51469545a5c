"""catalog's business errors. Other contexts import them from ``shop.catalog.services``."""

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
