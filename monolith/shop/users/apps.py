from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "shop.users"
    label = "users"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (registers the OpenAPI security scheme)
