"""The forecast of the month in progress summed per region from the range read (issue 15) equals ``forecast_rest``
over the hourly rows.

On PostgreSQL the forecast's samples come back as a range (``app.scorecard.sample_range.SampleRange``) and a scope
whose data began before its samples is summed per region without a dict of hours; any other scope, and SQLite, takes
the dicts. The reference here is the definition: every stored hourly row read back, summed over the scope's regions
per hour in Python, and ``forecast_rest`` of that. Generated data: regions whose data begin at different times
(before and inside the sampled weeks), holes, a collaboration of some of them (and a region without data), "now"
on and off the hour and across the autumn clock change, a scope whose data end early (its rest starts there).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import HourlyAggregate
from app.kpi.forecast import Forecast, forecast_rest, sample_plan
from app.kpi.localtime import HOUR, floor_hour, local_month_bounds, local_month_of
from app.scorecard.completeness import PARTIAL_AFTER
from app.scorecard.offered_samples import offered_samples
from app.scorecard.sample_range import SampleRange, flat_forecast
from app.scorecard.service import forecasts_for
from tests.scorecard.test_first_scrape_reads import _utc

REGIONS = ["SE-AB", "SE-C", "SE-M"]
FIRST = datetime(2025, 9, 1, tzinfo=UTC)  # the stored hours run from here for ten weeks (the October change inside)
HOURS = 10 * 7 * 24
Scope = tuple[str, str]


def _store(factory: sessionmaker[Session], seed: int, starts: dict[str, int], gap: float) -> None:
    rng = random.Random(seed)
    rows = [{"region": region, "hour_start": FIRST + k * HOUR, "hours_covered": 1, "answered": rng.randint(0, 60),
             "abandoned": rng.randint(0, 9), "rejected": rng.randint(0, 3)}
            for region, start in starts.items() for k in range(start, HOURS) if rng.random() >= gap]
    with factory() as session, session.begin():
        session.execute(delete(HourlyAggregate))
        if rows:
            session.execute(insert(HourlyAggregate), rows)


def _reference(session: Session, members: dict[Scope, list[str]], scopes: list[Scope], now: datetime, end: datetime,
               latest: dict[Scope, datetime | None]) -> dict[Scope, Forecast]:
    """Each scope's hourly offered calls summed in Python from every stored row, and ``forecast_rest`` of them (its
    rest starting where ``forecasts_for`` says: at now, or after the newest record of a scope flagged partial)."""
    t = HourlyAggregate.__table__.c
    by_region: dict[str, dict[datetime, int]] = {}
    for region, hour, offered in session.execute(select(t.region, t.hour_start, t.answered + t.abandoned + t.rejected)):
        by_region.setdefault(region, {})[_utc(hour)] = int(offered)
    out = {}
    for scope in scopes:
        offered: dict[datetime, int] = {}
        for region in members[scope]:
            for hour, value in by_region.get(region, {}).items():
                offered[hour] = offered.get(hour, 0) + value
        firsts = [min(by_region[region]) for region in members[scope] if by_region.get(region)]
        newest = latest.get(scope)
        start = now if newest is None or newest >= now - PARTIAL_AFTER else min(now, floor_hour(newest) + HOUR)
        out[scope] = forecast_rest(offered, start, end, min(firsts) if firsts else None)
    return out


drawn_cases = st.tuples(
    st.integers(0, 2**32),  # the offered calls
    st.lists(st.sampled_from([0, 0, 24 * 7, 24 * 30, 24 * 45, 24 * 60 + 5]), min_size=3, max_size=3),  # data starts
    st.sampled_from([0.0, 0.0, 0.05, 0.5]),  # share of hours without a row
    st.integers(5 * 7 * 24 * 60, HOURS * 60 + 3 * 24 * 60),  # now, in minutes after FIRST
    st.lists(st.sampled_from([*REGIONS, "SE-Z"]), min_size=1, max_size=4, unique=True),  # a collaboration's members
    st.none() | st.tuples(st.sampled_from(["SE-AB", "SE-C", "NORR"]), st.integers(3, 200)),  # a scope ended early
)


@hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn_cases)
@example((1, [0, 0, 0], 0.0, 8 * 7 * 24 * 60 + 37, REGIONS, None))  # every scope summed, the hour in progress partial
@example((2, [0, 24 * 45, 0], 0.05, 8 * 7 * 24 * 60, ["SE-C", "SE-Z"], ("SE-AB", 30)))  # young data, two starts
def test_the_forecasts_equal_forecast_rest_over_the_hourly_rows(
    session_factory: sessionmaker[Session], drawn: tuple[int, list[int], float, int, list[str], tuple[str, int] | None]
) -> None:
    seed, starts, gap, minutes, collaboration, ended = drawn
    _store(session_factory, seed, dict(zip(REGIONS, starts, strict=True)), gap)
    now = FIRST + timedelta(minutes=minutes)
    end = local_month_bounds(local_month_of(now))[1]
    members: dict[Scope, list[str]] = {("region", code): [code] for code in REGIONS}
    members[("collaboration", "NORR")] = collaboration
    scopes = list(members)
    latest: dict[Scope, datetime | None] = {}
    if ended is not None:
        code, hours_ago = ended
        latest[("collaboration" if code == "NORR" else "region", code)] = now - hours_ago * HOUR
    with session_factory() as session:
        got = forecasts_for(session, members, scopes, now, end, latest)
        expected = _reference(session, members, scopes, now, end, latest)
    assert got == expected


def test_postgresql_sums_the_regions_of_a_scope_whose_data_began_before_its_samples(
    session_factory: sessionmaker[Session],
) -> None:
    """The summed path is the one taken (not only a fallback that happens to agree): on PostgreSQL the samples are a
    range and every scope here, whose data began weeks before them, gets its forecast from ``flat_forecast``,
    equal to the reference, off the hour (the hour in progress partial) and on it."""
    _store(session_factory, 7, dict.fromkeys(REGIONS, 0), 0.05)
    members: dict[Scope, list[str]] = {("region", code): [code] for code in REGIONS}
    members[("collaboration", "NORR")] = ["SE-AB", "SE-M", "SE-Z"]
    postgres = session_factory.kw["bind"].dialect.name == "postgresql"
    for now in (FIRST + 9 * 7 * 24 * HOUR + timedelta(minutes=21), FIRST + 9 * 7 * 24 * HOUR):
        end = local_month_bounds(local_month_of(now))[1]
        plan = sample_plan(now, end)
        with session_factory() as session:
            samples = offered_samples(session, REGIONS, plan.sample_hours)
            expected = _reference(session, members, list(members), now, end, {})
        assert isinstance(samples, SampleRange) is postgres
        if not isinstance(samples, SampleRange):
            continue
        for scope, regions in members.items():
            summed = flat_forecast(samples, plan, regions, now, end, FIRST)
            assert summed is not None and summed == expected[scope], scope
            assert summed.expected_rest > 0
        assert flat_forecast(samples, plan, REGIONS, now, end, plan.flat.oldest + HOUR) is None  # type: ignore[union-attr]  # a flat plan: asserted above
