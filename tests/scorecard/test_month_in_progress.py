"""The scorecard of a month in progress and the comparisons, on constructed histories (both databases).

History: on four Thursdays (20 and 27 Feb, 6 and 13 Mar 2025) five calls arrive in each of the local hours
12 and 13 in Jämtland Härjedalen (SE-Z); nothing else. "Now" is Thursday 20 March, 12:00.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.kpi.localtime import STOCKHOLM
from app.scorecard.document import ForecastEntry, ScopeEntry, ScorecardDocument, TargetEntry
from app.scorecard.service import monthly_scorecard
from tests.helpers import ingest_text

HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"
THURSDAYS = [date(2025, 2, 20), date(2025, 2, 27), date(2025, 3, 6), date(2025, 3, 13)]
NOW = datetime(2025, 3, 20, 12, 0, tzinfo=STOCKHOLM).astimezone(UTC)


def calls_csv(answered_in_march: int) -> str:
    rows = []
    march_index = 0
    for day in THURSDAYS:
        for hour in (12, 13):
            for n in range(5):
                arrived = datetime(day.year, day.month, day.day, hour, n * 10, tzinfo=STOCKHOLM).astimezone(UTC)
                answered = day.month == 2 or march_index < answered_in_march
                if day.month == 3:
                    march_index += 1
                call_id = f"{day:%m%d}-{hour}-{n}"
                if answered:
                    rows.append(f"{call_id},SE-Z,q,{arrived.isoformat()},answered,"
                                f"{(arrived + timedelta(seconds=60)).isoformat()},")
                else:
                    rows.append(f"{call_id},SE-Z,q,{arrived.isoformat()},abandoned,,"
                                f"{(arrived + timedelta(seconds=300)).isoformat()}")
    return HEADER + "\n".join(rows) + "\n"


def scope(factory: sessionmaker[Session], settings: Settings, answered_in_march: int, code: str) -> ScopeEntry:
    ingest_text(factory, settings, "calls", calls_csv(answered_in_march))
    with factory() as session:
        document = monthly_scorecard(session, date(2025, 3, 1), settings.definitions, NOW)
    assert document.closed is False
    return next(s for s in document.scopes if s.scope == code)


def target(row: ScopeEntry, kpi: str) -> TargetEntry:
    return next(t for t in row.targets if t.kpi == kpi)


@pytest.mark.parametrize(
    ("answered", "needed", "status"),
    [
        (20, 0.7, "on_track"),  # (0.85 × 40 − 20) / 20
        (15, 0.95, "at_risk"),  # (34 − 15) / 20
        (13, 1.05, "unreachable"),  # (34 − 13) / 20: more than every remaining call
    ],
)
def test_the_needed_answer_rate_decides_the_status(
    session_factory: sessionmaker[Session], settings: Settings, answered: int, needed: float, status: str
) -> None:
    region = scope(session_factory, settings, answered, "SE-Z")
    assert region.kpis.offered == 20 and region.kpis.answered == answered
    # still to come: 12 and 13 today (each the mean of the four Thursdays before: 5) and the same hours next
    # Thursday (today's are not over, so the four before them: 5 again) → 20
    assert region.forecast == ForecastEntry(expected_remaining_offered=20.0, expected_total_offered=40.0, weeks=4)
    answer_rate = target(region, "answer_rate")
    assert answer_rate.needed == pytest.approx(needed, abs=1e-9) and answer_rate.status == status
    collaboration = next(s for s in monthly_scorecard_for(session_factory, settings).scopes
                         if s.scope == "norra")
    assert target(collaboration, "answer_rate") == answer_rate  # its only member with data is SE-Z


def monthly_scorecard_for(factory: sessionmaker[Session], settings: Settings) -> ScorecardDocument:
    with factory() as session:
        return monthly_scorecard(session, date(2025, 3, 1), settings.definitions, NOW)


def test_the_mean_wait_needed_on_the_rest(session_factory: sessionmaker[Session], settings: Settings) -> None:
    region = scope(session_factory, settings, 20, "SE-Z")
    mean_wait = target(region, "mean_wait")
    # 20 answered, 60 s each; 20 more expected at the month's answer rate 1: (600 × 40 − 1 200) / 20 = 1 140 s
    assert mean_wait.needed == pytest.approx(1140) and mean_wait.status == "on_track"


def test_month_over_month_and_year_over_year(session_factory: sessionmaker[Session], settings: Settings) -> None:
    region = scope(session_factory, settings, 15, "SE-Z")
    previous = region.comparisons.previous_month
    assert previous.month == "2025-02" and previous.kpis.answer_rate == 1.0
    # like with like: 1–20 February up to the hour of now (12:00), so 20 Feb 12:00 is in, 20 Feb 13:00 is not
    assert (previous.span, previous.until) == ("same_days", "2025-02-20T12:00:00Z")
    assert previous.kpis.offered == 5
    assert previous.delta["answer_rate"] == pytest.approx(-0.25)  # 15/20 − 5/5
    assert previous.delta["offered"] == 15 and previous.delta["abandoned"] == 5
    assert previous.delta["mean_wait"] == 0.0
    year = region.comparisons.previous_year
    assert year.month == "2024-03" and year.kpis is None and year.delta["answer_rate"] is None


def test_a_closed_month_has_no_forecast_and_no_needed(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    ingest_text(session_factory, settings, "calls", calls_csv(20))
    with session_factory() as session:
        february = monthly_scorecard(session, date(2025, 2, 1), settings.definitions, NOW)
    region = next(s for s in february.scopes if s.scope == "SE-Z")
    assert february.closed and region.forecast is None
    assert {t.status for t in region.targets} == {"met"} and all(t.needed is None for t in region.targets)


def test_partial_data_is_forecast_from_where_it_ends(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """One call every hour for five weeks, delivered up to Thursday 20 March 00:00; it is 18:00. The eighteen
    hours not yet delivered are still to come: 20 March 00:00 to 1 April 00:00 is 287 hours (30 March has 23)."""
    start = datetime(2025, 2, 13, 0, 0, tzinfo=STOCKHOLM).astimezone(UTC)
    end = datetime(2025, 3, 20, 0, 0, tzinfo=STOCKHOLM).astimezone(UTC)
    rows, hour, n = [], start, 0
    while hour < end:
        rows.append(f"h{n},SE-Z,q,{hour.isoformat()},answered,{(hour + timedelta(seconds=30)).isoformat()},")
        hour += timedelta(hours=1)
        n += 1
    ingest_text(session_factory, settings, "calls", HEADER + "\n".join(rows) + "\n")
    evening = datetime(2025, 3, 20, 18, 0, tzinfo=STOCKHOLM).astimezone(UTC)
    with session_factory() as session:
        document = monthly_scorecard(session, date(2025, 3, 1), settings.definitions, evening)
    region = next(s for s in document.scopes if s.scope == "SE-Z")
    assert region.completeness.partial is True
    assert region.forecast.expected_remaining_offered == 287.0


def test_the_monthly_series_judges_the_month_in_progress_like_the_scorecard(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    from app.scorecard.breakdowns import monthly_series

    region = scope(session_factory, settings, 13, "SE-Z")
    with session_factory() as session:
        series = monthly_series(session, "region", "SE-Z", date(2025, 3, 1), date(2025, 3, 1), NOW)
    assert series.months[0].targets == region.targets
    assert target(region, "answer_rate").status == "unreachable"
