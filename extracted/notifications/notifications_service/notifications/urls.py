from django.urls import path

from . import views

# Included under "api/notifications" (no trailing slash), as in the monolith.
urlpatterns = [
    path("", views.NotificationListView.as_view(), name="notifications-list"),
]
