from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from shop.users import keys


class Command(BaseCommand):
    help = "Manage the RS256 signing keys: --ensure (create the first), --rotate (add a new one)."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--ensure", action="store_true", help="create a key if none exists")
        group.add_argument("--rotate", action="store_true", help="add a new signing key")
        group.add_argument("--list", action="store_true", help="list key ids, newest last")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["ensure"]:
            key = keys.ensure_key()
            self.stdout.write(f"signing key {key.kid} in {keys.keys_dir()}")
        elif options["rotate"]:
            key = keys.generate_key()
            self.stdout.write(f"new signing key {key.kid}; older keys stay in the JWKS")
        else:
            for key in keys.load_keys():
                self.stdout.write(key.kid)
