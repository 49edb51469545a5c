"""/api/catalog/... is the monolith's public contract; /internal/catalog/... serves the
monolith's remaining code; health, metrics and the schema come from servicekit."""

from django.urls import include, path

from servicekit.urls import kit_urls

urlpatterns = [
    *kit_urls(),
    path("api/catalog/", include("catalog_service.catalog.urls")),
    path("internal/catalog/", include("catalog_service.catalog.internal_urls")),
]

handler400 = "servicekit.errors.handler400"
handler403 = "servicekit.errors.handler403"
handler404 = "servicekit.errors.handler404"
handler500 = "servicekit.errors.handler500"
