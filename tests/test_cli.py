"""README command (1), minus the install and the endless serving: `strangler demo --once`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow]


def test_demo_prepares_serves_and_walks_a_customer_through(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stages.cli",
            "demo",
            "--once",
            "--port",
            "0",
            "--products",
            "300",
            "--var-dir",
            str(tmp_path / "demo"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=dict(os.environ, COLUMNS="200"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for step in ("register", "log in", "browse", "checkout", "notifications"):
        assert step in out
    assert "300 products" in out  # the seed's products are served
    assert "order_placed" in out
    assert "order_paid" in out
    assert "authorize, capture" in out
    assert "/api/catalog/products" in out  # the curl line for the reader
