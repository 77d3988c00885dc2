"""The project's simulator (app.sim) run with a roster from the staffing advice, day by day through real storage.

``simulate_day_staffed`` is ``app.sim.model.simulate_day`` with the nurses of chosen hours replaced: it draws from
the day's random stream in the same order, so the same callers arrive with the same patience and talk times, and
only the nurses differ (``tests/staffing/test_end_to_end.py`` checks that with no replacement it is simulate_day).

``staffed_month`` replays a month as a planner using the advice would: each morning it asks for the day's advice
from the data stored so far (the date's start is "what was known"), staffs every hour of the day with it, simulates
the day and stores its calls. Used by the end-to-end test and by ``bench/staffing.py --e2e``.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.ingest.service import ingest_bytes
from app.kpi.records import CallRecord, Outcome
from app.sim import model
from app.sim.calendar import HOUR_PROFILE, WEEKDAY_FACTOR, season_factor
from app.sim.model import INHABITANTS, SimConfig, stable_seed
from app.sim.writers import write_calls_csv
from app.staffing.plan import HourAdvice
from app.staffing.service import staffing_advice

Plan = Literal["as_is", "erlang_a", "erlang_c"]


def simulate_day_staffed(region: str, day: date, config: SimConfig,
                         nurses: dict[datetime, int]) -> tuple[list[CallRecord], int]:
    """The day's calls with the nurses of ``nurses`` (UTC hour start → nurses) on duty, and its nurse-hours."""
    rng = random.Random(stable_seed(f"{config.seed}|{region}|{day.isoformat()}"))
    hours, own = model._timeline(day)
    day_level = (
        config.calls_per_inhabitant_year * INHABITANTS[region] / 365.25 / model.ANNUAL_MEAN_FACTOR
        * WEEKDAY_FACTOR[day.weekday()]
        * season_factor(day, config.seed)
        * rng.lognormvariate(-config.day_noise_sigma**2 / 2, config.day_noise_sigma)
    )
    hour_mu = -config.hour_noise_sigma**2 / 2
    rates = [
        day_level * HOUR_PROFILE[h.local_hour] / 24 * rng.lognormvariate(hour_mu, config.hour_noise_sigma)
        for h in hours[:own]
    ]
    absence = rng.uniform(0.0, config.absence_max)
    arrivals = model._arrivals(rng, hours[:own], rates)
    roster = model._roster(config, region, hours, absence)
    for i, hour in enumerate(hours[:own]):
        wanted = nurses.get(datetime.fromtimestamp(hour.start, UTC))
        if wanted is not None:
            roster[i] = max(config.min_nurses, wanted)
    queue = model._QueueRun(hours, roster)
    return model._serve(config, region, day, rng, hours, arrivals, queue), sum(roster[:own])


@dataclass(frozen=True)
class MonthResult:
    offered: int
    answered: int
    nurse_hours: int

    @property
    def answer_rate(self) -> float:
        return self.answered / self.offered


def _store(factory: sessionmaker[Session], settings: Settings, records: list[CallRecord], origin: str) -> None:
    stream = io.StringIO()
    write_calls_csv(records, stream)
    ingest_bytes(factory, settings, record_kind="calls", raw=io.BytesIO(stream.getvalue().encode()), fmt="csv",
                 origin=origin, source_name="sim")


def _nurses(hour: HourAdvice, plan: Plan) -> int | None:
    if plan == "erlang_c":
        return hour.erlang_c_nurses
    chosen = hour.recover or hour.target
    return None if chosen is None else chosen.nurses


def store_history(factory: sessionmaker[Session], settings: Settings, region: str, config: SimConfig, start: date,
                  end: date) -> None:
    """The simulated line as it was (its own roster) on the local days [start, end)."""
    records: list[CallRecord] = []
    day = start
    while day < end:
        records.extend(model.simulate_day(region, day, config))
        day += timedelta(days=1)
    _store(factory, settings, records, f"history-{start}")


def staffed_month(factory: sessionmaker[Session], settings: Settings, region: str, month: date, config: SimConfig,
                  plan: Plan, progress: Callable[[date], None] | None = None) -> MonthResult:
    """Replay ``month`` (history before it already stored) staffed by ``plan``; its calls are stored day by day."""
    offered = answered = nurse_hours = 0
    day = month
    later = datetime(month.year + 1, 1, 1, tzinfo=UTC) if month.month == 12 else datetime(
        month.year, month.month + 1, 1, tzinfo=UTC)
    while day.month == month.month:
        nurses: dict[datetime, int] = {}
        if plan != "as_is":
            with factory() as session:
                advice = staffing_advice(session, "region", region, day, later + timedelta(days=1))
            for hour in advice.hours:
                count = _nurses(hour, plan)
                if count is not None:
                    nurses[hour.start] = count
        records, hours = simulate_day_staffed(region, day, config, nurses)
        _store(factory, settings, records, f"{plan}-{day}")
        offered += len(records)
        answered += sum(r.outcome is Outcome.ANSWERED for r in records)
        nurse_hours += hours
        if progress is not None:
            progress(day)
        day += timedelta(days=1)
    return MonthResult(offered, answered, nurse_hours)
