"""Scorecard benchmark: ``monthly_scorecard`` over years of hourly aggregates, against a bare GROUP BY.

Run from the repository root with the virtualenv active::

    python bench/scorecard.py                         # 10 years x 21 regions, 200 requests
    python bench/scorecard.py --years 2 --sqlite      # smaller, and on SQLite too

What it does (see bench/README.md for the goals):

1. starts a throwaway PostgreSQL (tests/pgserver.py), migrates a database and fills
   ``hourly_aggregates`` with one row per region and UTC hour (plausible counts by region size and
   local hour of day) by ``COPY``, plus ``hourly_answered_by`` (own region and, in some hours, another
   region) unless ``--no-answered-by``;
2. times ``monthly_scorecard`` for random months of the range (fresh session per call, after a warm-up)
   and reports p50 / p95;
3. times, in the same run and on the same months, the bare ``SELECT region, sum(answered) ...
   GROUP BY region`` (and a GROUP BY summing every aggregate column) as baselines;
4. times ``GET /api/v1/scorecards/{month}`` through uvicorn if ``app.api.app.create_app`` exists;
5. with ``--sqlite``, repeats 2–3 on a migrated SQLite file holding the same rows.

The aggregate columns are read from the model at run time, so the filler follows schema changes:
counts, ``*_ms`` or ``*_sum`` waits, wait buckets, ``longest_wait[_ms]``, ``latest_record_at``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import Float, Numeric, create_engine, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from app.config import Settings  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.db.models import HourlyAggregate, HourlyAnsweredBy  # noqa: E402
from app.db.session import make_engine, make_session_factory  # noqa: E402
from app.kpi.histogram import WAIT_BUCKET_EDGES  # noqa: E402
from app.kpi.localtime import STOCKHOLM, local_month_bounds, next_month  # noqa: E402
from app.kpi.reference import REGIONS  # noqa: E402
from app.scorecard.service import monthly_scorecard  # noqa: E402

SEED = 1177
LAST_YEAR = 2025  # the range ends with this year (closed months only)
GOAL_P95_MS = 20.0
METRICS_GOAL_MS = 50.0  # a whole /metrics collection, issue 5
VARIANTS = 48  # random rows per (region, local hour of day); rows pick one at random

aggregates = HourlyAggregate.__table__
answered_by = HourlyAnsweredBy.__table__


# --- data ----------------------------------------------------------------------------------------------

#: share of a day's calls in each local hour (0-23): quiet nights, morning peak, evening bump
DIURNAL = [0.3, 0.2, 0.15, 0.15, 0.2, 0.4, 0.9, 1.6, 2.0, 1.9, 1.7, 1.5,
           1.4, 1.4, 1.3, 1.3, 1.3, 1.4, 1.5, 1.5, 1.3, 1.0, 0.7, 0.45]
#: share of answered calls per wait bucket (edges 0, 30 s, 1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120 min, +Inf)
BUCKET_SHARES = [0.02, 0.10, 0.08, 0.12, 0.10, 0.14, 0.17, 0.10, 0.06, 0.06, 0.03, 0.015, 0.004, 0.001, 0.0]
#: a representative wait inside each bucket, seconds
BUCKET_WAITS = [0, 20, 45, 90, 150, 240, 450, 750, 1050, 1500, 2200, 3100, 4400, 6200, 7500]


def hourly_values(rng: random.Random, inhabitants: int, local_hour: int) -> dict[str, float | int | None]:
    """One plausible region-hour: names are the 'semantic' figures, mapped to columns by ``row_text``."""
    mean_offered = inhabitants / 1_000_000 * 60 * DIURNAL[local_hour]  # ~60 calls/h per million at average
    offered = max(0, round(rng.gauss(mean_offered, max(1.0, mean_offered ** 0.5))))
    rejected = sum(1 for _ in range(offered) if rng.random() < 0.03) if offered < 50 else round(offered * 0.03)
    abandoned = round((offered - rejected) * rng.uniform(0.08, 0.16))
    answered = offered - rejected - abandoned
    buckets = [0] * len(WAIT_BUCKET_EDGES)
    for _ in range(min(answered, 200)):
        buckets[rng.choices(range(len(BUCKET_SHARES)), BUCKET_SHARES)[0]] += 1
    if answered > 200:  # scale a sample of 200 up to the real count
        scaled = [b * answered // 200 for b in buckets]
        scaled[5] += answered - sum(scaled)
        buckets = scaled
    wait_answered = float(sum(n * w for n, w in zip(buckets, BUCKET_WAITS, strict=True)))
    within_sl = sum(n for n, edge in zip(buckets, WAIT_BUCKET_EDGES, strict=True) if edge <= 600)
    longest = max((w for n, w in zip(buckets, BUCKET_WAITS, strict=True) if n), default=None)
    values: dict[str, float | int | None] = {
        "answered": answered, "abandoned": abandoned, "short_abandons": 0, "rejected": rejected,
        "answered_within_sl": within_sl, "answered_sl_unknown": 0,
        "wait_answered": wait_answered, "wait_abandoned": float(abandoned * rng.randint(60, 600)),
        "answered_wait_unknown": 0, "abandoned_wait_unknown": 0, "longest_wait_unknown": 0,
        "longest_wait": None if longest is None else float(longest),
        "talk_sum": float(answered * rng.randint(300, 480)), "wrap_sum": float(answered * rng.randint(40, 120)),
        "call_records": offered, "interval_records": 0, "reported_offered": 0, "interval_counted_offered": 0,
        "hours_covered": 1, "day_records": 0, "month_records": 0,  # hourly rows, as call ingest writes them
        "call_wait_answered": wait_answered,
    }
    values.update({f"wait_bucket_{i:02d}": n for i, n in enumerate(buckets)})
    return values


def lookup(name: str, values: dict[str, float | int | None]) -> tuple[bool, float | int | None]:
    """(recognised, value) of an aggregate column from the semantic figures of ``hourly_values``."""
    if name in values:
        return True, values[name]
    for suffix in ("_sum", "_seconds", "_s"):
        if name.endswith(suffix) and name.removesuffix(suffix) in values:
            return True, values[name.removesuffix(suffix)]
    if name.endswith("_ms"):
        base = name.removesuffix("_ms")
        base = base if base in values else base.removesuffix("_sum")
        if base in values:
            seconds = values[base]
            return True, None if seconds is None else round(float(seconds) * 1000)
    return False, None


def column_value(name: str, values: dict[str, float | int | None]) -> float | int | None:
    """Unrecognised columns get NULL when nullable, else 0."""
    recognised, value = lookup(name, values)
    if recognised:
        return value
    column = aggregates.c[name]
    if column.nullable:
        return None
    return 0.0 if isinstance(column.type, Float | Numeric) else 0


@dataclass
class Layout:
    """The aggregate columns the filler writes, in table order, and which it did not recognise."""

    value_columns: list[str]
    unknown: list[str]

    @classmethod
    def from_model(cls) -> Layout:
        probe = hourly_values(random.Random(0), 1_000_000, 12)
        names = [c.name for c in aggregates.columns if c.name not in ("region", "hour_start", "latest_record_at")]
        return cls(names, [name for name in names if not lookup(name, probe)[0]])


def month_range(years: int) -> tuple[date, date]:
    """[first month, month after the last) of ``years`` whole local years ending with LAST_YEAR."""
    return date(LAST_YEAR - years + 1, 1, 1), date(LAST_YEAR + 1, 1, 1)


def utc_hours(first: date, end: date) -> Iterator[datetime]:
    start, _ = local_month_bounds(first)
    stop, _ = local_month_bounds(end)
    moment = start
    while moment < stop:
        yield moment
        moment += timedelta(hours=1)


def _pg_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # app.db.types.SQLITE_DATETIME_FORMAT
    return value


@dataclass(frozen=True)
class Variant:
    values: tuple[Any, ...]  # in Layout.value_columns order
    text: str  # the same, as PostgreSQL COPY text
    answered: int


@dataclass(frozen=True)
class RegionHour:
    region: str
    hour_start: datetime
    variant: Variant
    latest: datetime
    other_region: str | None  # answered some of this hour's calls, if any
    answered_elsewhere: int


class Dataset:
    """Deterministic region-hours, regenerated on each pass instead of held in memory (~2 M rows).

    Each region and local hour of day has VARIANTS random rows; every region-hour picks one.
    """

    def __init__(self, years: int, regions: int, seed: int, layout: Layout) -> None:
        self.years, self.seed, self.layout = years, seed, layout
        self.regions = list(REGIONS[:regions])
        rng = random.Random(seed)
        self.variants: dict[tuple[str, int], list[Variant]] = {}
        for code, _name, inhabitants in self.regions:
            for hour in range(24):
                made = []
                for _ in range(VARIANTS):
                    values = hourly_values(rng, inhabitants, hour)
                    row = tuple(column_value(name, values) for name in layout.value_columns)
                    made.append(Variant(row, "\t".join(map(_pg_text, row)), int(values["answered"] or 0)))
                self.variants[(code, hour)] = made

    def __iter__(self) -> Iterator[RegionHour]:
        rng = random.Random(self.seed + 1)
        codes = [code for code, _n, _i in REGIONS]
        first, end = month_range(self.years)
        for hour_start in utc_hours(first, end):
            local_hour = hour_start.astimezone(STOCKHOLM).hour
            latest = hour_start + timedelta(minutes=59, seconds=rng.randint(0, 59))
            for code, _name, _inhabitants in self.regions:
                variant = self.variants[(code, local_hour)][rng.randrange(VARIANTS)]
                other, elsewhere = None, 0
                if variant.answered >= 10 and rng.random() < 0.25:
                    other = rng.choice([c for c in codes if c != code])
                    elsewhere = variant.answered // 10
                yield RegionHour(code, hour_start, variant, latest, other, elsewhere)

    @staticmethod
    def answered_by_rows(hour: RegionHour) -> Iterator[tuple[str, str, datetime, int]]:
        if hour.variant.answered:
            yield hour.region, hour.region, hour.hour_start, hour.variant.answered - hour.answered_elsewhere
        if hour.other_region is not None:
            yield hour.region, hour.other_region, hour.hour_start, hour.answered_elsewhere


# --- filling -------------------------------------------------------------------------------------------


def fill_postgres(url: str, data: Dataset, answered_by_rows: bool) -> tuple[int, int]:
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    agg_columns = ", ".join(["region", "hour_start", *data.layout.value_columns, "latest_record_at"])
    counts = [0, 0]
    with psycopg.connect(conninfo) as conn:
        # The server commits asynchronously (tests/pgserver.py), and VACUUM marks no page all-visible before the
        # commit is flushed: the VACUUM below then left ~25 % of the pages unmarked, run to run, and the index-only
        # scans of those hours read the heap as well. A production table's older months are all-visible.
        conn.execute("SET synchronous_commit = on")
        with conn.cursor() as cursor, cursor.copy(f"COPY hourly_aggregates ({agg_columns}) FROM STDIN") as copy:
            chunk: list[str] = []
            hour_text: dict[datetime, str] = {}
            for hour in data:
                start = hour_text.get(hour.hour_start)
                if start is None:
                    hour_text.clear()
                    start = hour_text[hour.hour_start] = hour.hour_start.isoformat()
                chunk.append(f"{hour.region}\t{start}\t{hour.variant.text}\t{hour.latest.isoformat()}\n")
                if len(chunk) >= 20_000:
                    copy.write("".join(chunk))
                    counts[0] += len(chunk)
                    chunk.clear()
            copy.write("".join(chunk))
            counts[0] += len(chunk)
        if answered_by_rows:
            with conn.cursor() as cursor, cursor.copy(
                "COPY hourly_answered_by (region, answered_by_region, hour_start, answered) FROM STDIN"
            ) as copy:
                for hour in data:
                    for row in Dataset.answered_by_rows(hour):
                        copy.write_row(row)
                        counts[1] += 1
        conn.commit()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE hourly_aggregates")
        conn.execute("VACUUM ANALYZE hourly_answered_by")
        pages, visible = conn.execute(
            "SELECT relpages, relallvisible FROM pg_class WHERE relname = 'hourly_aggregates'").fetchone() or (0, 0)
        print(f"hourly_aggregates: {visible:,} of {pages:,} pages all-visible after VACUUM")
    return counts[0], counts[1]


def fill_sqlite(path: Path, data: Dataset, answered_by_rows: bool) -> None:
    agg_columns = ["region", "hour_start", *data.layout.value_columns, "latest_record_at"]
    conn = sqlite3.connect(path)
    try:
        with conn:
            placeholders = ", ".join("?" * len(agg_columns))
            conn.executemany(
                f"INSERT INTO hourly_aggregates ({', '.join(agg_columns)}) VALUES ({placeholders})",
                (
                    (hour.region, _sqlite_value(hour.hour_start), *hour.variant.values, _sqlite_value(hour.latest))
                    for hour in data
                ),
            )
            if answered_by_rows:
                conn.executemany(
                    "INSERT INTO hourly_answered_by (region, answered_by_region, hour_start, answered) "
                    "VALUES (?, ?, ?, ?)",
                    (
                        (region, by, _sqlite_value(start), answered)
                        for hour in data for region, by, start, answered in Dataset.answered_by_rows(hour)
                    ),
                )
        conn.execute("ANALYZE")
    finally:
        conn.close()


# --- timing --------------------------------------------------------------------------------------------


def roll_up(url: str, first: date, end: date) -> None:
    """The monthly roll-up that ingest maintains, built once for the copied hours (as migration 0006 does)."""
    from app.db.aggregates import rebuild_month

    engine = create_engine(url)
    with engine.begin() as conn:
        month = first
        while month < end:
            rebuild_month(conn, month)
            month = next_month(month)
    engine.dispose()


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
        return {"start": _sqlite_value(start), "end": _sqlite_value(end)}
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
        region_scopes = sum(1 for scope in probe.scopes if scope.kind == "region")
        if region_scopes != regions:
            print(f"  WARNING: scorecard of {months[0]:%Y-%m} has {region_scopes} region scopes, expected {regions}")
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


def time_metrics(label: str, settings: Settings, month: date, requests: int, warmup: int) -> list[Timing]:
    """One Prometheus scrape's collection (every family, exposition text included) with "now" in the middle
    of the newest month: month to date, today and the forecast all have data, as in production. Three cases: the
    first scrape of a process (nothing cached), the first after an ingest (the month in progress recomputed;
    the previous month and the forecast's sampled hours reused for up to five minutes), and between ingests."""
    from prometheus_client import CollectorRegistry

    from app.metrics.collector import VptCollector
    from app.metrics.exposition import render as generate_latest  # what GET /metrics sends: generate_latest's bytes

    now = datetime(month.year, month.month, 15, 12, 0, tzinfo=STOCKHOLM).astimezone(UTC)
    factory = make_session_factory(make_engine(settings))

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
    return timings


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


def postgres() -> Any:
    """A throwaway server (tests/pgserver.py), stopped when the ``with`` block ends."""
    from tests.pgserver import PostgresServer

    return PostgresServer.start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--years", type=int, default=10, help=f"whole years of hourly data ending {LAST_YEAR}")
    parser.add_argument("--regions", type=int, default=21, choices=range(1, len(REGIONS) + 1), metavar="1-21")
    parser.add_argument("--requests", type=int, default=200, help="timed calls per measurement (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls before each measurement")
    parser.add_argument("--sqlite", action="store_true", help="also run on a migrated SQLite file")
    parser.add_argument("--no-answered-by", action="store_true", help="leave hourly_answered_by empty")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP endpoint")
    parser.add_argument("--only-metrics", action="store_true",
                        help="time /metrics only (no scorecard, HTTP or SQLite steps)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    args = parser.parse_args(argv)

    layout = Layout.from_model()
    first, end = month_range(args.years)
    all_months = []
    month = first
    while month < end:
        all_months.append(month)
        month = next_month(month)
    rng = random.Random(args.seed)
    months = [rng.choice(all_months) for _ in range(args.requests)]
    warmup = [rng.choice(all_months) for _ in range(args.warmup)]

    print(f"vpt-monitor scorecard benchmark: {args.years} years ({first:%Y-%m} to {all_months[-1]:%Y-%m}) x "
          f"{args.regions} regions, {args.requests} requests, {os.cpu_count()} CPUs")
    if layout.unknown:
        print(f"note: aggregate columns filled with 0/NULL (not recognised): {', '.join(layout.unknown)}")
    started = time.perf_counter()
    data = Dataset(args.years, args.regions, args.seed, layout)
    print(f"prepared {VARIANTS} random rows per region and local hour in {time.perf_counter() - started:.1f} s")

    results: list[Timing] = []
    rows: list[tuple[str, Timing, Timing | None, str]] = []  # issue 15's table: figure, value, baseline, goal
    last_year = [m for m in all_months if m.year == LAST_YEAR]
    same_months = [rng.choice(last_year) for _ in range(args.requests)]
    work = Path(tempfile.mkdtemp(prefix="vpt-bench-scorecard-"))
    try:
        with postgres() as server:
            admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text("CREATE DATABASE bench_scorecard"))
                conn.execute(text("CREATE DATABASE bench_scorecard_1y"))
            admin.dispose()
            url = server.url("bench_scorecard")
            upgrade(url)
            started = time.perf_counter()
            agg_count, by_count = fill_postgres(url, data, not args.no_answered_by)
            roll_up(url, first, end)
            print(f"PostgreSQL: {agg_count:,} hourly_aggregates rows and {by_count:,} hourly_answered_by rows, "
                  f"filled by COPY + VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")
            one_year_url = server.url("bench_scorecard_1y")
            upgrade(one_year_url)
            # The timed months' scorecards compare each with its month before and its month a year before: the
            # baseline holds those too, so both databases give the same scorecards (with the last year alone, its
            # months had no comparisons to compute, and the baseline did less work, not less history).
            fill_postgres(one_year_url, Dataset(2, args.regions, args.seed, layout), not args.no_answered_by)
            roll_up(one_year_url, date(LAST_YEAR - 1, 1, 1), end)
            print(f"PostgreSQL: a second database with {LAST_YEAR} and the year before it, for its months' "
                  "comparisons: the 2 y baseline")
            settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
            one_year = Settings(database_url=one_year_url, _env_file=None)  # type: ignore[call-arg]
            if not args.only_metrics:
                timings = run_timings("postgresql", url, settings, layout, months, warmup, args.regions)
                results += timings
                same = [time_scorecards(f"postgresql monthly_scorecard, months of {LAST_YEAR}, {label}", chosen,
                                        same_months, warmup) for label, chosen in ((f"{args.years} y", settings),
                                                                                  ("2 y", one_year))]
                results += same
                rows.append((f"uncached scorecard, {args.years} y x {args.regions}, random months (vs bare GROUP BY)",
                             timings[0], timings[2], f"p95 <= {GOAL_P95_MS:.0f} ms"))
                rows.append((f"uncached scorecard, {args.years} y vs 2 y, same months", same[0], same[1], "<= 1.2x"))
            metrics = time_metrics(f"postgresql {args.years} y", settings, all_months[-1], args.requests, args.warmup)
            metrics_1y = time_metrics("postgresql 2 y", one_year, all_months[-1], args.requests, args.warmup)
            results += metrics + metrics_1y
            for index, name in enumerate(("first scrape of a process", "first scrape after an ingest",
                                          "between ingests")):
                rows.append((f"/metrics, {name}, {args.years} y vs 2 y", metrics[index], metrics_1y[index],
                             f"p95 <= {METRICS_GOAL_MS:.0f} ms" if index < 2 else ""))
            if not args.no_http and not args.only_metrics:
                http = time_http(url, months, warmup, all_months)
                results += http
                if http:
                    rows.append((f"HTTP scorecard, random months of {args.years} y, cached (vs each month's first)",
                                 http[1], http[0], f"p95 <= {GOAL_P95_MS:.0f} ms"))

        if args.sqlite and not args.only_metrics:
            path = work / "scorecard.db"
            sqlite_url = f"sqlite:///{path}"
            upgrade(sqlite_url)
            started = time.perf_counter()
            fill_sqlite(path, data, not args.no_answered_by)
            roll_up(sqlite_url, first, end)
            print(f"SQLite: filled by executemany + ANALYZE in {time.perf_counter() - started:.1f} s")
            settings = Settings(database_url=sqlite_url, _env_file=None)  # type: ignore[call-arg]
            results += run_timings("sqlite", sqlite_url, settings, layout, months, warmup, args.regions)
            results += time_metrics("sqlite", settings, all_months[-1], args.requests, args.warmup)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"Summary ({agg_count:,} hourly rows = {args.years} years x {args.regions} regions; "
          f"{args.requests} random months; goal: scorecard p95 <= {GOAL_P95_MS:.0f} ms)")
    width = max(len(t.label) for t in results)
    print(f"{'measure'.ljust(width)}  {'p50 ms':>7}  {'p95 ms':>7}  goal    {'CPU p50':>7}  {'CPU p95':>7}")
    print(f"{'-' * width}  {'-' * 7}  {'-' * 7}  ------  {'-' * 7}  {'-' * 7}")
    for timing in results:
        goal = ""
        if "scorecard" in timing.label and "uncached" not in timing.label and "bare" not in timing.label:
            goal = "ok" if timing.p95 <= GOAL_P95_MS else "MISSED"
        if "/metrics" in timing.label and "between" not in timing.label:
            goal = "ok" if timing.p95 <= METRICS_GOAL_MS else "MISSED"
        cpu = "" if not timing.cpu_ms else (f"  {percentile(timing.cpu_ms, 0.5):7.1f}  "
                                            f"{percentile(timing.cpu_ms, 0.95):7.1f}")
        print(f"{timing.label.ljust(width)}  {timing.p50:7.1f}  {timing.p95:7.1f}  {goal:<6}{cpu}")
    print_issue_rows(rows)
    return 0


