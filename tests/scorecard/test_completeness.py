"""Completeness (SPEC §5, issue 12 item 10): data that start late or end early make a month partial, a
collaboration is as complete as its weakest member, and a member region without data is named. Both databases.

October 2025 runs from 2025-09-30T22:00Z (00:00 +02:00) to 2025-10-31T23:00Z (00:00 +01:00); 6 hours is the
limit at either end.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.kpi.localtime import STOCKHOLM
from app.scorecard.breakdowns import monthly_series
from app.scorecard.document import MemberCompleteness, ScopeEntry
from app.scorecard.service import monthly_scorecard
from tests.helpers import LATER, ingest, ingest_text

OCTOBER = date(2025, 10, 1)
HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
FIRST, LAST = "2025-10-01T00:30:00+02:00", "2025-10-31T22:00:00+01:00"  # within 6 h of either end


def calls(*rows: tuple[str, str]) -> str:
    """(region, local arrival) -> answered calls, one minute's wait each."""
    lines = []
    for n, (region, arrived) in enumerate(rows):
        answered = datetime.fromisoformat(arrived) + timedelta(minutes=1)
        lines.append(f"k{n},{region},q,{arrived},answered,{answered.isoformat()},")
    return HEADER + "\n".join(lines) + "\n"


def scopes(factory: sessionmaker[Session], settings: Settings, content: str,
           now: datetime = LATER) -> dict[str, ScopeEntry]:
    ingest_text(factory, settings, "calls", content)
    with factory() as session:
        document = monthly_scorecard(session, OCTOBER, settings.definitions, now)
    return {s.scope: s for s in document.scopes}


def whole_month(*regions: str) -> list[tuple[str, str]]:
    return [(region, moment) for region in regions for moment in (FIRST, LAST)]


