"""Test-run wide setup: which database the run uses, and the rule that nothing skips in CI.

``KIT_DB=sqlite`` (default) or ``KIT_DB=postgres`` chooses the database of the monolith's unit
tests and of the live monolith the behaviour suite starts. Where PostgreSQL does not answer, a
PostgreSQL run skips with the reason; with ``CI=true`` it fails instead.
"""

from __future__ import annotations

import os

import pytest

KIT_DB = os.environ.get("KIT_DB", "sqlite")
IN_CI = os.environ.get("CI", "").lower() == "true"

_REASON = pytest.StashKey[str | None]()


def _postgres_reason() -> str | None:
    from stages.databases import postgres_answers

    return postgres_answers()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_REASON] = None
    if KIT_DB == "postgres":
        reason = _postgres_reason()
        if reason and IN_CI:
            pytest.exit(f"CI=true and {reason}", returncode=1)
        config.stash[_REASON] = reason


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = config.stash[_REASON]
    needs_pg = KIT_DB == "postgres"
    for item in items:
        if reason and (needs_pg or item.get_closest_marker("postgres")):
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_report_header(config: pytest.Config) -> str:
    return f"kit database: {KIT_DB}" + (" (CI: nothing may skip)" if IN_CI else "")
