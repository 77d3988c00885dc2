"""The per-hour offset table of app.kpi.localtime reads every naive Stockholm time exactly as zoneinfo per timestamp
did (issue 15), the repeated autumn hour and the spring gap included.

The reference below is the module's code before the table, kept verbatim: each property compares the module with it
on wall times of 2000–2099, most of them within hours of a clock change.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, date, datetime, timedelta, tzinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.kpi import localtime
from app.kpi.localtime import (
    STOCKHOLM,
    FallBackResolver,
    NonexistentLocalTime,
    is_ambiguous,
    is_nonexistent,
    local_to_utc,
    resolve_after,
)

# --- the reference: zoneinfo per timestamp ---------------------------------------------------------------------


def _ref_is_nonexistent(naive: datetime) -> bool:
    aware = naive.replace(tzinfo=STOCKHOLM)
    round_trip = aware.astimezone(UTC).astimezone(STOCKHOLM).replace(tzinfo=None)
    return round_trip != naive.replace(fold=0)


def _ref_is_ambiguous(naive: datetime) -> bool:
    if _ref_is_nonexistent(naive):
        return False
    return naive.replace(fold=0, tzinfo=STOCKHOLM).utcoffset() != naive.replace(
        fold=1, tzinfo=STOCKHOLM
    ).utcoffset()


def _ref_local_to_utc(naive: datetime, fold: int = 0) -> datetime:
    if _ref_is_nonexistent(naive):
        raise NonexistentLocalTime(f"local time {naive.isoformat()} does not exist (spring-forward gap)")
    return naive.replace(fold=fold, tzinfo=STOCKHOLM).astimezone(UTC)


class _RefResolver:
    def __init__(self, *, repeat_is_second: bool) -> None:
        self._repeat_is_second = repeat_is_second
        self._latest: dict[tuple[Hashable, date], datetime] = {}
        self._winter: set[tuple[Hashable, date]] = set()

    def to_utc(self, naive: datetime, key: Hashable = None) -> datetime:
        if not _ref_is_ambiguous(naive):
            return _ref_local_to_utc(naive)
        day_key = (key, naive.date())
        if day_key not in self._winter:
            latest = self._latest.get(day_key)
            went_back = latest is not None and (
                naive < latest or (self._repeat_is_second and naive == latest)
            )
            if went_back:
                self._winter.add(day_key)
            else:
                self._latest[day_key] = naive if latest is None else max(latest, naive)
                return _ref_local_to_utc(naive, fold=0)
        return _ref_local_to_utc(naive, fold=1)


def _ref_resolve_after(naive: datetime, not_before: datetime) -> datetime:
    if not _ref_is_ambiguous(naive):
        return _ref_local_to_utc(naive)
    first, second = _ref_local_to_utc(naive, 0), _ref_local_to_utc(naive, 1)
    return first if first >= not_before or second < not_before else second


# --- wall times: mostly near the clock changes of 2000–2099 -----------------------------------------------------


def _last_sunday(year: int, month: int) -> date:
    last = date(year, month, 31)
    return last - timedelta(days=(last.weekday() + 1) % 7)


@st.composite
def _near_switch(draw: st.DrawFn, spread_hours: int = 3) -> datetime:
    """A wall time within ``spread_hours`` of 02:00 on a switch day (spring gap 02–03, repeated hour 02–03)."""
    year = draw(st.integers(2000, 2099))
    switch = datetime.combine(_last_sunday(year, draw(st.sampled_from([3, 10]))), datetime.min.time())
    switch += timedelta(hours=2)
    edge = draw(st.sampled_from([0, 0, 0, 3600, 3600 - 1, -1, 7200]))  # 02:00, 03:00, 02:59:59, 01:59:59, 04:00
    moment = switch + timedelta(seconds=draw(st.one_of(st.just(edge), st.integers(-spread_hours * 3600,
                                                                                   spread_hours * 3600))))
    return moment.replace(microsecond=draw(st.sampled_from([0, 0, 999_999]) | st.integers(0, 999_999)))


_ANY = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59, 999_999))
wall_times = st.one_of(_near_switch(), _near_switch(), _near_switch(), _ANY)


def _same(got: datetime, want: datetime) -> None:
    """Equal instants, and alike as values: UTC tzinfo, fields and fold (a record compares them all)."""
    assert got == want
    assert (got.tzinfo, got.fold, got.isoformat()) == (want.tzinfo, want.fold, want.isoformat())


def _outcome(convert: object, *args: object) -> datetime | type[Exception]:
    try:
        return convert(*args)  # type: ignore[operator, no-any-return]
    except NonexistentLocalTime:
        return NonexistentLocalTime


# --- properties ------------------------------------------------------------------------------------------------


@settings(max_examples=600, deadline=None)
@given(wall_times, st.sampled_from([0, 1]), st.sampled_from([0, 1]))
def test_local_to_utc_equals_zoneinfo_per_timestamp(naive: datetime, fold: int, input_fold: int) -> None:
    naive = naive.replace(fold=input_fold)
    got, want = _outcome(local_to_utc, naive, fold), _outcome(_ref_local_to_utc, naive, fold)
    if want is NonexistentLocalTime or got is NonexistentLocalTime:
        assert got is want
    else:
        assert isinstance(got, datetime) and isinstance(want, datetime)
        _same(got, want)
    assert is_nonexistent(naive) == _ref_is_nonexistent(naive)
    assert is_ambiguous(naive) == _ref_is_ambiguous(naive)


@settings(max_examples=400, deadline=None)
@given(wall_times, st.integers(-3 * 3600, 3 * 3600))
def test_resolve_after_equals_zoneinfo_per_timestamp(naive: datetime, start_shift: int) -> None:
    # the start an end time is resolved after: near the wall time itself, read in either fold
    start_wall = naive + timedelta(seconds=start_shift)
    start = _outcome(_ref_local_to_utc, start_wall, start_shift % 2)
    if not isinstance(start, datetime):
        start = datetime(naive.year, naive.month, naive.day, tzinfo=UTC)
    got, want = _outcome(resolve_after, naive, start), _outcome(_ref_resolve_after, naive, start)
    if isinstance(got, datetime) and isinstance(want, datetime):
        _same(got, want)
    else:
        assert got is want


@st.composite
def _file_sequences(draw: st.DrawFn) -> list[tuple[str, datetime]]:
    """Rows of one file in file order: a few keys, times walking across one switch day's odd hour, with
    repeats and steps back (as a second pass through the repeated hour writes them)."""
    year = draw(st.integers(2000, 2099))
    day = _last_sunday(year, draw(st.sampled_from([10, 10, 3])))
    start = datetime(day.year, day.month, day.day, 1, 0)
    steps = draw(st.lists(st.tuples(st.sampled_from(["SE-AB", "SE-O", "SE-M"]),
                                    st.integers(-2400, 1800)), min_size=1, max_size=40))
    offset = draw(st.integers(0, 3600))
    rows = []
    for key, step in steps:
        offset = max(0, min(3 * 3600, offset + step))
        rows.append((key, start + timedelta(seconds=offset)))
    return rows


@settings(max_examples=400, deadline=None)
@given(_file_sequences(), st.booleans())
def test_resolver_reads_a_file_as_zoneinfo_per_timestamp_did(rows: list[tuple[str, datetime]],
                                                             repeat_is_second: bool) -> None:
    fast, reference = FallBackResolver(repeat_is_second=repeat_is_second), _RefResolver(
        repeat_is_second=repeat_is_second)
    for key, naive in rows:
        got, want = _outcome(fast.to_utc, naive, key), _outcome(reference.to_utc, naive, key)
        if isinstance(got, datetime) and isinstance(want, datetime):
            _same(got, want)
        else:
            assert got is want, (key, naive)


# --- examples: the two odd hours still take the exact path -------------------------------------------------------


def test_the_spring_gap_is_still_an_error_and_its_edges_are_not() -> None:
    with pytest.raises(NonexistentLocalTime):
        local_to_utc(datetime(2031, 3, 30, 2, 0))
    with pytest.raises(NonexistentLocalTime):
        FallBackResolver(repeat_is_second=False).to_utc(datetime(2031, 3, 30, 2, 59, 59, 999_999))
    assert local_to_utc(datetime(2031, 3, 30, 1, 59, 59)) == datetime(2031, 3, 30, 0, 59, 59, tzinfo=UTC)
    assert local_to_utc(datetime(2031, 3, 30, 3, 0)) == datetime(2031, 3, 30, 1, 0, tzinfo=UTC)


def test_the_repeated_hour_still_follows_file_order() -> None:
    resolver = FallBackResolver(repeat_is_second=False)
    times = [datetime(2087, 10, 26, 2, 40), datetime(2087, 10, 26, 2, 5), datetime(2087, 10, 26, 3, 0)]
    assert [resolver.to_utc(t, "SE-AB") for t in times] == [
        datetime(2087, 10, 26, 0, 40, tzinfo=UTC),  # first occurrence: summer time
        datetime(2087, 10, 26, 1, 5, tzinfo=UTC),  # went back: winter time
        datetime(2087, 10, 26, 2, 0, tzinfo=UTC),
    ]


class _CountingZone(tzinfo):
    """Europe/Stockholm, counting how often a conversion consults it."""

    def __init__(self) -> None:
        self.calls = 0

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        self.calls += 1
        return STOCKHOLM.utcoffset(dt)

    def dst(self, dt: datetime | None) -> timedelta | None:
        self.calls += 1
        return STOCKHOLM.dst(dt)

    def tzname(self, dt: datetime | None) -> str | None:
        return STOCKHOLM.tzname(dt)

    def fromutc(self, dt: datetime) -> datetime:
        self.calls += 1
        return STOCKHOLM.fromutc(dt.replace(tzinfo=STOCKHOLM)).replace(tzinfo=self)


def test_naive_times_consult_the_zone_per_hour_not_per_timestamp(monkeypatch: pytest.MonkeyPatch) -> None:
    """The speed itself (bench/timestamps.py) is too noisy for a test; what made it slow is countable: zoneinfo was
    consulted several times per timestamp. Now a day's 24 hours are looked up once (4 offsets each), whatever the
    number of timestamps in them."""
    zone = _CountingZone()
    monkeypatch.setattr(localtime, "STOCKHOLM", zone)
    monkeypatch.setattr(localtime, "_DAYS", {}, raising=False)
    resolver = FallBackResolver(repeat_is_second=False)
    first = datetime(2044, 6, 1, 0, 0, 7)
    got = [resolver.to_utc(first + timedelta(seconds=37 * i), "SE-AB") for i in range(2000)]  # 20 h of one day
    assert zone.calls <= 24 * 8  # a handful per hour; zoneinfo per timestamp made 14 000
    assert got[-1] == (first + timedelta(seconds=37 * 1999)).replace(tzinfo=STOCKHOLM).astimezone(UTC)


def test_the_bounded_day_table_reads_alike_after_it_is_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(localtime, "_DAYS", {})
    monkeypatch.setattr(localtime, "_DAYS_KEPT", 3)
    day = datetime(2050, 3, 25, 12, 30)
    for i in range(12):
        moment = day + timedelta(days=i, hours=i)
        assert local_to_utc(moment) == _ref_local_to_utc(moment)
        assert len(localtime._DAYS) <= 3
