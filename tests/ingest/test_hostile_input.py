"""Hostile input (issue 7): each bug the ingest fuzzing found, as a regression test named after it, plus the
limits of one delivery. Storage tests run on SQLite and PostgreSQL, where most of these bugs were crashes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import Call, IngestRun, IntervalRow, RejectedRow
from app.ingest.lines import BoundedLines, LineTooLong
from app.ingest.loader import IngestError, RunReport, TooManyRows
from app.ingest.parsers import Parsed, ParseOptions, parse_calls, parse_intervals
from app.ingest.pull import _as_jsonl
from app.ingest.rows import FieldWarning, Rejection
from app.ingest.service import ingest_bytes, queue_log_parser
from app.ingest.sources import PullSourceConfig
from app.kpi.records import CallRecord

HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds\n"
INTERVAL_HEADER = (
    "region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
    "answered_within_sl,sl_seconds,wait_answered_seconds_sum,wait_abandoned_seconds_sum\n"
)
GOOD = "good1,SE-AC,,2025-10-01T08:00:00+02:00,rejected,,,,,\n"
OPTIONS = ParseOptions(frozenset({"SE-AC", "SE-BD", "SE-Z"}))


def push(factory: sessionmaker[Session], settings: Settings, body: bytes | str, *, kind: str = "calls",
         fmt: str = "csv", origin: str = "hostile.csv", max_rows: int | None = None) -> RunReport:
    raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    return ingest_bytes(factory, settings, record_kind=kind, raw=io.BytesIO(raw), fmt=fmt,  # type: ignore[arg-type]
                        origin=origin, source_name="hostile", max_rows=max_rows)


def stored(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def rejected_rows(factory: sessionmaker[Session]) -> list[RejectedRow]:
    with factory() as session:
        return list(session.scalars(select(RejectedRow).order_by(RejectedRow.position)))


def parse(text: str, fmt: str = "csv", options: ParseOptions = OPTIONS) -> list[Parsed | Rejection]:
    return list(parse_calls(io.StringIO(text, newline=""), fmt, options))  # type: ignore[arg-type]


def only_rejection(results: list[Parsed | Rejection]) -> Rejection:
    [rejection] = [r for r in results if isinstance(r, Rejection)]
    return rejection


def only_warning(results: list[Parsed | Rejection]) -> FieldWarning:
    """The one optional field left out of a record that was kept (issue 14 §4)."""
    assert not [r for r in results if isinstance(r, Rejection)], results
    [warning] = [w for r in results if isinstance(r, Parsed) for w in r.warnings]
    return warning


#: Fields whose bad value leaves the record kept without them (app.ingest.parsers), for an answered call.
OPTIONAL_CALL_FIELDS = {"queue", "ended_at", "answered_by_region", "talk_seconds", "wrap_seconds"}
OPTIONAL_INTERVAL_FIELDS = {"wait_answered_seconds_sum", "wait_abandoned_seconds_sum", "longest_wait_seconds",
                            "talk_seconds_sum", "wrap_seconds_sum"}


# --- bugs that crashed a delivery on PostgreSQL (or both databases) ---------------------------------------


def test_call_id_longer_than_its_column_is_rejected_not_a_database_error(session_factory, settings):
    # max_field_length is 256, calls.call_id holds 128: PostgreSQL's COPY failed the whole delivery.
    report = push(session_factory, settings, HEADER + "x" * 200 + ",SE-AC,,2025-10-01T08:00:00+02:00,rejected,,,,,\n"
                  + GOOD)
    assert (report.rows_stored, report.rows_rejected) == (1, 1)
    [row] = rejected_rows(session_factory)
    assert (row.position, row.field) == (2, "call_id")
    assert row.reason == "longer than 128 characters (the width of its column)"


def test_queue_longer_than_its_column_is_left_out_not_a_database_error(session_factory, settings):
    row = "c1,SE-AC," + "q" * 129 + ",2025-10-01T08:00:00+02:00,rejected,,,,,\n"
    report = push(session_factory, settings, HEADER + row)
    assert (report.rows_stored, report.rows_rejected, report.warnings) == (1, 0, 1)
    assert report.warning_sample[0].field == "queue"  # the call's queue is optional: kept without it
    with session_factory() as session:
        assert session.scalars(select(Call.queue)).one() is None


def test_nul_byte_in_a_field_is_refused_naming_the_field(session_factory, settings):
    # PostgreSQL refuses NUL in text: a NUL in a queue name failed the delivery, in a rejected row's key too.
    # The call's queue is optional: that call is now kept without it, with a warning (issue 14 §4).
    report = push(session_factory, settings, HEADER + "c1,SE-AC,q\x00x,2025-10-01T08:00:00+02:00,rejected,,,,,\n"
                  + "c2\x00,SE-XX,q,2025-10-01T08:00:00+02:00,rejected,,,,,\n" + GOOD)
    assert (report.rows_stored, report.rows_rejected, report.warnings) == (2, 1, 1)
    [warning] = report.warning_sample
    assert (warning.position, warning.field, warning.reason) == (2, "queue", "contains the control character U+0000")
    [row] = rejected_rows(session_factory)
    assert (row.position, row.field) == (3, "call_id")
    assert row.record_key == "c2\\x00" and "c2\\x00,SE-XX" in row.raw  # kept, escaped


def test_timestamp_outside_2000_to_2099_is_rejected_not_an_overflow(session_factory, settings):
    # Year 1 with an offset overflowed converting to UTC; 9999 in local time overflowed resolving it; year 500
    # was stored on SQLite as '500-06-01 ...', which could not be read back.
    rows = ["0001-01-01T00:00:00+02:00", "0001-01-01T00:00:00", "9999-12-31T23:59:59-05:00", "9999-12-31T23:30:00",
            "0500-06-01T10:00:00+00:00", "1999-12-31T23:59:59Z"]
    body = HEADER + "".join(f"c{i},SE-AC,,{at},rejected,,,,,\n" for i, at in enumerate(rows)) + GOOD
    report = push(session_factory, settings, body)
    assert (report.rows_stored, report.rows_rejected) == (1, len(rows))
    reasons = {(r.field, r.reason.split(":")[0]) for r in report.rejections}
    assert reasons == {("arrived_at", "outside the years 2000–2099")}


def test_answer_time_far_in_the_future_is_rejected_naming_its_field():
    rejection = only_rejection(parse(HEADER + "c1,SE-AC,,2025-10-01T08:00:00,answered,9999-12-31T23:59:59,,,,\n"))
    assert rejection.field == "answered_at" and "outside the years" in rejection.reason


def test_lone_surrogate_in_json_is_rejected_not_an_encode_error(session_factory, settings):
    # "\ud800" is valid JSON but no UTF-8: both drivers raised UnicodeEncodeError storing it, even as a rejection.
    rest = '"arrived_at": "2025-10-01T08:00:00+02:00", "outcome": "rejected"}\n'
    body = '{"call_id": "c\\ud800", "region": "SE-AC", ' + rest + '{"call_id": "c\\udfff", "region": "SE-XX", ' + rest
    report = push(session_factory, settings, body, fmt="jsonl", origin="hostile.jsonl")
    assert (report.rows_stored, report.rows_rejected) == (0, 2)
    first, second = rejected_rows(session_factory)
    assert (first.field, first.reason) == ("call_id", "not valid Unicode: a lone surrogate U+D800")
    assert first.record_key == "c\\ud800" and second.record_key == "c\\udfff"


def test_nul_escape_in_json_is_refused(session_factory, settings):
    body = ('{"call_id": "c1", "region": "SE-AC", "queue": "a\\u0000b", "arrived_at": "2025-10-01T08:00:00Z", '
            '"outcome": "rejected"}\n')
    report = push(session_factory, settings, body, fmt="jsonl")
    assert (report.rows_stored, report.warnings) == (1, 1) and report.warning_sample[0].field == "queue"


def test_interval_counts_that_would_overflow_the_hourly_sums_are_rejected(session_factory, settings):
    # Two intervals of 2 147 483 647 answered calls in one hour overflowed the 32-bit hourly sum on PostgreSQL.
    rows = "".join(f"SE-AC,,2025-10-01T08:{m}:00+02:00,15,2147483647,2147483647,0,0,0,0,600,,\n" for m in ("00", "15"))
    report = push(session_factory, settings, INTERVAL_HEADER + rows, kind="intervals")
    assert (report.rows_stored, report.rows_rejected) == (0, 2)
    reasons = {(r.field, r.reason) for r in report.rejections}
    assert reasons == {("answered", "too large: '2147483647' (at most 1000000)")}
    assert stored(session_factory, IntervalRow) == 0


def test_a_value_the_database_cannot_hold_fails_the_delivery_as_an_ingest_error(
    session_factory, settings, database_url
):
    # What the parsers' bounds still let through (2 148 queues of a million answered calls in one hour) is a
    # clean IngestError and a failed run on PostgreSQL, whose hourly sums are 32-bit; SQLite's are 64-bit.
    rows = "".join(f"SE-AC,q{q},2025-10-01T08:00:00+02:00,60,1000000,1000000,0,0,0,0,600,,\n" for q in range(2148))
    if database_url.startswith("sqlite"):
        assert push(session_factory, settings, INTERVAL_HEADER + rows, kind="intervals").rows_stored == 2148
        return
    with pytest.raises(IngestError, match=r"a value does not fit the database: .*integer out of range"):
        push(session_factory, settings, INTERVAL_HEADER + rows, kind="intervals")
    assert stored(session_factory, IntervalRow) == 0
    with session_factory() as session:
        run = session.scalars(select(IngestRun)).one()
    assert run.status == "failed" and "does not fit the database" in (run.error or "")


def test_queue_log_uniqueid_longer_than_the_call_id_column_is_rejected(session_factory, settings, tmp_path: Path):
    queue_map = tmp_path / "map.csv"
    queue_map.write_text("queue,region\nvpt_ac,SE-AC\n")
    uniqueid = "sys-" + "1" * 150 + ".1"
    log = f"1759298400|{uniqueid}|vpt_ac|NONE|FULL|\n1759298401|1759298401.2|vpt_ac|NONE|FULL|\n"
    report = ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(log.encode()), fmt="csv",
                          origin="queue_log", source_name="asterisk", parser=queue_log_parser(queue_map))
    assert (report.rows_stored, report.rows_rejected) == (1, 1)
    assert report.rejections[0].field == "uniqueid" and "longer than 128" in report.rejections[0].reason


def test_origin_with_a_nul_byte_is_stored_escaped(session_factory, settings):
    report = push(session_factory, settings, HEADER + GOOD, origin="up\x00load.csv")
    with session_factory() as session:
        assert session.get(IngestRun, report.run_id).origin == "up\\x00load.csv"  # type: ignore[union-attr]


# --- bugs of the JSON Lines reader ----------------------------------------------------------------------


def test_json_integer_beyond_4300_digits_is_a_rejected_row_not_a_value_error():
    rejection = only_rejection(parse('{"call_id": ' + "9" * 5000 + ', "region": "SE-AC"}\n', "jsonl"))
    assert rejection.position == 1 and rejection.reason.startswith("invalid JSON: Exceeds the limit (4300 digits)")


def test_deeply_nested_json_line_is_rejected_not_a_recursion_error():
    results = parse("[" * 60_000 + "\n" + '{"a":' * 10_000 + "\n", "jsonl")  # both under max_line_length
    assert [(r.position, r.reason) for r in results if isinstance(r, Rejection)] == [
        (1, "invalid JSON: nested too deeply (a row must be a flat object)"),
        (2, "invalid JSON: nested too deeply (a row must be a flat object)"),
    ]


def test_hundred_thousand_nested_brackets_are_one_rejected_line():
    results = parse("[" * 100_000 + "\n" + '{"call_id": "c1", "region": "SE-AC", "arrived_at": '
                    '"2025-10-01T08:00:00Z", "outcome": "rejected"}\n', "jsonl")
    assert isinstance(results[0], Rejection) and results[0].position == 1
    assert results[0].reason == "the line is longer than 65536 characters (VPT_MAX_LINE_LENGTH)"
    assert isinstance(results[1], Parsed) and results[1].position == 2


def test_nested_json_field_is_rejected_naming_the_field_known_or_not():
    base = '"call_id": "c1", "region": "SE-AC", "arrived_at": "2025-10-01T08:00:00Z", "outcome": "rejected"'
    results = parse(f'{{{base}, "queue": ["a"]}}\n{{{base}, "extra": {{"phone": "0701234567"}}}}\n{{{base}}}\n',
                    "jsonl")
    first, second, third = results
    assert isinstance(first, Rejection) and isinstance(second, Rejection) and isinstance(third, Parsed)
    flat = "a row must be a flat object"
    assert (first.field, first.reason) == ("queue", f"field queue is not a scalar but an array: {flat}")
    assert (second.field, second.reason) == (None, f"field 'extra' is not a scalar but an object: {flat}")
    assert first.record_key == "c1" and "0701234567" not in second.raw  # the unknown field's value is not kept


def test_json_top_level_scalar_is_rejected_naming_its_type():
    rejection = only_rejection(parse("42\n", "jsonl"))
    assert rejection.reason == "not a JSON object but a number: a row must be a flat object"


# --- line length ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_longer_than_max_line_length_is_rejected_and_reading_goes_on(newline):
    options = ParseOptions(OPTIONS.known_regions, max_line_length=1024)
    long_row = "c0,SE-AC,," + "x" * 2000 + ",rejected,,,,,"
    lines = [HEADER.strip(), long_row, GOOD.strip(), long_row, GOOD.strip().replace("good1", "good2")]
    results = parse(newline.join(lines) + newline, options=options)
    assert [(r.position, isinstance(r, Parsed)) for r in results] == [(2, False), (3, True), (4, False), (5, True)]
    assert results[0].reason == "the line is longer than 1024 characters (VPT_MAX_LINE_LENGTH)"  # type: ignore[union-attr]
    jsonl = newline.join(['{"call_id": "' + "x" * 2000 + '"}', '{"call_id": "c1", "region": "SE-AC", '
                          '"arrived_at": "2025-10-01T08:00:00Z", "outcome": "rejected"}'])
    results = list(parse_calls(io.StringIO(jsonl, newline=""), "jsonl", options))
    assert [(r.position, isinstance(r, Parsed)) for r in results] == [(1, False), (2, True)]


def test_header_longer_than_max_line_length_refuses_the_file(session_factory, settings):
    with pytest.raises(IngestError, match="line 1, the header: the line is longer than 65536 characters"):
        push(session_factory, settings, HEADER.strip() + ",x" * 40_000 + "\n" + GOOD)


@pytest.mark.parametrize("limit", [4, 5, 6])
def test_bounded_lines_count_a_crlf_cut_by_the_limit_once(limit):
    # "abcde\r\n" read with room for limit + 2 characters may stop between the CR and the LF.
    stream = io.TextIOWrapper(io.BufferedReader(io.BytesIO(b"abcde\r\nfg\r\nhijklmn\rop"), 2), "utf-8", newline="")
    lines = BoundedLines(stream, limit)
    out: list[object] = []
    while True:
        try:
            out.append((lines.position + 1, next(lines)))
        except StopIteration:
            break
        except LineTooLong:
            out.append((lines.position, "too long"))
    expected_ab = "abcde\r\n" if limit >= 5 else "too long"
    expected_hi = "too long" if limit < 7 else "hijklmn\r"
    assert out == [(1, expected_ab), (2, "fg\r\n"), (3, expected_hi), (4, "op")]


# --- CSV and encodings ----------------------------------------------------------------------------------


def test_utf16_file_fails_whole_naming_the_encoding(session_factory, settings):
    with pytest.raises(IngestError, match=r"UTF-16-encoded .*save it as UTF-8"):
        push(session_factory, settings, (HEADER + GOOD).encode("utf-16"))
    with session_factory() as session:
        run = session.scalars(select(IngestRun)).one()
    assert run.status == "failed" and stored(session_factory, Call) == 0


def test_latin1_text_is_refused_naming_the_field():
    warning = only_warning(parse((HEADER + "c1,SE-AC,kö,2025-10-01T08:00:00Z,rejected,,,,,\n")
                                 .encode("latin-1").decode("utf-8", "replace")))
    assert warning.field == "queue" and warning.reason.startswith("not valid UTF-8")
    rejection = only_rejection(parse((HEADER + "kö,SE-AC,,2025-10-01T08:00:00Z,rejected,,,,,\n")
                                     .encode("latin-1").decode("utf-8", "replace")))
    assert rejection.field == "call_id" and rejection.reason.startswith("not valid UTF-8")


def test_a_blank_first_line_is_named_as_such(session_factory, settings):
    with pytest.raises(IngestError, match="line 1 is blank: it must be the header"):
        push(session_factory, settings, "\n" + HEADER + GOOD)
    with pytest.raises(IngestError, match="the file is empty"):
        push(session_factory, settings, b"")


def test_interval_wait_sum_beyond_24_hours_per_call_is_left_out():
    rows = ("SE-Z,,2025-10-01T08:00:00Z,15,2,1,1,0,0,1,600,86401,\n"
            "SE-Z,,2025-10-01T08:15:00Z,15,2,1,1,0,0,1,600,,172800\n")
    results = list(parse_intervals(io.StringIO(INTERVAL_HEADER + rows, newline=""), "csv", OPTIONS))
    assert all(isinstance(r, Parsed) for r in results)  # the intervals are kept without the sums (issue 14 §4)
    assert [(w.field, w.reason) for r in results if isinstance(r, Parsed) for w in r.warnings] == [
        ("wait_answered_seconds_sum", "more than 24 hours per answered call (1)"),
        ("wait_abandoned_seconds_sum", "more than 24 hours per abandoned call (1)"),
    ]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_every_text_field_of_a_call_is_length_checked(fmt: str):
    options = ParseOptions(OPTIONS.known_regions, max_field_length=20)
    valid = {"call_id": "c1", "region": "SE-AC", "queue": "q", "arrived_at": "2025-10-01T08:00:00Z",
             "outcome": "answered", "answered_at": "2025-10-01T08:01:00Z", "ended_at": "2025-10-01T08:05:00Z",
             "answered_by_region": "SE-AC", "talk_seconds": "1", "wrap_seconds": "1"}

    def text(row: dict[str, str]) -> str:
        return ",".join(row) + "\n" + ",".join(row.values()) + "\n" if fmt == "csv" else json.dumps(row) + "\n"

    assert isinstance(parse(text(valid), fmt, options)[0], Parsed)
    for name in valid:
        found = parse(text(dict(valid, **{name: "1" * 21})), fmt, options)
        refusal = only_warning(found) if name in OPTIONAL_CALL_FIELDS else only_rejection(found)
        assert (refusal.position, refusal.field) == (2 if fmt == "csv" else 1, name), refusal
        assert refusal.reason == "longer than 20 characters (VPT_MAX_FIELD_LENGTH)"


def test_every_text_field_of_an_interval_is_length_checked():
    options = ParseOptions(OPTIONS.known_regions, max_field_length=20)
    valid = dict(zip(INTERVAL_HEADER.strip().split(","),
                     ["SE-Z", "q", "2025-10-01T08:00:00Z", "15", "2", "1", "1", "0", "0", "1", "600", "60", "30"],
                     strict=True))
    valid |= {"longest_wait_seconds": "60", "talk_seconds_sum": "100", "wrap_seconds_sum": "10"}
    header = ",".join(valid) + "\n"
    assert isinstance(next(parse_intervals(io.StringIO(header + ",".join(valid.values())), "csv", options)), Parsed)
    for name in valid:
        row = dict(valid, **{name: "1" * 21})
        [result] = parse_intervals(io.StringIO(header + ",".join(row.values())), "csv", options)
        if name in OPTIONAL_INTERVAL_FIELDS:
            assert isinstance(result, Parsed) and [w.field for w in result.warnings] == [name], result
        else:
            assert isinstance(result, Rejection) and result.field == name, result


# --- rows per delivery ----------------------------------------------------------------------------------


def test_too_many_rows_refuses_the_delivery_whole(session_factory, settings):
    body = HEADER + "".join(GOOD.replace("good1", f"c{i}") for i in range(4))
    with pytest.raises(TooManyRows) as caught:
        push(session_factory, settings, body, max_rows=3)
    assert caught.value.status_code == 413 and isinstance(caught.value, IngestError)
    assert "more than 3 rows, the limit of one delivery (VPT_MAX_UPLOAD_ROWS): nothing was stored" in str(caught.value)
    assert stored(session_factory, Call) == 0 and rejected_rows(session_factory) == []
    with session_factory() as session:
        assert [run.status for run in session.scalars(select(IngestRun))] == ["failed"]
    report = push(session_factory, settings, body, max_rows=4)  # exactly at the limit: fine
    assert report.rows_stored == 4


def test_parsed_records_are_plain_call_records():
    [result] = parse(HEADER + GOOD)
    assert isinstance(result, Parsed) and isinstance(result.record, CallRecord)


# --- counting -------------------------------------------------------------------------------------------


def test_reingesting_a_delivery_that_corrects_itself_counts_no_updates(session_factory, settings):
    # The first occurrence of a repeated key was compared with the stored record, which is the delivery's own last
    # occurrence on a re-ingest: the same bytes reported updates (and changed nothing).
    rows = ("d1,SE-AC,,2025-10-01T08:00:00+02:00,rejected,,,,,\n"
            "d1,SE-AC,,2025-10-01T08:00:00+02:00,abandoned,,2025-10-01T08:02:00+02:00,,,\n"
            "d1,SE-AC,,2025-10-01T08:00:00+02:00,abandoned,,2025-10-01T08:02:00+02:00,,,\n")
    first = push(session_factory, settings, HEADER + rows)
    again = push(session_factory, settings, HEADER + rows)
    counts = ("rows_read", "rows_stored", "rows_updated", "rows_unchanged", "rows_rejected", "hours_refreshed")
    assert [getattr(first, c) for c in counts] == [3, 1, 1, 1, 0, 1]  # in file order
    assert [getattr(again, c) for c in counts] == [3, 0, 0, 3, 0, 0]
    back = push(session_factory, settings, HEADER + rows.splitlines(keepends=True)[0])  # a real correction
    assert (back.rows_updated, back.hours_refreshed) == (1, 1)
    final = push(session_factory, settings, HEADER + rows)  # rejected → abandoned again: one update, in order
    assert [getattr(final, c) for c in counts] == [3, 0, 1, 2, 0, 1]


def test_a_pulled_record_with_a_lone_surrogate_is_a_rejected_row_not_an_encode_error():
    # A feed's "\ud800" escape survived json.loads and made encoding the batch for the parser raise.
    config = PullSourceConfig(name="feed", kind="calls", base_url="http://127.0.0.1:1")
    good = {"call_id": "c2", "region": "SE-AC", "arrived_at": "2025-10-01T08:00:00Z", "outcome": "rejected"}
    payload, _ = _as_jsonl([{**good, "call_id": "c\ud800"}, good], config)
    results = list(parse_calls(io.TextIOWrapper(io.BytesIO(payload), "utf-8", newline=""), "jsonl", OPTIONS))
    first, second = results
    assert isinstance(first, Rejection) and first.field == "call_id" and "lone surrogate" in first.reason
    assert isinstance(second, Parsed)
