"""The event verbs of ``strangler``: relay, consume, outbox, dlq, replay.

    strangler relay                          publish the outbox to the broker (long-running)
    strangler consume --service NAME         run one service's consumer (long-running)
    strangler outbox                         unpublished count and oldest age (= relay lag)
    strangler dlq list|show|redrive --service NAME
    strangler replay --service NAME --since 2h

They run against the same monolith as ``strangler up`` (``--var-dir``: its SQLite database
and its embedded broker folder), or whatever ``SHOP_DATABASE_URL`` / ``SHOP_BROKER_URL`` say.
``--settings`` (or ``DJANGO_SETTINGS_MODULE``) points them at another Django project, e.g. an
extracted service. ``python -m stages.cli_events ...`` runs the same commands on their own.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .processes import REPO_DIR, MonolithConfig

console = Console()
events_app = typer.Typer(
    help="Events: outbox status, dead letters, replay.", no_args_is_help=True, add_completion=False
)
dlq_app = typer.Typer(help="Dead letters of a service: list, show, redrive.", no_args_is_help=True)
events_app.add_typer(dlq_app, name="dlq")

VarDir = Annotated[
    Path, typer.Option(envvar="KIT_VAR_DIR", help="the monolith's folder (database, broker)")
]
Settings = Annotated[
    str | None,
    typer.Option(envvar="DJANGO_SETTINGS_MODULE", help="Django settings (default: the monolith's)"),
]
Service = Annotated[str, typer.Option(help="the consuming service, e.g. notifications")]
AsJson = Annotated[bool, typer.Option("--json", help="machine-readable output")]
DEFAULT_VAR_DIR = REPO_DIR / ".kit" / "demo"
MONOLITH_SETTINGS = "config.settings.base"


def _django(var_dir: Path, settings: str | None) -> None:
    """Set Django up the way the served monolith is (same database and broker)."""
    module = settings or MONOLITH_SETTINGS
    if module == MONOLITH_SETTINGS:
        cfg = MonolithConfig(
            var_dir=var_dir, database_url=os.environ.get("SHOP_DATABASE_URL", ""), port=1
        )
        os.environ.update({k: v for k, v in cfg.env().items() if k.startswith("SHOP_")})
    os.environ["DJANGO_SETTINGS_MODULE"] = module
    import django

    django.setup()


def _fail(message: str, hint: str) -> typer.Exit:
    console.print(f"[red]{message}[/red]\n{hint}")
    return typer.Exit(1)


def _when(value: str) -> datetime:
    """An ISO 8601 time, or an age like 90s, 15m, 2h, 3d (that long ago)."""
    match = re.fullmatch(r"(\d+)([smhd])", value.strip())
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match[2]]
        return datetime.now(UTC) - timedelta(**{unit: int(match[1])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: use an ISO time or an age like 15m, 2h, 3d") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


# --- long-running processes ---------------------------------------------------------------


def relay_command(
    var_dir: VarDir = DEFAULT_VAR_DIR,
    settings: Settings = None,
    batch: Annotated[int | None, typer.Option(help="outbox rows per batch")] = None,
    poll: Annotated[float | None, typer.Option(help="seconds between polls")] = None,
    metrics_port: Annotated[int | None, typer.Option(help="serve /metrics here")] = None,
    max_seconds: Annotated[float | None, typer.Option(help="stop after this long")] = None,
) -> None:
    """Publish the outbox to the broker until Ctrl+C (confirmed, in order, never lost)."""
    _django(var_dir, settings)
    from eventbus.relay import run_relay

    _logging()
    try:
        run_relay(
            batch_size=batch, poll_seconds=poll, metrics_port=metrics_port, max_seconds=max_seconds
        )
    except (KeyError, ValueError, RuntimeError) as exc:
        raise _fail(f"relay: {exc}", "Check BROKER_URL and EVENTBUS_SUBSCRIPTIONS.") from exc


def consume_command(
    service: Service,
    var_dir: VarDir = DEFAULT_VAR_DIR,
    settings: Settings = None,
    metrics_port: Annotated[int | None, typer.Option(help="serve /metrics here")] = None,
) -> None:
    """Consume one service's queue until Ctrl+C (late ack, retries, dead letters)."""
    _django(var_dir, settings)
    from eventbus.consumer import run_consumer

    _logging()
    try:
        run_consumer(service=service, metrics_port=metrics_port)
    except KeyError as exc:
        raise _fail(f"consume: {exc.args[0]}", "See docs/events.md (subscriptions).") from exc


