"""The fast path of canonical call CSV (app.ingest.fastcsv, issue 15) stores exactly what the reference parser stores.

Generated files (valid rows; bad values of every field; naive local times over both DST switches; unknown regions;
future times; repeated keys; corrections of stored rows; quoted fields and quoted line breaks; rows of the wrong
width; CRLF; blank lines) are ingested through the fast path into one fresh database and through the reference path
(``VPT_INGEST_FAST_PATH`` off) into another, on SQLite and PostgreSQL, and every stored table that an ingest writes
must come out the same: calls, rejected rows, warnings, runs, sources' totals, hourly and monthly aggregates.
"""

from __future__ import annotations

import io
import itertools
import logging
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.config import Settings
from app.db.session import make_engine, make_session_factory
from app.db.types import to_sqlite_text
from app.ingest import fastplain
from app.ingest.fastplain import UTC_US, Limits, epoch_us, instants
from app.ingest.faststage import sqlite_text
from app.ingest.loader import IngestError, TooManyRows
from app.ingest.service import ingest_bytes, ingest_file
from app.kpi.localtime import STOCKHOLM
from tests.conftest import fresh_database

HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds"
SPRING = datetime(2025, 3, 30, 1, 0, tzinfo=UTC)  # 02:00 local does not exist
AUTUMN = datetime(2025, 10, 26, 1, 0, tzinfo=UTC)  # 02:00-03:00 local happens twice
_sources = itertools.count()

#: The tables an ingest writes, their volatile columns (ids, clocks) left out, in a stable order.
TABLES = {
    "calls": ("SELECT s.name, c.call_id, c.region, c.queue, c.arrived_at, c.outcome, c.answered_at, c.ended_at, "
              "c.answered_by_region, c.talk_seconds, c.wrap_seconds, c.wait_ms, c.hour_start, c.run_id "
              "FROM calls c JOIN sources s ON s.id = c.source_id ORDER BY s.name, c.call_id"),
    "rejected_rows": "SELECT run_id, position, record_key, field, reason, raw FROM rejected_rows "
                     "ORDER BY run_id, position, field, reason",
    "ingest_warnings": "SELECT run_id, position, record_key, field, reason FROM ingest_warnings "
                       "ORDER BY run_id, position, field, reason",
    "ingest_runs": "SELECT id, source_id, record_kind, origin, content_sha256, status, rows_read, rows_stored, "
                   "rows_updated, rows_unchanged, rows_rejected, rows_warned, warnings, hours_refreshed, "
                   "first_record_at, last_record_at, error FROM ingest_runs ORDER BY id",
    "sources": "SELECT name, rows_read_total, rows_stored_total, rows_updated_total, rows_unchanged_total, "
               "rows_rejected_total, warnings_total, delivered_until FROM sources ORDER BY name",
    "hourly_aggregates": "SELECT * FROM hourly_aggregates ORDER BY region, hour_start",
    "monthly_aggregates": "SELECT * FROM monthly_aggregates ORDER BY region, month",
    "hourly_answered_by": "SELECT * FROM hourly_answered_by ORDER BY region, answered_by_region, hour_start",
    "monthly_answered_by": "SELECT * FROM monthly_answered_by ORDER BY region, answered_by_region, month",
}


def _iso(moment: datetime, style: str) -> str:
    local = moment.astimezone(STOCKHOLM)
    if style == "offset":
        return local.isoformat()
    if style == "z":
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if style == "fraction":
        return (moment + timedelta(microseconds=123_450)).astimezone(STOCKHOLM).isoformat()
    if style == "naive":
        return local.replace(tzinfo=None).isoformat()
    if style == "space":
        return local.isoformat(" ")
    if style == "compact":
        return local.strftime("%Y-%m-%dT%H:%M:%S%z")
    return style  # a literal value


