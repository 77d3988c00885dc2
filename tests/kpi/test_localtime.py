"""Europe/Stockholm local time: the autumn repeated hour, the spring gap, day and month bounds (§3–§4)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.kpi.localtime import (
    FallBackResolver,
    NonexistentLocalTime,
    floor_hour,
    hours_between,
    is_ambiguous,
    is_nonexistent,
    local_day_bounds,
    local_month_bounds,
    local_month_of,
    local_to_utc,
    next_month,
    resolve_after,
)


def naive(hh: int, mm: int, day: date = date(2025, 10, 26)) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm)


def utc(month: int, day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2025, month, day, hh, mm, tzinfo=UTC)


# --- the autumn repeated hour -------------------------------------------------------------------

def test_fixture_interval_times_first_pass_summer_second_pass_winter() -> None:
    resolver = FallBackResolver(repeat_is_second=True)
    key = ("SE-Z", "vpt")
    times = [(1, 45), (2, 0), (2, 15), (2, 30), (2, 45), (2, 0), (2, 15), (2, 30), (2, 45), (3, 0)]
    got = [resolver.to_utc(naive(h, m), key) for h, m in times]
    assert got == [
        utc(10, 25, 23, 45),  # 01:45 CEST (UTC+2), not ambiguous
        utc(10, 26, 0, 0), utc(10, 26, 0, 15), utc(10, 26, 0, 30), utc(10, 26, 0, 45),  # UTC+2
        utc(10, 26, 1, 0), utc(10, 26, 1, 15), utc(10, 26, 1, 30), utc(10, 26, 1, 45),  # UTC+1
        utc(10, 26, 2, 0),  # 03:00 CET (UTC+1)
    ]
    # four distinct hours with data: 01, 02 summer, 02 winter, 03
    assert len({floor_hour(t) for t in got}) == 4


def test_each_key_has_its_own_first_occurrence() -> None:
    resolver = FallBackResolver(repeat_is_second=True)
    z, y = ("SE-Z", "vpt"), ("SE-Y", "vpt")
    assert resolver.to_utc(naive(2, 0), z) == utc(10, 26, 0, 0)  # SE-Z summer
    assert resolver.to_utc(naive(2, 15), z) == utc(10, 26, 0, 15)
    assert resolver.to_utc(naive(2, 0), y) == utc(10, 26, 0, 0)  # SE-Y's first 02:00: summer
    assert resolver.to_utc(naive(2, 0), z) == utc(10, 26, 1, 0)  # SE-Z went back: winter
    assert resolver.to_utc(naive(2, 15), y) == utc(10, 26, 0, 15)  # SE-Y still summer
    assert resolver.to_utc(naive(2, 0), y) == utc(10, 26, 1, 0)  # SE-Y went back: winter
    assert resolver.to_utc(naive(2, 50), z) == utc(10, 26, 1, 50)  # winter stays winter for SE-Z


def test_calls_at_the_same_naive_time_stay_in_summer_time() -> None:
    resolver = FallBackResolver(repeat_is_second=False)
    assert resolver.to_utc(naive(2, 30), "SE-AC") == utc(10, 26, 0, 30)
    assert resolver.to_utc(naive(2, 30), "SE-AC") == utc(10, 26, 0, 30)  # two callers, same second
    assert resolver.to_utc(naive(2, 10), "SE-AC") == utc(10, 26, 1, 10)  # going back: winter


def test_interval_repeat_switches_to_winter() -> None:
    resolver = FallBackResolver(repeat_is_second=True)
    assert resolver.to_utc(naive(2, 0)) == utc(10, 26, 0, 0)  # 60-minute intervals: 02:00 twice
    assert resolver.to_utc(naive(2, 0)) == utc(10, 26, 1, 0)


def test_resolver_passes_unambiguous_times_through() -> None:
    resolver = FallBackResolver(repeat_is_second=True)
    assert resolver.to_utc(naive(12, 0, date(2025, 7, 1))) == utc(7, 1, 10, 0)  # CEST
    assert resolver.to_utc(naive(12, 0, date(2025, 12, 1))) == datetime(2025, 12, 1, 11, 0, tzinfo=UTC)
    assert resolver.to_utc(naive(1, 59)) == utc(10, 25, 23, 59)
    assert resolver.to_utc(naive(3, 0)) == utc(10, 26, 2, 0)


def test_is_ambiguous_in_autumn() -> None:
    assert is_ambiguous(naive(2, 0))
    assert is_ambiguous(naive(2, 59))
    assert not is_ambiguous(naive(1, 59))
    assert not is_ambiguous(naive(3, 0))
    assert not is_nonexistent(naive(2, 30))


# --- the spring gap -----------------------------------------------------------------------------

SPRING = date(2025, 3, 30)


@pytest.mark.parametrize(("hh", "mm"), [(2, 0), (2, 30), (2, 59)])
def test_nonexistent_local_time_raises(hh: int, mm: int) -> None:
    gap = naive(hh, mm, SPRING)
    assert is_nonexistent(gap)
    with pytest.raises(NonexistentLocalTime, match="does not exist"):
        local_to_utc(gap)
    with pytest.raises(NonexistentLocalTime):
        FallBackResolver(repeat_is_second=False).to_utc(gap, "SE-AC")
    with pytest.raises(NonexistentLocalTime):
        resolve_after(gap, utc(3, 30, 0, 0))
    assert issubclass(NonexistentLocalTime, ValueError)


def test_around_the_spring_gap() -> None:
    assert local_to_utc(naive(1, 59, SPRING)) == utc(3, 30, 0, 59)  # CET
    assert local_to_utc(naive(3, 0, SPRING)) == utc(3, 30, 1, 0)  # CEST
    assert not is_nonexistent(naive(3, 0, SPRING))


@pytest.mark.parametrize(("hh", "mm"), [(2, 0), (2, 30), (2, 59)])
def test_a_gap_time_is_not_ambiguous(hh: int, mm: int) -> None:
    # fold=0 and fold=1 give different offsets in the gap too, but the time is nonexistent, not ambiguous
    assert not is_ambiguous(naive(hh, mm, SPRING))


# --- end times ----------------------------------------------------------------------------------

def test_resolve_after_picks_winter_for_an_answer_after_a_summer_arrival() -> None:
    arrival = local_to_utc(naive(2, 50), fold=0)  # 02:50 CEST = 00:50 UTC
    assert arrival == utc(10, 26, 0, 50)
    # 02:10 CEST (00:10 UTC) would be before the arrival; 02:10 CET (01:10 UTC) is not
    assert resolve_after(naive(2, 10), arrival) == utc(10, 26, 1, 10)


def test_resolve_after_prefers_the_earliest_reading_not_before() -> None:
    arrival = utc(10, 26, 0, 50)
    assert resolve_after(naive(2, 55), arrival) == utc(10, 26, 0, 55)  # summer reading is after
    assert resolve_after(naive(2, 50), arrival) == utc(10, 26, 0, 50)  # equal counts as not before


def test_resolve_after_neither_reading_gives_summer() -> None:
    arrival = utc(10, 26, 2, 30)  # 03:30 CET
    assert resolve_after(naive(2, 10), arrival) == utc(10, 26, 0, 10)  # caller rejects it as before arrival


def test_resolve_after_unambiguous() -> None:
    assert resolve_after(naive(8, 5, date(2025, 10, 1)), utc(10, 1, 6, 0)) == utc(10, 1, 6, 5)


# --- bounds -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("month", "hours"), [
    (date(2025, 10, 1), 745),  # 31 * 24 + 1: the autumn DST day
    (date(2025, 3, 1), 743),  # 31 * 24 - 1: the spring DST day
    (date(2025, 11, 1), 720),  # 30 * 24
    (date(2025, 2, 1), 672),  # 28 * 24
    (date(2024, 2, 1), 696),  # 29 * 24, leap year
    (date(2025, 12, 1), 744),  # across the year end
])
def test_local_month_bounds_hours(month: date, hours: int) -> None:
    start, end = local_month_bounds(month)
    assert hours_between(start, end) == hours
    assert local_month_bounds(month + timedelta(days=14)) == (start, end)  # any day of the month


def test_october_bounds_exact() -> None:
    start, end = local_month_bounds(date(2025, 10, 1))
    assert start == utc(9, 30, 22, 0)  # 2025-10-01 00:00 CEST
    assert end == utc(10, 31, 23, 0)  # 2025-11-01 00:00 CET


@pytest.mark.parametrize(("day", "hours"), [
    (date(2025, 10, 26), 25), (date(2025, 3, 30), 23), (date(2025, 10, 27), 24), (date(2025, 6, 1), 24),
])
def test_local_day_bounds_hours(day: date, hours: int) -> None:
    start, end = local_day_bounds(day)
    assert hours_between(start, end) == hours
    assert local_day_bounds(day + timedelta(days=1))[0] == end  # days tile without gaps


def test_autumn_day_bounds_exact() -> None:
    assert local_day_bounds(date(2025, 10, 26)) == (utc(10, 25, 22, 0), utc(10, 26, 23, 0))


def test_next_month() -> None:
    assert next_month(date(2025, 12, 1)) == date(2026, 1, 1)
    assert next_month(date(2025, 1, 31)) == date(2025, 2, 1)


def test_calls_belong_to_the_local_month_of_arrival() -> None:
    # c008 arrives 23:55 CET on 31 October (22:55 UTC): October
    assert local_month_of(utc(10, 31, 22, 55)) == date(2025, 10, 1)
    # c010 arrives 00:00 CET on 1 November (23:00 UTC on 31 October): November
    assert local_month_of(utc(10, 31, 23, 0)) == date(2025, 11, 1)
    # 00:30 CEST on 1 October is 22:30 UTC on 30 September: October
    assert local_month_of(utc(9, 30, 22, 30)) == date(2025, 10, 1)


def test_floor_hour() -> None:
    cest = datetime.fromisoformat("2025-10-26T02:30:00+02:00")
    cet = datetime.fromisoformat("2025-10-26T02:30:00+01:00")
    assert floor_hour(cest) == utc(10, 26, 0)  # c006
    assert floor_hour(cet) == utc(10, 26, 1)  # c007: same naive time, another hour
    assert floor_hour(datetime(2025, 10, 1, 8, 59, 59, 999999, tzinfo=UTC)) == utc(10, 1, 8)
    assert floor_hour(cest).tzinfo is UTC
