"""The event benchmark runs (``bench/events/run.py --quick``) and reports every figure.

The targets (kit p99 <= 20 ms at 500 events/s; kit max >= raw kombu with a confirm per
message) depend on the machine, so they are printed, not asserted; the run must deliver every
event and produce the comparison.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eventbus.tests.harness import need, rabbitmq_lock

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.rabbitmq]


def test_the_quick_benchmark_compares_the_kit_with_raw_kombu(tmp_path: Path) -> None:
    need("postgres", "rabbitmq")
    out = tmp_path / "bench.json"
    with rabbitmq_lock(exclusive=False):
        result = subprocess.run(
            [
                sys.executable,
                str(REPO / "bench" / "events" / "run.py"),
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
    figures = json.loads(out.read_text())
    assert figures["raw_at_500"]["events"] == figures["kit_at_500"]["events"] == 2000
    assert figures["raw_max"]["events"] == figures["kit_max"]["events"] == 2000
    assert figures["kit_drain"]["events"] == 2000
    for key in ("p50_kit_over_raw", "p99_kit_over_raw", "max_kit_over_raw"):
        assert figures["ratios"][key] > 0
    assert set(figures["targets"]) == {"p99_at_500_le_20ms", "max_ge_raw_confirm_per_message"}
    assert "target p99_at_500_le_20ms:" in result.stdout