#: Each field: (values a plain row may hold, odd values). A file draws how often a field is odd, from never (every
#: row plain) to often (most rows go to the reference parser), so that both paths and their mix are exercised.
FIELDS = {
    "call_id": (["a", "b", "c", "d", "e", "f-1", "g.2"], ["", " a", "x" * 129, "é1", "a\x01", "id;1"]),
    "region": (["SE-AB", "SE-AB", "SE-O"], ["se-ab", "SE-XX", "", " SE-O", "SE-AB "]),
    "queue": (["vpt", "vpt", "", "vpt barn"], [" vpt", "  ", "q" * 129, "växel", "a\x7f"]),
    "base": ([SPRING, AUTUMN, datetime(2025, 1, 15, 9, tzinfo=UTC)], []),
    "minutes": ([-70, -30, 0, 15, 45, 75, 130], []),
    "style": (["offset", "offset", "z", "fraction"],
              ["naive", "naive", "naive", "space", "compact", "2025-13-01T00:00:00Z", "2025-02-29T10:00:00Z",
               "2090-01-01T00:00:00Z", "1999-12-31T22:00:00Z", "2100-01-01T00:30:00+01:00", "yesterday",
               "2025-10-26T02:30:00+24:00", "0701234567"]),
    "outcome": (["answered", "answered", "abandoned", "rejected"], ["ANSWERED", "x", ""]),
    "answer": ([40, 400, 0, 3, 0.0005, 12.3456785, 86_400], [None, -10, 90_000, 86_400.000001]),
    "end": ([None, 400, 500, 86_400], [-10, 90_000, 0, 20]),
    "end_style": (["same"], ["naive", "z", "garbage"]),
    "by": (["", "", "SE-AB", "SE-O"], ["SE-XX", "se-o"]),
    "talk": (["", "360", "7.5", "86400", "123.456789", "0"],
             ["0.1234567", "-1", "90000", "1e3", "abc", "86400.000001", "123456789.123456", "0701234567"]),
    "wrap": (["", "30", "0", "2.25"], ["+1", " 3"]),
    "shape": (["plain"], ["extra", "short", "quoted", "quoted_break", "blank_before", "spaces_before"]),
}


@st.composite
def deliveries(draw: st.DrawFn, max_size: int) -> list[dict]:
    odd = draw(st.sampled_from([0.0, 0.0, 0.05, 0.3]))
    shape_odd = draw(st.sampled_from([0.0, 0.0, 0.0, 0.05]))
    out = []
    for _ in range(draw(st.integers(1, max_size))):
        row = {}
        for name, (valid, odds) in FIELDS.items():
            p = shape_odd if name == "shape" else odd
            pool = odds if odds and draw(st.sampled_from(range(100))) < 100 * p else valid
            row[name] = draw(st.sampled_from(pool))
        keep_by = draw(st.sampled_from(range(100))) < 100 * odd
        if row["outcome"] != "answered" and row["by"] in FIELDS["by"][0] and not keep_by:
            row["by"] = ""  # answered_by_region of an unanswered call is a warning: odd, not plain
        row["arrived"] = (row.pop("base") + timedelta(minutes=row.pop("minutes")), row.pop("style"))
        out.append(row)
    return out


def _every_value() -> list[dict]:
    """One row per value of every field, valid and odd, the other fields plain: each class is met every run."""
    base = {name: valid[0] for name, (valid, _odd) in FIELDS.items()}
    rows = []
    for name, (valid, odd) in FIELDS.items():
        if name == "shape":
            continue
        for outcome in ("answered", "abandoned", "rejected"):
            for value in [*valid, *odd]:
                row = {**base, "outcome": outcome, "end": 400 if outcome == "abandoned" else None, name: value}
                row["call_id"] = row["call_id"] + str(len(rows)) if name != "call_id" else row["call_id"]
                row["arrived"] = (row.pop("base") + timedelta(minutes=row.pop("minutes")), row.pop("style"))
                rows.append(row)
    return rows


EVERY_VALUE = _every_value()
files = st.tuples(deliveries(12), deliveries(8),
                  st.sampled_from(["\n", "\n", "\r\n"]), st.booleans())


def _line(row: dict, newline: str) -> str:
    arrived, style = row["arrived"]
    end_style = style if row["end_style"] == "same" else row["end_style"]

    def after(delay: int | None, style: str) -> str:
        if delay is None:
            return ""
        if style == "garbage":
            return "soon"
        return _iso(arrived + timedelta(seconds=delay), style if style in ("offset", "z", "naive", "fraction",
                                                                              "space", "compact") else "offset")

    answer = after(row["answer"], style) if row["outcome"] in ("answered", "ANSWERED", "x") else \
        after(row["answer"] if row["answer"] == -10 else None, style)
    values = [row["call_id"], row["region"], row["queue"], _iso(arrived, style), row["outcome"], answer,
              after(row["end"], end_style), row["by"], row["talk"], row["wrap"]]
    shape = row["shape"]
    if shape == "extra":
        values.append("0701234567")
    elif shape == "short":
        values.pop()
    elif shape == "quoted":
        values[2] = f'"{values[2]}"'
    elif shape == "quoted_break":
        values[0] = f'"{values[0]}\nx"'
    line = ",".join(values) + newline
    if shape == "spaces_before":  # blank to the reference too: one field of white space
        return " \t" + newline + line
    return newline + line if shape == "blank_before" else line


