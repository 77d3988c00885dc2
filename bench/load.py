"""Load benchmark: the API as deployed (`vpt serve`, one uvicorn worker) under sustained concurrent requests.

Run from the repository root with the virtualenv active::

    python bench/load.py                  # a year x 21 regions, 60 s per endpoint
    python bench/load.py --seconds 10     # a quick look

What it does (see bench/README.md for the goals):

1. starts a throwaway PostgreSQL (tests/pgserver.py), migrates a database and fills the hourly aggregates,
   answered-by rows and the monthly roll-up for the twelve local months before this one and the current month
   up to the last whole hour (bench/scorecard.py's filler, bench/scorecard_data.py: plausible counts by region size
   and hour);
2. starts `python -m app serve` on 127.0.0.1 (one process, one event loop, the production command) with
   ``VPT_PUBLIC_READ=true``, or with an API key in ``VPT_BENCH_API_KEY`` sent as ``Authorization: Bearer``;
3. drives each endpoint for ``--seconds`` with ``wrk`` (bench/wrk_report.lua reports the latency
   percentiles), or, when wrk is not installed, with an asyncio/httpx client: ``GET /healthz`` first, the
   baseline (the cheapest route through the same stack: uvicorn, FastAPI, middleware, no database), then
   ``GET /api/v1/scorecards/{month}`` for the month in progress and for a closed month, and ``GET /metrics``;
4. prints requests/s, p50 and p99 per endpoint, their ratio to the baseline, the server's CPU time per request,
   and whether the scorecard meets the goal (>= 500 requests/s with p99 <= 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from app.db.migrate import upgrade  # noqa: E402
from app.kpi.localtime import STOCKHOLM, floor_hour, local_month_bounds, local_month_of, next_month  # noqa: E402
from app.kpi.reference import REGIONS  # noqa: E402
from tests.pgserver import PostgresServer, _free_port  # noqa: E402

filler = importlib.import_module("scorecard_data")  # bench/scorecard_data.py: bench/scorecard.py's data and roll-up
GOAL_RPS = 500.0
GOAL_P99_MS = 50.0
LUA = Path(__file__).with_name("wrk_report.lua")


# --- data ----------------------------------------------------------------------------------------------


def months_back(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


class RecentDataset(filler.Dataset):
    """bench/scorecard.py's region-hours (bench/scorecard_data.py), over [start, end) instead of whole past years."""

    def __init__(self, start: datetime, end: datetime, regions: int, seed: int) -> None:
        super().__init__(1, regions, seed, filler.Layout.from_model())
        self.start, self.end = start, end

    def __iter__(self) -> Iterator[filler.RegionHour]:
        rng = random.Random(self.seed + 1)
        codes = [code for code, _n, _i in REGIONS]
        hour_start = self.start
        while hour_start < self.end:
            local_hour = hour_start.astimezone(STOCKHOLM).hour
            latest = hour_start + timedelta(minutes=59, seconds=rng.randint(0, 59))
            for code, _name, _inhabitants in self.regions:
                variant = self.variants[(code, local_hour)][rng.randrange(filler.VARIANTS)]
                other, elsewhere = None, 0
                if variant.answered >= 10 and rng.random() < 0.25:
                    other = rng.choice([c for c in codes if c != code])
                    elsewhere = variant.answered // 10
                yield filler.RegionHour(code, hour_start, variant, latest, other, elsewhere)
            hour_start += timedelta(hours=1)


# --- load ----------------------------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    path: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_seconds: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(url: str, seconds: float, connections: int, threads: int) -> tuple[int, float, float, float, int]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
               "-s", str(LUA), url]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=seconds + 60)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-800:]} {done.stderr[-800:]}")
    figures = json.loads(line.removeprefix("WRK_JSON "))
    errors = sum(figures[k] for k in figures if k.startswith("errors_"))
    return (figures["requests"], figures["duration_us"] / 1e6, figures["p50_us"] / 1000, figures["p99_us"] / 1000,
            errors)


