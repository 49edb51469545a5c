"""Options shared by the kit's cross-cutting tests (behaviour suite, concurrency check).

--target URL              test a running system (env KIT_TARGET); default: start a monolith
--staff-email/--staff-password   the target's staff account (env KIT_STAFF_EMAIL/_PASSWORD)
--db sqlite|postgres      the database of a self-started monolith (env KIT_DB)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from stages.processes import DEFAULT_STAFF_EMAIL, DEFAULT_STAFF_PASSWORD


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kit", "strangler kit behaviour suite")
    group.addoption(
        "--behaviour-summary",
        default=None,
        help="write a per-behaviour table (context, test, outcome, seconds) to this file",
    )
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


# --- a readable per-behaviour summary, beside the JUnit XML --------------------------------
# `--behaviour-summary reports/<target>.md` writes one line per behaviour test (context, test,
# outcome, seconds), sorted, so the files of two targets diff side by side.

_CONTEXTS = ("users", "catalog", "cart", "orders", "payments", "notifications")
_RESULTS: dict[str, tuple[str, str, float]] = {}  # nodeid -> (context, outcome, seconds)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "tests/behaviour/" not in report.nodeid:
        return
    if report.when != "call" and report.passed:
        return  # setup/teardown that passed says nothing about the behaviour
    context = next((k for k in _CONTEXTS if k in report.keywords), "other")
    outcome = "passed" if report.passed else ("skipped" if report.skipped else "failed")
    if outcome != "passed" or report.nodeid not in _RESULTS:
        _RESULTS[report.nodeid] = (context, outcome, report.duration)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _RESULTS:
        return
    counts: dict[str, dict[str, int]] = {}
    for context, outcome, _ in _RESULTS.values():
        counts.setdefault(context, {}).setdefault(outcome, 0)
        counts[context][outcome] += 1
    terminalreporter.write_sep("-", "behaviour suite by context")
    for context in sorted(counts):
        line = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts[context].items()))
        terminalreporter.write_line(f"{context:>14}: {line}")
    path = config.getoption("behaviour_summary")
    if path:
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        rows = [
            f"| {ctx} | `{nodeid.split('::', 1)[1]}` | {outcome} | {secs:.2f} |"
            for nodeid, (ctx, outcome, secs) in sorted(
                _RESULTS.items(), key=lambda item: (item[1][0], item[0])
            )
        ]
        header = "| context | behaviour | outcome | seconds |\n| --- | --- | --- | --- |\n"
        out.write_text(header + "\n".join(rows) + "\n")
        terminalreporter.write_line(f"behaviour summary written to {out}")
