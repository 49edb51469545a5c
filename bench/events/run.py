"""Benchmark: the kit's event path against raw kombu, on the same RabbitMQ, in one run.

    .venv/bin/python bench/events/run.py --quick     # CI: under a minute
    .venv/bin/python bench/events/run.py             # the full run (a few minutes)
    .venv/bin/python bench/events/run.py --json reports/bench-events.json

Raw kombu: a durable queue, persistent messages, a publisher confirm per message, a consumer
in another process with manual acks (prefetch 20). The kit: a business write (an account
credited, with ``publish()`` in the same PostgreSQL transaction) -> outbox -> relay (SKIP
LOCKED batches, batched confirms, LISTEN/NOTIFY) -> RabbitMQ -> consumer (inbox + version +
effect in one transaction, then ack).

Measured, for both: end-to-end lag p50/p99 at 500 events/s (raw: from before the publish to
the consumer's callback; kit: from the event's ``occurred_at``, taken inside the business
transaction, to the consumer's commit) and the maximum sustained rate (N events as fast as
the producers go, first send to last effect). Printed as ratios against raw kombu, with the
targets (kit p99 <= 20 ms at 500/s; kit max >= raw max), the machine's load and its
PostgreSQL commit latency (the fsync every durable step pays), and where the time goes.

Needs PostgreSQL (127.0.0.1:5432) and RabbitMQ (127.0.0.1:5672); exits 2 when they do not
answer.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
for root in ("migrations/src", "contracts/src", "monolith"):
    sys.path.insert(0, str(REPO / root))

RABBITMQ_URL = os.environ.get("KIT_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
TARGET_P99_MS = 20.0
LAG_RATE = 500


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def lag_figures(lags: list[float]) -> dict[str, float]:
    return {
        "n": len(lags),
        "p50_ms": round(percentile(lags, 0.50) * 1000, 2),
        "p99_ms": round(percentile(lags, 0.99) * 1000, 2),
        "max_ms": round(max(lags) * 1000, 2) if lags else float("nan"),
    }


# --- CPU accounting (Linux /proc): where the time goes -------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def rabbitmq_pid() -> int | None:
    found = subprocess.run(["pgrep", "-f", "beam.smp"], capture_output=True, text=True, check=False)
    pids = found.stdout.split()
    return int(pids[0]) if pids else None


class PostgresCPU(threading.Thread):
    """Samples the CPU of every backend connected to one database (they come and go)."""

    def __init__(self, database: str) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        import psycopg

        from stages.databases import postgres_admin_url

        with psycopg.connect(postgres_admin_url(), autocommit=True) as conn:
            while not self.done.is_set():
                rows = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.database]
                ).fetchall()
                for (pid,) in rows:
                    used = cpu_seconds(pid)
                    if used is not None:
                        self.first.setdefault(pid, 0.0 if pid not in self.last else used)
                        self.last[pid] = used
                self.done.wait(0.05)

    def reset(self) -> None:
        self.first = dict(self.last)

    def total(self) -> float:
        return sum(self.last[pid] - self.first.get(pid, 0.0) for pid in self.last)


# --- raw kombu ------------------------------------------------------------------------------


def raw_consumer(queue_name: str, expect: int, out: str) -> None:
    """Subprocess: consume ``expect`` messages with manual acks; write receive times."""
    from kombu import Connection, Consumer, Exchange, Queue

    exchange = Exchange(queue_name, type="topic", durable=True, delivery_mode=2)
    queue = Queue(queue_name, exchange, routing_key="#", durable=True)
    got: list[str] = []
    with Connection(RABBITMQ_URL) as conn:
        channel = conn.channel()
        queue(channel).declare()

        def on_message(message: Any) -> None:
            now = time.time()
            body = json.loads(message.body)
            got.append(f"{body['ts']:.6f} {now:.6f}")
            message.ack()

        with Consumer(channel, queues=[queue], on_message=on_message, prefetch_count=20):
            print("ready", flush=True)
            deadline = time.monotonic() + 600
            while len(got) < expect and time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    conn.drain_events(timeout=1)
    Path(out).write_text("\n".join(got) + "\n")
    Path(out + ".cpu").write_text(str(time.process_time()))


def raw_phase(n: int, rate: float, work: Path) -> dict[str, Any]:
    from kombu import Connection, Exchange, Producer, Queue

    name = f"bench-{uuid.uuid4().hex[:8]}.raw"
    out = work / f"{name}.times"
    exchange = Exchange(name, type="topic", durable=True, delivery_mode=2)
    queue = Queue(name, exchange, routing_key="#", durable=True)
    with Connection(RABBITMQ_URL, transport_options={"confirm_publish": True}) as conn:
        queue(conn.channel()).declare()
        consumer = subprocess.Popen(
            [sys.executable, __file__, "--raw-consumer", name, str(n), str(out)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert consumer.stdout is not None
        assert consumer.stdout.readline().strip() == "ready"
        producer = Producer(conn.channel(), exchange=exchange)
        rabbit = rabbitmq_pid()
        rabbit_before = cpu_seconds(rabbit) if rabbit else None
        cpu_before = time.process_time()
        started = time.perf_counter()
        for i in range(n):
            if rate:
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            producer.publish(
                json.dumps({"ts": time.time(), "n": i, "pad": "x" * 300}),
                routing_key="bench.raw.sent",
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
            )
        publish_seconds = time.perf_counter() - started
        producer_cpu = time.process_time() - cpu_before
        consumer.wait(600)
        rabbit_cpu = (
            (cpu_seconds(rabbit) or 0.0) - rabbit_before if rabbit and rabbit_before else 0.0
        )
        consumer.stdout.close()
        queue(conn.channel()).delete()
        exchange(conn.channel()).delete()
    times = [tuple(map(float, line.split())) for line in out.read_text().splitlines() if line]
    lags = [done - sent for sent, done in times]
    span = max(done for _, done in times) - min(sent for sent, _ in times)
    consumer_cpu = float(Path(str(out) + ".cpu").read_text())
    return {
        **lag_figures(lags),
        "events": len(times),
        "publish_per_s": round(n / publish_seconds, 1),
        "end_to_end_per_s": round(len(times) / span, 1),
        "cpu_ms_per_event": {
            "publisher": round(producer_cpu / n * 1000, 3),
            "consumer (incl. start-up)": round(consumer_cpu / n * 1000, 3),
            "rabbitmq": round(rabbit_cpu / n * 1000, 3),
        },
    }


# --- the kit --------------------------------------------------------------------------------


def kit_phase(
    stack: Any,
    n: int,
    rate: float,
    producers: int,
    threads: int,
    lag_file: Path,
    accounts_from: int,
) -> dict[str, Any]:
    lag_file.write_text("")
    consumer = stack.consumer("bench", EVENTBUS_TEST_LAG_FILE=str(lag_file))
    stack.wait_for("consumer ready", lambda: "consuming" in consumer.log(), 60)
    per = n // producers
    procs = [
        stack.producer(
            per,
            f"{accounts_from + i * 200}:{accounts_from + i * 200 + 199}",
            *(["--rate", str(rate / producers)] if rate else []),
            "--threads",
            str(threads),
            "--seed",
            str(i),
        )
        for i in range(producers)
    ]
    for proc in procs:
        proc.process.wait(900)
    produced = [json.loads(p.log().strip().splitlines()[-1]) for p in procs]
    total = per * producers
    stack.wait_for(
        f"{total} events applied",
        lambda: len(lag_file.read_text().splitlines()) >= total,
        timeout=300,
        every=0.2,
    )
    consumer.stop()
    times = [tuple(map(float, line.split()[:2])) for line in lag_file.read_text().splitlines()]
    lags = [done - occurred for occurred, done in times]
    done_sorted = sorted(done for _, done in times)
    span = done_sorted[-1] - min(occurred for occurred, _ in times)
    return {
        **lag_figures(lags),
        "events": len(times),
        "business_writes_per_s": round(
            sum(p["events"] for p in produced) / max(p["seconds"] for p in produced), 1
        ),
        "end_to_end_per_s": round(len(times) / span, 1),
        "longest_pause_ms": round(max(b - a for a, b in itertools.pairwise(done_sorted)) * 1000, 1),
    }


def drain_phase(stack: Any, n: int, lag_file: Path, accounts_from: int) -> dict[str, Any]:
    """The business writes alone (relay stopped), then the pipeline alone: N events in the
    outbox, drained by relay + consumer. CPU is counted per component on the way."""
    relay = next(p for p in stack.procs if p.name == "relay")
    relay.stop()
    postgres = PostgresCPU(stack.database_url.rsplit("/", 1)[1])
    postgres.start()
    time.sleep(0.3)
    postgres.reset()
    written = stack.produce(
        n, f"{accounts_from}:{accounts_from + 199}", "--threads", "8", "--seed", "99"
    )
    time.sleep(0.2)
    postgres_writes = postgres.total()
    lag_file.write_text("")
    consumer = stack.consumer("bench", EVENTBUS_TEST_LAG_FILE=str(lag_file))
    stack.wait_for("consumer ready", lambda: "consuming" in consumer.log(), 60, every=0.02)
    consumer_before = cpu_seconds(consumer.process.pid) or 0.0
    rabbit = rabbitmq_pid()
    rabbit_before = (cpu_seconds(rabbit) or 0.0) if rabbit else 0.0
    postgres.reset()
    relay = stack.relay()
    stack.wait_for("relay started", lambda: "relay started" in relay.log(), 60, every=0.01)
    relay_before = cpu_seconds(relay.process.pid) or 0.0
    stack.wait_for(
        f"{n} drained", lambda: len(lag_file.read_text().splitlines()) >= n, timeout=300, every=0.1
    )
    used = {
        "relay": (cpu_seconds(relay.process.pid) or 0.0) - relay_before,
        "consumer": (cpu_seconds(consumer.process.pid) or 0.0) - consumer_before,
        "postgres (relay + consumer)": postgres.total(),
        "rabbitmq": ((cpu_seconds(rabbit) or 0.0) - rabbit_before) if rabbit else 0.0,
    }
    postgres.done.set()
    consumer.stop()
    done = sorted(float(line.split()[1]) for line in lag_file.read_text().splitlines())
    return {
        "events": n,
        "business_writes_per_s": round(n / written["seconds"], 1),
        "drain_per_s": round(n / (done[-1] - done[0]), 1),
        "longest_pause_ms": round(max(b - a for a, b in itertools.pairwise(done)) * 1000, 1),
        "cpu_ms_per_event": {
            "business write: producer (incl. start-up)": round(written["cpu"] / n * 1000, 3),
            "business write: postgres": round(postgres_writes / n * 1000, 3),
            **{name: round(seconds / n * 1000, 3) for name, seconds in used.items()},
        },
    }


def commit_latency() -> dict[str, float]:
    import psycopg

    from stages.databases import postgres_admin_url

    samples = []
    with psycopg.connect(postgres_admin_url()) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe (x int)")
        conn.commit()
        for _ in range(100):
            started = time.perf_counter()
            conn.execute("INSERT INTO bench_commit_probe VALUES (1)")
            conn.commit()
            samples.append(time.perf_counter() - started)
        conn.execute("DROP TABLE bench_commit_probe")
        conn.commit()
    return {
        "p50_ms": round(percentile(samples, 0.5) * 1000, 2),
        "p99_ms": round(percentile(samples, 0.99) * 1000, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small run for CI (< 60 s)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--producers", type=int, default=1, help="producer processes (kit)")
    parser.add_argument("--threads", type=int, default=8, help="writer threads per producer")
    parser.add_argument("--raw-consumer", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_consumer:
        raw_consumer(args.raw_consumer[0], int(args.raw_consumer[1]), args.raw_consumer[2])
        return 0

    from eventbus.tests.harness import Stack, postgres_reason, rabbitmq_answers

    # Stopped with SIGTERM: still stop the processes, drop the database, delete the queues.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))

    for reason in (postgres_reason(), rabbitmq_answers()):
        if reason:
            print(f"bench/events: {reason}", file=sys.stderr)
            return 2
    lag_seconds = 4 if args.quick else 20
    max_events = 2000 if args.quick else 20000
    lag_events = LAG_RATE * lag_seconds
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="bench-events-"))
    results: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "postgres_commit": commit_latency(),
    }
    print(
        f"bench/events ({results['mode']}): {results['cores']} cores, load {results['load_average_before']}, "
        f"PostgreSQL durable commit p50 {results['postgres_commit']['p50_ms']} ms p99 {results['postgres_commit']['p99_ms']} ms"
    )

    results["raw_at_500"] = raw_phase(lag_events, LAG_RATE, work)
    print("raw kombu at 500/s:", results["raw_at_500"])
    results["raw_max"] = raw_phase(max_events, 0, work)
    print("raw kombu max:", results["raw_max"])

    stack = Stack("postgres", "rabbitmq", work / "kit", services=("bench",))
    try:
        stack.migrate()
        stack.relay()
        lag_file = work / "kit-lags.txt"
        results["kit_at_100"] = kit_phase(
            stack, 100 * lag_seconds, 100, args.producers, args.threads, lag_file, 20001
        )
        print("kit at 100/s:", results["kit_at_100"])
        results["kit_at_500"] = kit_phase(
            stack, lag_events, LAG_RATE, args.producers, args.threads, lag_file, 1
        )
        print("kit at 500/s:", results["kit_at_500"])
        results["kit_max"] = kit_phase(
            stack, max_events, 0, args.producers, args.threads, lag_file, 1001
        )
        print("kit max:", results["kit_max"])
        results["kit_drain"] = drain_phase(stack, max_events, lag_file, 5001)
        print("kit pipeline, outbox backlog drained:", results["kit_drain"])
    finally:
        stack.close()

    raw, kit = results["raw_at_500"], results["kit_at_500"]
    results["ratios"] = {
        "p50_kit_over_raw": round(kit["p50_ms"] / raw["p50_ms"], 2),
        "p99_kit_over_raw": round(kit["p99_ms"] / raw["p99_ms"], 2),
        "max_kit_over_raw": round(
            results["kit_max"]["end_to_end_per_s"] / results["raw_max"]["end_to_end_per_s"], 2
        ),
    }
    results["targets"] = {
        "p99_at_500_le_20ms": kit["p99_ms"] <= TARGET_P99_MS,
        "max_ge_raw_confirm_per_message": results["kit_max"]["end_to_end_per_s"]
        >= results["raw_max"]["end_to_end_per_s"],
    }
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    results["seconds"] = round(time.monotonic() - started, 1)

    print()
    print(f"{'':34}{'raw kombu':>14}{'kit':>14}{'kit/raw':>10}")
    print(
        f"{'lag p50 at 500/s (ms)':34}{raw['p50_ms']:>14}{kit['p50_ms']:>14}{results['ratios']['p50_kit_over_raw']:>10}"
    )
    print(
        f"{'lag p99 at 500/s (ms)':34}{raw['p99_ms']:>14}{kit['p99_ms']:>14}{results['ratios']['p99_kit_over_raw']:>10}"
    )
    print(
        f"{'max sustained (events/s)':34}{results['raw_max']['end_to_end_per_s']:>14}"
        f"{results['kit_max']['end_to_end_per_s']:>14}{results['ratios']['max_kit_over_raw']:>10}"
    )
    print(
        f"{'kit lag p50 / p99 at 100/s (ms)':34}{'':>14}"
        f"{results['kit_at_100']['p50_ms']:>7}/{results['kit_at_100']['p99_ms']}"
    )
    print(f"{'kit pipeline drain (events/s)':34}{'':>14}{results['kit_drain']['drain_per_s']:>14}")
    print(
        f"{'kit business writes alone (/s)':34}{'':>14}{results['kit_drain']['business_writes_per_s']:>14}"
    )
    print("\nCPU per event (ms), where the time goes:")
    for name, value in results["raw_max"]["cpu_ms_per_event"].items():
        print(f"  raw kombu  {name:44}{value:>8}")
    print(
        f"  raw kombu  {'total':44}{round(sum(results['raw_max']['cpu_ms_per_event'].values()), 3):>8}"
    )
    for name, value in results["kit_drain"]["cpu_ms_per_event"].items():
        print(f"  kit        {name:44}{value:>8}")
    print(
        f"  kit        {'total':44}{round(sum(results['kit_drain']['cpu_ms_per_event'].values()), 3):>8}"
    )
    for name, ok in results["targets"].items():
        print(f"target {name}: {'met' if ok else 'MISSED'}")
    print(f"done in {results['seconds']} s; load average after {results['load_average_after']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
