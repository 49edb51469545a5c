"""``manage.py consume <service>``: one service's queue -> its handlers
(eventbus.consumer.run_consumer, the code ``python -m eventbus consume`` runs)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from .relay import event_logging


class Command(BaseCommand):
    help = "Consume one service's queue until SIGTERM/Ctrl+C (late ack, retries, dead letters)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("service", help="the consuming service, e.g. notifications")
        parser.add_argument("--metrics-port", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        from eventbus.consumer import run_consumer

        event_logging()
        run_consumer(service=options["service"], metrics_port=options["metrics_port"])
