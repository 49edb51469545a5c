"""The password hasher: Django's PBKDF2, with the work factor from settings."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import hashers

from shop.users.hashers import PBKDF2PasswordHasher

OURS = "shop.users.hashers.PBKDF2PasswordHasher"


@pytest.fixture
def ours(settings: Any) -> Any:
    settings.PASSWORD_HASHERS = [OURS]
    return settings


def test_the_configured_count_is_used_and_any_count_verifies(ours: Any) -> None:
    ours.PASSWORD_HASH_ITERATIONS = 1_000
    fast = hashers.make_password("a-long-pass-phrase")
    assert fast.startswith("pbkdf2_sha256$1000$")
    assert hashers.check_password("a-long-pass-phrase", fast)
    assert not hashers.check_password("another-phrase", fast)

    ours.PASSWORD_HASH_ITERATIONS = 2_000  # a stored hash keeps its count; it is re-hashed later
    hashers.get_hashers.cache_clear()  # hashers are made once per process (as in production)
    hashers.get_hashers_by_algorithm.cache_clear()
    assert hashers.check_password("a-long-pass-phrase", fast)
    assert hashers.identify_hasher(fast).must_update(fast)


def test_unset_means_django_s_default(ours: Any) -> None:
    ours.PASSWORD_HASH_ITERATIONS = 0
    assert PBKDF2PasswordHasher().iterations == hashers.PBKDF2PasswordHasher.iterations
    assert PBKDF2PasswordHasher.algorithm == "pbkdf2_sha256"  # Django's hashes, Django's name
