"""``strangler stage status|plan|apply|verify|rollback``: move a context, prove it, undo it.

They act on a running kit described by ``stack.json`` (``strangler up`` writes it to its
folder; ``--stack`` or ``KIT_STACK`` point elsewhere, e.g. at the container stack's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .cli_routes import AdminFailed
from .data.errors import DataError
from .handover import HandoverFailed
from .plan import PlanError, describe, load_plan
from .plan import stage as plan_stage
from .processes import REPO_DIR
from .progress import row_bars
from .runner import GateFailed, StageRefused, StageRunner
from .stack import StackInfo, StackMissing

console = Console()
stage_app = typer.Typer(
    help="Stages: status, plan, apply, verify, rollback.",
    no_args_is_help=True,
    add_completion=False,
)
StackFile = Annotated[
    Path | None,
    typer.Option(
        "--stack", envvar="KIT_STACK", help="the running kit's stack.json (default: VAR_DIR's)"
    ),
]
VarDir = Annotated[
    Path, typer.Option(envvar="KIT_VAR_DIR", help="the folder `strangler up` runs the kit in")
]
DEFAULT_VAR_DIR = REPO_DIR / ".kit" / "demo"
Number = Annotated[int, typer.Argument(help="stage number (see `strangler stage status`)")]


def _runner(stack_file: Path | None, var_dir: Path) -> StageRunner:
    stack_file = stack_file or var_dir / "stack.json"
    try:
        return StageRunner(StackInfo.load(stack_file), load_plan(), say=console.print)
    except (StackMissing, PlanError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _guard(exc: Exception) -> typer.Exit:
    if isinstance(exc, GateFailed):
        console.print(f"[red]stopped:[/red] {exc}")
        console.print("nothing flipped: the monolith still writes; fix the cause and apply again")
        return typer.Exit(3)
    console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(2 if isinstance(exc, StageRefused) else 1)


ERRORS = (GateFailed, StageRefused, HandoverFailed, AdminFailed, DataError, StackMissing)


@stage_app.command("status")
def status(stack: StackFile = None, var_dir: VarDir = DEFAULT_VAR_DIR) -> None:
    """Every stage: applied or not, the routes' modes, who writes in each database."""
    runner = _runner(stack, var_dir)
    try:
        states = runner.status()
    except ERRORS as exc:
        raise _guard(exc) from None
    table = Table("stage", "name", "state", "routes", "monolith db says", "service db says")
    for st in states:
        table.add_row(
            str(st.stage.number),
            st.stage.name,
            st.describe(),
            ", ".join(f"{r}={m}" for r, m in st.routes.items()) or "-",
            _owner(st.monolith_owner),
            _owner(st.service_owner),
        )
    console.print(table)


def _owner(state: tuple[str, bool] | None) -> str:
    if state is None:
        return "-"
    return f"{state[0]} writes" + (" (frozen)" if state[1] else "")


@stage_app.command("plan")
def plan(number: Number) -> None:
    """What stage N changes: routes, data, event flows, gates."""
    try:
        console.print(describe(plan_stage(number)))
    except PlanError as exc:
        raise _guard(exc) from None


@stage_app.command("apply")
def apply(number: Number, stack: StackFile = None, var_dir: VarDir = DEFAULT_VAR_DIR) -> None:
    """Backfill -> catch up -> shadow -> gates -> flip. A failed gate stops before the flip."""
    runner = _runner(stack, var_dir)
    with row_bars(console, indent="      ", transient=True) as progress:
        try:
            runner.apply(number, progress=progress)
        except ERRORS as exc:
            raise _guard(exc) from None


@stage_app.command("verify")
def verify(
    number: Number,
    stack: StackFile = None,
    var_dir: VarDir = DEFAULT_VAR_DIR,
    suite: Annotated[
        bool, typer.Option(help="also run the behaviour suite through the proxy")
    ] = True,
) -> None:
    """Data parity (writer vs follower) and the behaviour suite through the proxy."""
    runner = _runner(stack, var_dir)
    try:
        result = runner.verify(number, suite=suite, suite_args=("-n", "2"))
    except ERRORS as exc:
        raise _guard(exc) from None
    console.print(f"stage {number}: parity {result.parity}; suite {result.suite}")
    if not result.ok:
        raise typer.Exit(1)


@stage_app.command("rollback")
def rollback(number: Number, stack: StackFile = None, var_dir: VarDir = DEFAULT_VAR_DIR) -> None:
    """Flip stage N back: the monolith writes again, with every write made since the flip."""
    runner = _runner(stack, var_dir)
    try:
        runner.rollback(number)
    except ERRORS as exc:
        raise _guard(exc) from None
