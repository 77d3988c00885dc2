"""The scorecard's counts reads in one prebuilt statement each (issue 15), proven equal to the hourly rows summed.

``month_counts`` (the monthly roll-up) and ``counts_by_region`` of a shorter span (the hourly rows) now join the
answered-by-other-region sums in SQL and run statements built once at import. A property test on both databases
sums random hourly and answered-by rows in Python (the definition: SPEC §5, sums of hours) and compares every
field, for whole months, a span cut inside a month, and with and without a region filter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, insert
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.aggregates import rebuild_month
from app.db.contributions import BUCKET_COLUMNS
from app.db.models import HourlyAggregate, HourlyAnsweredBy, MonthlyAggregate, MonthlyAnsweredBy
from app.kpi.counts import Counts
from app.kpi.localtime import hours_between, local_month_bounds
from app.scorecard.queries import counts_by_region, month_counts
from app.scorecard.service import monthly_scorecard
from app.scorecard.statements import COUNT_FIELDS, FLOAT_FIELDS
from tests.helpers import ingest
from tests.scorecard.test_cache import SAMPLES

REGIONS = ["SE-AB", "SE-C", "SE-M"]
SEPTEMBER, OCTOBER = date(2025, 9, 1), date(2025, 10, 1)
FIRST_HOUR = local_month_bounds(SEPTEMBER)[0]
HOURS = hours_between(FIRST_HOUR, local_month_bounds(OCTOBER)[1])  # both months, the autumn fall-back hour in
CLOSED_NOW = datetime(2025, 12, 3, 9, 30, tzinfo=UTC)

hourly_row = st.fixed_dictionaries({
    **{name: st.floats(0, 5000).map(lambda x: round(x * 4) / 4) if name in FLOAT_FIELDS else st.integers(0, 40)
       for name in COUNT_FIELDS},
    **{name: st.integers(0, 9) for name in BUCKET_COLUMNS},
    "call_wait_answered_ms": st.integers(0, 10**7),
    "longest_wait_ms": st.none() | st.integers(0, 7_200_000),
    "latest_minutes": st.none() | st.integers(0, 59),
})
answered_row = st.tuples(st.sampled_from(REGIONS), st.sampled_from([*REGIONS, "SE-Z"]), st.integers(0, HOURS - 1),
                         st.integers(1, 30))


@contextmanager
def executed(factory: sessionmaker[Session]) -> Iterator[tuple[Session, list[Any]]]:
    """A session and the statement objects it executes (``before_execute``: the object, before compiling)."""
    seen: list[Any] = []
    with factory() as session:
        engine = session.get_bind()

        def record(conn: Any, clause: Any, *_args: Any) -> None:
            seen.append(clause)

        event.listen(engine, "before_execute", record)
        try:
            yield session, seen
        finally:
            event.remove(engine, "before_execute", record)


def _store(factory: sessionmaker[Session], rows: dict[tuple[str, int], dict[str, Any]],
           answered: list[tuple[str, str, int, int]]) -> None:
    with factory() as session, session.begin():
        conn = session.connection()
        for table in (HourlyAggregate, HourlyAnsweredBy, MonthlyAggregate, MonthlyAnsweredBy):
            conn.execute(delete(table.__table__))
        hourly = []
        for (region, offset), values in rows.items():
            hour = FIRST_HOUR + timedelta(hours=offset)
            minutes = values["latest_minutes"]
            hourly.append({**{k: v for k, v in values.items() if k != "latest_minutes"}, "region": region,
                           "hour_start": hour, "hours_covered": 1,
                           "latest_record_at": None if minutes is None else hour + timedelta(minutes=minutes)})
        if hourly:
            conn.execute(insert(HourlyAggregate.__table__), hourly)
        pairs: dict[tuple[str, str, int], int] = {}
        for region, by, offset, count in answered:
            pairs[(region, by, offset)] = pairs.get((region, by, offset), 0) + count
        if pairs:
            conn.execute(insert(HourlyAnsweredBy.__table__), [
                {"region": region, "answered_by_region": by, "hour_start": FIRST_HOUR + timedelta(hours=offset),
                 "answered": count} for (region, by, offset), count in pairs.items()])
        for month in (SEPTEMBER, OCTOBER):
            rebuild_month(conn, month)


def _expected(rows: dict[tuple[str, int], dict[str, Any]], answered: list[tuple[str, str, int, int]],
              start: datetime, end: datetime, regions: list[str] | None) -> dict[str, tuple[Counts, int]]:
    """The definition: the span's hourly rows of each region summed field by field in Python."""
    def inside(offset: int) -> bool:
        return start <= FIRST_HOUR + timedelta(hours=offset) < end

    by_others: dict[str, int] = {}
    for_others: dict[str, int] = {}
    for region, by, offset, count in answered:
        if region != by and inside(offset):
            by_others[region] = by_others.get(region, 0) + count
            for_others[by] = for_others.get(by, 0) + count
    out: dict[str, tuple[Counts, int]] = {}
    for region in sorted({region for region, offset in rows if inside(offset)}):
        mine = [values | {"hour": FIRST_HOUR + timedelta(hours=offset)}
                for (code, offset), values in rows.items() if code == region and inside(offset)]
        longest = [v["longest_wait_ms"] for v in mine if v["longest_wait_ms"] is not None]
        latest = [v["hour"] + timedelta(minutes=v["latest_minutes"]) for v in mine if v["latest_minutes"] is not None]
        counts = Counts(
            **{name: sum(v[name] for v in mine) for name in COUNT_FIELDS},
            longest_wait_ms=max(longest) if longest else None,
            latest_record_at=max(latest) if latest else None,
            wait_histogram=tuple(sum(v[name] for v in mine) for name in BUCKET_COLUMNS),
            answered_by_other_regions=by_others.get(region, 0),
            answered_for_other_regions=for_others.get(region, 0),
        )
        out[region] = (counts, len(mine))
    for region in sorted(for_others.keys() - out.keys()):  # it answered for others, with no rows of its own
        out[region] = (Counts(answered_by_other_regions=by_others.get(region, 0),
                              answered_for_other_regions=for_others[region]), 0)
    return {code: value for code, value in out.items() if regions is None or code in regions}


