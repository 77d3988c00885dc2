"""A region that only answered other regions' calls in a month (none of its own) shows them in its month as in its
days and hours (outside audit, task S item 1), on both databases, checked against hand counts.

    call  caller  arrived (local)            answered by
    h1    SE-H    2025-05-10 10:00 +02:00    SE-X   -> SE-X for others: its only figure of May
    h2    SE-H    2025-09-10 10:00 +02:00    SE-X   -> September (the previous month at ``NOW``)
    h3    SE-H    2025-10-03 10:00 +02:00    SE-X   -> October, before today
    h4    SE-H    2025-10-15 09:00 +02:00    SE-X   -> today
    a1    SE-AC   2025-05-12 10:00 +02:00    SE-H   -> SE-H, which has calls of its own, answered one for SE-AC

SE-X has no call of its own in any month: offered 0, its KPIs with a denominator null, its status no_data. Its
answered_for_other_regions: May 1, September 1, October 2 (today 1). SE-H's own figures stay as they were (May:
offered 1, 1 answered by others, 1 answered for others), never replaced by a row of zeros.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.cli import app as cli
from app.config import Settings
from app.kpi.localtime import STOCKHOLM, local_day_bounds, local_month_bounds
from app.scorecard.queries import counts_by_region
from app.scorecard.service import monthly_scorecard
from tests.auth import read_json
from tests.helpers import ingest_text
from tests.metrics.test_collector import scrape, value

CALLS = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region\n" + "\n".join([
    "h1,SE-H,q,2025-05-10T10:00:00+02:00,answered,2025-05-10T10:01:00+02:00,,SE-X",
    "h2,SE-H,q,2025-09-10T10:00:00+02:00,answered,2025-09-10T10:01:00+02:00,,SE-X",
    "h3,SE-H,q,2025-10-03T10:00:00+02:00,answered,2025-10-03T10:01:00+02:00,,SE-X",
    "h4,SE-H,q,2025-10-15T09:00:00+02:00,answered,2025-10-15T09:01:00+02:00,,SE-X",
    "a1,SE-AC,q,2025-05-12T10:00:00+02:00,answered,2025-05-12T10:01:00+02:00,,SE-H",
]) + "\n"
NOW = datetime(2025, 10, 15, 12, 0, tzinfo=STOCKHOLM).astimezone(UTC)  # tests.metrics.test_collector's clock
RATIOS = ("answer_rate", "mean_wait", "abandon_rate", "rejected_rate", "service_level")


def ingest(factory: sessionmaker[Session], settings: Settings) -> None:
    report = ingest_text(factory, settings, "calls", CALLS)
    assert report.rows_rejected == 0 and report.rows_stored == 5


def only_for_others(kpis: dict[str, Any], n: int) -> None:
    assert kpis["offered"] == 0 and kpis["answered"] == 0
    assert (kpis["answered_by_other_regions"], kpis["answered_for_other_regions"]) == (0, n)
    assert all(kpis[key] is None for key in RATIOS), kpis


def test_the_month_the_series_the_days_and_the_hours_agree(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    ingest(session_factory, settings)
    month, series, days, hours = read_json(
        settings, "/api/v1/scorecards/2025-05", "/api/v1/regions/SE-X/scorecards?from=2025-05&to=2025-05",
        "/api/v1/regions/SE-X/days?month=2025-05", "/api/v1/regions/SE-X/hours?date=2025-05-10")
    scopes = {(s["kind"], s["scope"]): s for s in month["scopes"]}
    x = scopes[("region", "SE-X")]
    only_for_others(x["kpis"], 1)
    assert x["targets"] and {t["status"] for t in x["targets"]} == {"no_data"}
    assert x["completeness"]["hours_with_data"] == 0 and x["completeness"]["partial"] is True
    assert x["forecast"] is None
    h = scopes[("region", "SE-H")]["kpis"]  # its own row, not one of zeros
    assert (h["offered"], h["answered_by_other_regions"], h["answered_for_other_regions"]) == (1, 1, 1)
    [may] = series["months"]
    only_for_others(may["kpis"], 1)
    assert may["completeness"]["hours_with_data"] == 0
    by_day = {d["date"]: d["kpis"]["answered_for_other_regions"] for d in days["days"]}
    assert by_day["2025-05-10"] == 1 and sum(by_day.values()) == 1  # the days sum to the month
    assert sum(h["kpis"]["answered_for_other_regions"] for h in hours["hours"]) == 1


def test_a_span_that_is_not_a_month_has_the_region_too(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """The span read (today's figures of /metrics, a month so far compared like for like, alerts' windows)."""
    ingest(session_factory, settings)
    start, end = local_day_bounds(date(2025, 5, 10))
    with session_factory() as session:
        for regions in (None, ["SE-X"], ["SE-X", "SE-H"]):
            found = counts_by_region(session, regions, start, end)
            counts, hours = found["SE-X"]
            assert (counts.offered, counts.answered_for_other_regions, hours, counts.has_data) == (0, 1, 0, False)
            assert found["SE-H"][0].offered == 1 if regions != ["SE-X"] else "SE-H" not in found
        month_start, month_end = local_month_bounds(date(2025, 5, 1))
        h, _ = counts_by_region(session, ["SE-H"], month_start, month_end - (end - start))["SE-H"]
        assert (h.offered, h.answered_by_other_regions, h.answered_for_other_regions) == (1, 1, 1)
        assert counts_by_region(session, ["SE-AC"], start, end) == {}  # nothing of it that day


def test_the_month_in_progress_shows_it_without_a_forecast(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    ingest(session_factory, settings)
    with session_factory() as session:
        document = monthly_scorecard(session, date(2025, 10, 1), settings.definitions, NOW)
    x = document.scope("region", "SE-X")
    assert x is not None and x.forecast is None
    assert (x.kpis.offered, x.kpis.answered_for_other_regions, x.kpis.answer_rate) == (0, 2, None)
    assert x.targets and {t.status for t in x.targets} == {"no_data"}
    assert x.comparisons is not None and x.comparisons.previous_month.kpis is not None
    assert x.comparisons.previous_month.kpis.answered_for_other_regions == 1  # September, like for like: the 10th


def test_metrics_list_it_in_every_window(session_factory: sessionmaker[Session], settings: Settings) -> None:
    """/metrics has no gauge of calls answered for others (not in the catalogue's gauges), but lists the region with
    the month's scopes: offered 0 and its status no_data, as the scorecard says."""
    ingest(session_factory, settings)
    samples = scrape(session_factory, settings)
    x = {"scope": "SE-X", "scope_kind": "region"}
    assert value(samples, "vpt_scope_info", **x, name="Gävleborg") == 1
    assert [value(samples, "vpt_offered_calls", **x, window=window)
            for window in ("today", "month_to_date", "previous_month")] == [0, 0, 0]
    assert value(samples, "vpt_target_status", **x, kpi="answer_rate", window="month_to_date", status="no_data") == 1
    assert value(samples, "vpt_target_status", **x, kpi="answer_rate", window="previous_month", status="no_data") == 1


def test_the_cli_scorecard_shows_it(
    session_factory: sessionmaker[Session], settings: Settings, database_url: str
) -> None:
    ingest(session_factory, settings)
    result = CliRunner(env={"VPT_LANG": "en", "VPT_DATABASE_URL": database_url}).invoke(
        cli, ["scorecard", "2025-05", "--format", "json"])
    assert result.exit_code == 0, result.output
    scopes = {s["scope"]: s for s in json.loads(result.stdout)["scopes"]}
    only_for_others(scopes["SE-X"]["kpis"], 1)
