"""The backfill benchmark runs (``bench/backfill/run.py --quick``) and reports both ratios.

The targets (backfill >= 80 % of a psql COPY pipe's rows/s; verify <= 1.5x a plain md5
checksum of both tables) depend on the machine, so they are printed, not asserted; the run
itself fails (exit 1) when a result is wrong: counts differ, verify is not clean, or an
injected change goes unnoticed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eventbus.tests.harness import need

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_the_quick_benchmark_compares_backfill_and_verify_with_postgres_tools(
    tmp_path: Path,
) -> None:
    need("postgres")
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "backfill" / "run.py"),
            "--quick",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    print(result.stdout[-4000:])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ratio backfill / COPY pipe (rows/s):" in result.stdout
    assert "ratio verify / plain checksum (time):" in result.stdout
    figures = json.loads(out.read_text())
    assert figures["rows"] == 50_000
    assert set(figures["targets"]) == {"backfill_ge_0.80_pipe", "verify_le_1.5_plain"}
    assert figures["ratios"]["backfill_over_pipe"] > 0
    assert figures["ratios"]["verify_over_plain"] > 0
