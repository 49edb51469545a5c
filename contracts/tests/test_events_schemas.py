"""The committed JSON Schemas: up to date, never rewritten, and a drift fails a test."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
import types
import typing
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import jsonschema
import pytest

from contracts.events import Event, OrderPlaced, registry
from contracts.events import schemas as gen
from contracts.events.base import field_types, payload_fields

SCHEMA_DIR = gen.SCHEMA_DIR
REPO = SCHEMA_DIR.parents[1]
EVENTS = registry().all()


def test_every_event_schema_is_committed_and_matches_its_class() -> None:
    problems = gen.check(EVENTS)
    assert problems == [], "\n".join(problems)


def test_no_committed_schema_is_orphaned() -> None:
    current = {gen.file_name(cls) for cls in EVENTS}
    names = {cls.EVENT_NAME for cls in EVENTS}
    for path in SCHEMA_DIR.glob("*.json"):
        name, _, rest = path.name.rpartition(".v")
        # Older versions of a live event stay (readers of that version), other files must not.
        assert path.name in current or name in names, f"{path.name}: no such event; remove it?"
        assert rest.removesuffix(".json").isdigit(), path.name


def _changed_order_placed() -> type[Event]:
    """OrderPlaced with one more field and the same SCHEMA_VERSION: a forgotten bump."""

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class OrderPlaced_(OrderPlaced, register=False):
        EVENT_NAME = OrderPlaced.EVENT_NAME
        coupon: str

    OrderPlaced_.__name__ = "OrderPlaced"
    return OrderPlaced_


def test_changing_fields_without_a_version_bump_fails_and_says_what_to_do() -> None:
    drifted = _changed_order_placed()
    problems = gen.check([drifted])
    assert len(problems) == 1
    assert problems[0].startswith(
        "OrderPlaced changed without a schema version bump: its fields no longer match the "
        "committed orders.order.placed.v1.json. Bump OrderPlaced.SCHEMA_VERSION to 2, run "
        "`python -m contracts.events.schemas --write`"
    )


def test_bumping_the_version_is_the_fix(tmp_path: Path) -> None:
    shutil.copy(SCHEMA_DIR / "orders.order.placed.v1.json", tmp_path)
    drifted = _changed_order_placed()
    drifted.SCHEMA_VERSION = 2
    assert gen.check([drifted], tmp_path)[0].startswith(
        "OrderPlaced: orders.order.placed.v2.json is not committed"
    )
    assert gen.write([drifted], tmp_path) == []
    assert gen.check([drifted], tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "orders.order.placed.v1.json",
        "orders.order.placed.v2.json",
    ]
    assert (
        "coupon"
        in json.loads((tmp_path / "orders.order.placed.v2.json").read_text())["properties"][
            "payload"
        ]["required"]
    )


def test_the_generator_never_rewrites_a_committed_schema(tmp_path: Path) -> None:
    committed = (SCHEMA_DIR / "orders.order.placed.v1.json").read_text()
    (tmp_path / "orders.order.placed.v1.json").write_text(committed)
    problems = gen.write([_changed_order_placed()], tmp_path)
    assert len(problems) == 1
    assert "without a schema version bump" in problems[0]
    assert (tmp_path / "orders.order.placed.v1.json").read_text() == committed


def test_the_generator_command_checks_by_default() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "contracts.events.schemas"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(": up to date")


def test_committed_schema_files_are_not_edited_in_place() -> None:
    """A version's schema is immutable once committed (git HEAD is the reference)."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    changed = []
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        rel = path.relative_to(REPO).as_posix()
        head = subprocess.run(
            ["git", "show", f"HEAD:{rel}"], cwd=REPO, capture_output=True, text=True, check=False
        )
        if head.returncode == 0 and head.stdout != path.read_text():
            changed.append(rel)
    assert changed == [], (
        f"committed schemas changed in place (bump the version instead): {changed}"
    )


# --- every event validates against its own schema -----------------------------------------


def _sample(tp: Any, name: str) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return _sample(next(a for a in get_args(tp) if a is not type(None)), name)
    if origin is Literal:
        return get_args(tp)[0]
    if origin is tuple:
        return (_sample(get_args(tp)[0], name),)
    if origin in (dict, typing.Mapping) or str(origin) == "<class 'collections.abc.Mapping'>":
        return {"size": "M"}
    if tp is bool:
        return True
    if tp is int:
        return 3
    if tp is str:
        return f"{name}-x"
    if tp is Decimal:
        return Decimal("12.50")
    if tp is uuid.UUID:
        return uuid.UUID(int=5)
    if tp is datetime:
        return datetime(2025, 1, 1, tzinfo=UTC)
    if dataclasses.is_dataclass(tp):
        hints = field_types(tp)
        return tp(**{f.name: _sample(hints[f.name], f.name) for f in dataclasses.fields(tp)})
    raise TypeError(tp)


def sample(cls: type[Event]) -> Event:
    hints = field_types(cls)
    values = {f.name: _sample(hints[f.name], f.name) for f in payload_fields(cls)}
    return cls(aggregate_version=4, **values)


@pytest.mark.parametrize("cls", EVENTS, ids=[cls.EVENT_NAME for cls in EVENTS])
def test_each_event_validates_against_its_committed_schema(cls: type[Event]) -> None:
    committed = json.loads((SCHEMA_DIR / gen.file_name(cls)).read_text())
    validator = jsonschema.Draft202012Validator(
        committed, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    wire = json.loads(sample(cls).to_json())
    assert list(validator.iter_errors(wire)) == []
    wire["payload"].pop(next(iter(committed["properties"]["payload"]["required"])))
    assert [e.message for e in validator.iter_errors(wire)] != []
