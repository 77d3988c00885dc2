"""Regions with only coarse statistics (SPEC §3, issue 14 §3): monthly figures and daily figures, hand-computed.

SE-I (Gotland, in no collaboration) has only national monthly statistics; SE-K (Blekinge) only daily figures,
through the autumn DST day and into a month in progress.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from app.db.models import IntervalRow, MonthlyAggregate
from app.kpi.localtime import local_month_bounds
from app.reports.board import build_report
from app.reports.board_html import render_report
from app.scorecard.breakdowns import daily, hourly, monthly_series
from app.scorecard.service import monthly_scorecard
from tests.helpers import LATER, ingest_text

HEADER = ("region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
          "answered_within_sl,sl_seconds,wait_answered_seconds_sum,wait_abandoned_seconds_sum\n")
# answered 780/1000 (0.78), mean wait 514800/780 = 660 s; 800/1000, 336000/800 = 420 s; 870/1000, 435000/870 = 500 s
MONTHLY = HEADER + (
    "SE-I,,2024-10-01T00:00:00,month,1000,780,200,0,20,500,600,514800,60000\n"
    "SE-I,,2025-09-01T00:00:00,month,1000,800,150,0,50,700,600,336000,45000\n"
    "SE-I,,2025-10-01T00:00:00,month,1000,870,100,0,30,800,600,435000,30000\n"
)


def _daily_october() -> str:
    """Every day 90 answered and 10 abandoned with 300 s mean wait; Sunday 26 October (25 hours) 45 and 5."""
    rows = []
    for day in range(1, 32):
        answered, abandoned = (45, 5) if day == 26 else (90, 10)
        rows.append(f"SE-K,,2025-10-{day:02d}T00:00:00,1440,{answered + abandoned},{answered},{abandoned},0,0,"
                    f"{answered},600,{answered * 300},{abandoned * 60}\n")
    return HEADER + "".join(rows)


def _daily_november_so_far() -> str:
    """1–14 November: each day 100 offered, 80 answered (240 s each), 20 abandoned."""
    return HEADER + "".join(f"SE-K,,2025-11-{day:02d}T00:00:00,1440,100,80,20,0,0,80,600,19200,1200\n"
                            for day in range(1, 15))


def test_a_region_with_only_monthly_figures_gets_its_scorecard_status_and_deltas(session_factory, settings):
    report = ingest_text(session_factory, settings, "intervals", MONTHLY, source="natstat")
    assert (report.rows_stored, report.rows_rejected) == (3, 0)
    with session_factory() as session:
        october = monthly_scorecard(session, date(2025, 10, 1), settings.definitions, LATER).scope("region", "SE-I")
        september = monthly_scorecard(session, date(2025, 9, 1), settings.definitions, LATER).scope("region", "SE-I")
    assert october is not None and september is not None
    k = october.kpis
    assert (k.offered, k.answered, k.abandoned, k.rejected) == (1000, 870, 100, 30)
    assert k.answer_rate == pytest.approx(0.87) and k.mean_wait == pytest.approx(500.0)
    assert k.service_level == pytest.approx(0.8) and k.mean_wait_all == pytest.approx(465000 / 970)
    assert k.wait_p50 is None and k.wait_p90 is None  # no per-call waits
    assert {t.kpi: t.status.value for t in october.targets} == {"answer_rate": "met", "mean_wait": "met"}
    assert {t.kpi: t.status.value for t in september.targets} == {"answer_rate": "missed", "mean_wait": "met"}
    assert october.delta("answer_rate") == pytest.approx(0.07) and october.delta("mean_wait") == pytest.approx(80.0)
    assert october.delta("answer_rate", "previous_year") == pytest.approx(0.09)
    assert october.delta("mean_wait", "previous_year") == pytest.approx(-160.0)
    c = october.completeness
    # a month's figures cover all of it: October 2025 has the autumn DST day, 745 hours
    assert (c.resolution, c.hours_with_data, c.hours_in_month, c.partial) == ("month", 745, 745, False)
    assert c.latest_record_at == "2025-10-31T23:00:00Z"
    assert any(note.startswith("monthly figures") for note in october.data_quality)


def test_a_month_record_is_stored_across_dst_and_has_no_day_or_hour_breakdown(session_factory, settings):
    ingest_text(session_factory, settings, "intervals", MONTHLY, source="natstat")
    with session_factory() as session:
        row = session.scalars(select(IntervalRow).where(IntervalRow.interval_minutes > 1440)
                              .order_by(IntervalRow.interval_start)).all()[-1]
        assert (row.interval_minutes, row.interval_start, row.interval_end) == (
            31 * 1440, datetime(2025, 9, 30, 22, tzinfo=UTC), datetime(2025, 10, 31, 23, tzinfo=UTC))
        assert session.get(MonthlyAggregate, ("SE-I", date(2025, 10, 1))).month_records == 1
        days = daily(session, "region", "SE-I", date(2025, 10, 1))["days"]
        hours = hourly(session, "region", "SE-I", date(2025, 10, 1))["hours"]
    assert days[0]["kpis"] is None and days[0]["resolution"] == "month" and "monthly figures" in days[0]["note"]
    assert hours[0]["kpis"] is None and hours[0]["note"].startswith("monthly figures")
    assert all(d["kpis"]["offered"] == 0 for d in days[1:])  # the month's calls are not spread over its days


def test_the_board_report_of_a_monthly_figures_region_names_the_resolution_and_has_no_days(session_factory,
                                                                                           settings):
    ingest_text(session_factory, settings, "intervals", MONTHLY, source="natstat")
    with session_factory() as session:
        report = build_report(session, date(2025, 10, 1), settings.definitions, LATER, scope="SE-I")
    page = report.pages[0]
    assert page.completeness.resolution == "month" and not page.completeness.partial
    assert page.worst_days == []  # a month's total is no day
    assert page.main.kpis is not None and page.main.kpis.answer_rate == pytest.approx(0.87)
    assert page.main.targets["answer_rate"].status.value == "met"
    assert page.main.delta is not None and page.main.delta["answer_rate"] == pytest.approx(0.07)
    html_sv, html_en = render_report(report, "sv"), render_report(report, "en")
    assert "Underlaget är månadssiffror" in html_sv and "The data are monthly figures" in html_en


def test_a_region_with_daily_figures_counts_days_through_the_dst_day(session_factory, settings):
    report = ingest_text(session_factory, settings, "intervals", _daily_october(), source="natstat-daily")
    assert (report.rows_stored, report.rows_rejected) == (31, 0)
    with session_factory() as session:
        dst_day = session.scalars(select(IntervalRow).where(
            IntervalRow.interval_start == datetime(2025, 10, 25, 22, tzinfo=UTC))).one()
        assert (dst_day.interval_minutes, dst_day.interval_end) == (1440, datetime(2025, 10, 26, 23, tzinfo=UTC))
        entry = monthly_scorecard(session, date(2025, 10, 1), settings.definitions, LATER).scope("region", "SE-K")
        days = daily(session, "region", "SE-K", date(2025, 10, 1))["days"]
        hours = hourly(session, "region", "SE-K", date(2025, 10, 26))
    assert entry is not None
    # 30 × 90 + 45 = 2745 answered of 30 × 100 + 50 = 3050 offered: 0.9; every answered call waited 300 s
    assert (entry.kpis.offered, entry.kpis.answered) == (3050, 2745)
    assert entry.kpis.answer_rate == pytest.approx(0.9) and entry.kpis.mean_wait == pytest.approx(300.0)
    c = entry.completeness
    assert (c.resolution, c.days_with_data, c.days_in_month, c.hours_with_data, c.partial) == ("day", 31, 31, 745,
                                                                                               False)
    assert any(note.startswith("daily figures") for note in entry.data_quality)
    sunday = days[25]
    assert (sunday["date"], sunday["hours_in_day"], sunday["hours_with_data"]) == ("2025-10-26", 25, 25)
    assert sunday["kpis"]["offered"] == 50 and sunday["kpis"]["answer_rate"] == pytest.approx(0.9)
    assert sunday["kpis"]["wait_p50"] is None
    assert hours["hours_in_day"] == 25 and hours["hours"][0]["kpis"] is None
    assert hours["hours"][0]["note"].startswith("daily figures") and hours["hours"][0]["resolution"] == "day"


def test_a_missing_day_makes_a_daily_month_partial(session_factory, settings):
    without_the_10th = "".join(line for line in _daily_october().splitlines(keepends=True)
                               if "2025-10-10T" not in line)
    ingest_text(session_factory, settings, "intervals", without_the_10th, source="natstat-daily")
    with session_factory() as session:
        entry = monthly_scorecard(session, date(2025, 10, 1), settings.definitions, LATER).scope("region", "SE-K")
    assert entry is not None
    assert (entry.completeness.days_with_data, entry.completeness.partial) == (30, True)


def test_a_month_in_progress_with_daily_figures_is_forecast_from_its_mean_day(session_factory, settings):
    ingest_text(session_factory, settings, "intervals", _daily_october() + _daily_november_so_far()[len(HEADER):],
                source="natstat-daily")
    now = datetime(2025, 11, 15, 11, tzinfo=UTC)  # 12:00 local: figures up to and including the 14th
    with session_factory() as session:
        entry = monthly_scorecard(session, date(2025, 11, 1), settings.definitions, now).scope("region", "SE-K")
        series = monthly_series(session, "region", "SE-K", date(2025, 11, 1), date(2025, 11, 1), now)
    assert entry is not None and entry.forecast is not None
    # 1400 offered in 14 days; 16 days to come (the 15th to the 30th): 1400 × 16 / 14 = 1600 expected
    assert entry.forecast.basis == "daily_average" and entry.forecast.days == 14 and entry.forecast.weeks == 0
    assert entry.forecast.expected_remaining_offered == 1600.0 and entry.forecast.expected_total_offered == 3000.0
    rate = entry.target("answer_rate")
    # needed = (0.85 × (1400 + 1600) − 1120) / 1600 = 1430 / 1600
    assert rate is not None and rate.needed == pytest.approx(1430 / 1600) and rate.status.value == "at_risk"
    assert entry.completeness.partial is False and entry.completeness.days_with_data == 14
    assert series.months[0].target("answer_rate").needed == pytest.approx(1430 / 1600)


def test_monthly_roll_up_hours_equal_the_month_for_coarse_figures(session_factory, settings):
    ingest_text(session_factory, settings, "intervals", MONTHLY, source="natstat")
    start, end = local_month_bounds(date(2025, 3, 1))
    assert (end - start).total_seconds() / 3600 == 743  # sanity: the spring month is an hour short
    with session_factory() as session:
        row = session.get(MonthlyAggregate, ("SE-I", date(2025, 9, 1)))
    assert row is not None and row.hours_with_data == 720


def test_metrics_publish_the_previous_month_of_a_monthly_figures_region(session_factory, settings):
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from app.metrics.collector import VptCollector

    ingest_text(session_factory, settings, "intervals", MONTHLY, source="natstat")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VptCollector(session_factory, settings, clock=lambda: datetime(2025, 11, 10, 12, tzinfo=UTC)))
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(generate_latest(registry).decode())
               for s in family.samples}
    labels = (("scope", "SE-I"), ("scope_kind", "region"), ("window", "previous_month"))
    assert samples[("vpt_answer_rate_ratio", labels)] == pytest.approx(0.87)
    assert samples[("vpt_mean_wait_seconds", labels)] == pytest.approx(500.0)


def test_recompute_rebuilds_coarse_figures_identically(session_factory, settings):
    from app.db.session import transaction
    from app.ingest.service import recompute

    ingest_text(session_factory, settings, "intervals", MONTHLY + _daily_october()[len(HEADER):], source="natstat")

    def state() -> list[tuple[object, ...]]:
        with session_factory() as session:
            return [(r.region, r.month, r.hours_with_data, r.answered, r.day_records, r.month_records)
                    for r in session.scalars(select(MonthlyAggregate).order_by(MonthlyAggregate.region,
                                                                               MonthlyAggregate.month))]

    before = state()
    assert ("SE-K", date(2025, 10, 1), 745, 2745, 31, 0) in before
    with transaction(session_factory) as session:
        recompute(session, settings.definitions)
    assert state() == before
