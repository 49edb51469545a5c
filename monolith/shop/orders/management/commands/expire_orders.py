import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from shop.orders import idempotency, services


class Command(BaseCommand):
    help = "Cancel pending orders whose stock hold lapsed (once, or every --loop SECONDS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", type=float, metavar="SECONDS", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        interval: float | None = options["loop"]
        while True:
            cancelled = services.orders_expire_lapsed()
            purged = idempotency.purge()
            self.stdout.write(
                f"cancelled {cancelled} lapsed order(s); purged {purged} idempotency record(s)"
            )
            if not interval:
                return
            close_old_connections()
            time.sleep(interval)
