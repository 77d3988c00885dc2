"""The traffic simulator's queue model (SPEC §10): determinism, realism over 13 months, invariants."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.kpi.localtime import STOCKHOLM, local_day_bounds
from app.kpi.records import CallRecord, Outcome
from app.sim.model import INHABITANTS, SimConfig, simulate, simulate_day

CONFIG = SimConfig()
FIRST, LAST = date(2024, 11, 1), date(2025, 11, 30)
NIGHT_HOURS = frozenset({22, 23, 0, 1, 2, 3, 4, 5, 6})


def wait_seconds(call: CallRecord) -> float:
    assert call.wait_ms is not None
    return call.wait_ms / 1000


@dataclass
class Month:
    answered: int = 0
    abandoned: int = 0
    rejected: int = 0
    wait_answered: float = 0.0

    @property
    def offered(self) -> int:
        return self.answered + self.abandoned + self.rejected


@dataclass
class Summary:
    """Everything the realism tests need, from one pass over the 13 months."""

    calls: int = 0
    months: dict[tuple[str, str], Month] = field(default_factory=lambda: defaultdict(Month))
    days: Counter[tuple[str, date]] = field(default_factory=Counter)
    by_local_hour: Counter[int] = field(default_factory=Counter)
    by_weekday: Counter[int] = field(default_factory=Counter)
    weekday_days: Counter[int] = field(default_factory=Counter)
    overflow: list[CallRecord] = field(default_factory=list)
    short_abandons: int = 0
    call_ids: set[str] = field(default_factory=set)
    out_of_order: int = 0


@pytest.fixture(scope="module")
def summary() -> Summary:
    result = Summary()
    previous = None
    for call in simulate(CONFIG, FIRST, LAST):
        local = call.arrived_at.astimezone(STOCKHOLM)
        result.calls += 1
        result.call_ids.add(call.call_id)
        if previous is not None and call.arrived_at < previous:
            result.out_of_order += 1
        previous = call.arrived_at
        result.days[(call.region, local.date())] += 1
        result.by_local_hour[local.hour] += 1
        result.by_weekday[local.weekday()] += 1
        month = result.months[(call.region, f"{local:%Y-%m}")]
        if call.outcome is Outcome.ANSWERED:
            month.answered += 1
            month.wait_answered += wait_seconds(call)
            if call.answered_by_region is not None:
                result.overflow.append(call)
        elif call.outcome is Outcome.ABANDONED:
            month.abandoned += 1
            result.short_abandons += wait_seconds(call) < 5
        else:
            month.rejected += 1
    day = FIRST
    while day <= LAST:
        result.weekday_days[day.weekday()] += 1
        day += timedelta(days=1)
    return result


def span_total(summary: Summary, region: str, first: date, last: date) -> int:
    return sum(n for (r, d), n in summary.days.items() if r == region and first <= d <= last)


# --- determinism ----------------------------------------------------------------------------------------


def test_the_same_day_twice_gives_the_same_calls():
    assert simulate_day("SE-AC", date(2025, 2, 3), CONFIG) == simulate_day("SE-AC", date(2025, 2, 3), CONFIG)


def test_a_day_on_its_own_equals_its_slice_of_a_longer_run():
    run = list(simulate(CONFIG, date(2025, 3, 29), date(2025, 3, 31)))
    for region in CONFIG.regions:
        day = date(2025, 3, 30)
        sliced = [c for c in run if c.region == region and c.arrived_at.astimezone(STOCKHOLM).date() == day]
        assert sliced == simulate_day(region, day, CONFIG)


def test_another_seed_gives_other_calls():
    day = date(2025, 2, 3)
    assert simulate_day("SE-AC", day, CONFIG) != simulate_day("SE-AC", day, SimConfig(seed=42))


def _digest(calls: Iterable[CallRecord]) -> str:
    return hashlib.sha256(repr(list(calls)).encode()).hexdigest()


def test_the_calls_do_not_depend_on_the_process_hash_seed():
    """A server and a history file are produced by different processes: they must agree."""
    code = (
        "from datetime import date; import hashlib; from app.sim.model import SimConfig, simulate_day;"
        "print(hashlib.sha256(repr(simulate_day('SE-Z', date(2025, 1, 7), SimConfig())).encode()).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == _digest(simulate_day("SE-Z", date(2025, 1, 7), CONFIG))


def test_an_unknown_region_is_refused():
    with pytest.raises(ValueError, match="unknown region"):
        simulate_day("SE-XX", date(2025, 1, 1), CONFIG)
    with pytest.raises(ValueError, match="unknown region"):
        SimConfig(regions=("SE-AC", "SE-QQ"))


# --- realism (SPEC §10) -----------------------------------------------------------------------------------


def test_about_045_calls_per_inhabitant_and_year(summary: Summary):
    for region in CONFIG.regions:
        per_inhabitant = span_total(summary, region, date(2024, 12, 1), date(2025, 11, 30)) / INHABITANTS[region]
        assert 0.35 <= per_inhabitant <= 0.55, (region, per_inhabitant)


def test_arrivals_peak_in_the_morning_at_noon_and_late_afternoon(summary: Summary):
    hours = summary.by_local_hour
    night = sum(hours[h] for h in NIGHT_HOURS) / len(NIGHT_HOURS)
    day = sum(hours[h] for h in range(7, 22)) / 15
    for peak in ((7, 8, 9), (11, 12, 13), (16, 17, 18, 19)):
        assert sum(hours[h] for h in peak) / len(peak) > 3.5 * night, peak
    assert 0.18 <= night / day <= 0.35  # nights at about a quarter of the day level
    assert hours[8] > hours[10] and hours[12] > hours[14] and hours[17] > hours[15]  # distinct peaks


def test_mondays_are_busiest_and_weekends_quieter(summary: Summary):
    per_day = {wd: summary.by_weekday[wd] / summary.weekday_days[wd] for wd in range(7)}
    assert max(per_day, key=per_day.__getitem__) == 0
    assert max(per_day[5], per_day[6]) < min(per_day[wd] for wd in range(1, 5))


def test_flu_season_is_busier_than_autumn_and_christmas_dips(summary: Summary):
    for region in CONFIG.regions:
        flu = span_total(summary, region, date(2025, 2, 1), date(2025, 3, 31)) / 59
        autumn = span_total(summary, region, date(2025, 10, 1), date(2025, 11, 30)) / 61
        assert flu > 1.1 * autumn, region
        advent = span_total(summary, region, date(2024, 12, 2), date(2024, 12, 13)) / 12
        christmas = span_total(summary, region, date(2024, 12, 24), date(2024, 12, 25)) / 2
        assert christmas < 0.85 * advent, region


def test_monthly_answer_rates_are_realistic_and_some_miss_the_target(summary: Summary):
    rates = {key: m.answered / m.offered for key, m in summary.months.items()}
    assert len(rates) == 13 * len(CONFIG.regions)
    assert all(0.6 <= rate <= 0.97 for rate in rates.values()), rates
    assert any(rate < 0.85 for rate in rates.values())
    assert any(rate >= 0.85 for rate in rates.values())  # not every month is lost either


def test_monthly_mean_waits_are_realistic(summary: Summary):
    """SPEC §10 observed 2–30 min; the model lands in about 2.5–11 min, so a few months miss 600 s."""
    means = {key: m.wait_answered / m.answered / 60 for key, m in summary.months.items()}
    assert all(2 <= minutes <= 30 for minutes in means.values()), means


def test_overload_rejections_and_short_abandons_happen(summary: Summary):
    assert sum(m.rejected for m in summary.months.values()) > 0
    assert summary.short_abandons > 0


def test_night_overflow_goes_to_another_norra_region_and_only_at_night(summary: Summary):
    assert summary.overflow
    for call in summary.overflow:
        assert call.answered_by_region != call.region and call.answered_by_region in CONFIG.regions
        assert call.arrived_at.astimezone(STOCKHOLM).hour in NIGHT_HOURS
        assert wait_seconds(call) > CONFIG.night_overflow_after_seconds
    assert {c.answered_by_region for c in summary.overflow} == set(CONFIG.regions)


def test_the_long_run_is_ordered_with_unique_ids(summary: Summary):
    assert summary.out_of_order == 0
    assert len(summary.call_ids) == summary.calls


# --- invariants -----------------------------------------------------------------------------------------


def check_day(calls: list[CallRecord], region: str, day: date, config: SimConfig) -> None:
    start, end = local_day_bounds(day)
    assert [c.arrived_at for c in calls] == sorted(c.arrived_at for c in calls)
    assert len({c.call_id for c in calls}) == len(calls)
    for call in calls:
        assert call.region == region and call.queue == "vpt-" + region.lower()
        assert call.call_id.startswith(f"{region}-{day:%Y%m%d}-")
        assert start <= call.arrived_at < end
        for moment in (call.arrived_at, call.answered_at, call.ended_at):
            assert moment is None or (moment.tzinfo is not None and moment.utcoffset() == timedelta(0)
                                      and moment.microsecond == 0)
        if call.outcome is Outcome.ANSWERED:
            assert call.answered_at is not None and call.ended_at is not None
            assert call.talk_seconds is not None and call.wrap_seconds is not None
            assert 0 < wait_seconds(call) <= config.queue_timeout_seconds
            assert 30 <= call.talk_seconds < 4 * 3600 and 5 <= call.wrap_seconds < 4 * 3600
            assert call.talk_seconds.is_integer() and call.wrap_seconds.is_integer()
            assert call.ended_at - call.answered_at == timedelta(seconds=call.talk_seconds)
        elif call.outcome is Outcome.ABANDONED:
            assert call.answered_at is None and call.ended_at is not None and call.answered_by_region is None
            assert 0 < wait_seconds(call) <= config.queue_timeout_seconds
            assert call.talk_seconds is None and call.wrap_seconds is None
        else:
            assert call.answered_at is None and call.ended_at is None and call.answered_by_region is None
            assert call.talk_seconds is None and call.wrap_seconds is None


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    region=st.sampled_from(CONFIG.regions),
    day=st.dates(date(2023, 1, 1), date(2027, 12, 31)),
    staffing=st.sampled_from([0.5, 1.08, 1.6]),
)
def test_every_day_keeps_the_invariants(seed: int, region: str, day: date, staffing: float):
    config = SimConfig(seed=seed, staffing_level=staffing)
    check_day(simulate_day(region, day, config), region, day, config)


@pytest.mark.parametrize(("day", "hours"), [(date(2025, 3, 30), 23), (date(2025, 10, 26), 25)])
def test_dst_days_have_arrivals_over_their_real_hours(day: date, hours: int):
    start, end = local_day_bounds(day)
    assert end - start == timedelta(hours=hours)
    calls = [c for region in CONFIG.regions for c in simulate_day(region, day, CONFIG)]
    for region in CONFIG.regions:
        check_day([c for c in calls if c.region == region], region, day, CONFIG)
    utc_hours = {c.arrived_at.astimezone(UTC).replace(minute=0, second=0) for c in calls}
    assert utc_hours == {start + timedelta(hours=h) for h in range(hours)}  # every real hour has calls
    if hours == 25:  # both 02:xx hours of the autumn change are there, summer and winter time
        twice = {c.arrived_at.astimezone(STOCKHOLM).utcoffset() for c in calls
                 if c.arrived_at.astimezone(STOCKHOLM).hour == 2}
        assert twice == {timedelta(hours=2), timedelta(hours=1)}
