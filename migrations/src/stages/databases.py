"""Throw-away databases for demos and tests: a SQLite file, or a fresh PostgreSQL database."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

DEFAULT_POSTGRES_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def postgres_admin_url() -> str:
    return os.environ.get("KIT_POSTGRES_ADMIN_URL", DEFAULT_POSTGRES_ADMIN_URL)


def postgres_answers(admin_url: str | None = None, timeout: int = 2) -> str | None:
    """None when PostgreSQL answers, else the reason it does not (for skip messages)."""
    try:
        with psycopg.connect(admin_url or postgres_admin_url(), connect_timeout=timeout) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL does not answer at {admin_url or postgres_admin_url()}: {exc}".strip()
    return None


def _with_database(url: str, name: str) -> str:
    return re.sub(r"/[^/?]*(\?|$)", f"/{name}\\1", url.split("://", 1)[1], count=1).join(
        [url.split("://", 1)[0] + "://", ""]
    )


def postgres_create(prefix: str, admin_url: str | None = None) -> str:
    """Create an empty database named ``<prefix>_<random>``; return its URL."""
    admin = admin_url or postgres_admin_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _with_database(admin, name)


def postgres_drop(url: str, admin_url: str | None = None) -> None:
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    with psycopg.connect(admin_url or postgres_admin_url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def sqlite_url(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"
