"""Start a mutant process in front of a live monolith, and stop it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stages.processes import REPO_DIR, Server, free_port

from .mutations import MUTATIONS


@contextmanager
def running_mutant(upstream: str, mutation: str, log_dir: Path) -> Iterator[Server]:
    """A mutant on a free port, ready (its /health/live answers through it), stopped after."""
    if mutation not in MUTATIONS:
        raise ValueError(f"unknown mutation {mutation!r} (known: {', '.join(sorted(MUTATIONS))})")
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"mutant-{mutation}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.mutants.proxy",
                "--upstream",
                upstream,
                "--mutation",
                mutation,
                "--port",
                str(port),
            ],
            cwd=REPO_DIR,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(f"mutant {mutation}", f"http://127.0.0.1:{port}", process, log_path)
    try:
        server.wait_ready("/health/live", timeout=30.0)
        yield server
    finally:
        server.stop()