def _same(got: dict[str, tuple[Counts, int]], expected: dict[str, tuple[Counts, int]]) -> None:
    assert got.keys() == expected.keys()
    for region, (counts, hours) in got.items():
        want, want_hours = expected[region]
        assert hours == want_hours, region
        for f in fields(Counts):
            value, wanted = getattr(counts, f.name), getattr(want, f.name)
            if isinstance(value, datetime):
                value = value.astimezone(UTC)
            assert value == wanted and type(value) is type(wanted), (region, f.name, value, wanted)


@hypothesis_settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.dictionaries(st.tuples(st.sampled_from(REGIONS), st.integers(0, HOURS - 1)), hourly_row, max_size=25),
       answered=st.lists(answered_row, max_size=25), cut=st.integers(1, HOURS - 1),
       regions=st.none() | st.lists(st.sampled_from(REGIONS), min_size=1, unique=True))
def test_month_and_span_counts_equal_the_hourly_rows_summed(
    session_factory: sessionmaker[Session], rows: dict[tuple[str, int], dict[str, Any]],
    answered: list[tuple[str, str, int, int]], cut: int, regions: list[str] | None,
) -> None:
    _store(session_factory, rows, answered)
    with session_factory() as session:
        by_month = month_counts(session, [SEPTEMBER, OCTOBER], regions)
        for month in (SEPTEMBER, OCTOBER):
            _same(by_month[month], _expected(rows, answered, *local_month_bounds(month), regions))
        start, end = local_month_bounds(OCTOBER)
        if start < FIRST_HOUR + timedelta(hours=cut) < end:  # a span cut inside a month: the hourly rows
            start, end = start, FIRST_HOUR + timedelta(hours=cut)
        else:
            start, end = FIRST_HOUR + timedelta(hours=cut), local_month_bounds(SEPTEMBER)[1]
        if start < end:
            _same(counts_by_region(session, regions, start, end), _expected(rows, answered, start, end, regions))


def test_month_counts_and_a_span_s_counts_are_one_statement_each(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Two before each (the answered-by pairs were a second round trip, ~1 200 rows at ten years)."""
    ingest(session_factory, settings, "calls", SAMPLES / "calls_october.csv")
    start, end = local_month_bounds(OCTOBER)
    with executed(session_factory) as (session, seen):
        assert month_counts(session, [OCTOBER, SEPTEMBER, date(2024, 10, 1)])[OCTOBER]
        assert len(seen) == 1
        every = counts_by_region(session, None, start, end - timedelta(days=3))
        some = sorted(every)[:1]
        assert some and counts_by_region(session, some, start, end - timedelta(days=3)) == {some[0]: every[some[0]]}
        assert len(seen) == 3


def test_an_uncached_closed_month_builds_no_statement(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Every statement of a closed month's scorecard is an object built once and reused by the next request: seven
    of them, the seventh the sources that contributed and how far each has delivered (seven before, each built anew
    on every call; the building cost more client time than running them)."""
    ingest(session_factory, settings, "calls", SAMPLES / "calls_october.csv")
    runs = []
    for month in (OCTOBER, OCTOBER):
        with executed(session_factory) as (session, seen):
            monthly_scorecard(session, month, settings.definitions, CLOSED_NOW)
        runs.append(seen)
    first, second = runs
    assert len(first) == len(second) <= 7, first
    assert all(a is b for a, b in zip(first, second, strict=True)), [str(a)[:80] for a, b in zip(
        first, second, strict=True) if a is not b]
