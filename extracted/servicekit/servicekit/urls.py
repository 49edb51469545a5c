"""The kit's own routes for a service's ``ROOT_URLCONF``::

    from servicekit.urls import kit_urls
    urlpatterns = [*kit_urls(), path("api/notifications", include("..."))]
    handler400 = "servicekit.errors.handler400"   # ... 403, 404, 500 likewise

``/health/live``, ``/health/ready``, ``/metrics``, ``/api/schema`` (and ``/api/schema/``, the
monolith's spelling; ``?format=json`` for JSON).
"""

from __future__ import annotations

from django.urls import URLPattern, path
from drf_spectacular.views import SpectacularAPIView

from . import health, metrics


def kit_urls() -> list[URLPattern]:
    schema = SpectacularAPIView.as_view()
    return [
        path("health/live", health.live, name="health-live"),
        path("health/ready", health.ready, name="health-ready"),
        path("metrics", metrics.metrics_view, name="metrics"),
        path("api/schema", schema, name="schema"),
        path("api/schema/", schema, name="schema-slash"),
    ]
