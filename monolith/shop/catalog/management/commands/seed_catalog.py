import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from shop.catalog import services


class Command(BaseCommand):
    help = "Insert the demo catalog (idempotent: only missing products and SKUs are added)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--products", type=int, default=1000)
        parser.add_argument("--variants-per-product", type=int, default=2)
        parser.add_argument("--on-hand", type=int, default=100)

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        report = services.catalog_seed(
            products=options["products"],
            variants_per_product=options["variants_per_product"],
            on_hand=options["on_hand"],
        )
        self.stdout.write(
            f"created {report.categories} categories, {report.products} products, "
            f"{report.variants} variants, {report.inventories} inventory rows "
            f"in {time.perf_counter() - started:.1f}s"
        )
