"""The catalog service's settings: servicekit's shape from ``CATALOG_*`` variables, plus

CATALOG_SERVICE_TOKEN            shared secret of the internal API (empty: refused)
CATALOG_RESERVATION_TTL_SECONDS  longest stock hold (900, as the monolith's)
"""

from __future__ import annotations

from servicekit.settings import ServiceEnv, service_settings

_env = ServiceEnv("catalog")

globals().update(
    service_settings(
        "catalog",
        apps=["catalog_service.catalog"],
        urlconf="catalog_service.urls",
        wsgi="catalog_service.wsgi.application",
        # The writer's catalog events (the monolith's before the flip, this service's own
        # after it, which the follower rule turns into no-ops).
        subscriptions={
            "catalog": ["catalog.product.*", "catalog.variant.*", "catalog.inventory.*"]
        },
        handlers={"catalog": ["catalog_service.catalog.handlers"]},
        title="Strangler kit catalog service",
    )
)

CATALOG_SERVICE_TOKEN = _env.text("SERVICE_TOKEN", "")
CATALOG_RESERVATION_TTL_SECONDS = _env.integer("RESERVATION_TTL_SECONDS", 900)
