"""Every command in docs/ is run, so the docs cannot rot.

Each fenced block whose info string is ``sh`` is one step; the blocks of a page run in order,
in one temporary kit home (``KIT_VAR_DIR``), with ``.venv/bin`` first on PATH and the repository
as the working directory. The address ``127.0.0.1:8000`` in a page is swapped for a free port.
A page can mark a block ``sh skip-test`` only with a reason on the fence line, e.g. a command
that installs software on the reader's machine.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stages.processes import free_port

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted((REPO / "docs").glob("*.md"))
FENCE = re.compile(r"^```sh(?P<info>[^\n]*)\n(?P<body>.*?)^```", re.M | re.S)


def blocks(page: Path) -> list[str]:
    found = []
    for match in FENCE.finditer(page.read_text()):
        info = match["info"].strip()
        if info.startswith("skip-test"):
            assert len(info) > len("skip-test") + 5, f"{page.name}: skip-test needs a reason"
            continue
        found.append(match["body"])
    return found


RUNNABLE = [page for page in DOCS if blocks(page)]


def test_fence_parser() -> None:
    sample = "x\n```sh\necho one\n```\n```sh skip-test installs packages\napt-get x\n```\n"
    page = REPO / "reports" / "sample-doc.md"
    page.parent.mkdir(exist_ok=True)
    page.write_text(sample)
    try:
        assert blocks(page) == ["echo one\n"]
    finally:
        page.unlink()


@pytest.mark.slow
@pytest.mark.parametrize("page", RUNNABLE, ids=[page.name for page in RUNNABLE])
def test_every_command_in_the_page_runs(page: Path, tmp_path: Path) -> None:
    port = str(free_port())
    env = dict(os.environ)
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
            "KIT_VAR_DIR": str(tmp_path / "kit"),
            "KIT_PORT": port,
            "COLUMNS": "160",
        }
    )
    try:
        for number, body in enumerate(blocks(page), 1):
            script = body.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
            result = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert result.returncode == 0, (
                f"{page.name} block {number} failed ({result.returncode}):\n{script}\n"
                f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
            )
    finally:
        subprocess.run(["strangler", "down"], env=env, cwd=REPO, capture_output=True, check=False)
