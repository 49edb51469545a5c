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


def test_file_sink_delivers_each_id_once(settings: Any, tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    settings.NOTIFICATIONS_SINK = f"file:{path}"

    assert sink.deliver({"id": "n-1", "text": "first"}) is True
    assert sink.deliver({"id": "n-1", "text": "again, from the other side"}) is False
    assert sink.deliver({"id": "n-2"}) is True

    assert [json.loads(line) for line in path.read_text().splitlines()] == [
        {"id": "n-1", "text": "first"},
        {"id": "n-2"},
    ]


def test_file_sink_failure_leaves_the_id_free_for_the_redelivery(
    settings: Any, tmp_path: Path
) -> None:
    path = tmp_path / "out.jsonl"
    path.mkdir()  # appending to a folder fails
    settings.NOTIFICATIONS_SINK = f"file:{path}"
    with pytest.raises(OSError):
        sink.deliver({"id": "n-1"})
    path.rmdir()

    assert sink.deliver({"id": "n-1"}) is True


def test_dir_sink_writes_one_file_per_id_once(settings: Any, tmp_path: Path) -> None:
    folder = tmp_path / "sink"
    settings.NOTIFICATIONS_SINK = f"dir:{folder}"

    assert sink.deliver({"id": "n-1", "text": "first"}) is True
    assert sink.deliver({"id": "n-1", "text": "second"}) is False

    assert [p.name for p in folder.iterdir()] == ["n-1.json"]
    assert json.loads((folder / "n-1.json").read_text()) == {"id": "n-1", "text": "first"}


@pytest.mark.parametrize("bad", ["../escape", ".hidden", "a/b"])
def test_an_id_that_is_not_a_file_name_is_refused(settings: Any, tmp_path: Path, bad: str) -> None:
    settings.NOTIFICATIONS_SINK = f"dir:{tmp_path}"
    with pytest.raises(sink.SinkError):
        sink.deliver({"id": bad})
