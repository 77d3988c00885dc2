"""A bad optional field never drops a record (issue 14 §4, SPEC §3): the record is stored without that field and
the run counts a warning, kept like a rejected row (run, line, record key, field, reason). Required fields still
reject. Parsing tests need no database; storage tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import Call, IngestRun, IntervalRow, RejectedRow, Source
from app.db.run_models import IngestWarning
from app.ingest.lines import RawRow
from app.ingest.loader import TooManyRows
from app.ingest.parsers import Parsed, ParseOptions, parse_call_rows, parse_calls, parse_interval_rows, parse_intervals
from app.ingest.queue_log import QueueLogOptions, QueueLogParser
from app.ingest.rows import FIELD_WIDTH, REASON_WIDTH, FieldWarning, Rejection
from app.ingest.service import ingest_bytes
from app.ingest.source_admin import remove_source
from app.kpi.records import CALL_COLUMNS, INTERVAL_COLUMNS
from tests.helpers import scorecard
from tests.ingest.db_dump import database_text, digit_windows

OPTIONS = ParseOptions(frozenset({"SE-AC", "SE-BD", "SE-Z"}), now=datetime(2025, 10, 2, tzinfo=UTC))
CALLS = ",".join(CALL_COLUMNS) + "\n"
INTERVALS = ",".join(INTERVAL_COLUMNS) + "\n"
T0, T1, T2 = "2025-10-01T08:00:00+02:00", "2025-10-01T08:01:00+02:00", "2025-10-01T08:05:00+02:00"
NUMBER = "0739517246"  # a caller's number, in a column where it does not belong

#: A call row per optional field with a bad value: (row, field, a phrase of the reason). Line = index + 2.
BAD_OPTIONAL_CALLS = [
    (f"q1,SE-AC,{'q' * 129},{T0},answered,{T1},,,,", "queue", "longer than 128 characters"),
    (f"q2,SE-AC,vpt\x1b[31m,{T0},rejected,,,,,", "queue", "control character U+001B"),
    (f"b1,SE-AC,vpt,{T0},answered,{T1},,SE-QQ,,", "answered_by_region", "unknown region: 'SE-QQ'"),
    (f"b2,SE-AC,vpt,{T0},abandoned,,{T2},SE-BD,,", "answered_by_region",
     "answered_by_region given for a call that was abandoned"),
    (f"t1,SE-AC,vpt,{T0},answered,{T1},,,abc,", "talk_seconds", "not a number: 'abc'"),
    (f"w1,SE-AC,vpt,{T0},answered,{T1},,,,-3", "wrap_seconds", "negative: '-3'"),
    (f"e1,SE-AC,vpt,{T0},answered,{T1},soon,,,", "ended_at", "invalid timestamp"),
    (f"e2,SE-AC,vpt,{T0},answered,{T1},2025-10-01T08:00:30+02:00,,,", "ended_at", "ended before it was answered"),
    (f"e3,SE-AC,vpt,{T0},rejected,,2025-10-01T07:00:00+02:00,,,", "ended_at", "ended before arrival"),
    (f"e4,SE-AC,vpt,{T0},answered,{T1},2099-01-01T00:00:00Z,,,", "ended_at", "more than a day in the future"),
]
#: Interval rows, each with one bad optional sum (line = index + 2); answered 5, abandoned 2 unless said. The last
#: field, ``agents_staffed``, is empty unless said.
_I = "SE-Z,vpt,2025-10-01T{}:00+02:00,15,7,{},2,1,0,{},600,{},"
BAD_OPTIONAL_INTERVALS = [
    (_I.format("08:00", 5, 4, "x,,,,"), "wait_answered_seconds_sum", "not a number: 'x'"),
    (_I.format("08:15", 5, 4, ",-1,,,"), "wait_abandoned_seconds_sum", "negative: '-1'"),
    (_I.format("08:30", 5, 4, ",,90000,,"), "longest_wait_seconds", "longer than 24 hours"),
    (_I.format("08:45", 5, 4, ",,,abc,"), "talk_seconds_sum", "not a number: 'abc'"),
    (_I.format("09:00", 5, 4, ",,,,1e13"), "wrap_seconds_sum", "too large"),
    (_I.format("09:15", 0, 0, "30,,,,"), "wait_answered_seconds_sum", "no answered calls"),
    (_I.format("09:30", 5, 4, "432001,,,,"), "wait_answered_seconds_sum", "more than 24 hours per answered call"),
    (_I.format("09:45", 5, 4, ",172801,,,"), "wait_abandoned_seconds_sum", "more than 24 hours per abandoned call"),
    (_I.format("10:00", 5, 4, ",,,,") + "-4", "agents_staffed", "negative: '-4'"),
    (_I.format("10:15", 5, 4, ",,,,") + "10001", "agents_staffed", "more than 10000"),
]


def parse(text: str, kind: str = "calls") -> list[Parsed | Rejection]:
    reader = parse_calls if kind == "calls" else parse_intervals
    return list(reader(io.StringIO(text, newline=""), "csv", OPTIONS))


def deliver(factory: sessionmaker[Session], settings: Settings, body: str, kind: str = "calls", **extra: object):
    return ingest_bytes(factory, settings, record_kind=kind, raw=io.BytesIO(body.encode()), fmt="csv",  # type: ignore[arg-type]
                        origin="export.csv", source_name="region-export", **extra)  # type: ignore[arg-type]


def stored_warnings(factory: sessionmaker[Session], run_id: int) -> list[tuple[int, str | None, str, str]]:
    with factory() as session:
        rows = session.scalars(select(IngestWarning).where(IngestWarning.run_id == run_id)
                               .order_by(IngestWarning.position, IngestWarning.id))
        return [(w.position, w.record_key, w.field, w.reason) for w in rows]


# --- parsing: which fields are optional ---------------------------------------------------------------------


@pytest.mark.parametrize(("row", "field", "reason"), BAD_OPTIONAL_CALLS, ids=[c[0][:2] for c in BAD_OPTIONAL_CALLS])
def test_a_bad_optional_call_field_keeps_the_call_without_it(row: str, field: str, reason: str) -> None:
    [result] = parse(CALLS + row + "\n")
    assert isinstance(result, Parsed), result
    [warning] = result.warnings
    assert (warning.position, warning.record_key, warning.field) == (2, row[:2], field)
    assert reason in warning.reason
    assert getattr(result.record, field) is None
    assert result.record.outcome.value in row


@pytest.mark.parametrize(("row", "field", "reason"), BAD_OPTIONAL_INTERVALS)
def test_a_bad_optional_interval_sum_keeps_the_interval_without_it(row: str, field: str, reason: str) -> None:
    [result] = parse(INTERVALS + row + "\n", "intervals")
    assert isinstance(result, Parsed), result
    [warning] = result.warnings
    assert (warning.position, warning.field) == (2, field) and reason in warning.reason
    assert warning.record_key == f"SE-Z/vpt/{result.record.interval_start.isoformat()}"
    assert getattr(result.record, field) is None


def test_a_naive_end_in_the_spring_forward_gap_drops_only_the_end_of_an_answered_call() -> None:
    [result] = parse(CALLS + "g1,SE-AC,,2025-03-30T01:50:00,answered,2025-03-30T01:55:00,2025-03-30T02:30:00,,,\n")
    assert isinstance(result, Parsed) and result.record.ended_at is None
    assert [(w.field, "spring-forward gap" in w.reason) for w in result.warnings] == [("ended_at", True)]


@pytest.mark.parametrize(("row", "field", "reason"), [
    (f"r1,SE-AC,vpt,{T0},answered,,,,abc,", "answered_at", "answered without answered_at"),  # and a bad talk time
    (f"r2,SE-AC,vpt,{T0},answered,later,,,,", "answered_at", "invalid timestamp"),
    (f"r3,SE-AC,vpt,{T0},abandoned,{T1},{T2},,,", "answered_at", "answered_at given for a call that was abandoned"),
    (f"r4,SE-AC,vpt,{T0},abandoned,,,,,", "ended_at", "abandoned without ended_at"),
    (f"r5,SE-AC,vpt,{T0},abandoned,,soon,,,", "ended_at", "invalid timestamp"),
    (f"r6,SE-AC,vpt,{T0},abandoned,,2025-10-01T07:00:00+02:00,,,", "ended_at", "ended before arrival"),
    (f"r7,SE-QQ,vpt,{T0},rejected,,,,,", "region", "unknown region"),
    (f"r8,SE-AC,vpt,{T0},answered,2025-10-02T08:01:00+02:00,,,,", "answered_at", "longer than 24 hours"),
])
def test_a_bad_required_call_field_still_rejects(row: str, field: str, reason: str) -> None:
    [result] = parse(CALLS + row + "\n")
    assert isinstance(result, Rejection) and result.field == field and reason in result.reason, result


def test_an_interval_queue_stays_strict_it_is_part_of_the_key() -> None:
    [result] = parse(INTERVALS + _I.format("08:00", 5, 4, ",,,,").replace("vpt", "q" * 129) + "\n", "intervals")
    assert isinstance(result, Rejection) and result.field == "queue"


def test_several_bad_optional_fields_of_one_call_are_one_warning_each() -> None:
    [result] = parse(CALLS + f"m1,SE-AC,vpt,{T0},answered,{T1},,SE-QQ,abc,xyz\n")
    assert isinstance(result, Parsed)
    assert [w.field for w in result.warnings] == ["answered_by_region", "talk_seconds", "wrap_seconds"]


def test_a_profile_conversion_failure_warns_on_an_optional_field_and_rejects_on_a_required_one() -> None:
    """RawRow.field_errors (an import profile could not convert the field) follows the same rule."""
    fields = {"call_id": "p1", "region": "SE-AC", "arrived_at": T0, "outcome": "answered", "answered_at": T1,
              "talk_seconds": "4 min"}
    failed = {"talk_seconds": "not a duration: '4 min' (expected mm:ss)"}
    [kept] = parse_call_rows(iter([RawRow(5, fields, field_errors=failed)]), OPTIONS)
    assert isinstance(kept, Parsed) and kept.record.talk_seconds is None
    assert [(w.position, w.field, w.reason) for w in kept.warnings] == [
        (5, "talk_seconds", "not a duration: '4 min' (expected mm:ss)")]
    [refused] = parse_call_rows(iter([RawRow(6, fields, field_errors={"arrived_at": "not a date: 'x'"})]), OPTIONS)
    assert isinstance(refused, Rejection) and (refused.field, refused.reason) == ("arrived_at", "not a date: 'x'")

    interval = dict(zip(INTERVAL_COLUMNS, _I.format("08:00", 5, 4, "60,,,,").split(","), strict=True))
    [sums] = parse_interval_rows(iter([RawRow(2, interval, field_errors={"longest_wait_seconds": "bad"})]), OPTIONS)
    assert isinstance(sums, Parsed) and sums.record.longest_wait_seconds is None
    assert [(w.field, w.reason) for w in sums.warnings] == [("longest_wait_seconds", "bad")]
    [count] = parse_interval_rows(iter([RawRow(2, interval, field_errors={"offered": "bad"})]), OPTIONS)
    assert isinstance(count, Rejection) and count.field == "offered"


def test_a_warning_is_made_safe_when_it_is_made() -> None:
    warning = FieldWarning(3, "c\x1b[2J1", "talk\x00" + "x" * 100, "bad\x9b " + "y" * 600)
    assert warning.record_key == "c\\x1b[2J1" and "\x00" not in warning.field and len(warning.field) <= FIELD_WIDTH
    assert "\x9b" not in warning.reason and len(warning.reason) <= REASON_WIDTH
    assert warning.describe().startswith("line 3 (c\\x1b[2J1), field talk")


def test_a_caller_number_in_the_answering_region_is_not_quoted() -> None:
    [result] = parse(CALLS + f"n1,SE-AC,vpt,{T0},answered,{T1},,{NUMBER},,\n")
    assert isinstance(result, Parsed)
    [warning] = result.warnings
    assert warning.field == "answered_by_region" and NUMBER not in warning.reason
    assert "[digits removed]" in warning.reason


# --- storing ------------------------------------------------------------------------------------------------


def test_the_issues_example_a_semicolon_file_whose_talk_time_is_abc_keeps_the_answered_call(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    body = ("call_id;region;arrived_at;outcome;answered_at;talk_seconds\n"
            f"c1;SE-AC;{T0};answered;{T1};abc\n")
    report = deliver(session_factory, settings, body)
    assert (report.rows_read, report.rows_stored, report.rows_rejected) == (1, 1, 0)
    assert (report.rows_warned, report.warnings, report.status) == (1, 1, "succeeded")
    reason = "not a number: 'abc' (digits 0-9 and a decimal point or comma)"
    assert [(w.position, w.record_key, w.field, w.reason) for w in report.warning_sample] == [
        (2, "c1", "talk_seconds", reason)]
    assert stored_warnings(session_factory, report.run_id) == [(2, "c1", "talk_seconds", reason)]
    with session_factory() as session:
        call = session.scalars(select(Call)).one()
        run = session.get(IngestRun, report.run_id)
        source = session.scalar(select(Source).where(Source.name == "region-export"))
        assert run is not None and source is not None
        assert (run.rows_warned, run.warnings, source.warnings_total) == (1, 1, 1)
    assert (call.outcome, call.talk_seconds, call.wait_ms) == ("answered", None, 60_000)
    kpis = {s.scope: s.kpis for s in scorecard(session_factory, settings, "2025-10").scopes}["SE-AC"]
    assert (kpis.offered, kpis.answered, kpis.mean_wait) == (1, 1, 60)


def test_every_bad_optional_call_field_is_stored_without_it_and_kept_as_a_warning(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    rows = [row for row, _, _ in BAD_OPTIONAL_CALLS]
    report = deliver(session_factory, settings, CALLS + "\n".join(rows) + f"\nr4,SE-AC,vpt,{T0},abandoned,,,,,\n")
    assert (report.rows_read, report.rows_stored, report.rows_rejected) == (len(rows) + 1, len(rows), 1)
    assert (report.rows_warned, report.warnings) == (len(rows), len(rows))
    kept = stored_warnings(session_factory, report.run_id)
    assert [(p, k, f) for p, k, f, _ in kept] == [(i + 2, row[:2], field)
                                                   for i, (row, field, _) in enumerate(BAD_OPTIONAL_CALLS)]
    for (_, _, _, reason), (_, _, phrase) in zip(kept, BAD_OPTIONAL_CALLS, strict=True):
        assert phrase in reason
    with session_factory() as session:
        calls = {c.call_id: c for c in session.scalars(select(Call))}
        [rejected] = session.scalars(select(RejectedRow)).all()
    assert (rejected.record_key, rejected.field) == ("r4", "ended_at")  # required: still a rejection
    for row, field, _ in BAD_OPTIONAL_CALLS:
        assert getattr(calls[row[:2]], field) is None, (row, field)
    kpis = {s.scope: s.kpis for s in scorecard(session_factory, settings, "2025-10").scopes}["SE-AC"]
    assert (kpis.offered, kpis.answered, kpis.abandoned, kpis.rejected) == (10, 7, 1, 2)


def test_every_bad_optional_interval_sum_is_stored_without_it(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    rows = [row for row, _, _ in BAD_OPTIONAL_INTERVALS]
    report = deliver(session_factory, settings, INTERVALS + "\n".join(rows) + "\n", "intervals")
    assert (report.rows_stored, report.rows_rejected, report.rows_warned) == (len(rows), 0, len(rows))
    kept = stored_warnings(session_factory, report.run_id)
    assert [(p, f) for p, _, f, _ in kept] == [(i + 2, f) for i, (_, f, _) in enumerate(BAD_OPTIONAL_INTERVALS)]
    with session_factory() as session:
        stored = session.scalars(select(IntervalRow).order_by(IntervalRow.interval_start)).all()
    column = {"wait_answered_seconds_sum": "wait_answered_ms", "wait_abandoned_seconds_sum": "wait_abandoned_ms",
              "longest_wait_seconds": "longest_wait_ms"}
    for record, (_, field, _) in zip(stored, BAD_OPTIONAL_INTERVALS, strict=True):
        assert getattr(record, column.get(field, field)) is None, field
    kpis = {s.scope: s.kpis for s in scorecard(session_factory, settings, "2025-10").scopes}["SE-Z"]
    assert (kpis.answered, kpis.abandoned) == (5 * 9, 2 * 10)


def test_a_row_refused_at_the_merge_is_a_rejection_without_warnings(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """A row can parse (with a warning) and still be refused when stored: here a 15-minute interval inside a day's
    figures of the same delivery (app.ingest.conflicts). It is then a rejected row, and no record carries its
    warning."""
    day = "SE-Z,vpt,2025-10-01T00:00:00+02:00,1440,7,5,2,1,0,4,600,,,,abc,,"  # a day's figures, with a warning
    quarter = _I.format("08:00", 5, 4, ",,,abc,")  # inside that day: refused
    report = deliver(session_factory, settings, INTERVALS + day + "\n" + quarter + "\n", "intervals")
    assert (report.rows_stored, report.rows_rejected) == (1, 1)
    assert (report.rows_warned, report.warnings) == (1, 1)
    assert [(w.position, w.field) for w in report.warning_sample] == [(2, "talk_seconds_sum")]
    assert [(p, f) for p, _, f, _ in stored_warnings(session_factory, report.run_id)] == [(2, "talk_seconds_sum")]
    with session_factory() as session:
        run = session.get(IngestRun, report.run_id)
        assert run is not None and (run.rows_warned, run.warnings) == (1, 1)
        assert session.scalar(select(Source.warnings_total).where(Source.name == "region-export")) == 1
        assert session.scalars(select(RejectedRow.position)).all() == [3]


def test_re_running_a_delivery_changes_nothing_and_records_its_warnings_again(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    body = CALLS + f"c1,SE-AC,vpt,{T0},answered,{T1},,,abc,\nc2,SE-AC,vpt,{T0},rejected,,,,,\n"
    first = deliver(session_factory, settings, body)
    again = deliver(session_factory, settings, body)
    assert (again.rows_stored, again.rows_updated, again.rows_unchanged, again.hours_refreshed) == (0, 0, 2, 0)
    assert (again.rows_warned, again.warnings) == (1, 1)
    assert stored_warnings(session_factory, again.run_id) == stored_warnings(session_factory, first.run_id) == [
        (2, "c1", "talk_seconds", "not a number: 'abc' (digits 0-9 and a decimal point)")]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 2
        assert session.scalar(select(Source.warnings_total).where(Source.name == "region-export")) == 2


def test_a_delivery_refused_whole_keeps_no_warning(session_factory: sessionmaker[Session], settings: Settings) -> None:
    body = CALLS + "".join(f"c{i},SE-AC,vpt,{T0},answered,{T1},,,abc,\n" for i in range(3))
    with pytest.raises(TooManyRows):
        deliver(session_factory, settings, body, max_rows=2)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(IngestWarning)) == 0
        assert session.scalar(select(func.count()).select_from(Call)) == 0


def test_no_caller_number_reaches_a_stored_warning(session_factory: sessionmaker[Session], settings: Settings) -> None:
    body = CALLS + f"n1,SE-AC,vpt,{T0},answered,{T1},,{NUMBER},{NUMBER}x,073-951 72 46\n"
    report = deliver(session_factory, settings, body)
    assert (report.rows_stored, report.warnings) == (1, 3)
    everything = database_text(session_factory)
    assert "ingest_warnings: " in everything and not [w for w in digit_windows(NUMBER) if w in everything]


def test_purging_a_source_removes_its_warnings(session_factory: sessionmaker[Session], settings: Settings) -> None:
    deliver(session_factory, settings, CALLS + f"c1,SE-AC,vpt,{T0},answered,{T1},,,abc,\n")
    with session_factory.begin() as session:
        remove_source(session, "region-export", purge=True, actor="test")
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(IngestWarning)) == 0


def test_a_bad_talk_time_in_a_queue_log_drops_no_call() -> None:
    """queue_log has no optional user fields: its line is the row. A COMPLETEAGENT whose calltime cannot be read is
    a rejected line, and the call it ends is still counted, answered, from its CONNECT (without a talk time)."""
    parser = QueueLogParser(QueueLogOptions({"vpt_ac": "SE-AC"}, OPTIONS.known_regions))
    log = ("1759298400|1759298400.1|vpt_ac|NONE|ENTERQUEUE||x|1\n"
           "1759298460|1759298400.1|vpt_ac|Agent/1|CONNECT|60|1759298400.5|1\n"
           "1759298700|1759298400.1|vpt_ac|Agent/1|COMPLETEAGENT|60|abc|1\n")
    results = list(parser.parse(io.StringIO(log)))
    assert [(r.position, r.field) for r in results if isinstance(r, Rejection)] == [(3, "calltime")]
    [call] = [r.record for r in results if isinstance(r, Parsed)]
    assert (call.outcome.value, call.answered_at is not None, call.talk_seconds) == ("answered", True, None)


def test_a_callers_number_in_a_talk_time_column_is_left_out_not_stored_as_22_years(session_factory, settings):
    """0701234567 is a valid number of seconds (22 years): no call talks that long, so it is a warning, and neither
    the call's talk time nor the interval's sum keeps it."""
    import io

    from app.ingest.service import ingest_bytes

    calls = (b"call_id,region,arrived_at,outcome,answered_at,talk_seconds,wrap_seconds\n"
             b"t1,SE-Z,2025-10-01T08:00:00+02:00,answered,2025-10-01T08:01:00+02:00,0701234567,86401\n"
             b"t2,SE-Z,2025-10-01T08:00:00+02:00,answered,2025-10-01T08:01:00+02:00,86400,30\n")
    report = ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(calls), origin="t.csv",
                          fmt="csv")
    assert (report.rows_stored, report.rows_rejected, report.warnings) == (2, 0, 2)
    reasons = {(w.field, w.reason) for w in report.warning_sample}
    assert reasons == {("talk_seconds", "longer than 24 hours"), ("wrap_seconds", "longer than 24 hours")}
    intervals = (b"region,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
                 b"answered_within_sl,sl_seconds,talk_seconds_sum,wrap_seconds_sum\n"
                 b"SE-Z,2025-10-01T08:00:00+02:00,15,2,2,0,0,0,2,600,0701234567,172800\n")
    report = ingest_bytes(session_factory, settings, record_kind="intervals", raw=io.BytesIO(intervals),
                          origin="i.csv", fmt="csv")
    assert (report.rows_stored, report.warnings) == (1, 1)
    assert report.warning_sample[0].field == "talk_seconds_sum"
