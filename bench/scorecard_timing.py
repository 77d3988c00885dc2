"""The timed calls of ``bench/scorecard.py`` (bench/README.md, steps 2 to 6): ``monthly_scorecard`` and the bare
GROUP BY baselines through a fresh session each, a whole ``/metrics`` collection, and the scorecard through HTTP.
``Timing`` (samples and their percentiles) is ``bench/alerts.py``'s too.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.session import make_engine, make_session_factory
from app.kpi.localtime import STOCKHOLM, local_month_bounds
from app.scorecard.service import monthly_scorecard
from bench.scorecard_data import Layout, sqlite_value

ROOT = Path(__file__).resolve().parents[1]


# --- timing calls --------------------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(q * 100) - 1]


@dataclass
class Timing:
    label: str
    samples_ms: list[float]
    cpu_ms: list[float] | None = None  # this process's CPU per call (time.process_time): robust to a loaded machine

    @property
    def p50(self) -> float:
        return percentile(self.samples_ms, 0.50)

    @property
    def p95(self) -> float:
        return percentile(self.samples_ms, 0.95)

    def line(self) -> str:
        cpu = "" if not self.cpu_ms else (f", client CPU p50 {percentile(self.cpu_ms, 0.5):.1f} ms "
                                          f"p95 {percentile(self.cpu_ms, 0.95):.1f} ms")
        return (f"{self.label}: p50 {self.p50:.1f} ms, p95 {self.p95:.1f} ms, max {max(self.samples_ms):.1f} ms "
                f"({len(self.samples_ms)} calls){cpu}")


def time_calls(label: str, months: list[date], warmup: list[date], call: Callable[[date], Any]) -> Timing:
    for month in warmup:
        call(month)
    samples = []
    for month in months:
        started = time.perf_counter()
        call(month)
        samples.append((time.perf_counter() - started) * 1000)
    return Timing(label, samples)


def in_fresh_session(factory: sessionmaker[Session], work: Callable[[Session, date], Any]) -> Callable[[date], Any]:
    def call(month: date) -> Any:
        session = factory()
        try:
            return work(session, month)
        finally:
            session.close()

    return call


# --- in process: the scorecard and its baselines -------------------------------------------------------

BARE_SQL = text(
    "SELECT region, sum(answered) FROM hourly_aggregates WHERE hour_start >= :start AND hour_start < :end "
    "GROUP BY region"
)


def all_columns_sql(layout: Layout) -> Any:
    sums = ", ".join(f"sum({name})" for name in layout.value_columns)
    return text(
        f"SELECT region, {sums}, max(latest_record_at), count(*) FROM hourly_aggregates "
        "WHERE hour_start >= :start AND hour_start < :end GROUP BY region"
    )


def bounds_params(month: date, sqlite: bool) -> dict[str, Any]:
    start, end = local_month_bounds(month)
    if sqlite:
        return {"start": sqlite_value(start), "end": sqlite_value(end)}
    return {"start": start, "end": end}


def run_timings(
    backend: str, url: str, settings: Settings, layout: Layout, months: list[date], warmup: list[date],
    regions: int,
) -> list[Timing]:
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    is_sqlite = backend == "sqlite"
    try:
        probe = in_fresh_session(factory, lambda s, m: monthly_scorecard(s, m, settings.definitions))(months[0])
        # every region is listed, those without calls too: count the ones the filler gave calls
        region_scopes = sum(1 for scope in probe.scopes if scope.kind == "region" and scope.kpis.offered)
        if region_scopes != regions:
            print(f"  WARNING: scorecard of {months[0]:%Y-%m} has {region_scopes} regions with calls, expected "
                  f"{regions}")
        timings = [
            time_calls(f"{backend} monthly_scorecard", months, warmup, in_fresh_session(
                factory, lambda s, m: monthly_scorecard(s, m, settings.definitions))),
            time_calls(f"{backend} bare SELECT sum(answered) GROUP BY region", months, warmup, in_fresh_session(
                factory, lambda s, m: s.execute(BARE_SQL, bounds_params(m, is_sqlite)).all())),
        ]
        every = all_columns_sql(layout)
        timings.append(time_calls(
            f"{backend} bare SELECT sum(every column) GROUP BY region", months, warmup,
            in_fresh_session(factory, lambda s, m: s.execute(every, bounds_params(m, is_sqlite)).all()),
        ))
    finally:
        engine.dispose()
    for timing in timings:
        print("  " + timing.line())
    return timings


def time_scorecards(label: str, settings: Settings, months: list[date], warmup: list[date]) -> Timing:
    engine = make_engine(settings)
    try:
        timing = time_calls(label, months, warmup, in_fresh_session(
            make_session_factory(engine), lambda s, m: monthly_scorecard(s, m, settings.definitions)))
    finally:
        engine.dispose()
    print("  " + timing.line())
    return timing


# --- /metrics ------------------------------------------------------------------------------------------


def time_metrics(label: str, settings: Settings, month: date, requests: int, warmup: int) -> list[Timing]:
    """One Prometheus scrape's collection (every family, exposition text included) with "now" in the middle
    of the newest month: month to date, today and the forecast all have data, as in production. Three cases: the
    first scrape of a process (nothing cached), the first after an ingest (the month in progress recomputed;
    the previous month and the forecast's sampled hours reused for up to five minutes), and between ingests."""
    from prometheus_client import CollectorRegistry

    from app.metrics.collector import VptCollector
    from app.metrics.exposition import render as generate_latest  # what GET /metrics sends: generate_latest's bytes

    now = datetime(month.year, month.month, 15, 12, 0, tzinfo=STOCKHOLM).astimezone(UTC)
    engine = make_engine(settings)
    factory = make_session_factory(engine)

    def registry() -> tuple[CollectorRegistry, VptCollector]:
        made = CollectorRegistry(auto_describe=False)
        collector = VptCollector(factory, settings, clock=lambda: now)
        made.register(collector)
        return made, collector

    def first_scrape(_: CollectorRegistry, collector: VptCollector) -> None:
        collector.history.clear()  # nothing cached anywhere: a process's first scrape

    def after_ingest(_: CollectorRegistry, collector: VptCollector) -> None:
        collector._cache.pop("month_to_date", None)  # a new ingest run: the month in progress is recomputed

    def between_ingests(_: CollectorRegistry, __: VptCollector) -> None:
        pass

    timings = []
    try:
        for kind, fresh, prepare in (("first scrape, nothing cached", True, first_scrape),
                                     ("after an ingest", False, after_ingest),
                                     ("between ingests", False, between_ingests)):
            collector = VptCollector(factory, settings, clock=lambda: now)
            shared = CollectorRegistry(auto_describe=False)
            shared.register(collector)
            for _ in range(warmup):
                generate_latest(shared)
            samples, cpu = [], []
            for _ in range(requests):
                target, target_collector = (registry() if fresh else (shared, collector))
                prepare(target, target_collector)
                started, cpu_started = time.perf_counter(), time.process_time()
                generate_latest(target)
                samples.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - cpu_started) * 1000)
            timing = Timing(f"{label} /metrics collection ({kind})", samples, cpu)
            print("  " + timing.line())
            timings.append(timing)
    finally:
        engine.dispose()  # its connections, before the next database's timings
    return timings


