"""The stage verbs' logic: status, plan, apply, verify, rollback (the CLI only prints).

apply N   backfill -> catch up -> shadow -> gates -> flip
verify N  data parity (owner vs follower) + the behaviour suite through the proxy
rollback  the flip in reverse, with the writes made since the flip carried back

A flip hands a context from one writer to the other without a moment with two writers:

    1. freeze the old writer (its writes answer 503 + Retry-After; on PostgreSQL the freeze
       waits for the writes already in flight)
    2. drain: the old writer's outbox is published and the new writer's queue is consumed
    3. reconcile old -> new over the stage's tables (tables without events move here) and
       verify: parity is a gate, a difference stops the flip and thaws the old writer
    4. the new writer takes over; 5. the proxy's routes flip (atomic across replicas);
    6. the old writer becomes a follower of the new one's events.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import handover
from .cli_routes import AdminFailed, call, default_who
from .data import BackfillReport, VerifyReport, backfill, reconcile, verify
from .data.checkpoint import interrupted
from .plan import Hook, PlanError, Stage
from .plan import stage as plan_stage
from .processes import REPO_DIR
from .stack import Side, StackInfo

Say = Callable[[str], None]


class GateFailed(RuntimeError):
    """A gate stopped ``stage apply``: ``gate`` names it, the message says why."""

    def __init__(self, gate: str, why: str) -> None:
        self.gate = gate
        super().__init__(f"gate '{gate}' failed: {why}")


class StageRefused(RuntimeError):
    """The verb does not apply to the stack's current state (e.g. rollback of a stage not applied)."""


@dataclass
class StageState:
    stage: Stage
    applied: bool  # the service writes the context
    routes: dict[str, str]  # route key -> mode
    monolith_owner: tuple[str, bool] | None
    service_owner: tuple[str, bool] | None

    def describe(self) -> str:
        if self.stage.context is None:
            return "always (the baseline)"
        return "applied" if self.applied else "not applied"


@dataclass
class StepResult:
    stage: int
    verb: str
    seconds: float
    gates: dict[str, str] = field(default_factory=dict)  # gate -> "pass (detail)"
    notes: list[str] = field(default_factory=list)


@dataclass
class VerifyResult:
    stage: int
    parity: str  # "clean (N rows)" / "n/a" / "DIFFERS: ..."
    suite: str  # "93 passed" / "2 failed, 91 passed"
    suite_ok: bool
    parity_ok: bool
    seconds: float
    report: VerifyReport | None = None

    @property
    def ok(self) -> bool:
        return self.suite_ok and self.parity_ok


