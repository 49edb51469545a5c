from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "eventbus.tests.app"
    label = "eventbus_testapp"
    default_auto_field = "django.db.models.BigAutoField"
