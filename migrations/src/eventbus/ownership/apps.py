from django.apps import AppConfig


class OwnershipConfig(AppConfig):
    name = "eventbus.ownership"
    label = "eventbus_ownership"
    verbose_name = "data ownership"
    default_auto_field = "django.db.models.BigAutoField"
