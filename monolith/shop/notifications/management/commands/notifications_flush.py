"""``manage.py notifications_flush``: notify the order facts the monolith kept while it did not
write notifications and that nobody notified (the writer was frozen: a rollback's freeze). The
stage verbs run it on the new writer right after a flip; ``notification_send`` also flushes on
its next call. Idempotent: a fact is notified once, then dropped."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from shop.notifications import selectors, services


class Command(BaseCommand):
    help = "Notify pending order facts (only while the monolith writes notifications)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit", type=int, default=1000, help="facts per run (oldest first; default 1000)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        limit: int = options["limit"]
        if limit < 1:
            raise CommandError("--limit must be at least 1")
        # One transaction: the notifications commit together, then each is delivered.
        with transaction.atomic():
            if not services.is_writer():
                self.stdout.write(
                    "the monolith does not write notifications now: nothing notified "
                    "(the facts stay pending for the writer's events or a later flush)"
                )
                return
            created = services.pending_flush(limit=limit)
            left = selectors.pending_count()
        self.stdout.write(f"notified {created} pending fact(s); {left} still pending")
