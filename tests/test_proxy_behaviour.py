"""The shared behaviour suite passes through the strangler proxy (every route in ``monolith``
mode) with the same results as against the monolith directly: the proxy is invisible."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from stages.processes import REPO_DIR
from strangler_proxy.testing import ProxyProcess
from tests.launch import Launched, launched_monolith

pytestmark = [pytest.mark.slow, pytest.mark.behaviour]

# As the suite's own self-started monolith (slow card, login throttle), and a per-address
# login cap high enough for two runs of the suite within one minute from one address.
MONOLITH_ENV = {
    "SHOP_PAYMENTS_SLOW_SECONDS": "0.3",
    "SHOP_LOGIN_RATE": "5/min",
    "SHOP_LOGIN_IP_RATE": "100000/min",
}


def _suite(target: str, monolith: Launched, report: Path) -> dict[str, str]:
    """Run tests/behaviour against ``target``; test id -> passed | failed | skipped."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/behaviour",
            "-q",
            "-p",
            "no:cacheprovider",
            "--target",
            target,
            "--staff-email",
            monolith.staff_email,
            "--staff-password",
            monolith.staff_password,
            f"--junitxml={report}",
        ],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert report.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        key = f"{case.get('classname')}::{case.get('name')}"
        tags = {child.tag for child in case}
        outcomes[key] = (
            "failed"
            if tags & {"failure", "error"}
            else "skipped"
            if "skipped" in tags
            else "passed"
        )
    return outcomes


def test_the_behaviour_suite_gives_the_same_results_through_the_proxy(tmp_path: Path) -> None:
    with launched_monolith(tmp_path / "monolith", extra_env=MONOLITH_ENV) as monolith:
        proxy = ProxyProcess(tmp_path / "proxy", "--monolith", monolith.base_url, "--workers", "2")
        with proxy:
            direct = _suite(monolith.base_url, monolith, tmp_path / "direct.xml")
            through = _suite(proxy.url, monolith, tmp_path / "proxy.xml")
            routes = proxy.admin("GET", "/admin/routes").json()["routes"]

    assert {r["mode"] for r in routes} == {"monolith"}
    assert len(direct) > 50
    assert list(direct.values()).count("passed") > 50
    differing = {k: (direct.get(k), through.get(k)) for k in direct.keys() | through.keys()}
    differing = {k: v for k, v in differing.items() if v[0] != v[1]}
    assert differing == {}, f"direct vs through the proxy: {differing}"
