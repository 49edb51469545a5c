from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from shop.notifications import sink

pytestmark = [pytest.mark.notifications]


def test_file_sink_creates_folders_and_appends_json_lines(settings: Any, tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "out.jsonl"
    settings.NOTIFICATIONS_SINK = f"file:{path}"

    sink.deliver({"n": 1, "text": "héllo\nworld"})
    sink.deliver({"n": 2})

    raw = path.read_text(encoding="utf-8")
    assert raw.endswith("\n")
    assert [json.loads(line) for line in raw.splitlines()] == [
        {"n": 1, "text": "héllo\nworld"},
        {"n": 2},
    ]


@pytest.mark.parametrize("spec", ["", "file:", "smtp://localhost", "Console"])
def test_unknown_sink_is_a_configuration_error(settings: Any, spec: str) -> None:
    settings.NOTIFICATIONS_SINK = spec
    with pytest.raises(ImproperlyConfigured):
        sink.deliver({"n": 1})
