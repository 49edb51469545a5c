"""The kit's main job: the whole migration, rehearsed end to end on one machine.

Starts every process (monolith, services, relays, consumers, proxy), walks a customer through
the shop, then for each stage: plan, apply (backfill, catch up, shadow with live diffs, gates,
flip), verify (parity + the behaviour suite through the proxy), make writes on the new owner,
roll back (the writes come back with it), verify, re-apply, verify. One table at the end.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from .journey import Journey, Step
from .localstack import LocalStack
from .plan import Stage, describe
from .runner import StageRunner, StepResult, VerifyResult

Say = Callable[[str], None]


@dataclass
class Row:
    stage: str
    step: str
    gates: str
    parity: str
    suite: str
    seconds: float
    ok: bool


@dataclass
class Walkthrough:
    stack: LocalStack
    plan: Sequence[Stage]
    say: Say = print
    suite: bool = True
    suite_args: Sequence[str] = ("-n", "2")
    rows: list[Row] = field(default_factory=list)
    journey: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)

    def run(self, on_journey: Callable[[list[Step]], None] | None = None) -> list[Row]:
        runner = StageRunner(self.stack.info, self.plan, say=self.say)
        self.journey = Journey(self.stack.info.proxy_url).run()
        if on_journey is not None:
            on_journey(self.journey)
        for stage in self.plan:
            self.say(f"\n[bold]== stage {stage.number}: {stage.title} ==[/bold]")
            self.say(describe(stage))
            if stage.context is None:
                self._verify(runner, stage, "baseline", None)
                continue
            self._apply(runner, stage, "apply")
            self._verify(runner, stage, "verify", None)
            probe = self._write_on_new_owner(stage, runner.staff_token())
            rolled = runner.rollback(stage.number)
            self._verify(runner, stage, "rollback", rolled, probe=probe)
            self._apply(runner, stage, "re-apply")
            self._verify(runner, stage, "verify", None)
            self.stack.check()
        return self.rows

    def _apply(self, runner: StageRunner, stage: Stage, label: str) -> None:
        result = runner.apply(stage.number)
        passed = [k for k, v in result.gates.items() if v.startswith("pass")]
        gates = f"{len(passed)}/{len(result.gates)} pass" if result.gates else "-"
        self.rows.append(
            Row(f"{stage.number} {stage.name}", label, gates, "", "", result.seconds, True)
        )

    def _verify(
        self,
        runner: StageRunner,
        stage: Stage,
        label: str,
        step: StepResult | None,
        probe: Callable[[], str] | None = None,
    ) -> VerifyResult:
        result = runner.verify(stage.number, suite=self.suite, suite_args=self.suite_args)
        parity = result.parity
        ok = result.ok
        if probe is not None:
            seen = probe()
            parity += f"; {seen}"
            ok = ok and seen.startswith("kept")
        seconds = result.seconds + (step.seconds if step else 0.0)
        self.rows.append(
            Row(f"{stage.number} {stage.name}", label, "-", parity, result.suite, seconds, ok)
        )
        return result

    def _write_on_new_owner(self, stage: Stage, token: str) -> Callable[[], str]:
        """A write the new owner takes after the flip; after the rollback the monolith has it."""
        info = self.stack.info
        with httpx.Client(base_url=info.proxy_url, timeout=30) as client:
            auth = {"Authorization": f"Bearer {token}"}
            if stage.context == "catalog":
                slug = f"walkthrough-{uuid.uuid4().hex[:8]}"
                sku = slug.upper()
                created = client.post(
                    "/api/catalog/products",
                    headers=auth,
                    json={
                        "slug": slug,
                        "name": "Written while the service owned catalog",
                        "variants": [
                            {
                                "sku": sku,
                                "name": "one",
                                "price": "12.50",
                                "currency": "EUR",
                                "on_hand": 3,
                            }
                        ],
                    },
                )
                self.say(
                    f"      write on the catalog service: POST product {slug} -> {created.status_code}"
                    + ("" if created.status_code == 201 else f" {created.text[:300]}")
                )

                def catalog_probe() -> str:
                    seen = httpx.get(f"{info.monolith.url}/api/catalog/products/{slug}", timeout=30)
                    return (
                        f"kept {slug}"
                        if seen.status_code == 200
                        else f"LOST {slug} ({seen.status_code})"
                    )

                return catalog_probe
            # notifications: an order placed after the flip is notified by the service
            service_db = info.side(stage.service or "").database_url
            before = _notification_ids(service_db)
            Journey(info.proxy_url).run()
            deadline = time.monotonic() + 60
            while len(new := _notification_ids(service_db) - before) < 2:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            self.say(
                f"      write on the notifications service: a customer's order, {len(new)} "
                "notifications recorded by the service"
            )

            def notifications_probe() -> str:
                missing = new - _notification_ids(info.monolith.database_url)
                if not new:
                    return "LOST: the service recorded no notification"
                return f"kept {len(new)} notifications" if not missing else f"LOST {len(missing)}"

            return notifications_probe


def _notification_ids(database_url: str) -> set[str]:
    from .handover import run_sql

    sql = "SELECT id FROM notifications_notification"
    return {str(row[0]).replace("-", "") for row in run_sql(database_url, sql, sql, ())}
