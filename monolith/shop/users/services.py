"""users' writes. Other contexts call these (and selectors.py), never the models."""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from contracts.events import UserRegistered, UserUpdated
from eventbus.outbox import publish
from shop.common.auth import Principal

from . import tokens
from .errors import EmailTaken, InvalidCredentials, InvalidRefreshToken
from .models import RefreshToken, RevokedAccessToken, User
from .tokens import TokenPair

__all__ = [
    "EmailTaken",
    "InvalidCredentials",
    "InvalidRefreshToken",
    "TokenPair",
    "profile_update",
    "staff_ensure",
    "tokens_refresh",
    "user_login",
    "user_logout",
    "user_register",
]


def _publish(event: type[UserRegistered] | type[UserUpdated], user: User) -> None:
    """Both user events carry the whole account: one builder for the two."""
    publish(
        event(
            user_id=user.pk,
            email=user.email,
            name=user.name,
            phone=user.phone,
            is_staff=user.is_staff,
            is_active=user.is_active,
            date_joined=user.date_joined,
            aggregate_version=user.version,
        )
    )


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _store_refresh(user: User, pair: TokenPair) -> None:
    claims = pair.refresh_claims
    RefreshToken.objects.create(
        jti=claims.jti,
        family=claims.family,
        user=user,
        issued_at=_at(claims.iat),
        expires_at=_at(claims.exp),
    )


@transaction.atomic
def user_register(*, email: str, password: str, name: str = "") -> User:
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email=email).exists():
        raise EmailTaken(f"{email} is already registered.", field="email")
    candidate = User(email=email, name=name)
    try:
        password_validation.validate_password(password, candidate)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, name=name)
    except IntegrityError as exc:  # a concurrent registration won the race
        raise EmailTaken(f"{email} is already registered.", field="email") from exc
    _publish(UserRegistered, user)
    return user


def user_login(*, email: str, password: str) -> TokenPair:
    user = User.objects.filter(email=email.strip().lower(), is_active=True).first()
    if user is None:
        User().set_password(password)  # same hashing cost as a real check: no user enumeration
        raise InvalidCredentials()
    if not user.check_password(password):
        raise InvalidCredentials()
    pair = tokens.issue_pair(user_id=user.pk, email=user.email, staff=user.is_staff)
    _store_refresh(user, pair)
    return pair


def tokens_refresh(*, refresh_token: str) -> TokenPair:
    try:
        claims = tokens.verify(refresh_token, expected="refresh")
    except tokens.InvalidToken as exc:
        raise InvalidRefreshToken(str(exc)) from exc
    # The refusal is raised only after the transaction commits: revoking a family on reuse
    # must not be rolled back by the very error that reports it.
    outcome = _spend_refresh(claims.jti)
    if isinstance(outcome, InvalidRefreshToken):
        raise outcome
    return outcome


@transaction.atomic
def _spend_refresh(jti: str) -> TokenPair | InvalidRefreshToken:
    row = RefreshToken.objects.select_for_update().select_related("user").filter(jti=jti).first()
    if row is None or row.revoked_at is not None:
        return InvalidRefreshToken("The refresh token has been revoked.")
    now = timezone.now()
    if row.spent_at is not None:
        # A spent token presented again: someone holds a copy. Revoke the whole family.
        RefreshToken.objects.filter(family=row.family, revoked_at__isnull=True).update(
            revoked_at=now
        )
        return InvalidRefreshToken("The refresh token was already used; its family is revoked.")
    if not row.user.is_active:
        return InvalidRefreshToken("The account is disabled.")
    row.spent_at = now
    row.save(update_fields=["spent_at"])
    pair = tokens.issue_pair(
        user_id=row.user.pk, email=row.user.email, staff=row.user.is_staff, family=row.family
    )
    _store_refresh(row.user, pair)
    return pair


@transaction.atomic
def user_logout(*, caller: Principal, refresh_token: str, access_expires_at: int) -> None:
    try:
        claims = tokens.verify(refresh_token, expected="refresh")
    except tokens.InvalidToken as exc:
        raise InvalidRefreshToken(str(exc)) from exc
    if claims.user_id != caller.id:
        raise InvalidRefreshToken("The refresh token belongs to another account.")
    now = timezone.now()
    RefreshToken.objects.filter(family=claims.family, revoked_at__isnull=True).update(
        revoked_at=now
    )
    RevokedAccessToken.objects.get_or_create(
        jti=caller.token_id, defaults={"expires_at": _at(access_expires_at)}
    )
    # Housekeeping: revoked access tokens that have expired anyway are dead weight.
    RevokedAccessToken.objects.filter(expires_at__lt=now).delete()


@transaction.atomic
def profile_update(*, user_id: int, name: str | None = None, phone: str | None = None) -> User:
    user = User.objects.select_for_update().get(pk=user_id)
    if name is not None:
        user.name = name
    if phone is not None:
        user.phone = phone
    user.version += 1
    user.save(update_fields=["name", "phone", "version"])
    _publish(UserUpdated, user)
    return user


@transaction.atomic
def staff_ensure(*, email: str, password: str, name: str = "Staff") -> User:
    """Create (or reset) a staff account. Idempotent: used by ``seed`` and the test fixtures."""
    email = email.strip().lower()
    existing = User.objects.select_for_update().filter(email=email).first()
    user = existing or User(email=email, name=name)
    if existing is not None:
        user.version += 1
    user.is_staff = True
    user.is_active = True
    user.set_password(password)
    user.save()
    # A new account is registered; an existing one had its status (or password) reset.
    _publish(UserUpdated if existing is not None else UserRegistered, user)
    return user
