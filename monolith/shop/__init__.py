"""The shop monolith: one Django app per bounded context.

    users          accounts, JWT (RS256 + JWKS), profiles, staff role
    catalog        products, variants (SKUs), categories, inventory, stock reservations
    cart           one cart per user, price snapshots, server-side totals
    orders         checkout, the order state machine, idempotent checkout
    payments       simulated provider behind an interface, append-only ledger
    notifications  messages recorded and delivered to a local sink
    common         the problem+json error shape, health checks, middleware, pagination

Each context's public surface is ``services.py`` (writes) and ``selectors.py`` (reads).
Contexts call each other only through those two modules (tests/test_boundaries.py checks it),
so extracting a context means swapping them for an HTTP client with the same signatures.
"""
