"""Daily and monthly interval records (SPEC §3, issue 14 §3): parsing, resolution conflicts, preferred sources."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.db.models import IntervalRow, RejectedRow, Source
from app.ingest.parsers import ParseOptions, parse_intervals
from app.ingest.rows import Rejection
from app.scorecard.service import monthly_scorecard
from tests.helpers import LATER, ingest_text

HEADER = ("region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
          "answered_within_sl,sl_seconds,wait_answered_seconds_sum\n")
OCTOBER = HEADER + "SE-I,,2025-10-01T00:00:00,month,1000,870,100,0,30,800,600,435000\n"
OPTIONS = ParseOptions(frozenset({"SE-I", "SE-AC"}), now=datetime(2026, 1, 1, tzinfo=UTC))


def _parse(rows: str) -> list:
    return list(parse_intervals(io.StringIO(HEADER + rows), "csv", OPTIONS))


@pytest.mark.parametrize(("start", "minutes", "stored", "end"), [
    ("2025-10-01T00:00:00", "month", 31 * 1440, datetime(2025, 10, 31, 23, tzinfo=UTC)),  # ends in winter time
    ("2025-03-01T00:00:00", "MONTH", 31 * 1440, datetime(2025, 3, 31, 22, tzinfo=UTC)),  # ends in summer time
    ("2024-02-01T00:00:00+01:00", "month", 29 * 1440, datetime(2024, 2, 29, 23, tzinfo=UTC)),
    ("2025-03-30T00:00:00", "1440", 1440, datetime(2025, 3, 30, 22, tzinfo=UTC)),  # 23 hours
    ("2025-10-26T00:00:00", "1440", 1440, datetime(2025, 10, 26, 23, tzinfo=UTC)),  # 25 hours
])
def test_a_day_or_month_ends_at_the_next_local_midnight(start, minutes, stored, end):
    [result] = _parse(f"SE-I,,{start},{minutes},10,8,2,0,0,8,600,100\n")
    assert not isinstance(result, Rejection), result
    assert (result.record.interval_minutes, result.record.interval_end) == (stored, end)


@pytest.mark.parametrize(("start", "minutes", "field", "reason"), [
    ("2025-10-02T00:00:00", "month", "interval_start", "local midnight of the 1st"),
    ("2025-10-01T00:00:00Z", "month", "interval_start", "local midnight of the 1st"),  # 02:00 in Stockholm
    ("2025-10-05T06:00:00", "1440", "interval_start", "a day's figures must start at local midnight"),
    ("2025-10-05T00:00:00", "720", "interval_minutes", "15, 30, 60, 1440 (a day) or month"),
    ("2025-10-05T00:00:00", "week", "interval_minutes", "not a whole number"),
])
def test_a_day_or_month_not_starting_at_local_midnight_is_rejected(start, minutes, field, reason):
    [result] = _parse(f"SE-I,,{start},{minutes},10,8,2,0,0,8,600,100\n")
    assert isinstance(result, Rejection) and result.field == field and reason in result.reason


def _rejected(factory, run_id: int) -> list[RejectedRow]:
    with factory() as session:
        return list(session.scalars(select(RejectedRow).where(RejectedRow.run_id == run_id)
                                    .order_by(RejectedRow.position)))


def _october(factory, settings) -> tuple[int, int]:
    with factory() as session:
        entry = monthly_scorecard(session, date(2025, 10, 1), settings.definitions, LATER).scope("region", "SE-I")
    return (0, 0) if entry is None else (entry.kpis.offered, entry.kpis.answered)


def test_re_ingesting_monthly_figures_changes_nothing(session_factory, settings):
    first = ingest_text(session_factory, settings, "intervals", OCTOBER, source="natstat")
    again = ingest_text(session_factory, settings, "intervals", OCTOBER, source="natstat")
    assert (first.rows_stored, again.rows_stored, again.rows_updated, again.rows_unchanged, again.rows_rejected) == (
        1, 0, 0, 1, 0)
    assert _octoberr(session_factory, settings) == (1000, 870)


def _octoberr(factory, settings):  # one spelling for the asserts below
    return _october(factory, settings)


def test_daily_figures_inside_stored_monthly_figures_are_refused_naming_both(session_factory, settings):
    ingest_text(session_factory, settings, "intervals", OCTOBER, source="natstat")
    day = HEADER + "SE-I,,2025-10-05T00:00:00,1440,40,30,10,0,0,30,600,9000\n"
    report = ingest_text(session_factory, settings, "intervals", day, source="region-daily")
    assert (report.rows_stored, report.rows_rejected, report.status) == (0, 1, "rejected")
    [row] = _rejected(session_factory, report.run_id)
    assert row.field == "interval_minutes" and row.position == 2
    assert "daily figures" in row.reason and "monthly figures of source 'natstat'" in row.reason
    assert "2025-10" in row.reason and row.raw.startswith("SE-I,,2025-10-04T22:00:00+00:00,1440,40,30")
    assert _october(session_factory, settings) == (1000, 870)  # nothing counted twice


def test_monthly_figures_over_stored_daily_figures_are_refused(session_factory, settings):
    day = HEADER + "SE-I,,2025-10-31T00:00:00,1440,40,30,10,0,0,30,600,9000\n"
    ingest_text(session_factory, settings, "intervals", day, source="natstat")
    report = ingest_text(session_factory, settings, "intervals", OCTOBER, source="natstat")  # the same source too
    [row] = _rejected(session_factory, report.run_id)
    assert "monthly figures overlap the daily figures of source 'natstat' for 2025-10-31" in row.reason
    assert _october(session_factory, settings) == (40, 30)


def test_calls_and_monthly_figures_of_one_region_refuse_each_other(session_factory, settings):
    calls = ("call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"
             "c1,SE-I,,2025-10-10T09:00:00,answered,2025-10-10T09:01:00,\n")
    ingest_text(session_factory, settings, "intervals", OCTOBER, source="natstat")
    report = ingest_text(session_factory, settings, "calls", calls, source="platform")
    [row] = _rejected(session_factory, report.run_id)
    assert (row.field, row.record_key) == ("arrived_at", "c1")
    assert "call records overlap the monthly figures of source 'natstat'" in row.reason
    november_calls = calls.replace("2025-10-10", "2025-11-10")
    assert ingest_text(session_factory, settings, "calls", november_calls, source="platform").rows_stored == 1
    november = OCTOBER.replace("2025-10-01", "2025-11-01")
    report = ingest_text(session_factory, settings, "intervals", november, source="natstat")
    [row] = _rejected(session_factory, report.run_id)
    assert "monthly figures for 2025-11 overlap the call records of source 'platform'" in row.reason


def test_fine_intervals_inside_daily_figures_are_refused_but_not_beside_them(session_factory, settings):
    ingest_text(session_factory, settings, "intervals",
                HEADER + "SE-I,,2025-10-05T00:00:00,1440,40,30,10,0,0,30,600,9000\n", source="natstat")
    fine = HEADER + ("SE-I,,2025-10-05T00:00:00,15,4,3,1,0,0,3,600,90\n"  # inside the day, at its very start
                     "SE-I,,2025-10-06T00:00:00,15,4,3,1,0,0,3,600,90\n")  # the next day: allowed
    report = ingest_text(session_factory, settings, "intervals", fine, source="platform")
    assert (report.rows_stored, report.rows_rejected) == (1, 1)
    [row] = _rejected(session_factory, report.run_id)
    assert row.position == 2 and "15-minute interval figures overlap the daily figures" in row.reason


def test_one_delivery_mixing_resolutions_keeps_the_first(session_factory, settings):
    mixed = OCTOBER + "SE-I,,2025-10-05T00:00:00,1440,40,30,10,0,0,30,600,9000\n"
    report = ingest_text(session_factory, settings, "intervals", mixed, source="natstat")
    assert (report.rows_stored, report.rows_rejected) == (1, 1)
    [row] = _rejected(session_factory, report.run_id)
    assert row.position == 3 and "monthly figures on line 2 of this delivery" in row.reason


HOUR_A = HEADER + "SE-AC,vpt,2025-10-01T08:00:00,60,10,8,2,0,0,8,600,800\n"
HOUR_B = HEADER + ("SE-AC,vpt,2025-10-01T08:00:00,30,6,6,0,0,0,6,600,600\n"
                   "SE-AC,vpt,2025-10-01T08:30:00,30,6,5,1,0,0,5,600,500\n")


def _se_ac(factory, settings) -> tuple[int, int]:
    with factory() as session:
        entry = monthly_scorecard(session, date(2025, 10, 1), settings.definitions, LATER).scope("region", "SE-AC")
    return (0, 0) if entry is None else (entry.kpis.offered, entry.kpis.answered)


def _prefer(factory, name: str, flag: str = "--prefer") -> str:
    from app.cli.base import app

    result = CliRunner(env={"VPT_LANG": "en"}).invoke(app, ["sources", "prefer", name, flag])
    assert result.exit_code == 0, result.output
    return result.output


def test_overlapping_sources_are_refused_until_one_is_preferred(session_factory, settings, monkeypatch):
    monkeypatch.setenv("VPT_DATABASE_URL", settings.database_url)
    ingest_text(session_factory, settings, "intervals", HOUR_A, source="a")
    refused = ingest_text(session_factory, settings, "intervals", HOUR_B, source="b")
    assert (refused.rows_stored, refused.rows_rejected) == (0, 2)
    assert all("overlaps interval records of source 'a'" in r.reason and "vpt sources prefer" in r.reason
               for r in _rejected(session_factory, refused.run_id))
    assert _se_ac(session_factory, settings) == (10, 8)

    assert "source b is preferred" in _prefer(session_factory, "b")
    won = ingest_text(session_factory, settings, "intervals", HOUR_B, source="b")
    assert (won.rows_stored, won.rows_rejected) == (2, 0)
    assert _se_ac(session_factory, settings) == (12, 11)  # only b's rows count
    with session_factory() as session:
        kept = session.scalars(select(IntervalRow).join(Source, Source.id == IntervalRow.source_id)
                               .where(Source.name == "a")).one()
    assert kept.superseded and kept.answered == 8  # a's row is kept, not counted

    again = ingest_text(session_factory, settings, "intervals", HOUR_B, source="b")
    assert (again.rows_stored, again.rows_updated, again.rows_unchanged, again.rows_rejected,
            again.hours_refreshed) == (0, 0, 2, 0, 0)
    loser = ingest_text(session_factory, settings, "intervals", HOUR_A, source="a")
    [row] = _rejected(session_factory, loser.run_id)
    assert "source 'b' is preferred for it" in row.reason
    assert _se_ac(session_factory, settings) == (12, 11)

    _prefer(session_factory, "b", "--no-prefer")  # superseded rows stay superseded: b's records still count
    assert _se_ac(session_factory, settings) == (12, 11)


def test_a_preferred_source_arriving_first_rejects_the_other(session_factory, settings, monkeypatch):
    monkeypatch.setenv("VPT_DATABASE_URL", settings.database_url)
    ingest_text(session_factory, settings, "intervals", HOUR_B, source="b")
    _prefer(session_factory, "b")
    late = ingest_text(session_factory, settings, "intervals", HOUR_A, source="a")
    assert (late.rows_stored, late.rows_rejected) == (0, 1)
    other_queue = HOUR_A.replace(",vpt,", ",natt,")  # another queue of the region: no overlap
    assert ingest_text(session_factory, settings, "intervals", other_queue, source="a").rows_stored == 1
    assert _se_ac(session_factory, settings) == (22, 19)


def test_calls_of_two_sources_for_one_region_are_no_conflict(session_factory, settings):
    calls = ("call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"
             "c1,SE-AC,,2025-10-10T09:00:00,answered,2025-10-10T09:01:00,\n")
    assert ingest_text(session_factory, settings, "calls", calls, source="platform-1").rows_stored == 1
    assert ingest_text(session_factory, settings, "calls", calls, source="platform-2").rows_stored == 1


def test_calls_where_no_day_or_month_is_stored_are_not_read_for_their_span(session_factory, settings):
    # Issue 15: the span of each region's staged calls (a pass over every staged row, 0.5-1.3 s per million on
    # SQLite) was read before it was known that any day or month record is stored at all.
    from sqlalchemy import event

    from app.db.session import make_engine, make_session_factory

    engine = make_engine(settings)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, sql, *_a: statements.append(" ".join(sql.split())))
    calls = ("call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"
             "s1,SE-I,,2025-10-10T09:00:00,answered,2025-10-10T09:01:00,\n")
    try:
        november = calls.replace("2025-10-10", "2025-11-10")
        assert ingest_text(make_session_factory(engine), settings, "calls", november, source="platform").rows_stored \
            == 1
        spans = [s for s in statements if s.startswith("SELECT stage_calls.region, min(stage_calls.arrived_at)")]
        assert not spans, spans
        # with a month stored, the span is read again and a call inside it is still refused
        ingest_text(session_factory, settings, "intervals", OCTOBER, source="natstat")
        report = ingest_text(make_session_factory(engine), settings, "calls", calls.replace("s1", "s2"),
                             source="platform")
    finally:
        engine.dispose()
    assert [s for s in statements if s.startswith("SELECT stage_calls.region, min(stage_calls.arrived_at)")]
    [row] = _rejected(session_factory, report.run_id)
    assert "call records overlap the monthly figures of source 'natstat'" in row.reason
