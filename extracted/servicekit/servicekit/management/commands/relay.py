"""``manage.py relay``: this service's outbox -> the broker (eventbus.relay.run_relay, the code
``python -m eventbus relay`` and ``strangler relay`` run)."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


def event_logging() -> None:
    logging.basicConfig(
        level=os.environ.get("EVENTBUS_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stdout,
        force=True,
    )


class Command(BaseCommand):
    help = "Publish this service's outbox to the broker until SIGTERM/Ctrl+C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=None, help="rows per batch")
        parser.add_argument("--poll", type=float, default=None, help="seconds between polls")
        parser.add_argument("--metrics-port", type=int, default=None)
        parser.add_argument("--max-seconds", type=float, default=None, help="stop after (tests)")

    def handle(self, *args: Any, **options: Any) -> None:
        from eventbus.relay import run_relay

        event_logging()
        run_relay(
            batch_size=options["batch"],
            poll_seconds=options["poll"],
            metrics_port=options["metrics_port"],
            max_seconds=options["max_seconds"],
        )
