"""Staffing advice for a region or collaboration from a local date to the end of its month (SPEC §7, issue 17).

What was known decides: the advice uses the data stored before ``known_until`` — now, or for a day already past, the
start of that day (what a planner could have known then) — for the forecast (the scorecard's, ``app.kpi.forecast``),
for the handling and patience estimates (the ``ESTIMATE_WEEKS`` before it) and for the month so far, from which the
answer rate the rest of the month needs follows (SPEC §6). Each region staffs its own queue: a collaboration's advice
is its members' advice side by side and summed per hour, while its targets and "needed" are the collaboration's own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from sqlalchemy.orm import Session

from app.kpi.counts import Counts
from app.kpi.forecast import SamplePlan, forecast_rest, needed_answer_rate, needed_mean_wait, sample_plan
from app.kpi.localtime import HOUR, STOCKHOLM, floor_hour, local_day_bounds, local_month_bounds
from app.kpi.staffing import Goal
from app.kpi.targets import Target, target_in_force
from app.scorecard.breakdowns import resolve_scope
from app.scorecard.forecast_cache import ForecastHistoryCache
from app.scorecard.offered_samples import offered_by_region_hour
from app.scorecard.queries import counts_by_region, first_hours
from app.scorecard.reads import scope_names, targets_by_scope
from app.scorecard.service import InvalidMonth, check_year
from app.staffing.estimates import HourSums, RegionParameters, estimate
from app.staffing.forecast import hourly_forecast
from app.staffing.notes import Note, note
from app.staffing.plan import HourAdvice, Staffing, Totals, advise_hours, totals
from app.staffing.queries import hour_sums, staffed_by_hour

#: Weeks of stored hours the handling and patience estimates rest on: two months of every hour of the week.
ESTIMATE_WEEKS = 8
#: How far ahead a date may be: the forecast samples the weeks before now, and a month ahead is what rosters need.
MAX_DAYS_AHEAD = 62
#: The targets of SPEC §6 where a scope has none stored.
DEFAULT_ANSWER_RATE = Fraction(85, 100)
DEFAULT_MEAN_WAIT = Fraction(600)
#: A month needing a higher answer rate than this is not planned for: every nurse would wait for calls.
MAX_RECOVERY_RATE = 0.99


@dataclass(frozen=True, slots=True)
class RegionAdvice:
    region: str
    name: str
    parameters: RegionParameters
    hours: tuple[HourAdvice, ...]


@dataclass(frozen=True, slots=True)
class StaffingAdvice:
    scope: str
    kind: str
    name: str
    day: date
    month: date
    generated_at: datetime
    known_until: datetime  # data before this were used
    advice_from: datetime  # the first hour advised (UTC start)
    day_end: datetime
    end: datetime
    answer_rate_target: float | None
    mean_wait_target: float | None
    targets_default: bool
    offered_so_far: int
    answered_so_far: int
    expected_rest: float | None  # calls expected from known_until to the month's end
    needed_answer_rate: float | None
    needed_mean_wait: float | None
    recovering: bool  # the month needs more than the target: the recovery goal is advised too
    regions: tuple[RegionAdvice, ...]
    hours: tuple[HourAdvice, ...]  # summed over the regions (for a region: its own)
    today: Totals
    month_rest: Totals
    notes: tuple[Note, ...]  # worded by whoever shows them (app.staffing.notes)


@dataclass(frozen=True)
class _Window:
    """The moments an advice turns on (see the module's docstring)."""

    day: date
    month: date
    month_start: datetime
    end: datetime  # the month's end
    day_end: datetime
    known_until: datetime
    advice_from: datetime
    horizon: datetime  # the last advised hour ends here: the month's end, or the day's (metrics)
    plan: SamplePlan


def _window(day: date, now: datetime, day_only: bool = False) -> _Window:
    day_start, day_end = local_day_bounds(day)
    month = day.replace(day=1)
    month_start, end = local_month_bounds(month)
    if now < day_start:
        known_until, advice_from = now, day_start
    elif now < day_end:
        known_until, advice_from = now, floor_hour(now)
    else:
        known_until = advice_from = day_start
    return _Window(day, month, month_start, end, day_end, known_until, advice_from, day_end if day_only else end,
                   sample_plan(known_until, end))


@dataclass(frozen=True)
class _Reads:
    """Everything an advice reads, for a set of regions at once (one query each, whatever their number)."""

    offered_by: dict[str, dict[datetime, int]]  # the forecast's sampled hours (the scorecard's read)
    firsts: dict[str, datetime]
    so_far: dict[str, tuple[Counts, int]]  # the month before known_until
    sums: dict[str, list[HourSums]]  # the ESTIMATE_WEEKS before known_until
    staffed: dict[str, dict[datetime, float]]  # the advised hours' staffed positions, as stored (not as known then)


def _read(session: Session, regions: list[str], window: _Window, history: ForecastHistoryCache | None) -> _Reads:
    def forecast_history() -> tuple[dict[str, dict[datetime, int]], dict[str, datetime]]:
        return offered_by_region_hour(session, regions, window.plan.sample_hours), first_hours(session, regions)

    key = ("staffing", str(session.get_bind().engine.url), tuple(regions), floor_hour(window.known_until), window.end)
    offered_by, firsts = history.get(key, forecast_history) if history is not None else forecast_history()
    known_until = window.known_until
    so_far = counts_by_region(session, regions, window.month_start, known_until) \
        if known_until > window.month_start else {}
    sums = hour_sums(session, regions, known_until - timedelta(weeks=ESTIMATE_WEEKS), known_until)
    staffed = staffed_by_hour(session, regions, window.advice_from, window.horizon)
    return _Reads(offered_by, firsts, so_far, sums, staffed)


def staffing_advice(
    session: Session, kind: str, code: str, day: date, now: datetime | None = None,
    history: ForecastHistoryCache | None = None,
) -> StaffingAdvice:
    now = now or datetime.now(UTC)
    check_year(day)
    name, regions = resolve_scope(session, kind, code)
    if (day - now.astimezone(STOCKHOLM).date()).days > MAX_DAYS_AHEAD:
        raise InvalidMonth(f"date must be at most {MAX_DAYS_AHEAD} days ahead, got {day.isoformat()}").keyed(
            "error.date_ahead", days=MAX_DAYS_AHEAD, day=day.isoformat())
    window = _window(day, now)
    reads = _read(session, regions, window, history)
    targets = targets_by_scope(session).get((kind, code), [])
    return _assemble(kind, code, name, regions, targets, window, reads, _region_names(session, regions), now)


def today_by_region(
    session: Session, now: datetime, history: ForecastHistoryCache | None = None,
) -> dict[str, StaffingAdvice]:
    """Each region's advice for the rest of today (``vpt_staffing_needed``): one set of reads for all regions."""
    names = scope_names(session)
    regions = sorted(names.regions)
    window = _window(now.astimezone(STOCKHOLM).date(), now, day_only=True)
    reads = _read(session, regions, window, history)
    targets = targets_by_scope(session)
    return {region: _assemble("region", region, names.regions[region], [region], targets.get(("region", region), []),
                              window, reads, names.regions, now)
            for region in regions if region in reads.firsts}


def _assemble(
    kind: str, code: str, name: str, regions: list[str], targets: list[Target], window: _Window, reads: _Reads,
    names: dict[str, str], now: datetime,
) -> StaffingAdvice:
    month, end, known_until = window.month, window.end, window.known_until
    notes: list[Note] = []
    rate_target = target_in_force(targets, "answer_rate", month)
    wait_target = target_in_force(targets, "mean_wait", month)
    defaulted = rate_target is None and wait_target is None
    rate_bound = DEFAULT_ANSWER_RATE if defaulted else (rate_target.bound if rate_target else None)
    wait_bound = DEFAULT_MEAN_WAIT if defaulted else (wait_target.bound if wait_target else None)
    if defaulted:
        notes.append(note("default_targets"))

    # the forecast, exactly as the scorecard's: same samples, same first data
    sampled_from = floor_hour(known_until)
    forecasts = {region: hourly_forecast(reads.offered_by.get(region, {}), window.plan, reads.firsts.get(region),
                                         sampled_from, end) for region in regions}
    # the month so far and what the rest needs (on the scope's summed counts, never averaged ratios)
    so_far = [reads.so_far[region][0] for region in regions if region in reads.so_far]
    offered = sum(counts.offered for counts in so_far)
    answered = sum(counts.answered for counts in so_far)
    # the scope's remaining calls exactly as the scorecard forecasts them (a collaboration: its members summed)
    summed: dict[datetime, int] = {}
    for region in regions:
        for hour, value in reads.offered_by.get(region, {}).items():
            summed[hour] = summed.get(hour, 0) + value
    starts = [reads.firsts[r] for r in regions if r in reads.firsts]
    forecast = forecast_rest(summed, known_until, end, min(starts) if starts else None, plan=window.plan)
    expected = forecast.expected_rest if forecast.usable else None
    if expected is None:
        notes.append(note("no_forecast"))
    needed_rate = needed_wait = None
    if expected is not None and expected > 0 and rate_bound is not None:
        needed_rate = needed_answer_rate(rate_bound, offered, answered, expected)
    if expected is not None and expected > 0 and wait_bound is not None and answered > 0:
        wait_ms = sum(counts.wait_answered_ms for counts in so_far)
        rate = Fraction(answered, offered) if offered else Fraction(1)
        needed_wait = needed_mean_wait(wait_bound, answered, wait_ms, expected * rate)
    goal = Goal(None if rate_bound is None else float(rate_bound), None if wait_bound is None else float(wait_bound))
    recover = _recovery_goal(goal, needed_rate, needed_wait, notes)

    region_advice = []
    for region in regions:
        parameters = estimate(reads.sums.get(region, []))
        wanted = []
        hour = window.advice_from
        while hour < window.horizon:
            calls = forecasts[region].get(hour)
            wanted.append((hour, None if calls is None else float(calls), parameters.at(_week_slot(hour))))
            hour += HOUR
        staffed = reads.staffed.get(region, {})
        hours = [replace(h, staffed=staffed.get(h.start)) for h in advise_hours(wanted, goal, recover)]
        region_advice.append(RegionAdvice(region, names.get(region, region), parameters, tuple(hours)))
    per_hour = tuple(_sum_hours(regions, [r.hours[i] for r in region_advice])
                     for i in range(len(region_advice[0].hours))
                     ) if region_advice else ()
    if kind == "region":
        per_hour = region_advice[0].hours
    recovering = recover is not None
    return StaffingAdvice(
        scope=code, kind=kind, name=name, day=window.day, month=month, generated_at=now, known_until=known_until,
        advice_from=window.advice_from, day_end=window.day_end, end=end,
        answer_rate_target=None if rate_bound is None else float(rate_bound),
        mean_wait_target=None if wait_bound is None else float(wait_bound), targets_default=defaulted,
        offered_so_far=offered, answered_so_far=answered,
        expected_rest=None if expected is None else float(expected),
        needed_answer_rate=None if needed_rate is None else float(needed_rate),
        needed_mean_wait=None if needed_wait is None else float(needed_wait),
        recovering=recovering, regions=tuple(region_advice), hours=per_hour,
        today=_region_totals(region_advice, window.day_end, recovering),
        month_rest=_region_totals(region_advice, end, recovering),
        notes=tuple(notes),
    )


def _recovery_goal(goal: Goal, needed_rate: Fraction | None, needed_wait: Fraction | None,
                   notes: list[Note]) -> Goal | None:
    """The goal that saves the month, where it is stricter than the target and still within reach."""
    rate = goal.answer_rate
    wait = goal.mean_wait
    stricter = False
    if needed_rate is not None and rate is not None and needed_rate > Fraction(rate):
        if needed_rate > MAX_RECOVERY_RATE:
            notes.append(note("rate_out_of_reach", rate=float(needed_rate)))
        else:
            rate, stricter = float(needed_rate), True
    if needed_wait is not None and wait is not None and needed_wait < Fraction(wait):
        if needed_wait <= 0:
            notes.append(note("wait_out_of_reach"))
        else:
            wait, stricter = float(needed_wait), True
    return Goal(rate, wait) if stricter else None


def _week_slot(hour: datetime) -> tuple[int, int]:
    local = hour.astimezone(STOCKHOLM)
    return local.weekday(), local.hour


def _region_names(session: Session, regions: list[str]) -> dict[str, str]:
    names = scope_names(session).regions
    return {region: names.get(region, region) for region in regions}


def _sum_hours(regions: list[str], hours: list[HourAdvice]) -> HourAdvice:
    """The regions' advice for one hour added up (each region staffs its own queue: no pooling). A member without
    advice (no data, no handling times) is left out and named: the sum is then of the others."""
    first = hours[0]
    # staffed positions only where every member reports them: a partial sum would read as a shortfall
    staffed = None if any(h.staffed is None for h in hours) else sum(h.staffed or 0.0 for h in hours)
    advised = [(region, h) for region, h in zip(regions, hours, strict=True)
               if h.offered is not None and h.target is not None]
    missing = [region for region, h in zip(regions, hours, strict=True) if h.offered is None or h.target is None]
    said = None if not missing else note("without_regions", regions=", ".join(missing))
    if not advised:
        return HourAdvice(first.start, None, first.parameters, None, None, None, said, staffed)

    def combine(recovery: bool) -> Staffing:
        chosen: list[Staffing] = []
        for _, h in advised:
            pick = h.recover if recovery and h.recover is not None else h.target
            assert pick is not None  # only hours with a target staffing are advised
            chosen.append(pick)
        offered = [h.offered or 0.0 for _, h in advised]
        nurses = sum(s.nurses for s in chosen)
        answered = sum(o * s.answer_rate for o, s in zip(offered, chosen, strict=True))
        waits = sum(o * s.answer_rate * s.mean_wait_seconds for o, s in zip(offered, chosen, strict=True))
        total = sum(offered)
        return Staffing(nurses, answered / total if total else 1.0, waits / answered if answered else 0.0)

    recovering = any(h.recover is not None for _, h in advised)
    return HourAdvice(first.start, sum(h.offered or 0.0 for _, h in advised), first.parameters, combine(False),
                      combine(True) if recovering else None, sum(h.erlang_c_nurses or 0 for _, h in advised), said,
                      staffed)


def _region_totals(regions: list[RegionAdvice], until: datetime, recovering: bool) -> Totals:
    return totals([h for r in regions for h in r.hours if h.start < until], recovering)
