from shop.common.errors import DomainError


class UnknownSku(DomainError):
    status = 400
    code = "unknown_sku"
    title = "Unknown SKU"


class InsufficientStock(DomainError):
    status = 409
    code = "insufficient_stock"
    title = "Not enough stock"


class CurrencyMismatch(DomainError):
    status = 409
    code = "currency_mismatch"
    title = "The cart holds another currency"


class QuantityOutOfRange(DomainError):
    status = 400
    code = "validation_error"
    title = "The request is not valid"
