"""Parsers: every row becomes a record or a rejection naming its line and field; no database needed."""

from __future__ import annotations

import io

import pytest

from app.ingest.lines import FileFormatError
from app.ingest.parsers import Parsed, ParseOptions, parse_calls, parse_intervals
from app.ingest.rows import Rejection
from app.kpi.reference import REGIONS

OPTIONS = ParseOptions(frozenset(code for code, _, _ in REGIONS))
HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds\n"
IHEADER = ("region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
           "answered_within_sl,sl_seconds,wait_answered_seconds_sum\n")


def calls(text: str, fmt: str = "csv") -> list[Parsed | Rejection]:
    return list(parse_calls(io.StringIO(text), fmt, OPTIONS))  # type: ignore[arg-type]


def intervals(text: str) -> list[Parsed | Rejection]:
    return list(parse_intervals(io.StringIO(text), "csv", OPTIONS))


def only_rejection(results: list[Parsed | Rejection]) -> Rejection:
    assert len(results) == 1 and isinstance(results[0], Rejection), results
    return results[0]


def test_a_good_row_becomes_a_utc_call_record():
    [result] = calls(HEADER + "a1,SE-AC,vpt,2025-10-01T08:00:00+02:00,answered,2025-10-01T08:05:00+02:00,,SE-BD,400,\n")
    assert isinstance(result, Parsed) and result.position == 2
    record = result.record
    assert record.arrived_at.isoformat() == "2025-10-01T06:00:00+00:00"
    assert record.wait_ms == 300_000 and record.answered_by_region == "SE-BD" and record.wrap_seconds is None


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("a1,SE-XX,vpt,2025-10-01T08:00:00+02:00,rejected,,,,,", "region", "unknown region"),
        (",SE-AC,vpt,2025-10-01T08:00:00+02:00,rejected,,,,,", "call_id", "required"),
        ("a1,SE-AC,vpt,yesterday,rejected,,,,,", "arrived_at", "invalid timestamp"),
        ("a1,SE-AC,vpt,2025-10-01T08:00:00+02:00,abandoned,,,,,", "ended_at", "abandoned without ended_at"),
        ("a1,SE-AC,vpt,2025-10-01T08:00:00+02:00,abandoned,,2025-10-01T07:00:00+02:00,,,", "ended_at",
         "ended before arrival"),
        ("a1,SE-AC,vpt,2025-10-01T08:00:00+02:00,abandoned,2025-10-01T08:01:00+02:00,2025-10-01T08:02:00+02:00,,,",
         "answered_at", "answered_at given"),
        ("a1,SE-AC,vpt,2025-10-01T08:00:00+02:00,answered,2025-10-03T08:01:00+02:00,,,,", "answered_at",
         "longer than 24 hours"),
    ],
)
def test_bad_rows_name_line_and_field(row, field, reason):
    rejection = only_rejection(calls(HEADER + row + "\n"))
    assert rejection.position == 2
    assert rejection.field == field
    assert reason in rejection.reason
    assert "line 2" in rejection.describe() and field in rejection.describe()


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("a1,SE-AC,vpt,2025-10-01T08:00:00+02:00,answered,2025-10-01T08:01:00+02:00,2025-10-01T08:00:30+02:00,,,",
         "ended_at", "ended before it was answered"),
        ("a1,SE-AC,vpt,2025-10-01T08:00:00+02:00,answered,2025-10-01T08:01:00+02:00,,,-5,", "talk_seconds",
         "negative"),
        ("a1,SE-AC,vpt,2025-10-01T08:00:00+02:00,answered,2025-10-01T08:01:00+02:00,,,abc,", "talk_seconds",
         "not a number"),
        ("a1,SE-AC,vpt,2025-10-01T08:00:00+02:00,answered,2025-10-01T08:01:00+02:00,,SE-QQ,,", "answered_by_region",
         "unknown region"),
    ],
)
def test_bad_optional_fields_name_line_and_field_and_keep_the_call(row, field, reason):
    """Issue 14 §4: these were rejections; the call is now kept without the field, with a warning."""
    [result] = calls(HEADER + row + "\n")
    assert isinstance(result, Parsed) and result.record.call_id == "a1"
    [warning] = result.warnings
    assert (warning.position, warning.record_key, warning.field) == (2, "a1", field)
    assert reason in warning.reason
    assert getattr(result.record, field) is None
    assert "line 2" in warning.describe() and field in warning.describe()


def test_wrong_field_count_is_a_row_error_and_later_rows_still_parse():
    results = calls(HEADER + "a1,SE-AC,vpt\n" + "a2,SE-AC,,2025-10-01T08:00:00+02:00,rejected,,,,,\n")
    assert isinstance(results[0], Rejection) and "fields" in results[0].reason and results[0].position == 2
    assert isinstance(results[1], Parsed) and results[1].position == 3


def test_missing_required_column_fails_the_whole_file():
    with pytest.raises(FileFormatError, match="arrived_at"):
        calls("call_id,region,outcome\na1,SE-AC,rejected\n")


def test_empty_file_fails_the_whole_file():
    with pytest.raises(FileFormatError, match="empty"):
        calls("")


