"""/api/notifications (the monolith's contract) plus servicekit's health, metrics, schema."""

from django.urls import include, path

from servicekit.urls import kit_urls

urlpatterns = [
    *kit_urls(),
    path("api/notifications", include("notifications_service.notifications.urls")),
]

handler400 = "servicekit.errors.handler400"
handler403 = "servicekit.errors.handler403"
handler404 = "servicekit.errors.handler404"
handler500 = "servicekit.errors.handler500"