# --- HTTP ----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def time_http(url: str, months: list[date], warmup: list[date], all_months: list[date]) -> list[Timing]:
    """``GET /api/v1/scorecards/{month}`` through uvicorn with an admin key (the API is closed by default; the key
    is made in the database as tests/auth.py does). First every month of the range once, each a cache miss (the
    uncached baseline through HTTP), then the random months, all cached: what a dashboard sees in steady state."""
    if importlib.util.find_spec("app.api") is None:
        print("  HTTP: skipped, app.api does not exist yet")
        return []
    try:
        from app.api.app import create_app  # noqa: F401
    except ImportError as exc:
        print(f"  HTTP: skipped, `from app.api.app import create_app` failed: {exc}")
        return []
    import httpx

    from tests.auth import make_key

    headers = {"Authorization": f"Bearer {make_key(Settings(database_url=url, _env_file=None), name='bench')}"}  # type: ignore[call-arg]
    port = free_port()
    env = {**os.environ, "VPT_DATABASE_URL": url}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.api.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    timings: list[Timing] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, headers=headers) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    stderr = server.stderr.read() if server.stderr else ""
                    print(f"  HTTP: skipped, uvicorn did not start: {stderr[-1500:]}")
                    return []
                time.sleep(0.1)
            probe = client.get("/healthz")  # the warm-up request below is a real month, not this one
            if probe.status_code != 200:
                return []

            def call(month: date) -> None:
                response = client.get(f"/api/v1/scorecards/{month:%Y-%m}")
                if response.status_code != 200:
                    raise RuntimeError(f"GET /api/v1/scorecards/{month:%Y-%m} answered {response.status_code}: "
                                       f"{response.text[:300]}")

            timings.append(time_calls("postgresql HTTP scorecard, each month's first request (uncached)",
                                      all_months, [], call))
            timings.append(time_calls("postgresql HTTP scorecard, random months (cached)", months, warmup, call))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    for timing in timings:
        print("  " + timing.line())
    return timings
