from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "eventbus.inbox"
    label = "eventbus_inbox"
    verbose_name = "event inbox"
    default_auto_field = "django.db.models.BigAutoField"
