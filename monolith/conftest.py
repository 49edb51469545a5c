"""Fixtures shared by the monolith's app tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shop.common.auth import Principal


@pytest.fixture(autouse=True, scope="session")
def _signing_key() -> None:
    """Every test session signs with a fresh key in its own temporary folder."""
    from shop.users import keys

    keys.ensure_key()
    keys.load_keys.cache_clear()


@pytest.fixture
def make_principal() -> Callable[..., Principal]:
    def make(user_id: int = 1, *, staff: bool = False, email: str = "") -> Principal:
        return Principal(
            id=user_id, email=email or f"user{user_id}@shop.test", is_staff=staff, token_id="t"
        )

    return make
