"""orders: checkout, the order state machine, idempotent checkout and payment.

    views.py        /api/orders: list, checkout, detail, pay, cancel, fulfil (staff)
    idempotency.py  the Idempotency-Key protocol around checkout and pay (replay, 409s)
    services.py     checkout, order_pay, order_cancel, order_fulfil, orders_expire_lapsed
    state.py        the explicit state machine: TRANSITIONS, transition() + history
    selectors.py    order_get_for_user, orders_for_user
    models.py       Order 1-* OrderLine, 1-* OrderStatusChange; IdempotencyRecord

Checkout runs in short transactions: cart -> catalog reservation -> order (pending_payment),
then payments.authorize with no transaction open, then one transaction that confirms the hold,
commits the reservation, captures and marks the order paid. Siblings are reached only through
their services/selectors (cart, catalog, payments, notifications).
"""
