import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from shop.catalog import services as catalog_services


class Command(BaseCommand):
    help = "Create demo data fast (bulk inserts). Idempotent: running it again adds nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--products", type=int, default=1000)
        parser.add_argument("--variants", type=int, default=2, help="variants per product")
        parser.add_argument("--on-hand", type=int, default=100, help="units per variant")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        report = catalog_services.catalog_seed(
            products=options["products"],
            variants_per_product=options["variants"],
            on_hand=options["on_hand"],
        )
        self.stdout.write(f"seeded in {time.perf_counter() - started:.1f}s: {report}")
