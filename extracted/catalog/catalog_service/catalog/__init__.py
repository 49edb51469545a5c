"""The catalog service's Django app (label ``catalog``): the monolith's catalog, moved out.

    views.py ─────────▶ serializers.py     the public /api/catalog/... (same contract)
    internal.py ──────▶ services.py        /internal/catalog/... for the monolith's remaining
       │                selectors.py       code (service-token auth, idempotent reserve)
    handlers.py ──────▶ follower.py        the monolith's catalog events, applied while the
                                           service is not the writer (newer versions only)

Writes go through services.py, which asks ``eventbus.ownership`` first: one writer per context.
"""
