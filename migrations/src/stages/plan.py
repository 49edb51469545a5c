"""The staged plan, as data: ``migrations/plan/stage-<n>-<name>.yaml``, parsed into records.

A stage names the context that moves, the service that takes it, the proxy routes that flip,
the tables that move (parents first), who publishes and who follows each event flow before and
after the flip, and the gates a flip must pass. ``strangler stage plan N`` prints it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .data.spec import TableSpec
from .processes import REPO_DIR

PLAN_DIR = REPO_DIR / "migrations" / "plan"


class PlanError(ValueError):
    """A stage file that does not describe a stage; the message names the file and field."""


@dataclass(frozen=True)
class Gates:
    shadow_min_requests: int = 0
    shadow_max_mismatch_rate: float = 0.0
    outbox_max_rows: int = 0
    dlq_max_messages: int = 0
    verify_clean: bool = True


@dataclass(frozen=True)
class Flow:
    publisher: str
    events: tuple[str, ...]
    follower: str

    def describe(self) -> str:
        return f"{self.publisher} publishes {', '.join(self.events)} -> {self.follower}"


@dataclass(frozen=True)
class Hook:
    """A management command a side runs at a point of ``stage apply`` / ``rollback``.

    ``side`` is ``monolith``, the stage's service, or ``writer`` (whichever side writes the
    context once the flip is done: the service after apply, the monolith after rollback).
    ``{monolith_database_url}`` in ``command`` is replaced by the monolith's database URL."""

    side: str
    command: tuple[str, ...]


@dataclass(frozen=True)
class Stage:
    number: int
    name: str
    title: str
    context: str | None
    service: str | None
    routes: tuple[str, ...]
    shadow_paths: tuple[str, ...]
    tables: tuple[TableSpec, ...]
    before: tuple[Flow, ...]
    after: tuple[Flow, ...]
    gates: Gates
    source: Path
    before_backfill: tuple[Hook, ...] = ()
    after_flip: tuple[Hook, ...] = ()
    # Tables no event carries (``follow: flip``): they move at the flip's reconcile only, so
    # between flips the follower's copy of them is stale by design and verify skips them.
    flip_only: frozenset[str] = frozenset()

    @property
    def followed_tables(self) -> tuple[TableSpec, ...]:
        """The tables a follower keeps current from events: what parity means between flips."""
        return tuple(t for t in self.tables if t.name not in self.flip_only)


