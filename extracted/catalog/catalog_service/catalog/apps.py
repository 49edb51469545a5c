from django.apps import AppConfig


class CatalogConfig(AppConfig):
    # Label "catalog": the tables are named exactly as in the monolith (catalog_product, ...)
    # so the backfill engine copies them table by table.
    name = "catalog_service.catalog"
    label = "catalog"
    default_auto_field = "django.db.models.BigAutoField"
