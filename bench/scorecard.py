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
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

# This module holds the options, the steps in their order and the summary tables. Beside it: scorecard_data.py (the
# generated hourly rows, filled into PostgreSQL or SQLite, and the monthly roll-up) and scorecard_timing.py (the timed
# calls: monthly_scorecard and its baselines, /metrics, HTTP).
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from app.config import Settings  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.kpi.localtime import next_month  # noqa: E402
from app.kpi.reference import REGIONS  # noqa: E402
from bench.ingest_timing import postgres  # noqa: E402
from bench.scorecard_data import (  # noqa: E402
    LAST_YEAR,
    SEED,
    VARIANTS,
    Dataset,
    Layout,
    fill_postgres,
    fill_sqlite,
    month_range,
    roll_up,
)
from bench.scorecard_timing import (  # noqa: E402
    Timing,
    percentile,
    run_timings,
    time_http,
    time_metrics,
    time_scorecards,
)

GOAL_P95_MS = 20.0
METRICS_GOAL_MS = 50.0  # a whole /metrics collection, issue 5


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
        if ("scorecard" in timing.label and "uncached" not in timing.label and "bare" not in timing.label
                and "months of" not in timing.label):  # those rows' goal is their ratio (the issue table below)
            goal = "ok" if timing.p95 <= GOAL_P95_MS else "MISSED"
        if "/metrics" in timing.label and "between" not in timing.label:
            goal = "ok" if timing.p95 <= METRICS_GOAL_MS else "MISSED"
        cpu = "" if not timing.cpu_ms else (f"  {percentile(timing.cpu_ms, 0.5):7.1f}  "
                                            f"{percentile(timing.cpu_ms, 0.95):7.1f}")
        print(f"{timing.label.ljust(width)}  {timing.p50:7.1f}  {timing.p95:7.1f}  {goal:<6}{cpu}")
    print_issue_rows(rows)
    return 0


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
