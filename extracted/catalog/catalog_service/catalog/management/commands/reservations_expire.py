import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from catalog_service.catalog import services


class Command(BaseCommand):
    help = (
        "Release stock reservations whose hold has lapsed (once, or every --loop seconds). "
        "Does nothing while the service is not the catalog writer."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loop",
            type=float,
            default=0,
            metavar="SECONDS",
            help="keep running, sweeping every SECONDS (default: sweep once and exit)",
        )
        parser.add_argument("--limit", type=int, default=1000, help="most releases per sweep")

    def handle(self, *args: Any, **options: Any) -> None:
        interval: float = options["loop"]
        limit: int = options["limit"]
        try:
            while True:
                released = services.reservations_expire(limit=limit)
                self.stdout.write(f"released {released} lapsed reservation(s)")
                if interval <= 0:
                    return
                if released < limit:  # a full sweep may have left more: then go again at once
                    close_old_connections()
                    time.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("stopped")
