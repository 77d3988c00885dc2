"""The uncached scorecard's per-request work stays fixed (issue 15): a handful of statements whatever the history,
none per region, and statements short enough for the driver's statement cache."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import HourlyAggregate
from app.kpi.reference import REGIONS
from app.scorecard.offered_samples import offered_by_region_hour
from app.scorecard.queries import first_hours, first_hours_in_span
from app.scorecard.service import monthly_scorecard
from tests.helpers import ingest
from tests.plans import sent
from tests.scorecard.test_cache import SAMPLES

OCTOBER = date(2025, 10, 1)
CLOSED_NOW = datetime(2025, 12, 3, 9, 30, tzinfo=UTC)


def _measure(factory: sessionmaker[Session], work: Callable[[Session], Any]) -> tuple[Any, list[str]]:
    with factory() as session, sent(session) as statements:
        return work(session), statements


def test_a_closed_month_with_its_comparisons_takes_a_fixed_handful_of_statements(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Its month, the month before and the year before come from the roll-up in two statements; names once. Before
    issue 15 it took 21 (each compared month read the roll-up and the names again)."""
    ingest(session_factory, settings, "calls", SAMPLES / "calls_october.csv")
    document, statements = _measure(
        session_factory, lambda s: monthly_scorecard(s, OCTOBER, settings.definitions, CLOSED_NOW))
    assert len([scope for scope in document.scopes if scope.kind == "region"]) >= 2
    assert len(statements) <= 9, statements
    assert sum("monthly_aggregates" in sql for sql in statements) == 1
    assert sum("monthly_answered_by" in sql for sql in statements) == 1


def test_first_hours_are_one_short_statement_and_equal_a_grouped_minimum(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """One correlated lookup per region in one statement: the UNION of 21 SELECTs was over 4 kB of SQL, beyond
    psycopg's statement cache, and parsed anew on every call."""
    ingest(session_factory, settings, "calls", SAMPLES / "calls_october.csv")
    codes = [code for code, _name, _inhabitants in REGIONS]
    start, end = datetime(2025, 10, 2, tzinfo=UTC), datetime(2025, 11, 1, tzinfo=UTC)
    agg = HourlyAggregate.__table__.c
    with session_factory() as session:
        expected_span = {region: first for region, first in session.execute(
            select(agg.region, func.min(agg.hour_start)).where(agg.hour_start >= start, agg.hour_start < end)
            .group_by(agg.region)).all()}
        expected_all = dict(session.execute(select(agg.region, func.min(agg.hour_start)).group_by(agg.region)).all())
    in_span, statements = _measure(session_factory, lambda s: first_hours_in_span(s, codes, start, end))
    assert len(statements) == 1 and len(statements[0]) < 1500
    assert in_span and {k: v.astimezone(UTC) for k, v in in_span.items()} == {
        k: (v if v.tzinfo else v.replace(tzinfo=UTC)).astimezone(UTC) for k, v in expected_span.items()}
    assert all(moment.tzinfo is UTC for moment in in_span.values())
    everything, statements = _measure(session_factory, lambda s: first_hours(s, codes))
    assert len(statements) == 1 and {k: v.astimezone(UTC) for k, v in everything.items()} == {
        k: (v if v.tzinfo else v.replace(tzinfo=UTC)).astimezone(UTC) for k, v in expected_all.items()}


def test_the_forecast_samples_come_back_keyed_by_the_requested_hours(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """~700 sampled hours: on PostgreSQL one array parameter (the SQL does not grow with them), on both databases
    the values keyed by the very hours asked for."""
    ingest(session_factory, settings, "calls", SAMPLES / "calls_october.csv")
    hours = [datetime(2025, 10, 1, tzinfo=UTC) + timedelta(hours=k) for k in range(31 * 24)]
    agg = HourlyAggregate.__table__.c
    with session_factory() as session:
        expected: dict[str, dict[datetime, int]] = {}
        for region, moment, offered in session.execute(
                select(agg.region, agg.hour_start, agg.answered + agg.abandoned + agg.rejected)).all():
            moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
            if moment in hours:
                expected.setdefault(region, {})[moment] = int(offered)
        postgres = session.get_bind().dialect.name == "postgresql"
    regions = [code for code, _name, _inhabitants in REGIONS]
    got, statements = _measure(session_factory, lambda s: offered_by_region_hour(s, regions, hours))
    assert got == expected and got
    assert all(moment.tzinfo is UTC for by_hour in got.values() for moment in by_hour)
    if postgres:
        assert len(statements) == 1 and len(statements[0]) < 1000
