"""Alert evaluation benchmark: one ``evaluate_alerts`` over years of hourly aggregates, against the scorecard.

Run from the repository root with the virtualenv active::

    python bench/alerts.py                  # 10 years x 21 regions on PostgreSQL, 50 evaluations
    python bench/alerts.py --years 2 --evaluations 20

The worker evaluates every rule after each ingest and once a minute, so its cost is paid all day. One
evaluation reads the scorecard document of the month in progress and of the previous month (the month rules),
the fast-slip window per scope, the sources and the heartbeats, and writes the phase changes in one
transaction. The baseline, timed in the same run on the same data, is one ``monthly_scorecard`` of the month
in progress — what a person opening the scorecard costs. "now" is the middle of the newest month, so the
forecast and every window have data. The first evaluation is timed on its own (cold caches, and it writes
whatever alerts the synthetic data raises); later ones are the steady state.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from app.alerts.evaluate import evaluate_alerts  # noqa: E402
from app.alerts.rulebook import RuleBook  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db.alert_models import Alert  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.db.session import make_engine, make_session_factory  # noqa: E402
from app.kpi.localtime import STOCKHOLM, next_month  # noqa: E402
from app.scorecard import service  # noqa: E402
from app.scorecard.forecast_cache import ForecastHistoryCache  # noqa: E402
from bench.scorecard import postgres  # noqa: E402
from bench.scorecard_data import SEED, Dataset, Layout, fill_postgres, month_range, roll_up  # noqa: E402
from bench.scorecard_timing import Timing  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--regions", type=int, default=21)
    parser.add_argument("--evaluations", type=int, default=50)
    args = parser.parse_args(argv)
    first, end = month_range(args.years)
    month = first
    while next_month(month) < end:
        month = next_month(month)
    now = datetime(month.year, month.month, 15, 12, 0, tzinfo=STOCKHOLM).astimezone(UTC)
    print(f"vpt-monitor alert evaluation benchmark: {args.years} years x {args.regions} regions, "
          f"now = {now:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs")
    data = Dataset(args.years, args.regions, SEED, Layout.from_model())
    with postgres() as server:
        admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE bench_alerts"))
        admin.dispose()
        url = server.url("bench_alerts")
        upgrade(url)
        rows, _ = fill_postgres(url, data, True)
        roll_up(url, first, end)
        print(f"PostgreSQL: {rows:,} hourly rows")
        settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
        factory = make_session_factory(make_engine(settings))
        book = RuleBook()
        history = ForecastHistoryCache()  # one per process, as the worker makes at its start

        def scorecard() -> None:
            with factory() as session:
                service.monthly_scorecard(session, month, settings.definitions, now, comparisons=False,
                                          collaboration_hours=False, history=history)

        def evaluation() -> None:
            evaluate_alerts(factory, settings, book, [], now=now, worker_id="bench", history=history)

        started = time.perf_counter()
        evaluation()
        first_ms = (time.perf_counter() - started) * 1000
        with factory() as session:
            firing = session.scalar(select(func.count()).select_from(Alert).where(Alert.phase == "firing"))
            pending = session.scalar(select(func.count()).select_from(Alert).where(Alert.phase == "pending"))
        print(f"first evaluation: {first_ms:.1f} ms ({pending} pending, {firing} firing after it)")
        timings = []
        for label, call in (("monthly_scorecard, month in progress (baseline)", scorecard),
                            ("evaluate_alerts, steady state", evaluation)):
            for _ in range(5):
                call()
            samples = []
            for _ in range(args.evaluations):
                started = time.perf_counter()
                call()
                samples.append((time.perf_counter() - started) * 1000)
            timings.append(Timing(label, samples))
        for timing in timings:
            print("  " + timing.line())
        ratio = timings[1].p50 / timings[0].p50
        print(f"an evaluation costs {ratio:.1f}x one scorecard (p50); one a minute keeps "
              f"{timings[1].p50 / 60_000:.2%} of one core busy, plus one per ingest")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
