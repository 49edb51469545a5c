from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eventbus.tests.harness import need

from .shop import Dbs, drop, make


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def dbs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Dbs]:
    if request.param == "postgres":
        need("postgres")
    pair, created = make(request.param, tmp_path)
    try:
        yield pair
    finally:
        drop(created)
