"""Benchmark: the same Django backend direct, behind NGINX and behind the strangler proxy.

    .venv/bin/python bench/proxy/run.py            # full: 10 s runs, 3 rounds, medians
    .venv/bin/python bench/proxy/run.py --quick    # CI: one round of short runs, < 60 s

One run starts everything itself: the monolith (gunicorn gthread, keep-alive, seeded), a
second monolith process on the same database (the shadow candidate), NGINX (upstream
keep-alive, written config, non-daemon child in a temp dir) and a strangler proxy replica;
then measures with wrk, round-robin so that the machine's noise hits every contestant alike:

    throughput at 32 connections         target: proxy >= 80 % of NGINX
    proxy CPU per request                target: <= 150 us   (/proc/<pid>/stat utime+stime
                                                               of supervisor + workers, over
                                                               the 32-connection run)
    added p50 latency at 1 connection    target: <= 0.3 ms   (p50 through - p50 direct)
    shadow on vs off, user-facing p50    target: <= 1.10x    (1 connection; mirrors to the
                                                               candidate and diffs answers)

Needs the Debian packages ``nginx-light`` (or ``nginx``) and ``wrk``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "migrations" / "src"), str(REPO / "strangler-proxy" / "src")]

from stages.processes import MonolithConfig, Server, free_port, monolith_prepare, monolith_start  # noqa: E402
from strangler_proxy.testing import ProxyProcess  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
TARGETS = {"throughput_ratio": 0.80, "cpu_us": 150.0, "added_p50_ms": 0.30, "shadow_ratio": 1.10}

NGINX_CONF = """\
worker_processes {workers};
daemon off;
master_process on;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {dir}/access.log combined buffer=64k flush=1s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream backend {{
        server {backend};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Request-Id $request_id;
        }}
    }}
}}
"""


def need(tool: str, package: str) -> str:
    path = shutil.which(tool) or (
        f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").exists() else None
    )
    if not path:
        sys.exit(
            f"bench/proxy: `{tool}` is not installed; install the Debian package: apt-get install -y {package}"
        )
    return path


# --- wrk ----------------------------------------------------------------------------------------


@dataclass
class Run:
    rps: float
    p50_ms: float
    requests: int
    errors: int
    cpu_us: float | None = None


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime (all threads)
    return total


def wrk(
    wrk_bin: str, url: str, connections: int, seconds: float, pids: list[int] | None = None
) -> Run:
    before = cpu_ticks(pids) if pids else 0
    out = subprocess.run(
        [wrk_bin, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    after = cpu_ticks(pids) if pids else 0
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    cpu = (after - before) / CLK_TCK * 1e6 / requests if pids and requests else None
    return Run(rps, p50, requests, errors, cpu)


# --- contestants --------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def start_nginx(
    nginx_bin: str, backend: str, workers: int, work: Path
) -> tuple[subprocess.Popen[bytes], str]:
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(workers=workers, dir=work, backend=backend, port=port))
    process = subprocess.Popen(
        [nginx_bin, "-c", str(conf), "-p", str(work), "-e", str(work / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"nginx exited: {(work / 'error.log').read_text()[-2000:]}")
        try:
            httpx.get(url + "/health/live", timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    sys.exit("nginx did not start")


RECORDED_APP = """\
import json
STATUS, HEADERS, BODY = json.load(open({path!r}))
HEADERS = [(k.encode(), v.encode()) for k, v in HEADERS]
BODY = BODY.encode()


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({{"type": "http.response.start", "status": STATUS, "headers": HEADERS}})
    await send({{"type": "http.response.body", "body": BODY}})
"""


def start_recorded(origin: str, path: str, work: Path) -> tuple[Server, str]:
    """A candidate that answers every request with the monolith's recorded answer to
    ``path``: the proxy's own shadow work is measured, not a second Django on these cores."""
    work.mkdir(parents=True, exist_ok=True)
    answer = httpx.get(origin + path)
    keep = ("content-type", "content-length")
    record = [answer.status_code, [(k, v) for k, v in answer.headers.items() if k in keep]]
    (work / "answer.json").write_text(json.dumps([*record, answer.text]))
    (work / "recorded.py").write_text(RECORDED_APP.format(path=str(work / "answer.json")))
    port = free_port()
    log = work / "candidate.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "recorded:app",
            "--app-dir",
            str(work),
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    server = Server("candidate", f"http://127.0.0.1:{port}", process, log)
    server.wait_ready(path)
    return server, server.base_url


@dataclass
class Round:
    direct_32: Run
    nginx_32: Run
    proxy_32: Run
    direct_1: Run
    nginx_1: Run
    proxy_1: Run
    shadow_off_1: Run
    shadow_1: Run
    shadow_outcomes: dict[str, float] = field(default_factory=dict)


