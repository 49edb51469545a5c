from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from shop.users import services


class Command(BaseCommand):
    help = "Create or reset a staff account (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        user = services.staff_ensure(email=options["email"], password=options["password"])
        self.stdout.write(f"staff account {user.email} (id {user.pk})")
