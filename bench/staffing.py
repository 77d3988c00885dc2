"""Staffing advice benchmark (issue 17): Erlang A advice for 21 regions × every hour of a month, against a 1 s goal.

Run from the repository root with the virtualenv active::

    python bench/staffing.py                 # the advice maths: 21 regions x a month of hours, cold and warm
    python bench/staffing.py --e2e           # + the simulator end to end (SQLite, about a minute per month)
    python bench/staffing.py --e2e --months 2026-01 2026-07 --region SE-AC

The timed part is what the API does after its reads: estimate handling and patience per hour of the week from eight
weeks of hourly sums, then for every remaining hour of the month find the nurses for the target and for the
"needed" answer rate (Erlang A) and for Erlang C. Inputs are synthetic but shaped like the simulator's national
traffic (SPEC §10: 0.45 calls per inhabitant and year, the hour and weekday profiles), one Poisson-noised sample per
hour. "cold" clears the memo of Erlang evaluations first (a new process; median of five); "warm" repeats with it
kept. The baseline,
timed in the same run, is the same advice with Erlang C only (no abandonment, closed form): the price of the model.

``--e2e`` replays a month of the simulated line (app.sim) for one region as a manager using the advice would:
each morning the day's advice from what is stored so far, every hour staffed with it (the nurses that save the
month where it must be saved), the day simulated with the same callers and stored. It prints the month's answer
rate, mean wait and nurse-hours as the simulator staffed it, as Erlang A advised and as Erlang C advised.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.kpi import staffing as erlang  # noqa: E402
from app.kpi.localtime import HOUR, STOCKHOLM, local_month_bounds  # noqa: E402
from app.kpi.reference import REGIONS  # noqa: E402
from app.kpi.staffing import Goal  # noqa: E402
from app.sim.calendar import HOUR_PROFILE, WEEKDAY_FACTOR  # noqa: E402
from app.staffing.estimates import HourSums, RegionParameters, estimate  # noqa: E402
from app.staffing.plan import advise_hours, totals  # noqa: E402

GOAL_SECONDS = 1.0
REPEATS = 5  # each from a cleared memo: the median is what a new process pays
TARGET = Goal(0.85, 600.0)
RECOVER = Goal(0.9, 480.0)


def _clear() -> None:
    for cached in (erlang.erlang_a, erlang.erlang_c, erlang._tail, erlang._servers_needed):
        cached.cache_clear()


def synthetic(month: date, seed: int = 17) -> list[tuple[str, list[HourSums], dict[datetime, float]]]:
    """Per region: eight weeks of hourly sums and a forecast (calls) for every hour of ``month``."""
    rng = random.Random(seed)
    out = []
    start, end = local_month_bounds(month)
    for code, _name, people in REGIONS:
        per_hour = 0.45 * people / 365.25 / 24
        sums = []
        for weekday in range(7):
            for hour in range(24):
                mean = per_hour * WEEKDAY_FACTOR[weekday] * HOUR_PROFILE[hour]
                for _week in range(8):
                    calls = max(0, round(rng.gauss(mean, mean**0.5)))
                    abandoned = round(calls * rng.uniform(0.05, 0.2))
                    answered = calls - abandoned
                    sums.append(HourSums((weekday, hour), answered, abandoned, answered * rng.uniform(520, 620),
                                         calls * rng.uniform(120, 400), True))
        forecast: dict[datetime, float] = {}
        slot_mean: dict[tuple[int, int], float] = {}
        moment = start
        while moment < end:
            local = moment.astimezone(STOCKHOLM)
            slot = (local.weekday(), local.hour)
            if slot not in slot_mean:
                slot_mean[slot] = per_hour * WEEKDAY_FACTOR[slot[0]] * HOUR_PROFILE[slot[1]] * rng.uniform(0.9, 1.1)
            forecast[moment] = slot_mean[slot]
            moment += HOUR
        out.append((code, sums, forecast))
    return out


def advise_all(data: list[tuple[str, list[HourSums], dict[datetime, float]]], erlang_c_only: bool) -> tuple[int, int]:
    hours = nurse_hours = 0
    for _code, sums, forecast in data:
        parameters: RegionParameters = estimate(sums)
        wanted = []
        for moment, calls in forecast.items():
            local = moment.astimezone(STOCKHOLM)
            slot_parameters = parameters.at((local.weekday(), local.hour))
            if erlang_c_only:
                handling = slot_parameters.handling_seconds.value or 570.0
                figures = erlang.servers_needed(calls / 3600, 1 / handling, 0.0, TARGET)
                nurse_hours += figures.servers
                hours += 1
                continue
            wanted.append((moment, calls, slot_parameters))
        if wanted:
            advice = advise_hours(wanted, TARGET, RECOVER)
            total = totals(advice, recovering=True)
            hours += total.hours
            nurse_hours += total.nurse_hours
    return hours, nurse_hours


def bench_advice(month: date) -> None:
    data = synthetic(month)
    print(f"advice for {len(data)} regions x the hours of {month:%Y-%m} (goal {GOAL_SECONDS:.1f} s)")
    for label, c_only in (("baseline: Erlang C only", True), ("Erlang A (target, recovery, Erlang C)", False)):
        colds, cpus, warms = [], [], []
        for _ in range(REPEATS):
            _clear()
            started, cpu = time.perf_counter(), time.process_time()
            hours, nurse_hours = advise_all(data, c_only)
            colds.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
            started = time.perf_counter()
            advise_all(data, c_only)
            warms.append(time.perf_counter() - started)
        cold, cpu_cold = statistics.median(colds), statistics.median(cpus)
        verdict = "" if c_only else ("  goal met" if cold < GOAL_SECONDS else
                                     "  goal met in CPU time, not in wall time" if cpu_cold < GOAL_SECONDS else
                                     "  GOAL NOT MET")
        print(f"  {label:<40} {hours} region-hours, {nurse_hours} nurse-hours: cold median {cold * 1000:6.1f} ms "
              f"(CPU {cpu_cold * 1000:6.1f} ms), warm median {statistics.median(warms) * 1000:6.1f} ms"
              f"{verdict}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"  (load average {load:.1f} on {os.cpu_count()} CPUs: wall time above CPU time means other work ran)")


def bench_e2e(region: str, months: list[date]) -> None:
    from app.config import Settings
    from app.db.migrate import upgrade
    from app.db.session import make_engine, make_session_factory
    from app.kpi.records import Outcome
    from app.sim.model import SimConfig
    from tests.staffing.staffed_month import staffed_month, store_history

    config = SimConfig(regions=(region,))
    for month in months:
        print(f"{region} {month:%Y-%m}: the simulated month as staffed, re-planned every morning")
        for plan in ("as_is", "erlang_a", "erlang_c"):
            with tempfile.TemporaryDirectory() as folder:
                url = f"sqlite:///{os.path.join(folder, 'e2e.db')}"
                upgrade(url)
                settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
                engine = make_engine(settings)
                factory = make_session_factory(engine)
                store_history(factory, settings, region, config, month - timedelta(weeks=9), month)
                started = time.perf_counter()
                result = staffed_month(factory, settings, region, month, config, plan)
                with factory() as session:
                    from app.scorecard.queries import counts_by_region
                    start, end = local_month_bounds(month)
                    counts = counts_by_region(session, [region], start, end)[region][0]
                engine.dispose()
            mean_wait = counts.wait_answered_ms / counts.answered / 1000 if counts.answered else float("nan")
            assert counts.answered == result.answered and Outcome.ANSWERED
            print(f"  {plan:<9} answered {result.answer_rate:6.1%} of {result.offered}, mean wait {mean_wait:5.0f} s, "
                  f"{result.nurse_hours} nurse-hours ({time.perf_counter() - started:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--month", default="2026-12", help="YYYY-MM of the advice benchmark")
    parser.add_argument("--e2e", action="store_true", help="also replay simulated months staffed as advised")
    parser.add_argument("--region", default="SE-Z")
    parser.add_argument("--months", nargs="*", default=["2026-01", "2026-07"])
    args = parser.parse_args()
    bench_advice(date.fromisoformat(args.month + "-01"))
    if args.e2e:
        bench_e2e(args.region, [date.fromisoformat(m + "-01") for m in args.months])
    _ = datetime.now(UTC)


if __name__ == "__main__":
    main()