def _logging() -> None:
    import logging
    import sys

    logging.basicConfig(
        level=os.environ.get("EVENTBUS_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stdout,
        force=True,
    )


# --- outbox -------------------------------------------------------------------------------


@events_app.command("outbox")
def outbox(
    var_dir: VarDir = DEFAULT_VAR_DIR, settings: Settings = None, as_json: AsJson = False
) -> None:
    """Outbox status: unpublished events and the age of the oldest (the relay's lag)."""
    _django(var_dir, settings)
    from django.db import DatabaseError

    from eventbus.ops import outbox_status

    try:
        status = outbox_status()
    except DatabaseError as exc:
        raise _fail(
            f"cannot read the outbox: {exc}",
            "Is the database migrated? (`strangler up` does it; or `manage.py migrate`)",
        ) from exc
    if as_json:
        _print_json(
            {
                "unpublished": status.unpublished,
                "oldest_age_seconds": round(status.oldest_age_seconds, 3),
                "oldest_unpublished_at": status.oldest_unpublished_at,
                "published": status.published,
                "last_published_at": status.last_published_at,
            }
        )
        return
    table = Table("unpublished", "oldest age", "published", "last published")
    table.add_row(
        str(status.unpublished),
        f"{status.oldest_age_seconds:.1f}s",
        str(status.published),
        str(status.last_published_at or "-"),
    )
    console.print(table)
    if status.unpublished and status.oldest_age_seconds > 60:
        console.print(
            "[yellow]events wait for more than a minute: is `strangler relay` up?[/yellow]"
        )


# --- dead letters -------------------------------------------------------------------------


@dlq_app.command("list")
def dlq_list(
    service: Service,
    var_dir: VarDir = DEFAULT_VAR_DIR,
    settings: Settings = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 100,
    as_json: AsJson = False,
) -> None:
    """Dead letters of a service, oldest first, with the error that put them there."""
    _django(var_dir, settings)
    from eventbus import ops

    letters = _guard(lambda: ops.dlq_list(service=service, limit=limit))
    if as_json:
        _print_json(
            [
                {
                    "event_id": v.event_id,
                    "name": v.name,
                    "aggregate": v.aggregate,
                    "error_type": v.error_type,
                    "error": v.error,
                    "attempts": v.attempts,
                    "failed_at": v.failed_at,
                    "redriven": v.redriven,
                }
                for v in letters
            ]
        )
        return
    if not letters:
        console.print(f"no dead letters for {service}")
        return
    table = Table("event id", "event", "aggregate", "attempts", "failed at", "error")
    for v in letters:
        table.add_row(
            v.event_id,
            v.name,
            v.aggregate,
            str(v.attempts),
            v.failed_at,
            f"{v.error_type}: {v.error}"[:80],
        )
    console.print(table)
    console.print(
        f"{len(letters)} dead letter(s). `strangler dlq redrive --service {service} --all` "
        "sends them back once the handler is fixed."
    )


@dlq_app.command("show")
def dlq_show(
    service: Service,
    event_id: Annotated[str, typer.Argument(help="the event id (from `dlq list`)")],
    var_dir: VarDir = DEFAULT_VAR_DIR,
    settings: Settings = None,
) -> None:
    """One dead letter: its headers, error and body."""
    _django(var_dir, settings)
    from eventbus import ops

    view = _guard(lambda: ops.dlq_show(service=service, event_id=event_id))
    if view is None:
        raise _fail(f"no dead letter {event_id} for {service}", "`strangler dlq list` shows them.")
    try:
        body: Any = json.loads(view.body)
    except ValueError:
        body = view.body
    _print_json(
        {"event_id": view.event_id, "name": view.name, "headers": view.headers, "body": body}
    )


@dlq_app.command("redrive")
def dlq_redrive(
    service: Service,
    event_ids: Annotated[list[str] | None, typer.Argument(help="event ids (or --all)")] = None,
    redrive_all: Annotated[bool, typer.Option("--all", help="every dead letter")] = False,
    var_dir: VarDir = DEFAULT_VAR_DIR,
    settings: Settings = None,
) -> None:
    """Send dead letters back to the service's queue (after fixing what failed)."""
    if not event_ids and not redrive_all:
        raise _fail(
            "name the event ids to redrive, or pass --all", "`strangler dlq list` shows them."
        )
    _django(var_dir, settings)
    from eventbus import ops

    sent = _guard(
        lambda: ops.dlq_redrive(service=service, event_ids=None if redrive_all else event_ids)
    )
    missing = set(event_ids or ()) - set(sent)
    console.print(f"redriven {len(sent)} dead letter(s) to {service}")
    for event_id in sent:
        console.print(f"  {event_id}")
    if missing:
        raise _fail(f"not in the dead-letter queue: {', '.join(sorted(missing))}", "")


# --- replay -------------------------------------------------------------------------------


@events_app.command("replay")
def replay(
    service: Service,
    since: Annotated[str, typer.Option(help="ISO time or age (15m, 2h, 3d)")],
    until: Annotated[str | None, typer.Option(help="ISO time or age")] = None,
    var_dir: VarDir = DEFAULT_VAR_DIR,
    settings: Settings = None,
) -> None:
    """Re-send stored events to one service from a point in time (the inbox skips repeats)."""
    start, end = _when(since), (_when(until) if until else None)
    _django(var_dir, settings)
    from eventbus import ops

    sent = _guard(lambda: ops.replay(service=service, since=start, until=end))
    console.print(f"replayed {sent} event(s) to {service} (occurred since {start.isoformat()})")


def _guard(call: Any) -> Any:
    try:
        return call()
    except KeyError as exc:
        raise _fail(str(exc.args[0]), "See EVENTBUS_SUBSCRIPTIONS in the settings.") from exc
    except OSError as exc:
        raise _fail(
            f"the broker does not answer: {exc}", "Check BROKER_URL (SHOP_BROKER_URL)."
        ) from exc


def standalone() -> typer.Typer:
    """Every event verb in one app (``python -m stages.cli_events``)."""
    app = typer.Typer(
        help="The strangler kit's event verbs.", no_args_is_help=True, add_completion=False
    )
    app.command("relay")(relay_command)
    app.command("consume")(consume_command)
    app.add_typer(events_app)
    return app


if __name__ == "__main__":
    standalone()()
