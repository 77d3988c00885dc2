"""Hypothesis fuzzing of ingest (issue 7): malformed CSV and JSON Lines mixed with valid rows, stored for real.

Each example is one delivery under a fresh source name into the test's database (SQLite and PostgreSQL):
random bytes, Latin-1 and UTF-16, missing and extra columns, broken quoting, NUL bytes, huge numbers, NaN and
Infinity, dates in every odd form, repeated call ids, blank lines, CRLF and CR, a BOM. Whatever comes in:

- ``ingest_bytes`` returns a report or raises ``IngestError`` naming the file, never another exception;
  a refused delivery stores nothing and leaves a failed run;
- ``rows_read == rows_stored + rows_updated + rows_unchanged + rows_rejected``;
- every rejected row is stored with a reason naming a canonical field or the row as a whole, and no reason
  is the parser's last-resort "unreadable row" (that would be a check the parsers lack);
- every warning (an optional field left out of a stored record) is stored naming an optional canonical field;
- the database holds exactly the records of the rows that parsed, the last occurrence of each key, and the
  hourly aggregates count every stored record once;
- ingesting the same bytes again stores and updates nothing.

Bugs this found are regression tests in ``tests/ingest/test_hostile_input.py``. In CI the examples are
derandomized (the same every run); locally each run explores new ones.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import Call, HourlyAggregate, IngestRun, IntervalRow, RejectedRow, Source
from app.db.run_models import IngestWarning
from app.db.session import make_engine, make_session_factory
from app.ingest.loader import IngestError, RecordKind, RunReport, known_regions
from app.ingest.parsers import (
    CALL_COLUMNS,
    INTERVAL_COLUMNS,
    Format,
    Parsed,
    ParseOptions,
    parse_calls,
    parse_intervals,
)
from app.ingest.service import ingest_bytes
from app.kpi.localtime import STOCKHOLM
from app.kpi.records import CallRecord

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
FUZZ = settings(
    max_examples=int(os.environ.get("VPT_FUZZ_EXAMPLES", "40")),
    deadline=None,
    derandomize=IN_CI,
    database=None if IN_CI else settings.default.database,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
_sources = itertools.count()
#: The fields a bad value of which leaves the record stored without them (app.ingest.parsers), by record kind.
OPTIONAL = {
    "calls": {"queue", "ended_at", "answered_by_region", "talk_seconds", "wrap_seconds"},
    "intervals": {"wait_answered_seconds_sum", "wait_abandoned_seconds_sum", "longest_wait_seconds",
                  "talk_seconds_sum", "wrap_seconds_sum", "agents_staffed"},
}

# --- values ---------------------------------------------------------------------------------------------

REGIONS = st.sampled_from(["SE-AC", "SE-BD", "se-z", "SE-Y", "SE-XX", "", " SE-AC ", "Västerbotten"])
ODD_TIMES = st.sampled_from([
    "", " ", "2025-13-01T00:00:00", "2025-02-30T10:00:00", "01/10/2025 08:00", "2025-10-01T08:00:00+25:00",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "9999-12-31T23:30:00", "0001-01-01T00:00:00",
    "1970-01-01", "2025-W40-3T08:00", "20251001T080000", "2025-10-01T08:00:00.123456789", "  2025-10-01T08:00  ",
    "2025-03-30T02:30:00", "2025-10-26T02:30:00", "2025-10-26T02:30:00", "NaN", "now", "2025-10-01T24:00:00",
    "2025-10-01T08:00:00Z", "2025-10-01T08:00:00+02", "+2025-10-01", "2025-10-01T08:00:00\x00", "１９７０-01-01",
])
NUMBERS = st.sampled_from([
    "", "0", "12.5", "-1", "-0", "1e308", "1e309", "-1e309", "NaN", "nan", "Infinity", "-inf", "1_000", "0x10",
    "9" * 30, " 7 ", "7,5", "1e12", "1000000000001", "2147483648", "1000001", "٣", "\x00", "true",
])
NASTY_TEXT = st.sampled_from([
    "", " ", "\x00", "a\x00b", "\ud800", "\udfff", "\ufeff", "\ufffd", "é", "q\r\nr", "\"", "\"\"", "a,b", "a;b",
    "x" * 129, "x" * 300, "\x1b[31m", "\u2028", "NULL", "None", "null", "🙂",
])
TEXT = st.one_of(NASTY_TEXT, st.text(max_size=20), st.text(st.characters(codec="utf-8"), max_size=300))
CALL_IDS = st.one_of(st.sampled_from(["c1", "c2", "c3", "dup", " c1 ", "C1"]), st.text(min_size=1, max_size=8))


@st.composite
def valid_call(draw: st.DrawFn) -> dict[str, str]:
    """A call row that should be stored (unless a repeated id or the fall-back hour says otherwise)."""
    arrived = datetime(2025, 10, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 60 * 24 * 40)))
    aware = draw(st.booleans())
    sep = draw(st.sampled_from(["T", " "]))

    def show(moment: datetime) -> str:  # with an offset, or as Stockholm wall time
        return moment.isoformat(sep) if aware else moment.astimezone(STOCKHOLM).replace(tzinfo=None).isoformat(sep)

    outcome = draw(st.sampled_from(["answered", "abandoned", "rejected", "ANSWERED"]))
    wait = timedelta(seconds=draw(st.integers(0, 7200)))
    row = {"call_id": draw(CALL_IDS), "region": draw(st.sampled_from(["SE-AC", "SE-BD", "se-z"])),
           "queue": draw(st.sampled_from(["", "vpt", "barn"])), "arrived_at": show(arrived), "outcome": outcome}
    if outcome.lower() == "answered":
        row |= {"answered_at": show(arrived + wait), "ended_at": show(arrived + wait * 2),
                "answered_by_region": draw(st.sampled_from(["", "SE-AC"])), "talk_seconds": "120.5"}
    elif outcome == "abandoned":
        row |= {"ended_at": show(arrived + wait)}
    return row


@st.composite
def hostile_call(draw: st.DrawFn) -> dict[str, str]:
    """A valid row with some of its fields replaced by hostile values."""
    row = draw(valid_call())
    for name in draw(st.lists(st.sampled_from(CALL_COLUMNS), max_size=3)):
        if name in {"arrived_at", "answered_at", "ended_at"}:
            row[name] = draw(st.one_of(ODD_TIMES, TEXT))
        elif name in {"talk_seconds", "wrap_seconds"}:
            row[name] = draw(st.one_of(NUMBERS, TEXT))
        elif name in {"region", "answered_by_region"}:
            row[name] = draw(st.one_of(REGIONS, TEXT))
        else:
            row[name] = draw(TEXT)
    return row


@st.composite
def valid_interval(draw: st.DrawFn) -> dict[str, str]:
    minutes = draw(st.sampled_from([15, 30, 60]))
    start = datetime(2025, 10, 1, tzinfo=UTC) + timedelta(minutes=minutes * draw(st.integers(0, 4 * 24 * 40)))
    answered, abandoned = draw(st.integers(0, 500)), draw(st.integers(0, 50))
    return {
        "region": draw(st.sampled_from(["SE-AC", "SE-Z"])), "queue": draw(st.sampled_from(["", "vpt"])),
        "interval_start": start.isoformat(), "interval_minutes": str(minutes),
        "offered": str(answered + abandoned + draw(st.integers(0, 3))), "answered": str(answered),
        "abandoned": str(abandoned), "abandoned_short": str(draw(st.integers(0, abandoned))), "rejected": "0",
        "answered_within_sl": str(draw(st.integers(0, answered))), "sl_seconds": "600",
        "wait_answered_seconds_sum": str(answered * draw(st.integers(0, 600))) if draw(st.booleans()) else "",
        "longest_wait_seconds": draw(st.sampled_from(["", "600"])) if answered else "",
    }


@st.composite
def hostile_interval(draw: st.DrawFn) -> dict[str, str]:
    row = draw(valid_interval())
    for name in draw(st.lists(st.sampled_from(INTERVAL_COLUMNS), max_size=3)):
        row[name] = draw(ODD_TIMES if name == "interval_start" else st.one_of(NUMBERS, TEXT, REGIONS))
    return row


# --- files ----------------------------------------------------------------------------------------------


def csv_line(cells: list[str], delimiter: str, quoting: bool) -> str:
    if not quoting:
        return delimiter.join(cells)
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="").writerow(cells)
    return buffer.getvalue()


@st.composite
def csv_file(draw: st.DrawFn, columns: tuple[str, ...], row: st.SearchStrategy[dict[str, str]]) -> list[str]:
    """The lines of a CSV file (no line breaks yet): a header and rows, valid and broken."""
    header = list(draw(st.permutations(columns)))
    if draw(st.booleans()):
        header.insert(draw(st.integers(0, len(header))), draw(st.sampled_from(["caller_number", "notes", ""])))
    if draw(st.integers(0, 9)) == 0:
        header.remove(draw(st.sampled_from(header)))  # perhaps a required column: the file is refused
    delimiter = draw(st.sampled_from([",", ",", ",", ";"]))
    lines = [csv_line([h.upper() if draw(st.booleans()) else h for h in header], delimiter, True)]
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            lines.append(draw(st.sampled_from(["", " ", "\t", ",,,"])))
            continue
        if kind == 1:
            lines.append(draw(TEXT))
            continue
        values = draw(row)
        cells = [values.get(h, "caller 070-123 45 67" if h == "caller_number" else "") for h in header]
        if kind == 2 and cells:
            del cells[draw(st.integers(0, len(cells) - 1))]
        elif kind == 3:
            cells.append(draw(TEXT))
        quoting = kind != 4  # kind 4: raw cells, quotes and delimiters inside them unescaped
        lines.append(csv_line(cells, delimiter, quoting))
    return lines


def _json_value(draw: st.DrawFn, text: str | None) -> Any:
    choice = draw(st.integers(0, 14))
    if text is not None and choice < 8:
        return text
    return draw(st.sampled_from([
        None, True, 0, -1, 2**31, 2**63, 10**40, 1.5, 1e308, float("nan"), float("inf"), [], ["a"], {"a": 1},
        {"nested": {"deeper": [1]}}, "\ud800", "\x00",
    ]))


@st.composite
def jsonl_file(draw: st.DrawFn, columns: tuple[str, ...], row: st.SearchStrategy[dict[str, str]]) -> list[str]:
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 11))
        if kind == 0:
            lines.append(draw(st.sampled_from(["", " ", "{}", "[]", "null", "42", "\"text\"", "{", "}"])))
            continue
        if kind == 1:
            lines.append(draw(TEXT))
            continue
        if kind == 2:
            depth = draw(st.sampled_from([50, 5_000, 60_000, 100_000]))
            lines.append(draw(st.sampled_from(["[", "{\"a\":"])) * depth)
            continue
        values: dict[str, Any] = dict(draw(row))
        if kind == 3:
            name = draw(st.sampled_from([*columns, "caller_number", "extra"]))
            values[name] = _json_value(draw, values.get(name))
        if kind == 4 and values:
            del values[draw(st.sampled_from(sorted(values)))]
        if kind == 5:
            values = {k: int(v) if v.isascii() and v.isdigit() else v for k, v in values.items()}  # as JSON numbers
        text = json.dumps(values, ensure_ascii=draw(st.booleans()))
        if kind == 6:
            text = text[: draw(st.integers(0, len(text)))]  # truncated
        lines.append(text)
    return lines


@st.composite
def encoded(draw: st.DrawFn, lines: list[str]) -> bytes:
    """Lines joined with LF, CRLF or CR (perhaps mixed), encoded mostly as UTF-8, sometimes not."""
    newline = draw(st.sampled_from(["\n", "\r\n", "\r", "mixed"]))
    if newline == "mixed":
        text = "".join(line + draw(st.sampled_from(["\n", "\r\n", "\r"])) for line in lines)
    else:
        text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    data = text.encode(encoding, "replace") if encoding != "utf-8" else text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 5)) == 0 and data:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=40)) + data[at:]
    return data


# --- the invariants -------------------------------------------------------------------------------------


@pytest.fixture
def fuzz_db(database_url: str) -> Iterator[tuple[sessionmaker[Session], Settings]]:
    settings = Settings(database_url=database_url, max_field_length=64, max_line_length=4096,  # type: ignore[call-arg]
                        _env_file=None)
    engine = make_engine(settings)
    yield make_session_factory(engine), settings
    engine.dispose()


def expected_keys(data: bytes, kind: RecordKind, fmt: Format, options: ParseOptions) -> tuple[int, set[Any]]:
    """(rows read, keys of the records that parsed), read independently of the loader."""
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", errors="replace", newline="")
    results = list((parse_calls if kind == "calls" else parse_intervals)(stream, fmt, options))
    keys = set()
    for result in results:
        if isinstance(result, Parsed):
            record = result.record
            keys.add(record.call_id if isinstance(record, CallRecord) else (
                record.region, record.queue, record.interval_start))
    return len(results), keys


def keys_not_refused(data: bytes, kind: RecordKind, fmt: Format, options: ParseOptions, refused: set[int]) -> set[Any]:
    """The keys of the records that parsed and have a row the merge did not refuse."""
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", errors="replace", newline="")
    return {result.record.call_id if isinstance(result.record, CallRecord) else (
        result.record.region, result.record.queue, result.record.interval_start)
        for result in (parse_calls if kind == "calls" else parse_intervals)(stream, fmt, options)
        if isinstance(result, Parsed) and result.position not in refused}


def check_delivery(
    db: tuple[sessionmaker[Session], Settings], kind: RecordKind, fmt: Format, data: bytes
) -> None:
    factory, settings = db
    source = f"fuzz-{next(_sources)}"
    origin = f"fuzz.{fmt}"
    model: Any = Call if kind == "calls" else IntervalRow
    columns = CALL_COLUMNS if kind == "calls" else INTERVAL_COLUMNS

    def deliver() -> RunReport:
        return ingest_bytes(factory, settings, record_kind=kind, raw=io.BytesIO(data), fmt=fmt, origin=origin,
                            source_name=source)

    try:
        report = deliver()
    except IngestError as exc:
        assert str(exc).startswith(f"{origin}: "), exc
        with factory() as session:
            source_id = session.scalar(select(Source.id).where(Source.name == source))
            runs = session.scalars(select(IngestRun).where(IngestRun.source_id == source_id)).all()
            assert [run.status for run in runs] == ["failed"] and runs[0].error
            assert session.scalar(select(func.count()).select_from(model).where(model.source_id == source_id)) == 0
        return

    assert report.balanced, report
    with factory() as session:
        options = ParseOptions(known_regions(session), settings.max_field_length, settings.max_line_length)
        rows_read, keys = expected_keys(data, kind, fmt, options)
        assert report.rows_read == rows_read
        source_id = session.scalar(select(Source.id).where(Source.name == source))
        rejected = session.scalars(select(RejectedRow).where(RejectedRow.run_id == report.run_id)).all()
        assert len(rejected) == report.rows_rejected
        # Examples share the database: a row overlapping an earlier example's source is refused by the merge
        # (app.ingest.conflicts), and its key is stored only if another of its rows was not refused.
        keys = keys_not_refused(data, kind, fmt, options, {r.position for r in rejected if "overlap" in r.reason})
        for row in rejected:
            assert row.reason and row.position >= 1, row
            assert row.field is None or row.field in columns, (row.field, row.reason)
            assert not row.reason.startswith("unreadable row"), row.reason  # a parser check is missing
        warned = session.scalars(select(IngestWarning).where(IngestWarning.run_id == report.run_id)).all()
        assert len(warned) == report.warnings
        assert report.rows_warned <= report.rows_stored + report.rows_updated + report.rows_unchanged
        assert {w.field for w in warned} <= OPTIONAL[kind] and all(w.reason for w in warned), warned
        records = session.scalars(select(model).where(model.source_id == source_id)).all()
        assert len(records) == report.rows_stored  # a fresh source: every stored key is one row
        stored_keys = {r.call_id if kind == "calls" else (r.region, r.queue, r.interval_start) for r in records}
        assert stored_keys == keys
        column = HourlyAggregate.call_records if kind == "calls" else HourlyAggregate.interval_records
        assert session.scalar(select(func.coalesce(func.sum(column), 0))) == session.scalar(
            select(func.count()).select_from(model))

    again = deliver()
    assert (again.rows_stored, again.rows_updated, again.hours_refreshed) == (0, 0, 0), again
    assert (again.rows_read, again.rows_rejected) == (report.rows_read, report.rows_rejected)
    assert (again.rows_warned, again.warnings) == (report.rows_warned, report.warnings)
    assert again.balanced


@FUZZ
@given(data=csv_file(CALL_COLUMNS, st.one_of(valid_call(), hostile_call())).flatmap(encoded))
def test_call_csv(fuzz_db, data: bytes) -> None:
    check_delivery(fuzz_db, "calls", "csv", data)


@FUZZ
@given(data=jsonl_file(CALL_COLUMNS, st.one_of(valid_call(), hostile_call())).flatmap(encoded))
def test_call_jsonl(fuzz_db, data: bytes) -> None:
    check_delivery(fuzz_db, "calls", "jsonl", data)


@FUZZ
@given(data=csv_file(INTERVAL_COLUMNS, st.one_of(valid_interval(), hostile_interval())).flatmap(encoded))
def test_interval_csv(fuzz_db, data: bytes) -> None:
    check_delivery(fuzz_db, "intervals", "csv", data)


@FUZZ
@given(data=st.binary(max_size=2000), kind=st.sampled_from(["calls", "intervals"]),
       fmt=st.sampled_from(["csv", "jsonl"]))
def test_random_bytes(fuzz_db, data: bytes, kind: RecordKind, fmt: Format) -> None:
    check_delivery(fuzz_db, kind, fmt, data)
