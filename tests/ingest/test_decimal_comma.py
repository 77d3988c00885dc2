"""A semicolon-separated file takes decimal commas in every decimal field (issue 14 §4, the outside test's case: a
"412,5" in the optional talk_seconds of a Swedish spreadsheet rejected a good answered call whole)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import Call
from app.ingest.parsers import Parsed, ParseOptions, parse_calls, parse_intervals
from app.ingest.rows import Rejection
from app.ingest.service import ingest_bytes

OPTIONS = ParseOptions(frozenset({"SE-AC"}), now=datetime(2025, 10, 2, tzinfo=UTC))
CALLS = "call_id;region;arrived_at;outcome;answered_at;talk_seconds;wrap_seconds\n"
INTERVALS = ("region;interval_start;interval_minutes;offered;answered;abandoned;abandoned_short;rejected;"
             "answered_within_sl;sl_seconds\n")


def parse(text: str, kind: str = "calls") -> list[Parsed | Rejection]:
    reader = parse_calls if kind == "calls" else parse_intervals
    return list(reader(io.StringIO(text, newline=""), "csv", OPTIONS))


def test_a_semicolon_file_reads_decimal_commas_in_talk_and_wrap_times() -> None:
    found = parse(CALLS + "c1;SE-AC;2025-10-01T08:00:00+02:00;answered;2025-10-01T08:01:30+02:00;412,5;,75\n")
    assert [type(r) for r in found] == [Parsed]
    record = found[0].record  # type: ignore[union-attr]
    assert (record.talk_seconds, record.wrap_seconds) == (412.5, 0.75)


def test_an_interval_report_with_semicolons_reads_decimal_commas_in_its_sums() -> None:
    header = INTERVALS.replace("\n", ";wait_answered_seconds_sum\n")
    found = parse(header + "SE-AC;2025-10-01T08:00:00+02:00;15;10;9;1;0;0;9;600;1234,5\n", "intervals")
    assert [type(r) for r in found] == [Parsed]
    assert found[0].record.wait_answered_seconds_sum == 1234.5  # type: ignore[union-attr]


def warned(results: list[Parsed | Rejection]) -> list[tuple[str, str]]:
    """The (field, reason) of every warning: the call is kept without those optional fields (issue 14 §4)."""
    return [(w.field, w.reason) for r in results if isinstance(r, Parsed) for w in r.warnings]


def test_a_comma_file_still_refuses_a_decimal_comma_and_counts_stay_whole() -> None:
    comma = parse("call_id,region,arrived_at,outcome,answered_at,talk_seconds\n"
                  'c1,SE-AC,2025-10-01T08:00:00+02:00,answered,2025-10-01T08:01:30+02:00,"412,5"\n')
    assert warned(comma) == [("talk_seconds", "not a number: '412,5' (digits 0-9 and a decimal point)")]
    counts = parse(INTERVALS + "SE-AC;2025-10-01T08:00:00+02:00;15;10,5;9;1;0;0;9;600\n", "intervals")
    assert [r.field for r in counts if isinstance(r, Rejection)] == ["offered"]
    grouped = parse(CALLS + "c2;SE-AC;2025-10-01T08:00:00+02:00;answered;2025-10-01T08:01:30+02:00;1,412,5;\n")
    assert [field for field, _ in warned(grouped)] == ["talk_seconds"]


def test_the_good_answered_call_is_stored_with_its_talk_time(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    body = CALLS + "c1;SE-AC;2025-10-01T08:00:00+02:00;answered;2025-10-01T08:01:30+02:00;412,5;30\n"
    report = ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(body.encode()), fmt="csv",
                          origin="sv.csv", source_name="files")
    assert (report.rows_stored, report.rows_rejected) == (1, 0)
    with session_factory() as session:
        call = session.scalars(select(Call)).one()
    assert call.outcome == "answered"
