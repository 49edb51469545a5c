"""``manage.py contacts_sync --from <monolith database URL>``: copy every user's contact
(id, email, name, version) from the monolith's ``users_user`` table into this service's
contacts, for the users who registered before this service's queue existed (their
``users.user.*`` events went nowhere). Read-only on the monolith; idempotent; an event-fed
contact that is newer is kept (the version rule of services.contact_apply).

Stage 1 runs it once, after declaring the service's queue (so no user falls in between)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import environ
import psycopg
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from notifications_service.notifications import services

QUERY = "SELECT id, email, name, version FROM users_user ORDER BY id"
BATCH = 1000


def monolith_users(url: str) -> Iterator[tuple[int, str, str, int]]:
    config: dict[str, Any] = environ.Env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        with closing(sqlite3.connect(f"file:{config['NAME']}?mode=ro", uri=True)) as conn:
            yield from conn.execute(QUERY)
        return
    with (
        psycopg.connect(
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
            dbname=config["NAME"],
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
        ) as pg,
        pg.cursor(name="contacts_sync") as cursor,  # server-side: constant memory
    ):
        cursor.execute(QUERY)
        yield from cursor


class Command(BaseCommand):
    help = "Copy user contacts from the monolith's database (users_user) into this service."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="source", required=True, help="monolith database URL")

    def handle(self, *args: Any, **options: Any) -> None:
        seen = changed = 0
        batch: list[tuple[int, str, str, int]] = []
        try:
            for row in monolith_users(options["source"]):
                batch.append(row)
                if len(batch) >= BATCH:
                    changed += self._apply(batch)
                    seen, batch = seen + len(batch), []
            changed += self._apply(batch)
            seen += len(batch)
        except (sqlite3.Error, psycopg.Error) as exc:
            raise CommandError(f"reading users_user from {options['source']}: {exc}") from exc
        self.stdout.write(f"contacts: {seen} users read, {changed} contacts written")

    @staticmethod
    def _apply(rows: list[tuple[int, str, str, int]]) -> int:
        with transaction.atomic():
            return sum(
                services.contact_apply(user_id=u, email=e, name=n or "", version=v)
                for u, e, n, v in rows
            )