def run_python(url: str, seconds: float, connections: int) -> tuple[int, float, float, float, int]:
    """The fallback without wrk: ``connections`` keep-alive clients in one event loop. It shares the CPU with
    the server and costs more per request than wrk, so its figures are a lower bound."""
    headers = {"Authorization": f"Bearer {os.environ['VPT_BENCH_API_KEY']}"} if os.environ.get(
        "VPT_BENCH_API_KEY") else {}

    async def main() -> tuple[list[float], int, float]:
        latencies: list[float] = []
        errors = 0
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(limits=limits, timeout=10, headers=headers) as client:
            started = time.perf_counter()
            deadline = started + seconds

            async def one_client() -> None:
                nonlocal errors
                while time.perf_counter() < deadline:
                    begun = time.perf_counter()
                    try:
                        response = await client.get(url)
                        if response.status_code >= 400:
                            errors += 1
                    except httpx.HTTPError:
                        errors += 1
                    latencies.append(time.perf_counter() - begun)

            await asyncio.gather(*(one_client() for _ in range(connections)))
            return latencies, errors, time.perf_counter() - started

    latencies, errors, elapsed = asyncio.run(main())
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return len(latencies), elapsed, cuts[49] * 1000, cuts[98] * 1000, errors


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def start_api(database_url: str, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {"VPT_DATABASE_URL": database_url, "VPT_LOG_LEVEL": "WARNING"}
    if not env.get("VPT_BENCH_API_KEY"):
        env["VPT_PUBLIC_READ"] = "true"
    with log_path.open("wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                  cwd=log_path.parent, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the API did not start: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.kill()
    raise RuntimeError("the API did not answer /healthz within 30 s")


def machine_notes(database_url: str) -> list[str]:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    engine = create_engine(database_url)
    with engine.connect() as conn:
        pg = conn.scalar(text("SHOW server_version"))
    engine.dispose()
    wrk = shutil.which("wrk")
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False).stdout.split(
        " [")[0] if wrk else ("not installed (asyncio/httpx fallback, a lower bound; "
                              "`apt-get install wrk` for the real figures)")
    return [f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, PostgreSQL {pg}, "
            f"load generator: {wrk_version}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured seconds per endpoint (default 60)")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each endpoint")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections (default 8)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: the server needs a core)")
    parser.add_argument("--regions", type=int, default=21, choices=range(1, len(REGIONS) + 1), metavar="1-21")
    parser.add_argument("--python-client", action="store_true", help="use the asyncio/httpx client even with wrk")
    parser.add_argument("--seed", type=int, default=filler.SEED)
    args = parser.parse_args(argv)
    use_wrk = shutil.which("wrk") is not None and not args.python_client

    now = datetime.now(UTC)
    current = local_month_of(now)
    first = months_back(current, 12)
    closed = months_back(current, 1)
    start, end = local_month_bounds(first)[0], floor_hour(now)
    print(f"vpt-monitor load benchmark: {first:%Y-%m} to {current:%Y-%m} (to {end:%Y-%m-%d %H}:00 UTC) x "
          f"{args.regions} regions; {args.seconds:.0f} s per endpoint, {args.connections} connections, "
          f"{'wrk' if use_wrk else 'asyncio/httpx client'}; {os.cpu_count()} CPUs")
    started = time.perf_counter()
    data = RecentDataset(start, end, args.regions, args.seed)

    work = Path(tempfile.mkdtemp(prefix="vpt-bench-load-"))
    results: list[Result] = []
    try:
        with PostgresServer.start() as server:
            admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text("CREATE DATABASE bench_load"))
            admin.dispose()
            url = server.url("bench_load")
            upgrade(url)
            hourly, answered_by = filler.fill_postgres(url, data, True)
            filler.roll_up(url, first, next_month(current))
            print(f"PostgreSQL: {hourly:,} hourly_aggregates rows, {answered_by:,} hourly_answered_by rows and the "
                  f"monthly roll-up in {time.perf_counter() - started:.1f} s")
            notes = machine_notes(url)
            port = _free_port()
            api = start_api(url, port, work / "api.log")
            try:
                base = f"http://127.0.0.1:{port}"
                endpoints = [
                    ("GET /healthz (baseline)", "/healthz"),
                    (f"GET /api/v1/scorecards/{current:%Y-%m} (month in progress)",
                     f"/api/v1/scorecards/{current:%Y-%m}"),
                    (f"GET /api/v1/scorecards/{closed:%Y-%m} (closed month)", f"/api/v1/scorecards/{closed:%Y-%m}"),
                    ("GET /metrics", "/metrics"),
                ]
                for label, path in endpoints:
                    headers = ({"Authorization": f"Bearer {os.environ['VPT_BENCH_API_KEY']}"}
                               if os.environ.get("VPT_BENCH_API_KEY") else {})
                    probe = httpx.get(base + path, headers=headers, timeout=30)
                    if probe.status_code != 200:
                        raise RuntimeError(f"{path} answered {probe.status_code}: {probe.text[:300]}")
                    drive = (lambda s, p=path: run_wrk(base + p, s, args.connections, args.threads)) if use_wrk else (
                        lambda s, p=path: run_python(base + p, s, args.connections))
                    if args.warmup > 0:
                        drive(args.warmup)
                    cpu_before = cpu_seconds(api.pid)
                    requests, seconds, p50, p99, errors = drive(args.seconds)
                    cpu_after = cpu_seconds(api.pid)
                    used = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
                    result = Result(label, path, requests, seconds, p50, p99, errors, used)
                    results.append(result)
                    print(f"  {label}: {result.rps:,.0f} req/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
                          f"{requests:,} requests, {errors} errors ({len(probe.content):,} bytes per response)")
            finally:
                api.terminate()
                try:
                    api.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    api.kill()
                    api.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    baseline = results[0]
    print()
    print(f"Summary ({args.regions} regions, {args.seconds:.0f} s per endpoint, {args.connections} connections, "
          f"one uvicorn worker; goal for the scorecard: >= {GOAL_RPS:.0f} req/s with p99 <= {GOAL_P99_MS:.0f} ms)")
    for note in notes:
        print(note)
    width = max(len(r.label) for r in results)
    print(f"{'endpoint'.ljust(width)}  {'req/s':>8}  {'p50 ms':>7}  {'p99 ms':>7}  {'req/s vs base':>13}  "
          f"{'p99 vs base':>11}  {'CPU ms/req':>10}  goal")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 7}  {'-' * 7}  {'-' * 13}  {'-' * 11}  {'-' * 10}  ----")
    for r in results:
        goal = ""
        if "scorecards" in r.path:
            goal = "ok" if r.rps >= GOAL_RPS and r.p99_ms <= GOAL_P99_MS else "MISSED"
        if r.errors:
            goal += f" ({r.errors} errors)"
        cpu = f"{r.cpu_seconds * 1000 / r.requests:.2f}" if r.cpu_seconds is not None and r.requests else "-"
        print(f"{r.label.ljust(width)}  {r.rps:8,.0f}  {r.p50_ms:7.2f}  {r.p99_ms:7.2f}  "
              f"{r.rps / baseline.rps:12.3f}x  {r.p99_ms / baseline.p99_ms:10.1f}x  {cpu:>10}  {goal}")
    return 0 if all(r.errors == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
