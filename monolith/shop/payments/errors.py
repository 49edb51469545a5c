"""payments' domain errors. Other contexts get them from ``shop.payments.services``."""

from shop.common.errors import DomainError, NotFound


class InvalidCard(DomainError):
    status = 400
    code = "invalid_card"
    title = "The card number is not valid"


class PaymentDeclined(DomainError):
    status = 402
    code = "payment_declined"
    title = "The payment was declined"


class PaymentProviderError(DomainError):
    status = 402
    code = "payment_provider_error"
    title = "The payment provider failed"


class IllegalPaymentState(DomainError):
    status = 409
    code = "illegal_payment_state"
    title = "The payment's state does not allow this"


class PaymentNotFound(NotFound):
    title = "No such payment"
