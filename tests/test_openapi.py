"""The committed OpenAPI schema (monolith/openapi.yaml) is the code's schema, to the byte.

After an API change: ``make schema`` and commit the file. The schema is also generated with
``--fail-on-warn``: every view documents its request and answers.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "monolith" / "openapi.yaml"


def test_committed_schema_matches_the_code(tmp_path: Path) -> None:
    generated = tmp_path / "openapi.yaml"
    env = dict(os.environ, SHOP_DEBUG="1", DJANGO_SETTINGS_MODULE="config.settings.local")
    env["SHOP_VAR_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--fail-on-warn", "--file", str(generated)],
        cwd=REPO / "monolith",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    diff = "".join(
        difflib.unified_diff(
            COMMITTED.read_text().splitlines(keepends=True),
            generated.read_text().splitlines(keepends=True),
            "monolith/openapi.yaml (committed)",
            "generated from the code",
        )
    )
    assert diff == "", "the API changed: run `make schema` and commit the file\n" + diff[:4000]