def test_unknown_columns_are_dropped_before_anything_is_kept():
    """A caller's number in an extra column never reaches a record or a rejected row's raw text."""
    header = HEADER.strip() + ",caller_number\n"
    good = "a1,SE-AC,vpt,2025-10-01T08:00:00+02:00,rejected,,,,,,+46701234567\n"
    bad = "a2,SE-XX,vpt,2025-10-01T08:00:00+02:00,rejected,,,,,,+46701234567\n"
    results = calls(header + good + bad)
    assert isinstance(results[0], Parsed)
    assert "+46701234567" not in repr(results[0].record)
    assert isinstance(results[1], Rejection) and "+46701234567" not in results[1].raw


def test_semicolon_delimited_swedish_export_is_read():
    text = HEADER.replace(",", ";") + "a1;SE-AC;vpt;2025-10-01T08:00:00+02:00;rejected;;;;;\n"
    [result] = calls(text)
    assert isinstance(result, Parsed)


def test_blank_lines_are_skipped_and_line_numbers_stay_physical():
    results = calls(HEADER + "\n" + "a1,SE-XX,vpt,2025-10-01T08:00:00+02:00,rejected,,,,,\n")
    assert only_rejection(results).position == 3


def test_json_lines():
    text = (
        '{"call_id": "j1", "region": "SE-BD", "arrived_at": "2025-10-01T06:00:00Z", "outcome": "answered",'
        ' "answered_at": "2025-10-01T06:00:30Z", "talk_seconds": 300, "phone": "0701234567"}\n'
        "not json\n"
        '["a list"]\n'
        '{"call_id": "j2", "region": "SE-BD", "arrived_at": {"nested": 1}, "outcome": "rejected"}\n'
    )
    results = calls(text, "jsonl")
    assert isinstance(results[0], Parsed) and results[0].record.wait_ms == 30_000
    assert [r.position for r in results[1:]] == [2, 3, 4]
    assert "invalid JSON" in results[1].reason and "not a JSON object" in results[2].reason
    assert "not a scalar" in results[3].reason


def test_naive_times_are_stockholm_time_and_the_answer_follows_the_arrival_across_fall_back():
    # arrives 02:50 summer time, answered 02:10 winter time (20 minutes later in real time)
    [result] = calls(HEADER + "a1,SE-AC,,2025-10-26T02:50:00,answered,2025-10-26T02:10:00,,,,\n")
    assert isinstance(result, Parsed)
    assert result.record.arrived_at.isoformat() == "2025-10-26T00:50:00+00:00"
    assert result.record.wait_ms == 20 * 60 * 1000


def test_spring_forward_gap_is_a_row_error():
    rejection = only_rejection(calls(HEADER + "a1,SE-AC,,2025-03-30T02:30:00,rejected,,,,,\n"))
    assert rejection.field == "arrived_at" and "spring-forward gap" in rejection.reason


def test_interval_rows_are_validated():
    rows = [
        "SE-Z,vpt,2025-10-27T08:00:00,15,10,5,2,1,3,5,600,1000",  # good
        "SE-Z,vpt,2025-10-27T08:10:00,15,10,5,2,1,3,5,600,1000",  # not aligned
        "SE-Z,vpt,2025-10-27T08:00:00,20,10,5,2,1,3,5,600,1000",  # bad length
        "SE-Z,vpt,2025-10-27T09:00:00,15,10,5,2,3,3,5,600,1000",  # short > abandoned
        "SE-Z,vpt,2025-10-27T09:15:00,15,10,5,2,1,3,6,600,1000",  # within SL > answered
        "SE-Z,vpt,2025-10-27T09:30:00,15,10,5,2,1,x,5,600,1000",  # not a count
        "SE-Z,vpt,2025-10-27T09:45:00,15,10,5,2,1,3,5,600,1e17",  # would overflow a millisecond column
    ]
    results = intervals(IHEADER + "\n".join(rows) + "\n")
    assert isinstance(results[0], Parsed) and not results[0].warnings
    fields = [r.field for r in results[1:-1]]
    assert fields == ["interval_start", "interval_minutes", "abandoned_short", "answered_within_sl", "rejected"]
    # an optional sum too large: the interval is kept without it, with a warning (issue 14 §4)
    last = results[-1]
    assert isinstance(last, Parsed) and last.record.wait_answered_seconds_sum is None
    assert [(w.field, "too large" in w.reason) for w in last.warnings] == [("wait_answered_seconds_sum", True)]


def test_repeated_autumn_hour_in_interval_reports_is_summer_then_winter():
    rows = [f"SE-Z,vpt,2025-10-26T02:{m:02d}:00,15,1,1,0,0,0,1,600,10" for m in (0, 15, 30, 45)] * 2
    results = intervals(IHEADER + "\n".join(rows) + "\n")
    starts = [r.record.interval_start.isoformat() for r in results]  # type: ignore[union-attr]
    assert starts[0] == "2025-10-26T00:00:00+00:00" and starts[4] == "2025-10-26T01:00:00+00:00"
    assert len(set(starts)) == 8
