from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "eventbus.outbox"
    label = "eventbus_outbox"
    verbose_name = "event outbox"
    default_auto_field = "django.db.models.BigAutoField"
