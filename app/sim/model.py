"""The traffic simulator: a queue model of 1177 on the phone, not random rows (SPEC §10).

Per region and local day: non-homogeneous Poisson arrivals (``app.sim.calendar``), an hourly nurse roster
that follows the planners' forecast imperfectly, and a multi-server FIFO queue with impatient callers,
overload rejection and night overflow to another Norra region.

Every day is simulated on its own from a ``random.Random`` seeded by a stable hash of
``seed|region|day``: the same (config, region, day) always yields the same calls, whether a history file
is written for a year or a server generates today's traffic. The price is that each day starts with an
empty queue at local midnight, when traffic is at its lowest.

The queue uses the FIFO "virtual waiting time" method: with callers served in arrival order, the nurse
who becomes free first takes the next caller who is still waiting, so processing arrivals in order against
a heap of nurse-free times gives each caller's answer time at arrival, and callers who give up never
occupy a nurse. Roster changes at hour boundaries are applied in time order (see ``_QueueRun``).
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter

from app.kpi.localtime import STOCKHOLM, local_day_bounds
from app.kpi.records import CallRecord, Outcome
from app.kpi.reference import REGIONS
from app.sim.calendar import (
    ANNUAL_MEAN_FACTOR,
    HOUR_PROFILE,
    PLANNED_HOUR_PROFILE,
    WEEKDAY_FACTOR,
    planned_season_factor,
    season_factor,
    vacation_factor,
)

INHABITANTS: dict[str, int] = {code: people for code, _, people in REGIONS}
HOUR_SECONDS = 3600
# Hours of the following day that the roster is planned for: callers who arrive before midnight may
# still be waiting, or talking, well after it.
_SPILL_HOURS = 6


@dataclass(frozen=True)
class SimConfig:
    """Knobs of the model; the defaults reproduce SPEC §10's observed ranges for the Norra regions."""

    seed: int = 1177
    regions: tuple[str, ...] = ("SE-BD", "SE-AC", "SE-Z", "SE-Y")
    calls_per_inhabitant_year: float = 0.45
    day_noise_sigma: float = 0.08  # weather, outbreaks, news: what no forecast sees
    hour_noise_sigma: float = 0.10
    # Nurses on the roster per Erlang of forecast workload. The forecast is smoothed over the day and lags
    # the flu season, so even a little above 1 the peaks are short of nurses and the queue lives on
    # abandonment, as 1177's does: small regions (few nurses) suffer most.
    staffing_level: float = 1.08
    region_staffing_spread: float = 0.06  # regions differ in how generously they staff (± this share)
    flu_planning_lag_days: int = 28  # rosters follow the flu season about a month late
    summer_vacation_staffing: float = 0.84  # share of the planned roster on duty in July
    absence_max: float = 0.08  # sick leave of the day: a uniform share of the roster up to this
    min_nurses: int = 1
    talk_mean_seconds: float = 420.0
    talk_sigma: float = 0.5
    wrap_mean_seconds: float = 150.0  # documentation after the call
    wrap_sigma: float = 0.6
    ring_max_seconds: int = 6  # a free nurse's phone rings 1..this many seconds before the answer
    # Lognormal patience (median about 29 min) of callers who do not hang up at once. 1177 callers are
    # patient: SPEC §10's observed months (66 % answered with means up to 30 min) cannot happen with a
    # mean patience of 10–15 min, which holds every monthly mean wait under about 5 min.
    patience_mean_seconds: float = 2400.0
    patience_sigma: float = 0.8
    short_abandon_share: float = 0.03  # callers who hang up within 1–9 s (wrong number, menu regret)
    queue_timeout_seconds: int = 3600  # the platform drops a caller after this wait (EXITWITHTIMEOUT)
    reject_expected_wait_seconds: float = 2700.0  # "call later" when the expected wait passes 45 min
    night_overflow_share: float = 0.5
    night_overflow_after_seconds: int = 240
    night_start_hour: int = 22
    night_end_hour: int = 7

    def __post_init__(self) -> None:
        unknown = [r for r in self.regions if r not in INHABITANTS]
        if unknown:
            raise ValueError(f"unknown region(s): {', '.join(unknown)}")
        if len(set(self.regions)) != len(self.regions):
            raise ValueError("regions must be unique")

    @property
    def mean_handling_seconds(self) -> float:
        return self.talk_mean_seconds + self.wrap_mean_seconds + (1 + self.ring_max_seconds) / 2


