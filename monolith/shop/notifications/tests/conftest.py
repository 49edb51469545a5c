from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shop.users import services as users


@pytest.fixture
def sink_file(settings: Any, tmp_path: Path) -> Path:
    path = tmp_path / "nested" / "dir" / "notifications.jsonl"
    settings.NOTIFICATIONS_SINK = f"file:{path}"
    return path


@pytest.fixture
def user_id(db: None) -> int:
    user = users.user_register(
        email="ada@example.com", password="correct-horse-battery-9", name="Ada"
    )
    return int(user.pk)
