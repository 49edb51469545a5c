"""Start a throw-away monolith process for the tests, with the kit's own launcher.

The behaviour suite uses it when no ``--target`` is given; the concurrency test always does
(on PostgreSQL). The server is a real gunicorn process on a free port, never Django's test
client, so the tests talk HTTP exactly as they would to a remote target.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from stages.databases import postgres_answers, postgres_create, postgres_drop
from stages.processes import MonolithConfig, monolith_prepare, monolith_start


@dataclass(frozen=True)
class Launched:
    base_url: str
    staff_email: str
    staff_password: str
    database_url: str
    log_path: Path


def require_postgres() -> None:
    """Skip when PostgreSQL does not answer, with the reason; in CI nothing may skip: fail."""
    reason = postgres_answers()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def launched_monolith(
    var_dir: Path,
    *,
    db: str = "sqlite",
    extra_env: dict[str, str] | None = None,
    workers: int = 2,
    threads: int = 8,
    db_prefix: str = "kit_bt",
) -> Iterator[Launched]:
    """A prepared (migrated, staff account) and running monolith; stopped and dropped after."""
    if db not in ("sqlite", "postgres"):
        raise ValueError(f"--db must be sqlite or postgres, not {db!r}")
    database_url = ""
    if db == "postgres":
        require_postgres()
        database_url = postgres_create(db_prefix)
    try:
        cfg = MonolithConfig(
            var_dir=var_dir,
            database_url=database_url,
            workers=workers,
            threads=threads,
            extra_env=dict(extra_env or {}),
        )
        monolith_prepare(cfg)
        server = monolith_start(cfg)
        print(f"monolith at {server.base_url} ({db}); log: {server.log_path}")
        try:
            yield Launched(
                base_url=server.base_url,
                staff_email=cfg.staff_email,
                staff_password=cfg.staff_password,
                database_url=cfg.database_url,
                log_path=server.log_path,
            )
        finally:
            server.stop()
    finally:
        if database_url:
            postgres_drop(database_url)