def stable_seed(key: str) -> int:
    """A seed from text that is the same in every process (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")


def queue_name(region: str) -> str:
    return "vpt-" + region.lower()


def _lognormal_mu(mean: float, sigma: float) -> float:
    return math.log(mean) - sigma * sigma / 2


def _region_staffing(config: SimConfig, region: str) -> float:
    unit = stable_seed(f"{config.seed}|staffing|{region}") / 2**64
    return 1.0 + config.region_staffing_spread * (2 * unit - 1)


def _is_night(config: SimConfig, hour: int) -> bool:
    if config.night_start_hour > config.night_end_hour:
        return hour >= config.night_start_hour or hour < config.night_end_hour
    return config.night_start_hour <= hour < config.night_end_hour


@dataclass(frozen=True, slots=True)
class _Hour:
    """One real (UTC) hour of the simulated timeline with its local date and hour."""

    start: int  # epoch seconds
    local_day: date
    local_hour: int


def _timeline(day: date) -> tuple[list[_Hour], int]:
    """The day's real hours (23, 24 or 25) followed by spill hours; and how many belong to the day."""
    start, end = local_day_bounds(day)
    own = int((end - start).total_seconds()) // HOUR_SECONDS
    hours: list[_Hour] = []
    for i in range(own + _SPILL_HOURS):
        moment = start + timedelta(hours=i)
        local = moment.astimezone(STOCKHOLM)
        hours.append(_Hour(int(moment.timestamp()), local.date(), local.hour))
    return hours, own


def _arrivals(rng: random.Random, hours: list[_Hour], rates: list[float]) -> list[int]:
    """Poisson arrivals with a constant rate inside each real hour (whole seconds, sorted).

    Exponential gaps restart at each hour boundary, which is exact for a piecewise-constant rate
    because the process is memoryless.
    """
    expo = rng.expovariate
    out: list[int] = []
    for hour, per_hour in zip(hours, rates, strict=True):
        if per_hour <= 0:
            continue
        rate = per_hour / HOUR_SECONDS
        end = hour.start + HOUR_SECONDS
        moment = hour.start + expo(rate)
        while moment < end:
            out.append(int(moment))
            moment += expo(rate)
    return out


def _roster(config: SimConfig, region: str, hours: list[_Hour], absence: float) -> list[int]:
    """Nurses on duty per hour: the planners' workload forecast in Erlangs, scaled by the staffing level,
    thinned by holidays and sick leave, rounded with error diffusion so fractional needs average out."""
    base = config.calls_per_inhabitant_year * INHABITANTS[region] / 365.25 / ANNUAL_MEAN_FACTOR
    level = config.staffing_level * _region_staffing(config, region) * (1.0 - absence)
    handling = config.mean_handling_seconds / HOUR_SECONDS
    carry = 0.0
    roster: list[int] = []
    for hour in hours:
        calls = (
            base
            * WEEKDAY_FACTOR[hour.local_day.weekday()]
            * planned_season_factor(hour.local_day, config.seed, config.flu_planning_lag_days)
            * PLANNED_HOUR_PROFILE[hour.local_hour]
            / 24
        )
        want = calls * handling * level * vacation_factor(hour.local_day, config.summer_vacation_staffing)
        nurses = max(config.min_nurses, math.floor(want + carry + 0.5))
        carry = max(-0.5, min(0.5, want + carry - nurses))
        roster.append(nurses)
    return roster