def test_the_samples_norra_is_partial_and_names_the_member_without_data(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """The issue's case: SE-Y has no data, SE-BD stops on 2 October (and SE-AC starts at 08:00, SE-Z on the
    26th)."""
    ingest(session_factory, settings, "calls", SAMPLES / "calls_october.csv")
    ingest(session_factory, settings, "intervals", SAMPLES / "intervals_october.csv")
    with session_factory() as session:
        document = monthly_scorecard(session, OCTOBER, settings.definitions, LATER)
    norra = next(s for s in document.scopes if s.scope == "norra")
    completeness = norra.completeness
    assert completeness.partial is True
    assert completeness.members_without_data == ("SE-Y",)
    assert ("member region Västernorrland (SE-Y) has no data in 2025-10: the collaboration's figures leave it out"
            in norra.data_quality)
    members = {m.code: m for m in completeness.members}
    assert sorted(members) == ["SE-AC", "SE-BD", "SE-Y", "SE-Z"]
    assert members["SE-BD"].latest_record_at == "2025-10-02T18:00:00Z" and members["SE-BD"].partial is True
    assert members["SE-Y"] == MemberCompleteness(code="SE-Y", name="Västernorrland", hours_with_data=0,
                                                 first_hour_with_data=None, latest_record_at=None, partial=True)
    assert members["SE-AC"].first_hour_with_data == "2025-10-01T06:00:00Z"  # 08:00 local: starts late
    assert members["SE-Z"].first_hour_with_data == "2025-10-25T23:00:00Z"
    bd = next(s for s in document.scopes if s.scope == "SE-BD")
    assert bd.completeness.partial is True and bd.completeness.ends_early is True
    assert bd.completeness.members == () and bd.completeness.members_without_data == ()


def test_a_collaboration_is_as_complete_as_its_weakest_member(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Three members cover the month, SE-Y stops on the 20th: the newest record of the collaboration is at the
    month's end, yet it is partial."""
    found = scopes(session_factory, settings, calls(*whole_month("SE-AC", "SE-BD", "SE-Z"),
                                                    ("SE-Y", FIRST), ("SE-Y", "2025-10-20T12:00:00+02:00")))
    norra = found["norra"].completeness
    assert norra.latest_record_at == "2025-10-31T21:00:00Z"
    assert norra.partial is True and norra.ends_early is True and norra.starts_late is False
    assert [m.code for m in norra.members if m.partial] == ["SE-Y"]
    assert norra.members_without_data == ()
    assert [n for n in found["norra"].data_quality if "member region" in n] == []
    assert found["SE-AC"].completeness.partial is False
    assert found["SE-Y"].completeness.partial is True


def test_a_member_region_without_data_makes_the_collaboration_partial(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    found = scopes(session_factory, settings, calls(*whole_month("SE-AC", "SE-BD", "SE-Z")))
    norra = found["norra"]
    assert norra.completeness.partial is True and norra.completeness.members_without_data == ("SE-Y",)
    assert norra.completeness.starts_late is False and norra.completeness.ends_early is False
    assert any("Västernorrland (SE-Y) has no data in 2025-10" in note for note in norra.data_quality)
    assert all(found[r].completeness.partial is False for r in ("SE-AC", "SE-BD", "SE-Z"))


def test_a_collaboration_whose_members_all_cover_the_month_is_complete(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    norra = scopes(session_factory, settings, calls(*whole_month("SE-AC", "SE-BD", "SE-Z", "SE-Y")))["norra"]
    assert norra.completeness.partial is False and norra.completeness.members_without_data == ()
    assert norra.data_quality == ()
    assert norra.completeness.first_hour_with_data == "2025-09-30T22:00:00Z"


@pytest.mark.parametrize(("first", "late"), [
    ("2025-10-01T06:59:00+02:00", False),  # its hour starts 6 h after the month: not more than 6 h
    ("2025-10-01T07:00:00+02:00", True),
])
def test_data_that_start_more_than_6_hours_into_the_month_are_partial(
    session_factory: sessionmaker[Session], settings: Settings, first: str, late: bool
) -> None:
    region = scopes(session_factory, settings, calls(("SE-AC", first), ("SE-AC", LAST)))["SE-AC"].completeness
    assert (region.partial, region.starts_late, region.ends_early) == (late, late, False)


@pytest.mark.parametrize(("first", "last", "partial", "late", "early"), [
    (FIRST, "2025-10-15T11:00:00+02:00", False, False, False),
    ("2025-10-01T07:00:00+02:00", "2025-10-15T11:00:00+02:00", True, True, False),  # still > 6 h after the start
    (FIRST, "2025-10-15T05:00:00+02:00", True, False, True),  # 7 h before now
])
def test_the_month_in_progress_starts_late_from_its_start_and_ends_early_from_now(
    session_factory: sessionmaker[Session], settings: Settings, first: str, last: str, partial: bool, late: bool,
    early: bool,
) -> None:
    now = datetime(2025, 10, 15, 12, 0, tzinfo=STOCKHOLM).astimezone(UTC)
    found = scopes(session_factory, settings, calls(("SE-AC", first), ("SE-AC", last)), now=now)
    region = found["SE-AC"].completeness
    assert (region.partial, region.starts_late, region.ends_early) == (partial, late, early)


def test_the_monthly_series_has_the_same_completeness_as_the_scorecard(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    found = scopes(session_factory, settings, calls(*whole_month("SE-AC", "SE-BD"), ("SE-Z", "2025-10-03T12:00:00Z")))
    with session_factory() as session:
        for kind, code in (("collaboration", "norra"), ("region", "SE-Z"), ("region", "SE-AC")):
            series = monthly_series(session, kind, code, OCTOBER, OCTOBER, LATER)
            assert series.months[0].completeness == found[code].completeness, code
        empty = monthly_series(session, "region", "SE-Y", OCTOBER, OCTOBER, LATER).months[0].completeness
    assert empty.partial is True and empty.hours_with_data == 0 and empty.first_hour_with_data is None