def time_scorecards(label: str, settings: Settings, months: list[date], warmup: list[date]) -> Timing:
    engine = make_engine(settings)
    try:
        timing = time_calls(label, months, warmup, in_fresh_session(
            make_session_factory(engine), lambda s, m: monthly_scorecard(s, m, settings.definitions)))
    finally:
        engine.dispose()
    print("  " + timing.line())
    return timing


def print_issue_rows(rows: list[tuple[str, Timing, Timing | None, str]]) -> None:
    """Issue 15's scorecard and /metrics rows, each p95 against its baseline of the same run."""
    if not rows:
        return
    print()
    print("Issue 15 (PostgreSQL, p95 against the same run's baseline)")
    width = max(len(row[0]) for row in rows)
    print(f"{'figure'.ljust(width)}  {'p95 ms':>7}  {'base ms':>7}  {'ratio':>6}  {'goal':<14}  ")
    print(f"{'-' * width}  {'-' * 7}  {'-' * 7}  {'-' * 6}  {'-' * 14}  ------")
    for figure, value, baseline, goal in rows:
        ratio = value.p95 / baseline.p95 if baseline is not None and baseline.p95 else None
        if goal.startswith("p95"):
            verdict = "ok" if value.p95 <= float(goal.split()[2]) else "MISSED"
        elif goal.endswith("x") and ratio is not None:
            verdict = "ok" if ratio <= float(goal.split()[1].rstrip("x")) else "MISSED"
        else:
            verdict = ""
        print(f"{figure.ljust(width)}  {value.p95:7.1f}  {'' if baseline is None else f'{baseline.p95:7.1f}':>7}  "
              f"{'' if ratio is None else f'{ratio:5.2f}x':>6}  {goal:<14}  {verdict}")


if __name__ == "__main__":
    raise SystemExit(main())
