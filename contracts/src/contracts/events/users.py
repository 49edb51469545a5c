"""users: account events. Aggregate ``users.user``, identified by ``user_id``."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from .base import Event


@dataclasses.dataclass(frozen=True, kw_only=True)
class UserState(Event):
    """The whole account as a follower keeps it (never the password or tokens)."""

    AGGREGATE_ID = "user_id"

    user_id: int
    email: str
    name: str
    phone: str
    is_staff: bool
    is_active: bool
    date_joined: datetime


@dataclasses.dataclass(frozen=True, kw_only=True)
class UserRegistered(UserState):
    EVENT_NAME = "users.user.registered"


@dataclasses.dataclass(frozen=True, kw_only=True)
class UserUpdated(UserState):
    """Profile or status changed (name, phone, active, staff)."""

    EVENT_NAME = "users.user.updated"
