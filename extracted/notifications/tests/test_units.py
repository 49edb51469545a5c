"""Rendering (the monolith's rules), deterministic ids, the sink's de-duplication."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from notifications_service.notifications import sink
from notifications_service.notifications.templates import render

pytestmark = pytest.mark.notifications


def test_render_fills_the_order_and_leaves_gaps_for_missing_values() -> None:
    subject, body = render(
        "order_placed", {"order_id": "o-1", "name": "Ada", "total": "12.50", "currency": "EUR"}
    )
    assert subject == "We received your order o-1"
    assert body.startswith("Hello Ada,\n\nthank you for your order o-1 of 12.50 EUR.")
    _subject, gap = render("order_paid", {"order_id": "o-2"})
    assert "payment of   for order o-2" in gap


def test_render_refuses_an_unknown_kind() -> None:
    with pytest.raises(KeyError):
        render("order_lost", {})


def message(nid: uuid.UUID, subject: str = "Hi") -> dict[str, Any]:
    return {"id": str(nid), "user_id": 7, "subject": subject, "body": "b"}


def test_sink_delivers_one_file_per_id_once(sink_dir: Path) -> None:
    nid = uuid.uuid4()
    assert sink.deliver(message(nid)) is True
    # the other side (or a retry) delivers the same fact: nobody gets it twice
    assert sink.deliver(message(nid, subject="again")) is False
    other = uuid.uuid4()
    assert sink.deliver(message(other)) is True

    got = {m["id"]: m["subject"] for m in sink.delivered(sink_dir)}
    assert got == {str(nid): "Hi", str(other): "Hi"}  # the first delivery stands
    assert not [p for p in sink_dir.iterdir() if p.name.startswith(".tmp")]


def test_sink_console_logs(settings: Any, caplog: pytest.LogCaptureFixture) -> None:
    settings.NOTIFICATIONS_SINK = "console"
    with caplog.at_level("INFO"):
        assert sink.deliver(message(uuid.uuid4())) is True
    assert '"subject": "Hi"' in caplog.text
