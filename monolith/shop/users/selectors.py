"""users' reads for other contexts: small frozen views, never model instances."""

from __future__ import annotations

from dataclasses import dataclass

from .models import User


@dataclass(frozen=True, slots=True)
class Contact:
    user_id: int
    email: str
    name: str
    phone: str


def user_get(*, user_id: int) -> User | None:
    return User.objects.filter(pk=user_id).first()


def user_contact(*, user_id: int) -> Contact | None:
    """Where to send a message to this user (None if the account does not exist)."""
    row = User.objects.filter(pk=user_id).values("email", "name", "phone").first()
    if row is None:
        return None
    return Contact(user_id=user_id, email=row["email"], name=row["name"], phone=row["phone"])