def _need(data: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise PlanError(f"{where}: '{key}' must be a {kind.__name__}, got {value!r}")
    return value


def _flows(raw: Any, where: str) -> tuple[Flow, ...]:
    flows = []
    for i, item in enumerate(raw or ()):
        at = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise PlanError(f"{at}: a flow is a mapping (publisher, events, follower/consumer)")
        follower = item.get("follower", item.get("consumer"))
        if not isinstance(follower, str):
            raise PlanError(f"{at}: 'follower' (or 'consumer') must name a side")
        flows.append(
            Flow(
                publisher=str(_need(item, "publisher", str, at)),
                events=tuple(str(e) for e in _need(item, "events", list, at)),
                follower=follower,
            )
        )
    return tuple(flows)


def _hooks(raw: Any, where: str) -> tuple[Hook, ...]:
    hooks = []
    for i, item in enumerate(raw or ()):
        at = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise PlanError(f"{at}: a hook is a mapping (side, command)")
        command = _need(item, "command", str, at)
        hooks.append(Hook(side=str(_need(item, "side", str, at)), command=tuple(command.split())))
    return tuple(hooks)


def _gates(raw: Any, where: str) -> Gates:
    raw = raw or {}
    shadow = raw.get("shadow") or {}
    return Gates(
        shadow_min_requests=int(shadow.get("min_requests", 0)),
        shadow_max_mismatch_rate=float(shadow.get("max_mismatch_rate", 0.0)),
        outbox_max_rows=int((raw.get("outbox_lag") or {}).get("max_rows", 0)),
        dlq_max_messages=int((raw.get("dlq") or {}).get("max_messages", 0)),
        verify_clean=raw.get("verify", "clean") == "clean",
    )


def parse_stage(data: Any, source: Path) -> Stage:
    where = str(source)
    if not isinstance(data, Mapping):
        raise PlanError(f"{where}: a stage file is a mapping")
    context = data.get("context")
    tables = []
    flip_only = set()
    for i, item in enumerate(data.get("data") or ()):
        at = f"{where}: data[{i}]"
        table = TableSpec(
            name=str(_need(item, "table", str, at)), key=str(_need(item, "key", str, at))
        )
        tables.append(table)
        follow = item.get("follow", "events")
        if follow not in ("events", "flip"):
            raise PlanError(f"{at}: 'follow' is 'events' or 'flip', not {follow!r}")
        if follow == "flip":
            flip_only.add(table.name)
    events = data.get("events") or {}
    if not isinstance(events, Mapping):
        events = {}
    stage = Stage(
        number=int(_need(data, "stage", int, where)),
        name=str(_need(data, "name", str, where)),
        title=str(_need(data, "title", str, where)),
        context=str(context) if context else None,
        service=str(data["service"]) if data.get("service") else None,
        routes=tuple(str(r) for r in data.get("routes") or ()),
        shadow_paths=tuple(str(p) for p in data.get("shadow_paths") or ()),
        tables=tuple(tables),
        before=_flows(events.get("before"), f"{where}: events.before"),
        after=_flows(events.get("after"), f"{where}: events.after"),
        gates=_gates(data.get("gates"), where),
        source=source,
        before_backfill=_hooks(
            (data.get("hooks") or {}).get("before_backfill"), f"{where}: hooks.before_backfill"
        ),
        flip_only=frozenset(flip_only),
        after_flip=_hooks(
            (data.get("hooks") or {}).get("after_flip"), f"{where}: hooks.after_flip"
        ),
    )
    if stage.context and (not stage.service or not stage.routes or not stage.tables):
        raise PlanError(f"{where}: a stage that moves a context names its service, routes, data")
    return stage


def load_plan(directory: Path = PLAN_DIR) -> list[Stage]:
    """Every stage, in order; numbers must run 0, 1, 2... without gaps."""
    stages = [
        parse_stage(yaml.safe_load(path.read_text(encoding="utf-8")), path)
        for path in sorted(directory.glob("stage-*.yaml"))
    ]
    stages.sort(key=lambda s: s.number)
    numbers = [s.number for s in stages]
    if numbers != list(range(len(stages))):
        raise PlanError(f"{directory}: stage numbers must be 0..{len(stages) - 1}, got {numbers}")
    return stages


def stage(number: int, stages: Sequence[Stage] | None = None) -> Stage:
    stages = load_plan() if stages is None else stages
    for s in stages:
        if s.number == number:
            return s
    raise PlanError(f"there is no stage {number} (the plan has 0..{len(stages) - 1})")


def describe(s: Stage) -> str:
    """What a stage changes, for `strangler stage plan` and the walkthrough."""
    lines = [f"stage {s.number}: {s.title}  ({s.source.relative_to(REPO_DIR)})"]
    if s.context is None:
        lines.append("  nothing moves: every route goes to the monolith (the baseline)")
        return "\n".join(lines)
    lines.append(f"  context {s.context} moves to the {s.service} service")
    lines.append(f"  routes that flip: {', '.join(s.routes)} (monolith -> shadow -> service)")
    lines.append("  data that moves (parents first):")
    lines += [
        f"    - {t.name} (key {t.key})"
        + (": no events, moves at the flip" if t.name in s.flip_only else "")
        for t in s.tables
    ]
    lines.append("  events before the flip:")
    lines += [f"    - {f.describe()}" for f in s.before]
    lines.append("  events after the flip:")
    lines += [f"    - {f.describe()}" for f in s.after]
    for label, hooks in (
        ("before the backfill", s.before_backfill),
        ("after the flip", s.after_flip),
    ):
        lines += [f"  {label}: {h.side} runs `manage.py {' '.join(h.command)}`" for h in hooks]
    g = s.gates
    lines.append(
        "  gates: shadow mismatch rate <= "
        f"{g.shadow_max_mismatch_rate:.1%} after >= {g.shadow_min_requests} requests; "
        f"outbox lag <= {g.outbox_max_rows}; DLQ depth <= {g.dlq_max_messages}; "
        + ("verify clean" if g.verify_clean else "verify advisory")
    )
    return "\n".join(lines)
