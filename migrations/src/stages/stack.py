"""Where a running kit lives: ``<var>/stack.json``, written by whoever started it.

The stage verbs need the same few facts whether the kit runs as local processes (``strangler
up`` / the walkthrough) or in containers: the proxy's URLs and admin token, each side's base URL
and database URL, the broker and the event-bus prefix, and a staff account. ``StackInfo`` is
that record; ``strangler stage ...`` reads it from ``--stack`` (default: the demo folder's).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .processes import DEFAULT_STAFF_EMAIL, DEFAULT_STAFF_PASSWORD


class StackMissing(RuntimeError):
    """No stack.json where one was expected; the message says how to start one."""


@dataclass
class Side:
    """The monolith or one extracted service."""

    name: str
    url: str
    database_url: str
    # How to run this side's ``manage.py``: an argv prefix (a local wrapper script, or
    # ``podman exec <container> python manage.py`` for the container stack).
    manage: list[str] = field(default_factory=list)


@dataclass
class StackInfo:
    proxy_url: str
    admin_url: str
    admin_token: str
    monolith: Side
    broker_url: str
    eventbus_prefix: str = ""
    services: dict[str, Side] = field(default_factory=dict)
    staff_email: str = DEFAULT_STAFF_EMAIL
    staff_password: str = DEFAULT_STAFF_PASSWORD

    def side(self, name: str) -> Side:
        if name == "monolith":
            return self.monolith
        try:
            return self.services[name]
        except KeyError:
            known = ", ".join(sorted(self.services)) or "none"
            raise StackMissing(f"the stack runs no {name} service (it runs: {known})") from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StackInfo:
        data = dict(data)
        data["monolith"] = Side(**data["monolith"])
        data["services"] = {k: Side(**v) for k, v in (data.get("services") or {}).items()}
        return cls(**data)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2))
        tmp.chmod(0o600)  # it holds the admin token
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> StackInfo:
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except FileNotFoundError:
            raise StackMissing(
                f"no running kit found ({path} is missing): start one with `strangler up`, "
                "or pass --stack pointing at a stack.json"
            ) from None
