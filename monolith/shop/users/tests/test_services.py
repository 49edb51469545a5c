from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from shop.common.auth import Principal
from shop.users import services, tokens
from shop.users.models import RevokedAccessToken

pytestmark = [pytest.mark.users, pytest.mark.django_db]

PASSWORD = "correct-horse-battery"


def test_register_hashes_the_password_and_refuses_duplicates() -> None:
    user = services.user_register(email="Ann@Shop.test", password=PASSWORD, name="Ann")
    assert user.email == "ann@shop.test"
    assert user.password != PASSWORD and user.check_password(PASSWORD)
    with pytest.raises(services.EmailTaken):
        services.user_register(email="ann@shop.test", password=PASSWORD)


def test_register_refuses_a_weak_password_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        services.user_register(email="bob@shop.test", password="12345678")
    assert "password" in caught.value.message_dict


def test_login_and_wrong_password() -> None:
    services.user_register(email="c@shop.test", password=PASSWORD)
    pair = services.user_login(email="c@shop.test", password=PASSWORD)
    assert tokens.verify(pair.access_token).email == "c@shop.test"
    with pytest.raises(services.InvalidCredentials):
        services.user_login(email="c@shop.test", password="wrong-password")
    with pytest.raises(services.InvalidCredentials):
        services.user_login(email="nobody@shop.test", password=PASSWORD)


def test_refresh_rotates_and_reuse_revokes_the_family() -> None:
    services.user_register(email="d@shop.test", password=PASSWORD)
    first = services.user_login(email="d@shop.test", password=PASSWORD)
    second = services.tokens_refresh(refresh_token=first.refresh_token)
    assert second.refresh_claims.family == first.refresh_claims.family
    with pytest.raises(services.InvalidRefreshToken, match="already used"):
        services.tokens_refresh(refresh_token=first.refresh_token)
    # The thief's replay revoked the family: the legitimate newest token is dead too.
    with pytest.raises(services.InvalidRefreshToken, match="revoked"):
        services.tokens_refresh(refresh_token=second.refresh_token)


def test_logout_revokes_refresh_family_and_access_token() -> None:
    user = services.user_register(email="e@shop.test", password=PASSWORD)
    pair = services.user_login(email="e@shop.test", password=PASSWORD)
    caller = Principal(
        id=user.pk, email=user.email, is_staff=False, token_id=pair.access_claims.jti
    )
    services.user_logout(
        caller=caller, refresh_token=pair.refresh_token, access_expires_at=pair.access_claims.exp
    )
    assert RevokedAccessToken.objects.filter(jti=pair.access_claims.jti).exists()
    with pytest.raises(services.InvalidRefreshToken):
        services.tokens_refresh(refresh_token=pair.refresh_token)


def test_logout_refuses_someone_elses_refresh_token() -> None:
    services.user_register(email="f@shop.test", password=PASSWORD)
    pair = services.user_login(email="f@shop.test", password=PASSWORD)
    stranger = Principal(id=999, email="x@shop.test", is_staff=False, token_id="zzz")
    with pytest.raises(services.InvalidRefreshToken, match="another account"):
        services.user_logout(caller=stranger, refresh_token=pair.refresh_token, access_expires_at=0)


def test_staff_ensure_is_idempotent() -> None:
    a = services.staff_ensure(email="Staff@shop.test", password=PASSWORD)
    b = services.staff_ensure(email="staff@shop.test", password=PASSWORD)
    assert a.pk == b.pk and b.is_staff