class StageRunner:
    def __init__(self, stack: StackInfo, plan: Sequence[Stage], *, say: Say = print) -> None:
        self.stack = stack
        self.plan = list(plan)
        self.say = say
        self._token: tuple[str, float] | None = None

    # --- reading the state ----------------------------------------------------------------------

    def stage(self, number: int) -> Stage:
        try:
            return plan_stage(number, self.plan)
        except PlanError as exc:
            raise StageRefused(str(exc)) from None

    def _routes(self) -> dict[str, str]:
        data = self._admin("GET", "/admin/routes")
        return {r["route"]: str(r.get("mode", "")) for r in data.get("routes", [])}

    def status(self) -> list[StageState]:
        routes = self._routes()
        states = []
        for s in self.plan:
            if s.context is None or s.service is None:
                states.append(StageState(s, True, {}, None, None))
                continue
            mono = handover.owner_of(self.stack.monolith.database_url, s.context)
            svc_side = self.stack.services.get(s.service)
            svc = handover.owner_of(svc_side.database_url, s.context) if svc_side else None
            applied = mono[0] == "service"
            states.append(
                StageState(s, applied, {r: routes.get(r, "?") for r in s.routes}, mono, svc)
            )
        return states

    # --- apply ---------------------------------------------------------------------------------

    def apply(self, number: int, *, progress: Any = None) -> StepResult:
        s = self.stage(number)
        started = time.perf_counter()
        result = StepResult(s.number, "apply", 0.0)
        if s.context is None:
            result.notes.append("stage 0 is the baseline: nothing to apply")
            result.seconds = time.perf_counter() - started
            return result
        states = {st.stage.number: st for st in self.status()}
        if states[s.number].applied:
            raise StageRefused(
                f"stage {s.number} is already applied (`stage rollback {s.number}` first)"
            )
        missing = [n for n in range(1, s.number) if not states[n].applied]
        if missing:
            raise StageRefused(f"apply stage {missing[0]} first (stages apply in order)")
        service = self.stack.side(s.service or "")
        mono = self.stack.monolith

        self._run_hooks(s.before_backfill, writer=mono)
        self.say(f"[1/5] backfill {mono.name} -> {service.name}: {len(s.tables)} tables")
        # Resume a backfill that was interrupted; otherwise start over: keys are not always
        # increasing (uuids), so rows written since a finished backfill can sit below its
        # checkpoint. Upserts make starting over safe.
        resume = interrupted(service.database_url)
        if resume:
            self.say("      resuming the interrupted backfill from its checkpoints")
        filled = backfill(
            mono.database_url, service.database_url, s.tables, progress=progress, fresh=not resume
        )
        result.notes.append(f"backfill: {_rows(filled)} rows")
        self.say(f"      {_rows(filled)} rows in {filled.seconds:.1f}s")

        self.say("[2/5] catch up: the monolith's outbox published, the service's queue consumed")
        waited = self._drain(mono, s.service or "")
        self.say(f"      caught up in {waited:.1f}s")

        self.say(f"[3/5] shadow: {', '.join(s.routes)} mirrored to {service.name}")
        rate, requests = self._shadow(s)

        self.say("[4/5] gates")
        try:
            result.gates = self._gates(s, rate, requests, mono, service)
        except GateFailed:
            self._set_routes(s, "monolith", f"stage {s.number}: a gate failed")
            raise
        for gate, outcome in result.gates.items():
            self.say(f"      {gate}: {outcome}")

        self.say(f"[5/5] flip {s.context}: {mono.name} -> {service.name}")
        try:
            rows = self._flip(s, old=mono, new=service, new_owner="service", mode="service")
        except GateFailed:
            self._set_routes(s, "monolith", f"stage {s.number}: parity failed at the freeze")
            raise
        result.gates["verify"] = f"pass ({rows} rows match at the freeze)"
        self._run_hooks(s.after_flip, writer=service)
        result.seconds = time.perf_counter() - started
        self.say(f"stage {s.number} applied in {result.seconds:.1f}s")
        return result

    # --- rollback ------------------------------------------------------------------------------

    def rollback(self, number: int) -> StepResult:
        s = self.stage(number)
        started = time.perf_counter()
        result = StepResult(s.number, "rollback", 0.0)
        if s.context is None:
            raise StageRefused("stage 0 is the baseline: there is nothing to roll back")
        states = {st.stage.number: st for st in self.status()}
        if not states[s.number].applied:
            raise StageRefused(f"stage {s.number} is not applied; nothing to roll back")
        later = [n for n, st in states.items() if n > s.number and st.applied]
        if later:
            raise StageRefused(f"roll back stage {max(later)} first (stages roll back in reverse)")
        service = self.stack.side(s.service or "")
        self.say(f"rollback stage {s.number}: {s.context} goes back to the monolith")
        self._flip(s, old=service, new=self.stack.monolith, new_owner="monolith", mode="monolith")
        self._run_hooks(s.after_flip, writer=self.stack.monolith)
        result.seconds = time.perf_counter() - started
        self.say(f"stage {s.number} rolled back in {result.seconds:.1f}s")
        return result

    # --- verify --------------------------------------------------------------------------------

    def verify(
        self, number: int, *, suite: bool = True, suite_args: Sequence[str] = ()
    ) -> VerifyResult:
        s = self.stage(number)
        started = time.perf_counter()
        parity, parity_ok, report = "n/a (nothing moved)", True, None
        if s.context is not None and s.service is not None:
            state = {st.stage.number: st for st in self.status()}[s.number]
            service = self.stack.side(s.service)
            owner, follower = (
                (service, self.stack.monolith) if state.applied else (self.stack.monolith, service)
            )
            self.say(f"parity: {owner.name} (writer) vs {follower.name} (follower)")
            # The follower lags by the events in flight: let them land before comparing.
            self._drain(owner, follower.name)
            report = verify(owner.database_url, follower.database_url, s.followed_tables)
            if s.flip_only:
                self.say(
                    f"      not compared between flips (no events, they move at the flip): "
                    f"{', '.join(sorted(s.flip_only))}"
                )
            parity_ok = report.clean
            parity = f"clean ({_rows(report)} rows)" if report.clean else "DIFFERS"
            if not report.clean:
                self.say(report.render())
        suite_text, suite_ok = ("skipped", True)
        if suite:
            suite_text, suite_ok = self.run_suite(suite_args)
        return VerifyResult(
            s.number, parity, suite_text, suite_ok, parity_ok, time.perf_counter() - started, report
        )

    def run_suite(self, extra: Sequence[str] = ()) -> tuple[str, bool]:
        """The shared behaviour suite, unchanged, against the proxy."""
        self.say(f"behaviour suite through the proxy at {self.stack.proxy_url}")
        argv = [
            sys.executable,
            "-m",
            "pytest",
            "tests/behaviour",
            "-q",
            "-p",
            "no:cacheprovider",
            "--target",
            self.stack.proxy_url,
            "--staff-email",
            self.stack.staff_email,
            "--staff-password",
            self.stack.staff_password,
            *extra,
        ]
        done = subprocess.run(argv, cwd=REPO_DIR, capture_output=True, text=True, check=False)
        summary = _pytest_summary(done.stdout)
        if done.returncode != 0:
            tail = "\n".join(done.stdout.splitlines()[-40:])
            self.say(tail)
        return summary, done.returncode == 0

    # --- the pieces ----------------------------------------------------------------------------

    def _run_hooks(self, hooks: Sequence[Hook], *, writer: Side) -> None:
        for hook in hooks:
            side = writer if hook.side == "writer" else self.stack.side(hook.side)
            shown = f"{side.name}: manage.py {' '.join(hook.command)}"
            if not side.manage:
                raise handover.HandoverFailed(
                    f"{shown}: the stack does not say how to run {side.name}'s manage.py"
                )
            argv = [
                *side.manage,
                *(
                    a.replace("{monolith_database_url}", self.stack.monolith.database_url)
                    for a in hook.command
                ),
            ]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
            if done.returncode != 0:
                raise handover.HandoverFailed(
                    f"{shown} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
                )
            self.say(f"      {shown}: done")

    def _admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return call(self.stack.admin_url, self.stack.admin_token, method, path, body)

    def _set_routes(self, s: Stage, mode: str, why: str) -> None:
        """Set the routes' mode and return once every proxy worker serves the new table."""
        generation = 0
        for route in s.routes:
            data = self._admin(
                "PUT", f"/admin/routes/{route}", {"mode": mode, "why": why, "who": default_who()}
            )
            generation = max(generation, int(data["change"]["generation"]))

        def everywhere() -> bool:
            workers = self._admin("GET", "/admin/routes").get("workers", [])
            return bool(workers) and all(int(w.get("generation", 0)) >= generation for w in workers)

        handover.wait_for(f"every proxy worker on route generation {generation}", everywhere)

    def _drain(self, writer: Side, follower_service: str) -> float:
        """Wait until ``writer``'s outbox is published and ``follower_service``'s queue is empty."""
        url, prefix = self.stack.broker_url, self.stack.eventbus_prefix
        return handover.wait_for(
            f"{writer.name}'s outbox published and {follower_service}'s queue consumed",
            lambda: (
                handover.outbox_lag(writer.database_url) == 0
                and handover.queue_depth(url, prefix, follower_service) == 0
            ),
            timeout=120,
        )

    def _shadow(self, s: Stage) -> tuple[float, int]:
        """Mirror the stage's reads to the service and count what differs, live."""
        self._set_routes(s, "shadow", f"stage {s.number}: parallel run before the flip")
        before = self._shadow_counts(s)
        token = self.staff_token()
        wanted = max(s.gates.shadow_min_requests, 1)
        sent = 0
        now = before
        # Mirrors run off the hot path, may be sampled, and each proxy worker reports its own
        # counts: keep sending reads until enough were compared (bounded), not a fixed number.
        deadline = time.monotonic() + 60
        auth = {"Authorization": f"Bearer {token}"}
        while now[0] - before[0] < wanted and time.monotonic() < deadline:
            with httpx.Client(base_url=self.stack.proxy_url, timeout=30, headers=auth) as client:
                for path in s.shadow_paths:
                    response = client.get(path)
                    if response.status_code >= 500:
                        raise GateFailed(
                            "shadow", f"the monolith answered {path} with {response.status_code}"
                        )
                    sent += 1
            if sent >= wanted:
                time.sleep(0.3)
            now = self._shadow_counts(s)
        compared = now[0] - before[0]
        mismatches = now[1] - before[1]
        rate = mismatches / compared if compared else 1.0
        self.say(f"      {sent} sent, {compared} compared, {mismatches} mismatched ({rate:.1%})")
        for sample in self._admin("GET", "/admin/shadow").get("samples", [])[-3:]:
            if sample.get("route") in s.routes:
                self.say(
                    f"      diff {sample.get('path', '')}: {sample.get('summary', sample.get('differences', ''))}"
                )
        return rate, compared

    def _shadow_counts(self, s: Stage) -> tuple[int, int]:
        routes = self._admin("GET", "/admin/shadow").get("routes", {})
        requests = sum(int(routes.get(r, {}).get("requests", 0)) for r in s.routes)
        mismatches = sum(int(routes.get(r, {}).get("mismatches", 0)) for r in s.routes)
        return requests, mismatches

    def staff_token(self) -> str:
        """A staff access token, reused for ten minutes (logins are throttled per account)."""
        if self._token and time.monotonic() - self._token[1] < 600:
            return self._token[0]
        response = httpx.post(
            self.stack.proxy_url + "/api/users/login",
            json={"email": self.stack.staff_email, "password": self.stack.staff_password},
            timeout=30,
        )
        if response.status_code != 200:
            raise GateFailed("shadow", f"cannot log the staff account in ({response.status_code})")
        token = str(response.json()["access_token"])
        self._token = (token, time.monotonic())
        return token

    def _gates(
        self, s: Stage, rate: float, requests: int, mono: Side, service: Side
    ) -> dict[str, str]:
        g = s.gates
        gates: dict[str, str] = {}
        if requests < g.shadow_min_requests:
            raise GateFailed(
                "shadow", f"only {requests} of {g.shadow_min_requests} requests were compared"
            )
        if rate > g.shadow_max_mismatch_rate:
            raise GateFailed(
                "shadow",
                f"mismatch rate {rate:.1%} > {g.shadow_max_mismatch_rate:.1%} "
                "(`curl <admin>/admin/shadow` or `strangler compare` shows the differences)",
            )
        gates["shadow"] = f"pass ({rate:.1%} of {requests} mirrored requests differ)"
        lag = handover.outbox_lag(mono.database_url)
        if lag > g.outbox_max_rows:
            raise GateFailed(
                "outbox lag", f"{lag} unpublished rows > {g.outbox_max_rows}: is the relay running?"
            )
        gates["outbox lag"] = f"pass ({lag} rows)"
        url, prefix = self.stack.broker_url, self.stack.eventbus_prefix
        depths = {n: handover.dlq_depth(url, prefix, n) for n in ("monolith", service.name)}
        if sum(depths.values()) > g.dlq_max_messages:
            raise GateFailed(
                "dlq",
                f"dead letters {depths} > {g.dlq_max_messages} (`strangler dlq list` shows them)",
            )
        gates["dlq"] = f"pass ({sum(depths.values())} messages)"
        # Parity is judged at the freeze (the flip's last gate): while the monolith still takes
        # writes, tables without events (stock movements, reservations) differ by whatever was
        # written since the backfill. Here the drift is repaired early and reported.
        repaired = reconcile(mono.database_url, service.database_url, s.tables)
        self.say(f"      drift before the freeze: {repaired.changed} rows repaired from the writer")
        return gates

    def _flip(self, s: Stage, *, old: Side, new: Side, new_owner: str, mode: str) -> int:
        """The handover; returns the rows found equal at the freeze (the verify gate)."""
        context = s.context or ""
        old_owner = "monolith" if new_owner == "service" else "service"
        why = f"stage {s.number}: {context} {old.name} -> {new.name}"
        with self._frozen(old, context, old_owner, why):
            waited = self._drain(old, new.name)
            repaired = reconcile(old.database_url, new.database_url, s.tables)
            after = repaired.after
            if s.gates.verify_clean and (after is None or not after.clean):
                raise GateFailed("verify", repaired.render())
            rows = _rows(after) if after is not None else 0
            self.say(
                f"      froze {old.name}; drained in {waited:.1f}s; reconciled "
                f"{repaired.changed} rows; parity clean ({rows} rows)"
            )
            handover.set_owner(new.database_url, context, new_owner, frozen=False, why=why)
            self._set_routes(s, mode, why)
            handover.set_owner(old.database_url, context, new_owner, frozen=False, why=why)
        return rows

    @contextmanager
    def _frozen(self, side: Side, context: str, owner: str, why: str) -> Iterator[None]:
        handover.set_owner(side.database_url, context, owner, frozen=True, why=f"{why} (freeze)")
        thawed = False
        try:
            yield
            thawed = True  # the flip set the new owner, unfrozen
        finally:
            if not thawed:  # the flip failed: the old writer writes again, nothing changed
                handover.set_owner(
                    side.database_url, context, owner, frozen=False, why=f"{why} (aborted)"
                )


def _rows(report: BackfillReport | VerifyReport) -> int:
    if isinstance(report, BackfillReport):
        return report.rows_copied
    return sum(t.first_rows for t in report.tables)


def _pytest_summary(stdout: str) -> str:
    for line in reversed(stdout.splitlines()):
        if " passed" in line or " failed" in line or " error" in line:
            return line.strip("= ").split(" in ")[0]
    return "no result"


__all__ = [
    "AdminFailed",
    "GateFailed",
    "StageRefused",
    "StageRunner",
    "StageState",
    "StepResult",
    "VerifyResult",
]
