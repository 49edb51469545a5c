"""``manage.py notifications_flush``: notify the order facts seen while this service followed
and that the owner never notified (it was frozen). The stage verbs run it right after the flip;
the consumer also does it on its next order event."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from notifications_service.notifications import services


class Command(BaseCommand):
    help = "Notify pending order facts (writer only). Prints how many were notified."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            if not services.writing():
                self.stdout.write("not the writer of notifications: nothing notified")
                return
            sent = services.pending_flush(limit=options["limit"])
        self.stdout.write(f"notified {sent} pending fact(s)")