class _QueueRun:
    """A multi-server FIFO queue whose number of servers changes at hour boundaries.

    ``free`` holds, per nurse on duty, the moment she is next free. A boundary that adds nurses pushes
    them free at the boundary; one that removes nurses pops those free earliest, so idle nurses go home
    first and a busy one finishes her call before leaving. A boundary is applied before the first arrival
    after it, or earlier, while an arrival is still waiting for a nurse at that moment: then every nurse
    is busy past the boundary and no later arrival can be answered before it, so applying it early
    changes nothing for anyone else.
    """

    def __init__(self, hours: list[_Hour], roster: list[int]) -> None:
        self.bounds = [h.start for h in hours]
        self.roster = roster
        self.free: list[int] = [self.bounds[0]] * roster[0]
        self.next_bound = 1

    def _apply_next_bound(self) -> None:
        i = self.next_bound
        change = self.roster[i] - self.roster[i - 1]
        at = self.bounds[i]
        for _ in range(change):
            heapq.heappush(self.free, at)
        for _ in range(-change):
            heapq.heappop(self.free)
        self.next_bound += 1

    def advance_to(self, moment: int) -> None:
        while self.next_bound < len(self.bounds) and self.bounds[self.next_bound] <= moment:
            self._apply_next_bound()

    def first_free(self, arrival: int, gives_up_at: int) -> int:
        """When the next nurse can take a caller who arrived at ``arrival`` (waiting until ``gives_up_at``)."""
        while True:
            start = max(self.free[0], arrival)
            bounds = self.bounds
            if self.next_bound < len(bounds) and start > bounds[self.next_bound] < gives_up_at:
                self._apply_next_bound()
                continue
            return start

    def on_duty(self, moment: int) -> int:
        index = min((moment - self.bounds[0]) // HOUR_SECONDS, len(self.roster) - 1)
        return self.roster[index]


def simulate_day(region: str, day: date, config: SimConfig) -> list[CallRecord]:
    """All calls arriving on a Europe/Stockholm local day in one region, sorted by arrival."""
    if region not in INHABITANTS:
        raise ValueError(f"unknown region: {region}")
    rng = random.Random(stable_seed(f"{config.seed}|{region}|{day.isoformat()}"))
    hours, own = _timeline(day)

    day_level = (
        config.calls_per_inhabitant_year * INHABITANTS[region] / 365.25 / ANNUAL_MEAN_FACTOR
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
    arrivals = _arrivals(rng, hours[:own], rates)
    queue = _QueueRun(hours, _roster(config, region, hours, absence))
    return _serve(config, region, day, rng, hours, arrivals, queue)


def _serve(
    config: SimConfig,
    region: str,
    day: date,
    rng: random.Random,
    hours: list[_Hour],
    arrivals: list[int],
    queue: _QueueRun,
) -> list[CallRecord]:
    """Run the callers through the queue in arrival order and build their records."""
    random_, randint, lognormal = rng.random, rng.randint, rng.lognormvariate
    talk_mu = _lognormal_mu(config.talk_mean_seconds, config.talk_sigma)
    wrap_mu = _lognormal_mu(config.wrap_mean_seconds, config.wrap_sigma)
    patience_mu = _lognormal_mu(config.patience_mean_seconds, config.patience_sigma)
    handling = config.mean_handling_seconds
    timeout = config.queue_timeout_seconds
    others = tuple(r for r in config.regions if r != region)
    night = [_is_night(config, h.local_hour) for h in hours]
    day_start = hours[0].start
    name = queue_name(region)
    prefix = f"{region}-{day:%Y%m%d}-"
    waiting: list[int] = []  # when each queued caller leaves the queue (answered or gone)
    records: list[CallRecord] = []

    def at(seconds: int) -> datetime:
        return datetime.fromtimestamp(seconds, UTC)

    for n, arrival in enumerate(arrivals, start=1):
        call_id = f"{prefix}{n:05d}"
        queue.advance_to(arrival)
        while waiting and waiting[0] <= arrival:
            heapq.heappop(waiting)
        if len(waiting) * handling / queue.on_duty(arrival) > config.reject_expected_wait_seconds:
            records.append(CallRecord(call_id, region, name, at(arrival), Outcome.REJECTED))
            continue
        if random_() < config.short_abandon_share:
            patience = randint(1, 9)
        else:
            patience = min(timeout, max(10, round(lognormal(patience_mu, config.patience_sigma))))
        ring = randint(1, config.ring_max_seconds)
        talk = max(30, round(lognormal(talk_mu, config.talk_sigma)))
        wrap = max(5, round(lognormal(wrap_mu, config.wrap_sigma)))
        answer = queue.first_free(arrival, arrival + patience) + ring
        answered_by: str | None = None
        wait = answer - arrival
        if (
            others
            and wait > config.night_overflow_after_seconds
            and night[(arrival - day_start) // HOUR_SECONDS]
            and random_() < config.night_overflow_share
        ):
            elsewhere = config.night_overflow_after_seconds + randint(15, 120)
            if elsewhere < wait:
                wait, answered_by = elsewhere, rng.choice(others)
        if patience < wait:
            heapq.heappush(waiting, arrival + patience)
            records.append(
                CallRecord(call_id, region, name, at(arrival), Outcome.ABANDONED, ended_at=at(arrival + patience))
            )
            continue
        answer = arrival + wait
        if answered_by is None:
            heapq.heapreplace(queue.free, answer + talk + wrap)
        heapq.heappush(waiting, answer)
        records.append(
            CallRecord(
                call_id, region, name, at(arrival), Outcome.ANSWERED,
                answered_at=at(answer), ended_at=at(answer + talk), answered_by_region=answered_by,
                talk_seconds=float(talk), wrap_seconds=float(wrap),
            )
        )
    return records


def simulate(config: SimConfig, start: date, end: date) -> Iterator[CallRecord]:
    """Calls of all configured regions arriving on local days ``start``..``end`` (inclusive), in arrival
    order, generated one day at a time so memory stays that of one day."""
    day = start
    while day <= end:
        per_region = [simulate_day(region, day, config) for region in config.regions]
        yield from heapq.merge(*per_region, key=attrgetter("arrived_at"))
        day += timedelta(days=1)
