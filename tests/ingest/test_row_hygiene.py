"""What a rejected row may keep, and what a row may hold (issue 12, items 2, 7 and 8).

A rejected row keeps the canonical fields that could be read and never free text of a line that did not parse:
a row whose fields cannot be placed keeps none of them, a queue_log line that is no queue_log line keeps nothing
of its text. Text fields refuse C1 controls like C0 ones, numbers take ASCII digits only, and a record may be
neither more than a day in the future nor outside the years 2000–2099 once in UTC. Storage tests run on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import Call, RejectedRow, Source
from app.db.run_models import IngestWarning
from app.ingest.fields import EARLIEST_YEAR, LATEST_YEAR
from app.ingest.parsers import Parsed, ParseOptions, parse_calls, parse_intervals
from app.ingest.queue_log import QueueLogOptions, QueueLogParser
from app.ingest.rows import Rejection
from app.ingest.service import ingest_bytes, queue_log_parser
from tests.ingest.db_dump import database_text, digit_windows

REGIONS = frozenset({"SE-AC", "SE-BD", "SE-Z"})
OPTIONS = ParseOptions(REGIONS, now=datetime(2025, 10, 2, tzinfo=UTC))
NUMBER = "0739517246"  # a caller's number
CALLS = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds\n"
INTERVALS = ("region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
             "answered_within_sl,sl_seconds\n")


def deliver(factory: sessionmaker[Session], settings: Settings, body: str, *, fmt: str = "csv", **extra: object):
    return ingest_bytes(factory, settings, record_kind="calls", raw=io.BytesIO(body.encode()), fmt=fmt,  # type: ignore[arg-type]
                        origin="delivery", source_name="hygiene", **extra)  # type: ignore[arg-type]


def rejected(factory: sessionmaker[Session]) -> list[RejectedRow]:
    with factory() as session:
        return list(session.scalars(select(RejectedRow).order_by(RejectedRow.position)))


def results(
    text: str, fmt: str = "csv", options: ParseOptions = OPTIONS, kind: str = "calls"
) -> list[Parsed | Rejection]:
    parse = parse_calls if kind == "calls" else parse_intervals
    return list(parse(io.StringIO(text, newline=""), fmt, options))  # type: ignore[arg-type]


def reasons(found: list[Parsed | Rejection]) -> list[tuple[str | None, str]]:
    return [(r.field, r.reason) for r in found if isinstance(r, Rejection)]


def warned(found: list[Parsed | Rejection]) -> list[tuple[str, str]]:
    """The optional fields left out of records that were kept (issue 14 §4), and why."""
    return [(w.field, w.reason) for r in found if isinstance(r, Parsed) for w in r.warnings]


# --- item 2: a row whose fields cannot be placed keeps none of them -------------------------------------------


def test_a_row_with_a_stray_comma_keeps_no_value_so_no_caller_number_reaches_any_table(session_factory, settings):
    header = "call_id,queue,caller_number,region,arrived_at,outcome\n"
    good = f"c1,vpt,{NUMBER},SE-AC,2025-10-01T08:00:00+02:00,rejected\n"
    stray = f"c2,vpt,barn,{NUMBER},SE-AC,2025-10-01T08:05:00+02:00,rejected\n"  # "vpt,barn" unquoted
    short = f"c3,vpt,{NUMBER},SE-AC,2025-10-01T08:10:00+02:00\n"  # a field missing
    report = deliver(session_factory, settings, header + good + stray + short)
    assert (report.rows_stored, report.rows_rejected) == (1, 2)
    first, second = rejected(session_factory)
    assert (first.position, first.record_key, first.field, first.raw) == (3, None, None, "")
    assert first.reason == "row has 7 fields, the header has 6"
    assert (second.position, second.record_key, second.raw) == (4, None, "")
    everything = database_text(session_factory)
    assert "c1" in everything and not [w for w in digit_windows(NUMBER) if w in everything]


def test_a_caller_number_in_a_number_field_or_a_json_key_is_not_quoted_in_the_reason(session_factory, settings):
    """A number where a duration belongs (a warning: the call is kept without it), or as a nested field's name
    (a rejection), is refused without being quoted whole."""
    spaced = "073-951 72 46"
    body = (f"{CALLS}c1,SE-AC,vpt,2025-10-01T08:00:00+02:00,answered,2025-10-01T08:01:00+02:00,,,{spaced},\n"
            f"c2,SE-AC,vpt,2025-10-01T08:00:00+02:00,answered,2025-10-01T08:01:00+02:00,,,12,{NUMBER}x\n")
    report = deliver(session_factory, settings, body)
    lines = (f'{{"call_id": "c3", "region": "SE-AC", "arrived_at": "2025-10-01T08:00:00+02:00", '
             f'"outcome": "rejected", "{NUMBER}": {{"name": "x"}}}}\n')
    jsonl = deliver(session_factory, settings, lines, fmt="jsonl")
    assert (report.rows_rejected, report.rows_stored, report.warnings, jsonl.rows_rejected) == (0, 2, 2, 1)
    assert [r.reason for r in rejected(session_factory)] == [
        "field '[digits removed]' is not a scalar but an object: a row must be a flat object"]
    with session_factory() as session:
        kept = session.scalars(select(IngestWarning).order_by(IngestWarning.position)).all()
    assert [(w.field, w.reason) for w in kept] == [
        ("talk_seconds", "not a number: '[digits removed]' (digits 0-9 and a decimal point)"),
        ("wrap_seconds", "not a number: '[digits removed]x' (digits 0-9 and a decimal point)"),
    ]
    everything = database_text(session_factory)
    assert not [w for w in digit_windows(NUMBER) if w in everything]


def test_a_row_with_a_stray_comma_keeps_its_call_id_only_when_every_reading_agrees():
    header = "region,call_id,queue,arrived_at,outcome\n"
    # One field too many: call_id is column 1 if the stray comma lies after it, column 2 if before it.
    agree = "SE-AC,c1,c1,vpt,2025-10-01T08:00:00Z,rejected\n"
    differ = "SE-AC,c2,vpt,x,2025-10-01T08:00:00Z,rejected\n"
    first, second = results(header + agree + differ)
    assert isinstance(first, Rejection) and (first.record_key, first.raw) == ("c1", "")
    assert isinstance(second, Rejection) and (second.record_key, second.raw) == (None, "")


def test_a_line_that_is_not_json_keeps_nothing_of_its_text():
    [rejection] = results('{"call_id": "c1", "caller": "' + NUMBER + '", "region": \n', "jsonl")
    assert isinstance(rejection, Rejection) and rejection.raw == "" and rejection.record_key is None
    assert rejection.reason.startswith("invalid JSON")


# --- item 1, the parser's part: a queue_log "line" that is no queue_log line keeps nothing -------------------

SECRETS = ("VPT_DATABASE_URL=postgresql://vpt:s3cretPassw0rd@db:5432/vpt",
           "VPT_ALERT_WEBHOOK_SECRET=hunter2hunter2|a|b|c|d|e",
           "garbage-epoch|c1|vpt_ac|NONE|ABANDON|1|1|" + NUMBER)


def test_lines_of_a_secrets_file_read_as_a_queue_log_leave_no_trace_of_their_text(session_factory, settings, tmp_path):
    queue_map = tmp_path / "map.csv"
    queue_map.write_text("queue,region\nvpt_ac,SE-AC\n")
    body = "\n".join([*SECRETS, "1759298400|1759298400.2|vpt_ac|NONE|FULL|"]) + "\n"
    report = deliver(session_factory, settings, body, parser=queue_log_parser(queue_map))
    assert (report.rows_stored, report.rows_rejected) == (1, 3)
    rows = rejected(session_factory)
    assert [(r.position, r.record_key, r.field, r.raw) for r in rows] == [
        (1, None, "uniqueid", ""), (2, None, "epoch", ""), (3, None, "epoch", "ABANDON")]
    assert rows[1].reason == "not an epoch time between 2000 and 2100"
    everything = database_text(session_factory)
    for secret in ("s3cretPassw0rd", "hunter2", "VPT_", "garbage"):
        assert secret not in everything
    assert not [w for w in digit_windows(NUMBER) if w in everything]


def test_a_queue_log_line_whose_structure_was_read_still_keeps_it():
    parser = QueueLogParser(QueueLogOptions({"vpt_ac": "SE-AC"}, REGIONS))
    [bad] = list(parser.parse(io.StringIO("1759298400|1759298400.2|vpt_nowhere|NONE|FULL|\n")))
    assert isinstance(bad, Rejection) and (bad.record_key, bad.field) == ("1759298400.2", "queue")
    assert bad.raw == "1759298400|1759298400.2|vpt_nowhere|NONE|FULL|"


# --- item 7: C1 controls and non-ASCII digits -----------------------------------------------------------------


@pytest.mark.parametrize("char", ["\x85", "\x9b", "\x80", "\x9f"])
def test_c1_control_characters_are_rejected_in_text_fields_like_c0_ones(char):
    found = results(CALLS + f"c1,SE-AC,q{char}x,2025-10-01T08:00:00Z,rejected,,,,,\n"
                    + f"c2{char}z,SE-AC,q,2025-10-01T08:00:00Z,rejected,,,,,\n")
    code = f"U+{ord(char):04X}"
    assert warned(found) == [("queue", f"contains the control character {code}")]  # optional: the call is kept
    assert reasons(found) == [("call_id", f"contains the control character {code}")]
    assert [r.record_key for r in found if isinstance(r, Rejection)] == [f"c2\\x{ord(char):02x}z"]


@pytest.mark.parametrize("value", ["1_000", "١٢", "٣", "１２", "1_0.5", "Infinity", "nan", "0x10", "1 000"])
def test_numbers_take_ascii_digits_only(value):
    found = results(CALLS + f"c1,SE-AC,,2025-10-01T08:00:00Z,answered,2025-10-01T08:01:00Z,,,{value},\n")
    assert warned(found) == [("talk_seconds", f"not a number: {value!r} (digits 0-9 and a decimal point)")]
    assert reasons(found) == []  # the call is kept without its talk time (issue 14 §4)
    row = f"SE-Z,,2025-10-01T08:00:00Z,15,{value},0,0,0,0,0,600\n"
    found = results(INTERVALS + row, kind="intervals")
    assert reasons(found) == [("offered", f"not a whole number: {value!r} (digits 0-9)")]


@pytest.mark.parametrize("value", ["12", "12.5", ".5", "1e3", "+7", "7."])
def test_ascii_numbers_in_every_usual_form_are_still_read(value):
    [parsed] = results(CALLS + f"c1,SE-AC,,2025-10-01T08:00:00Z,answered,2025-10-01T08:01:00Z,,,{value},\n")
    assert isinstance(parsed, Parsed) and parsed.record.talk_seconds == float(value)  # type: ignore[union-attr]


def test_a_json_number_is_read_as_written():
    line = ('{"call_id": "c1", "region": "SE-AC", "arrived_at": "2025-10-01T08:00:00Z", "outcome": "answered", '
            '"answered_at": "2025-10-01T08:01:00Z", "talk_seconds": 1.5e2, "wrap_seconds": 30}\n')
    [parsed] = results(line, "jsonl")
    assert isinstance(parsed, Parsed) and (parsed.record.talk_seconds, parsed.record.wrap_seconds) == (150, 30)  # type: ignore[union-attr]


# --- item 8: the future, and the years in UTC -----------------------------------------------------------------


def test_a_record_more_than_a_day_ahead_of_the_ingest_is_rejected():
    now = datetime(2025, 10, 1, 12, 0, tzinfo=UTC)
    options = ParseOptions(REGIONS, now=now)

    def at(moment: datetime) -> str:
        return moment.isoformat().replace("+00:00", "Z")

    rows = [f"c1,SE-AC,,{at(now + timedelta(hours=23))},rejected,,,,,",
            f"c2,SE-AC,,{at(now + timedelta(days=1, seconds=1))},rejected,,,,,",
            f"c3,SE-AC,,{at(now)},answered,{at(now + timedelta(minutes=1))},{at(now + timedelta(days=3))},,,"]
    found = results(CALLS + "\n".join(rows) + "\n", options=options)
    assert isinstance(found[0], Parsed)
    assert reasons(found) == [("arrived_at", "more than a day in the future: 2025-10-02T12:00:01+00:00 in UTC")]
    # the end of an answered call is optional: the call is kept without it
    assert warned(found) == [("ended_at", "more than a day in the future: 2025-10-04T12:00:00+00:00 in UTC")]
    interval = "SE-Z,,2025-10-03T08:00:00Z,15,0,0,0,0,0,0,600\n"
    assert reasons(results(INTERVALS + interval, options=options, kind="intervals")) == [
        ("interval_start", "more than a day in the future: 2025-10-03T08:00:00+00:00 in UTC")]


def test_a_queue_log_line_more_than_a_day_ahead_of_the_ingest_is_rejected():
    now = datetime(2025, 10, 1, 6, 0, tzinfo=UTC)  # epoch 1759298400
    parser = QueueLogParser(QueueLogOptions({"vpt_ac": "SE-AC"}, REGIONS, now=now))
    text = "1759298400|1759298400.1|vpt_ac|NONE|FULL|\n1759384801|1759384801.2|vpt_ac|NONE|FULL|\n"
    first, second = list(parser.parse(io.StringIO(text)))
    assert isinstance(first, Rejection) and (first.position, first.field) == (2, "epoch")
    assert first.reason == "more than a day in the future: 2025-10-02T06:00:01+00:00"
    assert isinstance(second, Parsed)


def test_a_record_from_2099_does_not_move_its_sources_delivered_until(session_factory, settings):
    body = CALLS + ("c1,SE-AC,,2099-06-01T08:00:00Z,rejected,,,,,\n"
                    "c2,SE-AC,,2025-10-01T08:00:00Z,rejected,,,,,\n")
    report = deliver(session_factory, settings, body)
    assert (report.rows_stored, report.rows_rejected) == (1, 1)
    assert report.rejections[0].reason.startswith("more than a day in the future")
    with session_factory() as session:
        source = session.scalar(select(Source).where(Source.name == "hygiene"))
        assert source is not None and source.delivered_until is not None
        assert source.delivered_until.replace(tzinfo=UTC) == datetime(2025, 10, 1, 8, tzinfo=UTC)
        assert session.scalar(select(Call.call_id)) == "c2"


@pytest.mark.parametrize(
    ("written", "field", "reason"),
    [
        ("2000-01-01T00:30:00", "arrived_at", "1999-12-31T23:30:00+00:00 in UTC"),  # Stockholm, UTC+1
        ("2000-01-01T00:30:00+02:00", "arrived_at", "1999-12-31T22:30:00+00:00 in UTC"),
        ("2099-12-31T23:30:00-05:00", "arrived_at", "2100-01-01T04:30:00+00:00 in UTC"),
    ],
)
def test_the_years_are_checked_in_utc(written, field, reason):
    options = ParseOptions(REGIONS, now=datetime(2099, 12, 31, 23, 59, tzinfo=UTC))
    found = results(CALLS + f"c1,SE-AC,,{written},rejected,,,,,\n", options=options)
    assert reasons(found) == [(field, f"outside the years 2000–2099: {reason}")]


@pytest.mark.parametrize("written", ["2100-01-01T00:30:00", "2100-01-01T00:30:00+01:00", "1999-12-31T23:30:00-01:00"])
def test_a_time_written_in_the_next_or_last_year_but_inside_the_years_in_utc_is_read(written):
    options = ParseOptions(REGIONS, now=datetime(2099, 12, 31, 23, 59, tzinfo=UTC))
    [parsed] = results(CALLS + f"c1,SE-AC,,{written},rejected,,,,,\n", options=options)
    assert isinstance(parsed, Parsed) and EARLIEST_YEAR <= parsed.record.arrived_at.year <= LATEST_YEAR  # type: ignore[union-attr]

