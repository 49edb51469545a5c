from django.apps import AppConfig


class ServiceKitConfig(AppConfig):
    """Installed so that ``manage.py relay`` and ``manage.py consume`` exist in every service."""

    name = "servicekit"
    label = "servicekit"
    verbose_name = "service kit"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (registers the OpenAPI security scheme)