def set_mode(proxy: ProxyProcess, route: str, mode: str) -> None:
    response = proxy.admin("PUT", f"/admin/routes/{route}", json={"mode": mode, "why": "bench"})
    response.raise_for_status()
    generation = response.json()["change"]["generation"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        workers = proxy.admin("GET", "/admin/routes").json()["workers"]
        if workers and all(w["generation"] >= generation for w in workers):
            return
        time.sleep(0.02)


def shadow_outcomes(proxy: ProxyProcess) -> dict[str, float]:
    time.sleep(1.2)
    outcomes: dict[str, float] = {}
    for line in proxy.admin("GET", "/metrics").text.splitlines():
        match = re.match(
            r'strangler_shadow_total\{outcome="(\w+)",route="catalog"\} ([\d.e+]+)', line
        )
        if match:
            outcomes[match.group(1)] = float(match.group(2))
    return outcomes


def one_round(
    wrk_bin: str,
    path: str,
    seconds: float,
    direct: str,
    nginx: tuple[str, list[int]],
    proxy: ProxyProcess,
    *,
    warm: float,
    shadow_path: str,
) -> Round:
    """One measurement of everything; ``warm`` seconds of load before each contestant's
    32-connection run (0: none)."""
    nginx_url, nginx_pids = nginx
    contestants = (
        ("direct", direct, None),
        ("nginx", nginx_url, nginx_pids),
        ("proxy", proxy.url, proxy.pids()),
    )
    results: dict[str, Run] = {}
    for name, base, pids in contestants:
        if warm:
            wrk(wrk_bin, base + path, 32, warm)
        results[f"{name}_32"] = wrk(wrk_bin, base + path, 32, seconds, pids)
    for name, base, pids in contestants:
        results[f"{name}_1"] = wrk(wrk_bin, base + path, 1, seconds, pids)
    # Shadow on vs off, on a catalog read (the route that gets mirrored), back to back.
    results["shadow_off_1"] = wrk(wrk_bin, proxy.url + shadow_path, 1, seconds, proxy.pids())
    set_mode(proxy, "catalog", "shadow")
    try:
        results["shadow_1"] = wrk(wrk_bin, proxy.url + shadow_path, 1, seconds, proxy.pids())
        outcomes = shadow_outcomes(proxy)
    finally:
        set_mode(proxy, "catalog", "monolith")
    return Round(**results, shadow_outcomes=outcomes)


# --- report -------------------------------------------------------------------------------------


def summarize(rounds: list[Round]) -> dict[str, float]:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    out = {
        "direct_rps": med([r.direct_32.rps for r in rounds]),
        "nginx_rps": med([r.nginx_32.rps for r in rounds]),
        "proxy_rps": med([r.proxy_32.rps for r in rounds]),
        "nginx_cpu_us": med([r.nginx_32.cpu_us or 0 for r in rounds]),
        "proxy_cpu_us": med([r.proxy_32.cpu_us or 0 for r in rounds]),
        "direct_p50_ms": med([r.direct_1.p50_ms for r in rounds]),
        "nginx_p50_ms": med([r.nginx_1.p50_ms for r in rounds]),
        "proxy_p50_ms": med([r.proxy_1.p50_ms for r in rounds]),
        "shadow_p50_ms": med([r.shadow_1.p50_ms for r in rounds]),
        "shadow_off_p50_ms": med([r.shadow_off_1.p50_ms for r in rounds]),
        "proxy_cpu_us_1conn": med([r.proxy_1.cpu_us or 0 for r in rounds]),
        "shadow_cpu_us_1conn": med([r.shadow_1.cpu_us or 0 for r in rounds]),
        "errors": sum(
            run.errors
            for r in rounds
            for run in (
                r.direct_32,
                r.nginx_32,
                r.proxy_32,
                r.direct_1,
                r.nginx_1,
                r.proxy_1,
                r.shadow_off_1,
                r.shadow_1,
            )
        ),
    }
    out["throughput_ratio"] = out["proxy_rps"] / out["nginx_rps"]
    out["cpu_ratio"] = (
        out["proxy_cpu_us"] / out["nginx_cpu_us"] if out["nginx_cpu_us"] else float("nan")
    )
    out["nginx_added_p50_ms"] = out["nginx_p50_ms"] - out["direct_p50_ms"]
    out["proxy_added_p50_ms"] = out["proxy_p50_ms"] - out["direct_p50_ms"]
    out["shadow_ratio"] = out["shadow_p50_ms"] / out["shadow_off_p50_ms"]
    return out


def report(s: dict[str, float], rounds: int, seconds: float, path: str, shadow_path: str) -> str:
    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    lines = [
        f"strangler proxy benchmark: GET {path}, {rounds} round(s) of {seconds:g} s runs, medians",
        "",
        f"{'':34}{'direct':>10}{'nginx':>10}{'strangler':>11}   target",
        f"{'throughput @32 conns (req/s)':34}{s['direct_rps']:>10.0f}{s['nginx_rps']:>10.0f}{s['proxy_rps']:>11.0f}"
        f"   proxy/nginx {s['throughput_ratio']:.2f} >= {TARGETS['throughput_ratio']:.2f}  {mark(s['throughput_ratio'] >= TARGETS['throughput_ratio'])}",
        f"{'proxy CPU per request (us)':34}{'-':>10}{s['nginx_cpu_us']:>10.0f}{s['proxy_cpu_us']:>11.0f}"
        f"   <= {TARGETS['cpu_us']:.0f} us  {mark(s['proxy_cpu_us'] <= TARGETS['cpu_us'])}  (x{s['cpu_ratio']:.1f} nginx)",
        f"{'p50 @1 conn (ms)':34}{s['direct_p50_ms']:>10.3f}{s['nginx_p50_ms']:>10.3f}{s['proxy_p50_ms']:>11.3f}",
        f"{'added p50 @1 conn (ms)':34}{'-':>10}{s['nginx_added_p50_ms']:>+10.3f}{s['proxy_added_p50_ms']:>+11.3f}"
        f"   <= +{TARGETS['added_p50_ms']:.2f} ms  {mark(s['proxy_added_p50_ms'] <= TARGETS['added_p50_ms'])}",
        f"{'shadow on / off, p50 @1 conn':34}{'':>10}{'':>10}{s['shadow_ratio']:>10.2f}x"
        f"   <= {TARGETS['shadow_ratio']:.2f}x  {mark(s['shadow_ratio'] <= TARGETS['shadow_ratio'])}"
        f"  ({s['shadow_p50_ms']:.3f} vs {s['shadow_off_p50_ms']:.3f} ms)",
        "",
        f"shadow measured on GET {shadow_path}; errors (non-2xx, socket): {s['errors']:.0f}",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one round of 3 s runs (CI)")
    parser.add_argument("--seconds", type=float, default=None, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (medians are reported)")
    parser.add_argument("--path", default="/api/catalog/products/seed-000001", help="what to GET")
    parser.add_argument(
        "--shadow-path",
        default="/api/catalog/products/seed-000001",
        help="a catalog read for the shadow on/off comparison",
    )
    parser.add_argument(
        "--candidate",
        choices=("recorded", "monolith"),
        default="recorded",
        help="the shadow candidate: the monolith's recorded answer, served by a tiny ASGI app "
        "(as a service on another host would cost this one nothing), or a second monolith "
        "process on these same cores",
    )
    parser.add_argument("--workers", type=int, default=1, help="proxy and nginx worker processes")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, configs)")
    args = parser.parse_args()
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    rounds = args.rounds or (1 if args.quick else 3)

    wrk_bin = need("wrk", "wrk")
    nginx_bin = need("nginx", "nginx-light (or nginx)")
    work = Path(tempfile.mkdtemp(prefix="bench-proxy-"))
    servers: list[Server] = []
    nginx: subprocess.Popen[bytes] | None = None
    proxy: ProxyProcess | None = None
    started = time.monotonic()
    try:
        cfg = MonolithConfig(var_dir=work / "monolith", workers=2, threads=8)
        print(f"preparing the monolith in {work} ...", flush=True)
        monolith_prepare(cfg, seed_products=20)
        servers.append(monolith_start(cfg))
        if args.candidate == "monolith":
            candidate_cfg = MonolithConfig(
                var_dir=work / "monolith", database_url=cfg.database_url, workers=1, threads=8
            )
            servers.append(monolith_start(candidate_cfg))
            candidate_url = candidate_cfg.base_url
        else:
            candidate, candidate_url = start_recorded(
                cfg.base_url, args.shadow_path, work / "candidate"
            )
            servers.append(candidate)
        backend = f"{cfg.host}:{cfg.port}"
        nginx, nginx_url = start_nginx(nginx_bin, backend, args.workers, work / "nginx")
        nginx_pids = [nginx.pid, *children(nginx.pid)]
        proxy = ProxyProcess(
            work / "proxy",
            "--monolith",
            cfg.base_url,
            "--upstream",
            f"catalog={candidate_url}",
            "--workers",
            str(args.workers),
        ).start()
        if httpx.get(cfg.base_url + args.path).status_code != 200:
            sys.exit(f"GET {args.path} does not answer 200 on the monolith")
        print(
            f"monolith {cfg.base_url}, candidate ({args.candidate}) {candidate_url}, "
            f"nginx {nginx_url}, "
            f"proxy {proxy.url} (pids {proxy.pids()}); {rounds} round(s) of {seconds:g} s",
            flush=True,
        )
        results = []
        for n in range(rounds):
            results.append(
                one_round(
                    wrk_bin,
                    args.path,
                    seconds,
                    cfg.base_url,
                    (nginx_url, nginx_pids),
                    proxy,
                    warm=1.0 if args.quick else 2.0,
                    shadow_path=args.shadow_path,
                )
            )
            print(f"round {n + 1}/{rounds} done ({time.monotonic() - started:.0f} s)", flush=True)
        summary = summarize(results)
        print()
        print(report(summary, rounds, seconds, args.path, args.shadow_path))
        print(f"shadow outcomes (catalog): {results[-1].shadow_outcomes}")
        if args.json:
            args.json.write_text(
                json.dumps({"summary": summary, "rounds": [asdict(r) for r in results]}, indent=2)
            )
        return 0
    finally:
        if proxy is not None:
            proxy.stop()
        if nginx is not None and nginx.poll() is None:
            nginx.send_signal(signal.SIGQUIT)
            try:
                nginx.wait(10)
            except subprocess.TimeoutExpired:
                nginx.kill()
        for server in servers:
            server.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