def _content(delivery: list[dict], newline: str, bom: bool) -> bytes:
    body = HEADER + newline + "".join(_line(row, newline) for row in delivery)
    return ("\ufeff" if bom else "").encode() + body.encode()


def _ingest(factory, settings, content: bytes, source: str) -> tuple:
    report = ingest_bytes(factory, settings, record_kind="calls", raw=io.BytesIO(content), fmt="csv",
                          origin="generated.csv", source_name=source)
    return (report.status, report.rows_read, report.rows_stored, report.rows_updated, report.rows_unchanged,
            report.rows_rejected, report.rows_warned, report.warnings, report.hours_refreshed,
            report.first_record_at, report.last_record_at,
            [(r.position, r.record_key, r.field, r.reason, r.raw) for r in report.rejections],
            [(w.position, w.record_key, w.field, w.reason) for w in report.warning_sample])


def _state(factory) -> dict[str, list[tuple]]:
    with factory() as session:
        return {name: [tuple(row) for row in session.execute(text(query))] for name, query in TABLES.items()}


@pytest.fixture
def reference(request, tmp_path, database_url):
    """A second fresh database of the same kind, read with the fast path off."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    with fresh_database(request, tmp_path, kind) as url:
        settings = Settings(database_url=url, ingest_fast_path=False, scorecard_version_ttl_seconds=0,
                            _env_file=None)  # type: ignore[call-arg]
        engine = make_engine(settings)
        yield make_session_factory(engine), settings
        engine.dispose()


@hypothesis_settings(max_examples=8, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(files)
@example((EVERY_VALUE, EVERY_VALUE[::3], "\n", False))
def test_fast_path_stores_what_the_reference_stores(session_factory, settings, reference, plan) -> None:
    first, second, newline, bom = plan
    assert settings.ingest_fast_path
    reference_factory, reference_settings = reference
    source = f"fast-{next(_sources)}"
    for delivery in (first, second, first):  # a delivery, one that corrects it, the first re-ingested
        content = _content(delivery, newline, bom)
        assert _ingest(session_factory, settings, content, source) == \
            _ingest(reference_factory, reference_settings, content, source)
    fast_state, reference_state = _state(session_factory), _state(reference_factory)
    for name in TABLES:
        assert fast_state[name] == reference_state[name], name


def _plain_file(rows: int) -> bytes:
    lines = [HEADER]
    base = datetime(2025, 10, 1, 6, tzinfo=UTC)
    for i in range(rows):
        arrived = base + timedelta(minutes=7 * i)
        lines.append(f"p{i},SE-AB,vpt,{arrived.astimezone(STOCKHOLM).isoformat()},answered,"
                     f"{(arrived + timedelta(seconds=41)).isoformat()},{(arrived + timedelta(seconds=500)).isoformat()}"
                     f",SE-O,300.5,20")
    return ("\n".join(lines) + "\n").encode()


def _fast_record(caplog) -> logging.LogRecord:
    records = [r for r in caplog.records if r.getMessage() == "ingest.fast_path"]
    assert len(records) == 1
    return records[0]


def test_a_plain_file_takes_the_fast_path(session_factory, settings, reference, caplog) -> None:
    caplog.set_level(logging.INFO, logger="app.ingest.loader")
    content = _plain_file(300) + b"bad,SE-XX,vpt,2025-10-01T08:00:00Z,answered,,,,,\n"
    fast = _ingest(session_factory, settings, content, "plain")
    record = _fast_record(caplog)
    assert (record.plain_rows, record.reference_rows, record.fallback) == (300, 1, None)  # type: ignore[attr-defined]
    caplog.clear()
    assert fast == _ingest(*reference, content, "plain")
    assert not [r for r in caplog.records if r.getMessage() == "ingest.fast_path"]  # the setting turns it off
    assert _state(session_factory) == _state(reference[0])


def test_ingest_file_of_calls_csv_takes_the_fast_path(session_factory, settings, tmp_path, caplog) -> None:
    """The format registry's calls-csv parser (what ``vpt ingest calls``, the drop folder and a push use) is the one
    the loader recognises; a JSON Lines file of calls is read by the reference parser only."""
    caplog.set_level(logging.INFO, logger="app.ingest.loader")
    path = tmp_path / "calls.csv"
    path.write_bytes(_plain_file(20))
    assert ingest_file(session_factory, settings, "calls", path).rows_stored == 20
    assert _fast_record(caplog).plain_rows == 20  # type: ignore[attr-defined]
    caplog.clear()
    jsonl = tmp_path / "calls.jsonl"
    jsonl.write_text('{"call_id": "j1", "region": "SE-AB", "arrived_at": "2025-10-01T08:00:00Z", '
                     '"outcome": "rejected"}\n')
    assert ingest_file(session_factory, settings, "calls", jsonl).rows_stored == 1
    assert not [r for r in caplog.records if r.getMessage() == "ingest.fast_path"]


def test_a_quoted_line_break_sends_the_rest_to_the_reference_reader(session_factory, settings, reference,
                                                                    caplog) -> None:
    caplog.set_level(logging.INFO, logger="app.ingest.loader")
    quoted = b'"q\n1",SE-AB,vpt,2025-10-01T08:00:00Z,rejected,,,,,\n'
    content = _plain_file(5) + quoted + _plain_file(3)[len(HEADER) + 1:]
    fast = _ingest(session_factory, settings, content, "quoted")
    record = _fast_record(caplog)
    assert record.fallback is not None and "quote" in record.fallback  # type: ignore[attr-defined]
    assert (record.plain_rows, record.fallback_line) == (0, 2)  # type: ignore[attr-defined]
    assert fast == _ingest(*reference, content, "quoted")
    assert fast[5] == 1  # the quoted row: a control character in call_id
    assert _state(session_factory) == _state(reference[0])


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("ending", ["", "end"])
def test_a_blank_or_misshapen_line_is_decided_alone(session_factory, settings, reference, caplog, newline,
                                                    ending) -> None:
    """A blank line or one with a stray or missing comma sent the rest of the file to the reference reader; now the
    reference's splitter decides that line alone (skipped, or the rejected row it makes, same line and reason) and
    the rows after it stay on the fast path."""
    caplog.set_level(logging.INFO, logger="app.ingest.loader")
    head, *rows = _plain_file(12).decode().splitlines()
    odd = ["", " \t", rows[3] + ",0701234567", rows[4].rsplit(",", 1)[0], ",,,", rows[5].replace("p5", "p5,x", 1)]
    lines = [head, *rows[:3], odd[0], odd[1], odd[2], *rows[6:8], odd[3], odd[4], *rows[8:], odd[5]]
    content = newline.join(lines).encode() + (newline.encode() if ending else b"")
    fast = _ingest(session_factory, settings, content, "odd")
    record = _fast_record(caplog)
    assert record.fallback is None  # type: ignore[attr-defined]
    assert (record.plain_rows, record.reference_rows) == (9, 4)  # type: ignore[attr-defined]
    assert fast == _ingest(*reference, content, "odd")
    assert [(r[0], r[3]) for r in fast[11]] == [
        (7, "row has 11 fields, the header has 10"), (10, "row has 9 fields, the header has 10"),
        (11, "row has 4 fields, the header has 10"), (16, "row has 11 fields, the header has 10")]
    assert _state(session_factory) == _state(reference[0])


@pytest.mark.parametrize("content", [
    # other columns, some canonical ones absent, no line break at the end
    b"extra,outcome,call_id,arrived_at,region,ended_at\n0701234567,abandoned,h1,2025-10-01T08:00:00Z,SE-AB,"
    b"2025-10-01T08:01:00Z\nx,rejected,h2,2025-10-01T09:00:00+02:00,SE-O,",
    # a semicolon header, a header without its line break, a blank header: the reference reads the whole file
    b"call_id;region;arrived_at;outcome\nh3;SE-AB;2025-10-01T08:00:00Z;rejected\n",
    b"call_id,region,arrived_at,outcome",
    b"\ncall_id,region,arrived_at,outcome\n",
    # a blank line and a CR line break midway: the reference reads from there
    _plain_file(4) + b"\n" + _plain_file(2)[len(HEADER) + 1:].replace(b"p0", b"r0").replace(b"p1", b"r1"),
    _plain_file(3) + b"h9,SE-AB,,2025-10-01T08:00:00Z,rejected,,,,,\rh8,SE-O,,2025-10-01T08:00:00Z,rejected,,,,,\n",
])
def test_headers_and_breaks_the_fast_path_reads_otherwise(session_factory, settings, reference, content) -> None:
    def outcome(factory, settings) -> object:
        try:
            return _ingest(factory, settings, content, "headers")
        except IngestError as exc:  # the same refusal on both paths
            return type(exc).__name__, str(exc)

    assert outcome(session_factory, settings) == outcome(*reference)
    assert _state(session_factory) == _state(reference[0])


def test_too_many_rows_is_refused_on_the_fast_path(session_factory, settings) -> None:
    with pytest.raises(TooManyRows):
        ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(_plain_file(30)), fmt="csv",
                     origin="big.csv", max_rows=29)
    report = ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(_plain_file(30)),
                          fmt="csv", origin="big.csv", max_rows=30)
    assert report.rows_stored == 30


LIMITS = Limits.of(frozenset({"SE-AB"}), 256, datetime(2030, 1, 1, tzinfo=UTC))
digits = st.text("0123456789", min_size=1, max_size=2)


@hypothesis_settings(max_examples=150, deadline=None)
@given(st.datetimes(min_value=datetime(1998, 1, 1), max_value=datetime(2101, 12, 31)),
       st.sampled_from(["", ".1", ".12", ".123", ".123456", ".5"]),
       st.sampled_from(["Z", "+00:00", "+01:00", "+02:00", "-00:30", "+14:00", "-23:59", "+24:00", "+01:60"]),
       digits, digits)
def test_plain_times_are_read_as_python_reads_them(moment, fraction, zone, day, hour) -> None:
    """Every string the time class accepts is a time ``datetime.fromisoformat`` reads to the same UTC instant
    within the years and the clock; a date or time of day out of range is not plain."""
    texts = [f"{moment:%Y-%m-%dT%H:%M:%S}{fraction}{zone}",
             f"{moment:%Y-%m}-{day.zfill(2)}T{hour.zfill(2)}:{moment:%M:%S}{fraction}{zone}"]
    plain, instant = instants(pa.array(texts), LIMITS)
    for value, ok, micros in zip(texts, plain.to_pylist(), instant.to_pylist(), strict=True):
        # alone, a value Arrow's cast reads takes the cast; beside one it refuses, the arithmetic: the same answer
        alone_plain, alone_instant = instants(pa.array([value]), LIMITS)
        assert alone_plain.to_pylist() == [ok], value
        if ok:
            assert alone_instant.to_pylist() == [micros], value
        try:
            parsed = datetime.fromisoformat(value).astimezone(UTC)
        except ValueError:
            assert not ok, value
            continue
        inside = datetime(2000, 1, 1, tzinfo=UTC) <= parsed < datetime(2100, 1, 1, tzinfo=UTC) and \
            parsed <= datetime(2030, 1, 1, tzinfo=UTC)
        if ok:
            assert inside and micros == epoch_us(parsed), value
        elif zone not in ("+24:00", "+01:60"):
            assert not inside, value


def test_a_column_arrow_reads_takes_no_arithmetic(monkeypatch) -> None:
    """Times are read by Arrow's ISO 8601 cast (issue 15: the date arithmetic was 0.9 of 1.6 s of a 200 k-row parse);
    only a column with a value the cast refuses is read value by value."""
    texts = ["2025-10-26T02:30:00+02:00", "2025-01-01T10:00:00.5Z", "2024-02-29T23:59:59.123456-03:30", "x", ""]
    reads: list[int] = []
    calendar = fastplain.calendar_instants
    monkeypatch.setattr(fastplain, "calendar_instants", lambda *a: reads.append(1) or calendar(*a))
    plain, instant = instants(pa.array(texts), LIMITS)
    assert not reads
    assert plain.to_pylist() == [True, True, True, False, False]
    assert instant.to_pylist()[:3] == [epoch_us(datetime.fromisoformat(t)) for t in texts[:3]]
    plain, _ = instants(pa.array([*texts, "2025-02-29T10:00:00Z"]), LIMITS)
    assert reads and plain.to_pylist() == [True, True, True, False, False, False]


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.lists(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59, 999_999),
                             timezones=st.just(UTC)), min_size=1, max_size=20))
def test_sqlite_text_of_the_fast_path_is_to_sqlite_text(moments) -> None:
    column = pa.array([epoch_us(m) for m in moments], pa.int64()).cast(UTC_US)
    assert sqlite_text(column).to_pylist() == [to_sqlite_text(m) for m in moments]
