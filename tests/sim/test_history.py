"""The demo's history plan (issue 16 part 4): 25 months, the 13 on screen call by call and the 12 before them as
hourly queue reports; and records handed to the loader directly are exactly what parsing their CSV would give."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date

from app.ingest.parsers import Parsed, ParseOptions, parse_calls, parse_intervals
from app.ingest.rows import Rejection
from app.kpi.records import CallRecord, IntervalRecord
from app.kpi.reference import REGIONS
from app.sim.history import DEFAULT_CALL_MONTHS, DEFAULT_HISTORY_MONTHS, HistoryMonth, month_records, plan_history
from app.sim.model import SimConfig
from app.sim.writers import write_calls_csv, write_intervals_csv


def test_the_default_plan_covers_25_months_with_the_13_on_screen_call_by_call() -> None:
    plan = plan_history(date(2026, 12, 7), DEFAULT_HISTORY_MONTHS, DEFAULT_CALL_MONTHS)
    assert [m.label for m in plan][:2] == ["2024-12", "2025-01"] and plan[-1].label == "2026-12"
    assert len(plan) == 25 and plan[-1].last == date(2026, 12, 6)
    assert [m.kind for m in plan] == ["intervals"] * 12 + ["calls"] * 13
    assert all(m.first.day == 1 for m in plan) and plan[11].last == date(2025, 11, 30)


def test_on_the_first_of_a_month_the_plan_ends_with_the_month_before() -> None:
    plan = plan_history(date(2026, 3, 1), 1, 0)
    assert [(m.label, m.kind, m.last) for m in plan] == [("2026-02", "intervals", date(2026, 2, 28))]
    assert plan_history(date(2026, 3, 1), 0, 0) == []


def _parsed(results: Iterable[Parsed | Rejection]) -> list[CallRecord | IntervalRecord]:
    out = []
    for result in results:
        assert isinstance(result, Parsed), result
        out.append(result.record)
    return out


def test_records_handed_over_directly_equal_what_their_csv_would_parse_to() -> None:
    config = SimConfig(regions=("SE-Z", "SE-Y"))
    options = ParseOptions(frozenset(code for code, _, _ in REGIONS))
    # 27 October 2024: the autumn DST day (25 hours), where a CSV round trip could slip an hour.
    calls = month_records(config, HistoryMonth(date(2024, 10, 27), date(2024, 10, 28), "calls"))
    hourly = month_records(config, HistoryMonth(date(2024, 10, 27), date(2024, 10, 28), "intervals"))
    calls_csv, hourly_csv = io.StringIO(), io.StringIO()
    write_calls_csv(calls, calls_csv)  # type: ignore[arg-type]  # month_records of "calls" gives CallRecords
    write_intervals_csv(calls, hourly_csv, interval_minutes=60)  # type: ignore[arg-type]
    assert len(calls) > 500 and _parsed(parse_calls(io.StringIO(calls_csv.getvalue()), "csv", options)) == calls
    assert len(hourly) > 80
    assert _parsed(parse_intervals(io.StringIO(hourly_csv.getvalue()), "csv", options)) == hourly
    assert {r.interval_minutes for r in hourly} == {60}  # type: ignore[union-attr]
