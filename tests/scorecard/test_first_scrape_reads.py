"""The cheaper reads of a process's first /metrics scrape (issue 15) give exactly what the reference reads give:

- the forecast's samples, read on PostgreSQL as one range per region (plain SQL, its hour offset in float8), equal
  the hourly rows filtered in Python for generated sets of requested hours (dense, with holes, sparse, off the
  hour, outside the data);
- the data version and the stored definitions, read in one statement, equal ``data_version`` and
  ``stored_definitions`` read apart, with and without a definitions row;
- ``KpiFigures.of`` (built positionally) equals the dict-built reference over generated KPIs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import AggregateDefinitions, HourlyAggregate
from app.kpi.catalog import KPI_KEYS
from app.kpi.counts import Definitions
from app.kpi.formulas import Kpis
from app.kpi.reference import REGIONS
from app.scorecard.document import KpiFigures
from app.scorecard.offered_samples import offered_by_region_hour
from app.scorecard.queries import data_version, data_version_and_definitions, stored_definitions
from tests.helpers import ingest
from tests.scorecard.test_cache import SAMPLES
from tests.scorecard.test_round_trips import _measure

CODES = [code for code, _name, _inhabitants in REGIONS]
OCTOBER = datetime(2025, 10, 1, tzinfo=UTC)
HOURS = 33 * 24  # October and a day either side: hours with no data at both ends


def _utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _reference(session: Session, regions: list[str], hours: list[datetime]) -> dict[str, dict[datetime, int]]:
    """Every hourly row, filtered in Python: keyed by the very hour objects asked for."""
    agg = HourlyAggregate.__table__.c
    asked = {moment: moment for moment in hours}
    expected: dict[str, dict[datetime, int]] = {}
    for region, moment, offered in session.execute(
            select(agg.region, agg.hour_start, agg.answered + agg.abandoned + agg.rejected)).all():
        key = asked.get(_utc(moment))
        if region in regions and key is not None:
            expected.setdefault(region, {})[key] = int(offered)
    return expected


def _ingested(factory: sessionmaker[Session], settings: Settings) -> None:
    with factory() as session:
        if session.execute(select(func.count()).select_from(HourlyAggregate)).scalar_one():
            return  # the examples share the test's database
    ingest(factory, settings, "calls", SAMPLES / "calls_october.csv")


hour_sets = st.tuples(
    st.integers(0, HOURS - 1),  # the first hour asked for, from a day before October
    st.integers(1, HOURS),  # the span
    st.sampled_from([1, 2, 3, 5]),  # every n-th hour: dense (the range), or sparse (the hours listed)
    st.sets(st.integers(0, HOURS), max_size=40),  # holes
    st.sampled_from([timedelta(0), timedelta(0), timedelta(minutes=30)]),  # off the hour: never a key
    st.integers(0, HOURS),  # which hour is off the hour (the first included)
    st.lists(st.sampled_from(CODES), min_size=1, max_size=len(CODES), unique=True),
)


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hour_sets)
@example((24 * 15 + 12, 3, 1, set(), timedelta(minutes=30), 0, CODES))  # the first asked-for hour off the hour
def test_the_samples_equal_the_rows_filtered_in_python(
    session_factory: sessionmaker[Session], settings: Settings,
    drawn: tuple[int, int, int, set[int], timedelta, int, list[str]],
) -> None:
    start, span, step, holes, shift, shifted, regions = drawn
    first = OCTOBER - timedelta(days=1) + start * timedelta(hours=1)
    hours = [first + k * timedelta(hours=1) for k in range(0, span, step) if k not in holes]
    if shift and hours:
        hours[shifted % len(hours)] += shift  # one hour off the hour, the rest on it
    if not hours:
        return
    _ingested(session_factory, settings)
    with session_factory() as session:
        expected = _reference(session, regions, hours)
    got, statements = _measure(session_factory, lambda s: offered_by_region_hour(s, regions, hours))
    assert got == expected
    assert len(statements) == 1
    assert all(moment.tzinfo is UTC for by_hour in got.values() for moment in by_hour)


def test_the_data_version_and_definitions_are_one_statement_and_the_two_reads(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    def apart(session: Session) -> tuple[tuple[Any, ...], Definitions | None]:
        return data_version(session), stored_definitions(session)

    ingest(session_factory, settings, "calls", SAMPLES / "calls_october.csv")
    with session_factory() as session:
        session.execute(delete(AggregateDefinitions))
        session.commit()
    states = []
    for stored in (None, Definitions(short_abandon_seconds=7, sl_seconds=120)):
        if stored is not None:
            with session_factory() as session:
                session.add(AggregateDefinitions(id=1, short_abandon_seconds=stored.short_abandon_seconds,
                                                 sl_seconds=stored.sl_seconds))
                session.commit()
        together, statements = _measure(session_factory, data_version_and_definitions)
        with session_factory() as session:
            assert together == apart(session)
        assert together[1] == stored and len(statements) == 1
        states.append(together)
    assert states[0][0] != states[1][0]  # the definitions row moves the version


kpi_values = st.one_of(st.none(), st.integers(0, 10**6),
                       st.fractions(min_value=0, max_value=10**4, max_denominator=10**6),
                       st.floats(0, 10**4, allow_nan=False))


@given(st.lists(kpi_values, min_size=len(KPI_KEYS), max_size=len(KPI_KEYS)))
def test_kpi_figures_equal_the_dict_built_reference(values: list[Any]) -> None:
    kpis = Kpis(*values)

    def reference(kpis: Kpis) -> KpiFigures:  # KpiFigures.of as it was: a dict of every KPI, then two more
        every = {key: float(v) if isinstance(v := getattr(kpis, key), Fraction) else v for key in KPI_KEYS}
        declared = {key: every[key] for key in every if key in KpiFigures.__dataclass_fields__ and key != "more"}
        return KpiFigures(**declared, more={k: v for k, v in every.items() if k not in declared})

    got, expected = KpiFigures.of(kpis), reference(kpis)
    assert got == expected
    assert [type(got.value(key)) for key in KPI_KEYS] == [type(expected.value(key)) for key in KPI_KEYS]
    assert got.as_dict() == expected.as_dict() and list(got.more) == list(expected.more)
