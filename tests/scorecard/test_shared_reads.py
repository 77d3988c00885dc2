"""The reads a /metrics scrape shares, merged into fewer statements (issue 15), give exactly what the separate
reads gave: the forecast's samples read as a range (sparse requests, hours not asked for, regions with gaps), the
first hours of several spans in one statement, the names of regions, collaborations and members in one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import Collaboration, CollaborationMember, HourlyAggregate, Region
from app.kpi.reference import REGIONS
from app.scorecard.offered_samples import offered_by_region_hour
from app.scorecard.queries import first_hours, first_hours_in_span, first_hours_in_spans
from app.scorecard.reads import scope_names
from tests.helpers import ingest
from tests.scorecard.test_cache import SAMPLES
from tests.scorecard.test_round_trips import _measure

CODES = [code for code, _name, _inhabitants in REGIONS]
OCTOBER = datetime(2025, 10, 1, tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _offered(factory: sessionmaker[Session], hours: list[datetime]) -> dict[str, dict[datetime, int]]:
    agg = HourlyAggregate.__table__.c
    wanted = set(hours)
    expected: dict[str, dict[datetime, int]] = {}
    with factory() as session:
        for region, moment, offered in session.execute(
                select(agg.region, agg.hour_start, agg.answered + agg.abandoned + agg.rejected)).all():
            if _utc(moment) in wanted:
                expected.setdefault(region, {})[_utc(moment)] = int(offered)
    return expected


@pytest.mark.parametrize("pick", [
    pytest.param(lambda k: True, id="every hour"),
    pytest.param(lambda k: k % 7 != 3, id="most hours: a range with hours not asked for"),
    pytest.param(lambda k: k % 5 == 0, id="sparse: the hours listed"),
])
def test_the_samples_are_the_requested_hours_whatever_their_density(
    session_factory: sessionmaker[Session], settings: Settings, pick: object
) -> None:
    """The October calls leave hours without data in every region (gaps in the range); the keys are the very
    hours asked for (``tzinfo is UTC``), never one that was not."""
    ingest(session_factory, settings, "calls", SAMPLES / "calls_october.csv")
    hours = [OCTOBER + k * timedelta(hours=1) for k in range(31 * 24) if pick(k)]  # type: ignore[operator]
    expected = _offered(session_factory, hours)
    got, statements = _measure(session_factory, lambda s: offered_by_region_hour(s, CODES, hours))
    assert got == expected and got
    assert all(moment.tzinfo is UTC and moment in set(hours) for by_hour in got.values() for moment in by_hour)
    assert len(statements) == 1


def test_first_hours_of_several_spans_are_one_statement_and_the_single_reads(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    ingest(session_factory, settings, "calls", SAMPLES / "calls_october.csv")
    spans = [None, (OCTOBER + timedelta(days=1), OCTOBER + timedelta(days=31)),
             (OCTOBER + timedelta(days=20), OCTOBER + timedelta(days=21)), (OCTOBER - timedelta(days=9), OCTOBER)]
    together, statements = _measure(session_factory, lambda s: first_hours_in_spans(s, [*CODES, "SE-XX"], spans))
    assert len(statements) == 1 + len(spans)  # a code not in ``regions`` (none in use) takes a UNION per span
    with session_factory() as session:
        alone = [first_hours(session, [*CODES, "SE-XX"])] + [
            first_hours_in_span(session, [*CODES, "SE-XX"], *span) for span in spans[1:]]  # type: ignore[misc]
        agg = HourlyAggregate.__table__.c
        grouped = {region: _utc(first) for region, first in session.execute(
            select(agg.region, func.min(agg.hour_start)).group_by(agg.region)).all()}
    assert together == alone and together[0] == grouped and together[1] and not together[3]


def test_the_names_are_one_statement_and_the_three_tables(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with session_factory() as session:
        session.add_all([Collaboration(code="mitt", name="Mellansverige"), Collaboration(code="b-syd", name="Syd")])
        session.add_all([CollaborationMember(collaboration_code="mitt", region_code=code)
                         for code in ("SE-U", "SE-C", "SE-T")])
        session.add(CollaborationMember(collaboration_code="b-syd", region_code="SE-M"))
        session.commit()
        regions = dict(session.execute(select(Region.code, Region.name)).all())
        collaborations = session.execute(
            select(Collaboration.code, Collaboration.name).order_by(Collaboration.code)).all()
        members: dict[str, set[str]] = {}
        for code, region in session.execute(select(CollaborationMember.collaboration_code,
                                                   CollaborationMember.region_code)).all():
            members.setdefault(code, set()).add(region)
    names, statements = _measure(session_factory, scope_names)
    assert len(statements) == 1
    assert names.regions == regions and list(names.collaborations) == [tuple(row) for row in collaborations]
    assert {code: set(regions) for code, regions in names.members.items()} == members
    assert names.members["mitt"] == ["SE-C", "SE-T", "SE-U"]  # by region code: the same order every time
