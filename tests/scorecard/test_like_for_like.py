"""Month-in-progress deltas compare like with like: the month so far against the same days (and hours) of the
previous month, labelled so; a closed month against the whole previous month.

Västerbotten (SE-AC), intervals of ten calls at local times:

    2025-09-05 10:00  10 answered           in 1–20 September up to 12:00
    2025-09-20 12:00  10 answered           in (the hour of "now", included)
    2025-09-20 13:00   0 answered           out (after the same hour)
    2025-09-25 10:00   0 answered           out
    2025-10-05 10:00   8 answered

"Now" is 20 October 2025 12:30 local (10:30 UTC). The same days of September: 20 offered, 20 answered (100 %);
October so far: 10 offered, 8 answered (80 %), so the change is −20 percentage points and −10 calls. The whole of
September (40 offered, 20 answered, 50 %) would have given +30 points: what a closed October is compared with.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import pytest
from rich.console import Console

from app.cli import data as cli_data
from app.reports.board import build_report
from app.reports.board_html import render_report
from app.scorecard.like_for_like import same_days_end
from app.scorecard.service import monthly_scorecard
from tests.helpers import LATER, ingest_text

HEAD = ("region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
        "answered_within_sl,sl_seconds,wait_answered_seconds_sum,wait_abandoned_seconds_sum,longest_wait_seconds,"
        "talk_seconds_sum,wrap_seconds_sum")
ROWS = [("2025-09-05T10:00:00", 10), ("2025-09-20T12:00:00", 10), ("2025-09-20T13:00:00", 0),
        ("2025-09-25T10:00:00", 0), ("2025-10-05T10:00:00", 8)]
NOW = datetime(2025, 10, 20, 10, 30, tzinfo=UTC)  # 12:30 in Stockholm (summer time until 26 October)


@pytest.fixture
def loaded(session_factory, settings):
    lines = [HEAD] + [f"SE-AC,vpt,{start},60,10,{answered},{10 - answered},0,0,{answered},600,{answered * 60},"
                      f"{(10 - answered) * 30},120,{answered * 300},{answered * 60}" for start, answered in ROWS]
    ingest_text(session_factory, settings, "intervals", "\n".join(lines) + "\n")
    return settings


def test_the_month_in_progress_is_compared_with_the_same_days(loaded, session_factory):
    with session_factory() as session:
        document = monthly_scorecard(session, date(2025, 10, 1), loaded.definitions, NOW)
    scope = document.scope("region", "SE-AC")
    assert scope is not None and scope.comparisons is not None
    previous = scope.comparisons.previous_month
    assert (previous.span, previous.until) == ("same_days", "2025-09-20T11:00:00Z")  # 13:00 local, exclusive
    assert previous.kpis is not None and (previous.kpis.offered, previous.kpis.answered) == (20, 20)
    assert previous.delta["answer_rate"] == pytest.approx(-0.2) and previous.delta["offered"] == -10
    assert scope.comparisons.previous_year.span == "same_days" and scope.comparisons.previous_year.kpis is None
    as_json = json.loads(json.dumps(document.to_dict()))
    assert as_json["scopes"][0]["comparisons"]["previous_month"]["span"] == "same_days"


def test_a_closed_month_is_compared_with_the_whole_previous_month(loaded, session_factory):
    with session_factory() as session:
        document = monthly_scorecard(session, date(2025, 10, 1), loaded.definitions, LATER)
    previous = document.scope("region", "SE-AC").comparisons.previous_month
    assert (previous.span, previous.until) == ("month", None)
    assert (previous.kpis.offered, previous.kpis.answered) == (40, 20)
    assert previous.delta["answer_rate"] == pytest.approx(0.3)


def test_the_same_days_of_a_shorter_month_are_all_of_it():
    assert same_days_end(date(2025, 9, 1), datetime(2025, 10, 31, 12, tzinfo=UTC)) == datetime(
        2025, 9, 30, 22, tzinfo=UTC)  # the end of September in Stockholm
    assert same_days_end(date(2025, 2, 1), datetime(2025, 3, 30, 9, tzinfo=UTC)) == datetime(
        2025, 2, 28, 23, tzinfo=UTC)
    # 26 October 02:30 (the repeated hour): the same wall hour of September, included
    assert same_days_end(date(2025, 9, 1), datetime(2025, 10, 26, 1, 30, tzinfo=UTC)) == datetime(
        2025, 9, 26, 1, tzinfo=UTC)


def test_the_terminal_and_the_report_say_same_days(loaded, session_factory):
    with session_factory() as session:
        document = monthly_scorecard(session, date(2025, 10, 1), loaded.definitions, NOW)
        report = build_report(session, date(2025, 10, 1), loaded.definitions, NOW, "SE-AC")
    console = Console(file=io.StringIO(), width=200, color_system=None)
    original = cli_data.console
    cli_data.console = console
    try:
        cli_data._print_table(document, "sv")
    finally:
        cli_data.console = original
    table = console.file.getvalue()  # type: ignore[attr-defined]
    assert "förändring mot samma dagar i september 2025 (1–20)" in table and "−20,0 p.e." in table
    html = render_report(report, "sv")
    assert "Samma dagar föregående månad 100,0" in html  # the summary's earlier value is that of the same days
    assert "förändring mot samma dagar i september 2025 (1–20)" in html
    english = render_report(report, "en")
    assert "Same days of the previous month 100.0" in english and "the same days of September 2025 (1–20)" in english
