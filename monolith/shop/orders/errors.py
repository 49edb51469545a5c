from shop.common.errors import DomainError


class IllegalTransition(DomainError):
    """Extra fields: ``from`` and ``to`` (the order's state and the one asked for)."""

    status = 409
    code = "illegal_transition"
    title = "The order's state does not allow this"


class CartEmpty(DomainError):
    status = 409
    code = "cart_empty"
    title = "The cart is empty"


class PriceChanged(DomainError):
    """Extra field: ``skus`` (whose price changed; the cart now shows the new prices)."""

    status = 409
    code = "price_changed"
    title = "A price changed"


class InvalidIdempotencyKey(DomainError):
    status = 400
    code = "validation_error"
    title = "The request is not valid"


class IdempotencyKeyReused(DomainError):
    status = 409
    code = "idempotency_key_reused"
    title = "The Idempotency-Key was used with another request"


class IdempotencyKeyInProgress(DomainError):
    status = 409
    code = "idempotency_key_in_progress"
    title = "The first request with this Idempotency-Key is still running"
