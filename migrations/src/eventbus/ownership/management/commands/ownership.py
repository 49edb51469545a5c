"""``manage.py ownership show`` / ``manage.py ownership set <context> <owner> [--frozen]``."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eventbus.ownership import services


class Command(BaseCommand):
    help = "Show or change who writes a context in this database (the stage verbs use it)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        show = sub.add_parser("show", help="every context with a row, as JSON lines")
        show.add_argument("context", nargs="?", help="one context (default: all)")
        set_ = sub.add_parser("set", help="record a new writer")
        set_.add_argument("context")
        set_.add_argument("owner", choices=services.SIDES)
        set_.add_argument("--frozen", action="store_true", help="writes refused (handover)")
        set_.add_argument("--why", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "show":
            states = (
                [services.owner_of(options["context"])] if options["context"] else services.owners()
            )
        else:
            try:
                states = [
                    services.set_owner(
                        options["context"],
                        options["owner"],
                        frozen=options["frozen"],
                        why=options["why"],
                    )
                ]
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        for state in states:
            self.stdout.write(
                json.dumps(
                    {
                        "context": state.context,
                        "owner": state.owner,
                        "frozen": state.frozen,
                        "generation": state.generation,
                    }
                )
            )
