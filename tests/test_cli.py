"""README command (1), minus the install: `strangler demo`, the whole walkthrough, on the
embedded default (SQLite files and a broker folder: no server)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow]


def test_the_walkthrough_applies_verifies_rolls_back_and_reapplies_every_stage(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stages.cli",
            "demo",
            "--port",
            "0",
            "--products",
            "300",
            "--var-dir",
            str(tmp_path / "demo"),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
        env=dict(os.environ, COLUMNS="200", KIT_DB="sqlite"),
    )
    out = result.stdout
    assert result.returncode == 0, out[-6000:] + result.stderr[-3000:]
    # the customer's journey through the proxy, before anything moved
    for step in ("register", "log in", "browse", "checkout", "notifications"):
        assert step in out
    assert "300 products" in out
    assert "authorize, capture" in out
    # every stage: the steps, in order, each with its verdict
    table = _table(out)
    assert [(row[0], row[1]) for row in table] == [
        ("0 monolith", "baseline"),
        ("1 notifications", "apply"),
        ("1 notifications", "verify"),
        ("1 notifications", "rollback"),
        ("1 notifications", "re-apply"),
        ("1 notifications", "verify"),
        ("2 catalog", "apply"),
        ("2 catalog", "verify"),
        ("2 catalog", "rollback"),
        ("2 catalog", "re-apply"),
        ("2 catalog", "verify"),
    ]
    gates = [row[2] for row in table if row[1] in ("apply", "re-apply")]
    assert gates == ["4/4 pass"] * 4  # shadow, outbox lag, dead letters, verify
    parity = [row[3] for row in table if row[1] not in ("apply", "re-apply")]
    assert parity[0] == "n/a (nothing moved)"
    assert all(re.match(r"clean \(\d+ rows\)", p) for p in parity[1:]), parity
    assert re.search(r"kept \d+ notifications", parity[2])  # written on the service, kept
    assert re.search(r"kept walkthrough-[0-9a-f]{8}", parity[5])
    suites = [row[4] for row in table if row[1] not in ("apply", "re-apply")]
    assert all(re.fullmatch(r"\d+ passed", s) for s in suites), suites  # at every verify


def _table(out: str) -> list[list[str]]:
    """The final table's logical rows (a cell that wraps continues on lines with no stage)."""
    rows: list[list[str]] = []
    for line in out.split("The migration, rehearsed", 1)[1].splitlines():
        if not line.startswith("│"):
            continue
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        if cells[0] or not rows:
            rows.append(cells)
        else:
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
    return [row for row in rows if row[0] != "stage"]
