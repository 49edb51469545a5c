"""JSON Schemas of the events, generated from the dataclasses and committed.

    python -m contracts.events.schemas            check: every schema is committed and unchanged
    python -m contracts.events.schemas --write    write the schemas of new events / new versions

A committed ``<name>.v<version>.json`` is never rewritten: changing an event's fields means
bumping its ``SCHEMA_VERSION`` (the old file stays for readers of the old version). The check
is also a test (``contracts/tests/test_events_schemas.py``), so drift fails CI.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import types
import typing
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from .base import Event, field_types, payload_fields, registry

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas"  # contracts/schemas
DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://strangler-kit.dev/events/"
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def file_name(cls: type[Event]) -> str:
    return f"{cls.EVENT_NAME}.v{cls.SCHEMA_VERSION}.json"


def _type_schema(tp: Any) -> dict[str, Any]:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"only `X | None` unions are supported, not {tp!r}")
        return {"anyOf": [_type_schema(args[0]), {"type": "null"}]}
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if origin is tuple:
        return {"type": "array", "items": _type_schema(get_args(tp)[0])}
    if origin in (dict, Mapping, typing.Mapping):
        return {"type": "object", "additionalProperties": _type_schema(get_args(tp)[1])}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is str:
        return {"type": "string"}
    if tp is Decimal:
        return {"type": "string", "pattern": DECIMAL_PATTERN}
    if tp is uuid.UUID:
        return {"type": "string", "format": "uuid"}
    if tp is datetime:
        return {"type": "string", "format": "date-time"}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _object_schema(tp, dataclasses.fields(tp))
    raise TypeError(f"events cannot carry {tp!r} fields")


def _object_schema(cls: type[Any], fields: Iterable[dataclasses.Field[Any]]) -> dict[str, Any]:
    hints = field_types(cls)
    fields = list(fields)
    return {
        "type": "object",
        "properties": {f.name: _type_schema(hints[f.name]) for f in fields},
        "required": [
            f.name
            for f in fields
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ],
        "additionalProperties": True,  # tolerant readers: members may be added in a new version
    }


def schema(cls: type[Event]) -> dict[str, Any]:
    """The JSON Schema of the whole message (envelope + payload) of one event version."""
    return {
        "$schema": DIALECT,
        "$id": ID_BASE + file_name(cls),
        "title": f"{cls.__name__} v{cls.SCHEMA_VERSION}",
        "type": "object",
        "properties": {
            "event_id": {"type": "string", "format": "uuid"},
            "name": {"const": cls.EVENT_NAME},
            "schema_version": {"const": cls.SCHEMA_VERSION},
            "occurred_at": {"type": "string", "format": "date-time"},
            "aggregate_type": {"const": cls.aggregate_type()},
            "aggregate_id": {"type": "string"},
            "aggregate_version": {"type": "integer", "minimum": 1},
            "payload": _object_schema(cls, payload_fields(cls)),
        },
        "required": [
            "event_id",
            "name",
            "schema_version",
            "occurred_at",
            "aggregate_type",
            "aggregate_id",
            "aggregate_version",
            "payload",
        ],
        "additionalProperties": False,
    }


def render(cls: type[Event]) -> str:
    return json.dumps(schema(cls), indent=2, sort_keys=True) + "\n"


def check(classes: Iterable[type[Event]], directory: Path = SCHEMA_DIR) -> list[str]:
    """What is wrong between the classes and the committed schemas ([] = nothing)."""
    problems = []
    for cls in classes:
        path = directory / file_name(cls)
        if not path.exists():
            problems.append(
                f"{cls.__name__}: {path.name} is not committed. A new event (or a new "
                "version): run `python -m contracts.events.schemas --write` and commit it."
            )
        elif path.read_text() != render(cls):
            problems.append(
                f"{cls.__name__} changed without a schema version bump: its fields no longer "
                f"match the committed {path.name}. Bump {cls.__name__}.SCHEMA_VERSION to "
                f"{cls.SCHEMA_VERSION + 1}, run `python -m contracts.events.schemas --write` "
                f"and commit the new file; keep {path.name} for readers of v{cls.SCHEMA_VERSION}. "
                "(Consumers ignore unknown members and default missing ones, so an added "
                "optional field is a compatible change; a removed or retyped one is not: "
                "upgrade the consumers first.)"
            )
    return problems


def write(classes: Iterable[type[Event]], directory: Path = SCHEMA_DIR) -> list[str]:
    """Write the schemas that are not committed yet; never rewrite one. Returns problems."""
    directory.mkdir(parents=True, exist_ok=True)
    problems = []
    for cls in classes:
        path = directory / file_name(cls)
        if path.exists():
            if path.read_text() != render(cls):
                problems.extend(check([cls], directory))
            continue
        path.write_text(render(cls))
        print(f"wrote {path}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.events.schemas")
    parser.add_argument("--write", action="store_true", help="write new schemas")
    parser.add_argument("--dir", type=Path, default=SCHEMA_DIR, help="schema folder")
    args = parser.parse_args(argv)
    import contracts.events  # noqa: F401 - fills the registry

    classes = registry().all()
    problems = write(classes, args.dir) if args.write else check(classes, args.dir)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{len(classes)} event schemas in {args.dir}: up to date")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
