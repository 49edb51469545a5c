"""users publishes UserRegistered/UserUpdated in the writing transaction (the outbox)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from eventbus.outbox.models import OutboxMessage
from shop.users import services

pytestmark = [pytest.mark.users, pytest.mark.django_db]

PASSWORD = "a-long-pass-phrase"


def _outbox() -> list[tuple[str, str, int, dict[str, Any]]]:
    return [
        (row.name, row.aggregate_id, row.aggregate_version, json.loads(row.body)["payload"])
        for row in OutboxMessage.objects.order_by("id")
    ]


def test_register_then_updates_publish_increasing_versions() -> None:
    user = services.user_register(email="Ann@Shop.test", password=PASSWORD, name="Ann")
    services.profile_update(user_id=user.pk, phone="+331234")
    services.staff_ensure(email="ann@shop.test", password=PASSWORD)
    events = _outbox()
    assert [(name, agg, version) for name, agg, version, _ in events] == [
        ("users.user.registered", str(user.pk), 1),
        ("users.user.updated", str(user.pk), 2),
        ("users.user.updated", str(user.pk), 3),
    ]
    registered, updated, promoted = (payload for *_, payload in events)
    assert registered == {
        "user_id": user.pk,
        "email": "ann@shop.test",
        "name": "Ann",
        "phone": "",
        "is_staff": False,
        "is_active": True,
        "date_joined": user.date_joined.isoformat(),
    }
    assert updated["phone"] == "+331234"
    assert updated["is_staff"] is False
    assert promoted["is_staff"] is True
    user.refresh_from_db()
    assert user.version == 3


def test_staff_ensure_of_a_new_account_registers_it() -> None:
    user = services.staff_ensure(email="boss@shop.test", password=PASSWORD)
    assert [(n, a, v) for n, a, v, _ in _outbox()] == [("users.user.registered", str(user.pk), 1)]
    assert _outbox()[0][3]["is_staff"] is True


def test_refused_writes_publish_nothing() -> None:
    services.user_register(email="ann@shop.test", password=PASSWORD)
    before = OutboxMessage.objects.count()
    with pytest.raises(services.EmailTaken):
        services.user_register(email="ANN@shop.test", password=PASSWORD)
    with pytest.raises(ValidationError):
        services.user_register(email="bob@shop.test", password="123")
    assert OutboxMessage.objects.count() == before == 1


def test_an_update_rolled_back_by_its_caller_leaves_no_event() -> None:
    user = services.user_register(email="ann@shop.test", password=PASSWORD)

    def update_then_fail() -> None:
        with transaction.atomic():
            services.profile_update(user_id=user.pk, name="Changed")
            raise RuntimeError("the caller fails after the update")

    with pytest.raises(RuntimeError):
        update_then_fail()
    assert [name for name, *_ in _outbox()] == ["users.user.registered"]
    user.refresh_from_db()
    assert user.version == 1
