from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    # The monolith's label: the tables are named alike (notifications_notification), so the
    # stage verbs copy and compare them by name.
    name = "notifications_service.notifications"
    label = "notifications"
    default_auto_field = "django.db.models.BigAutoField"
