"""``python -m eventbus relay|consume --service NAME``: the long-running processes.

Django settings come from ``DJANGO_SETTINGS_MODULE`` (default: the monolith's
``config.settings.base``; its ``SHOP_*`` environment variables choose database and broker).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eventbus")
    sub = parser.add_subparsers(dest="command", required=True)
    relay = sub.add_parser("relay", help="publish the outbox to the broker")
    relay.add_argument("--batch", type=int, default=None, help="rows per batch")
    relay.add_argument("--poll", type=float, default=None, help="seconds between polls")
    relay.add_argument("--metrics-port", type=int, default=None)
    relay.add_argument("--max-seconds", type=float, default=None, help="stop after (tests)")
    consume = sub.add_parser("consume", help="consume one service's queue")
    consume.add_argument("--service", required=True)
    consume.add_argument("--metrics-port", type=int, default=None)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django

    django.setup()
    logging.basicConfig(
        level=os.environ.get("EVENTBUS_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stdout,
        force=True,
    )
    if args.command == "relay":
        from .relay import run_relay

        run_relay(
            batch_size=args.batch,
            poll_seconds=args.poll,
            metrics_port=args.metrics_port,
            max_seconds=args.max_seconds,
        )
    else:
        from .consumer import run_consumer

        run_consumer(service=args.service, metrics_port=args.metrics_port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
