"""Options shared by the kit's cross-cutting tests (behaviour suite, concurrency check).

--target URL              test a running system (env KIT_TARGET); default: start a monolith
--staff-email/--staff-password   the target's staff account (env KIT_STAFF_EMAIL/_PASSWORD)
--db sqlite|postgres      the database of a self-started monolith (env KIT_DB)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from stages.processes import DEFAULT_STAFF_EMAIL, DEFAULT_STAFF_PASSWORD


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kit", "strangler kit behaviour suite")
    group.addoption(
        "--target",
        default=os.environ.get("KIT_TARGET", ""),
        help="base URL of the system under test (env KIT_TARGET); empty: start a monolith",
    )
    group.addoption(
        "--staff-email",
        default=os.environ.get("KIT_STAFF_EMAIL", ""),
        help="staff account of --target (env KIT_STAFF_EMAIL)",
    )
    group.addoption(
        "--staff-password",
        default=os.environ.get("KIT_STAFF_PASSWORD", ""),
        help="password of the staff account (env KIT_STAFF_PASSWORD)",
    )
    group.addoption(
        "--db",
        default=os.environ.get("KIT_DB", "sqlite"),
        choices=("sqlite", "postgres"),
        help="database of the self-started monolith (env KIT_DB; default sqlite)",
    )


@dataclass(frozen=True)
class KitOptions:
    target: str
    staff_email: str
    staff_password: str
    db: str


@pytest.fixture(scope="session")
def kit_options(pytestconfig: pytest.Config) -> KitOptions:
    return KitOptions(
        target=str(pytestconfig.getoption("target") or "").rstrip("/"),
        staff_email=str(pytestconfig.getoption("staff_email") or DEFAULT_STAFF_EMAIL),
        staff_password=str(pytestconfig.getoption("staff_password") or DEFAULT_STAFF_PASSWORD),
        db=str(pytestconfig.getoption("db")),
    )
