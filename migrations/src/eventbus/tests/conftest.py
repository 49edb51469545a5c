from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .harness import Stack, need, rabbitmq_lock

StackFactory = Callable[..., Stack]


@pytest.fixture(
    params=[
        pytest.param(("sqlite", "filesystem"), id="sqlite-filesystem"),
        pytest.param(
            ("postgres", "rabbitmq"),
            id="postgres-rabbitmq",
            marks=[pytest.mark.postgres, pytest.mark.rabbitmq],
        ),
    ]
)
def stack_kind(request: pytest.FixtureRequest) -> tuple[str, str]:
    db, broker = request.param
    if db == "postgres":
        need("postgres", "rabbitmq")
    return db, broker


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[StackFactory]:
    stacks: list[Stack] = []

    def make(db: str, broker: str, services: tuple[str, ...], **env: str) -> Stack:
        stack = Stack(
            db, broker, tmp_path / f"stack{len(stacks)}", services=services, extra_env=env
        )
        stacks.append(stack)
        stack.migrate()
        return stack

    yield make
    for stack in stacks:
        stack.close()


@pytest.fixture(autouse=True)
def _rabbitmq_shared(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("rabbitmq") is None or (
        "exclusive_rabbitmq" in request.fixturenames
    ):
        yield
        return
    with rabbitmq_lock(exclusive=False):
        yield


@pytest.fixture
def exclusive_rabbitmq() -> Iterator[None]:
    """For the test that restarts RabbitMQ: waits until no other test uses it."""
    with rabbitmq_lock(exclusive=True):
        yield
