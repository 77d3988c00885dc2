"""See before you store (issue 14 §5): what a delivery would give, read exactly as an ingest reads it, stored nowhere.

The delivery goes through the same parser an ingest would use (a canonical format's, or an import profile's), so
every check and every rejection is the ingest's own. The figures are the ingest's too: each record is counted by
``app.kpi.counts`` under ``settings.definitions`` and summed per region and local month as the hourly and monthly
aggregates sum it, then ``app.kpi.formulas.compute_kpis`` makes the KPIs. Within one delivery a record key that
repeats counts once, its last occurrence, as the merge of an ingest keeps it (app.ingest.staging.merge).

The figures are those of the delivery alone, as if its source held nothing yet: a re-delivery of stored records
would change nothing when stored, but its dry run still shows what it holds.

Bounded like an ingest: more than ``max_rows`` rows is ``TooManyRows``, a file unreadable as a whole an
``IngestError``. Repeated keys are found with a set of their hashes (a few dozen bytes a row, not the records);
only when one repeats is the delivery read a second time to count each repeated key's last occurrence, so the
stream must be seekable (a file, a spooled upload, a page in memory).

Nothing of the app's storage is touched but the region codes an ingest would accept (``dry_run_delivery``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import IO, Any

from sqlalchemy.orm import Session, sessionmaker

from app.ingest.lines import FileFormatError
from app.ingest.loader import (
    HashingReader,
    IngestError,
    Parser,
    RecordKind,
    TooManyRows,
    check_encoding,
    known_regions,
)
from app.ingest.parsers import Parsed, ParseOptions
from app.ingest.profiles import ProfileParser
from app.ingest.rows import Rejection
from app.kpi.counts import Counts, Definitions, counts_from_call, counts_from_interval
from app.kpi.formulas import Kpis, compute_kpis, data_quality_notes
from app.kpi.localtime import local_month_of, utc_iso
from app.kpi.records import CALL_COLUMNS, INTERVAL_COLUMNS, CallRecord, IntervalRecord
from app.sanitize import clean, clean_optional

#: Rows shown as mapped, by default.
SAMPLE_ROWS = 10
#: Distinct reasons counted each for rejections and warnings; the rest are counted together.
MAX_REASONS = 50
OTHER_REASONS = "(other reasons)"
#: A quoted value inside a reason ("unknown region: 'SE-XX'"): counted together whatever it quotes.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")

Record = CallRecord | IntervalRecord


@dataclass(frozen=True)
class ReasonCount:
    """Rejections (or warnings) of one field and reason; ``example`` is the first of them in full."""

    field: str | None
    reason: str
    count: int
    first_position: int
    example: str

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "reason": self.reason, "count": self.count,
                "first_position": self.first_position, "example": self.example}


@dataclass(frozen=True)
class MonthFigures:
    """What the delivery would give one region in one local month: its counts and KPIs (SPEC §4)."""

    region: str
    month: date
    kpis: Kpis
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"region": self.region, "month": self.month.strftime("%Y-%m"), "offered": self.kpis.offered,
                "answered": self.kpis.answered, "abandoned": self.kpis.abandoned, "rejected": self.kpis.rejected,
                "kpis": self.kpis.as_dict(), "notes": list(self.notes)}


@dataclass
class DryRunReport:
    """What a delivery would give. ``reader`` names what read it (``profile se-statistik-dag``, ``format
    calls-csv``); ``detected`` says the profile was chosen by detection rather than named."""

    record_kind: RecordKind
    origin: str
    reader: str
    profile: str | None = None
    detected: bool = False
    detection: str | None = None
    rows_read: int = 0
    records: int = 0
    repeats: int = 0  # records whose key came again later in the delivery: only the last one counts
    rows_rejected: int = 0
    rows_warned: int = 0  # records that would be stored without a bad optional field
    warnings: int = 0  # the fields left out
    #: What a profile's parser did besides records and rejections (None: the reader is no profile): rows its filters
    #: left out, legs its chain folded into a call, copies its dedupe dropped for a newer copy.
    rows_skipped: int | None = None
    legs_merged: int | None = None
    copies_dropped: int | None = None
    rejections: list[ReasonCount] = field(default_factory=list)
    warning_reasons: list[ReasonCount] = field(default_factory=list)
    sample: list[dict[str, Any]] = field(default_factory=list)
    months: list[MonthFigures] = field(default_factory=list)
    first_record_at: datetime | None = None
    last_record_at: datetime | None = None

    @property
    def would_store(self) -> bool:
        """Whether an ingest of the delivery would store anything (the verdict an ingest's run would have)."""
        return self.records > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": True, "record_kind": self.record_kind, "origin": self.origin, "reader": self.reader,
            "profile": self.profile, "detected": self.detected, "detection": self.detection,
            "would_store": self.would_store, "rows_read": self.rows_read, "records": self.records,
            "repeats": self.repeats, "rows_rejected": self.rows_rejected, "rows_warned": self.rows_warned,
            "warnings": self.warnings, "rows_skipped": self.rows_skipped, "legs_merged": self.legs_merged,
            "copies_dropped": self.copies_dropped,
            "first_record_at": utc_iso(self.first_record_at), "last_record_at": utc_iso(self.last_record_at),
            "rejections": [r.to_dict() for r in self.rejections],
            "warning_reasons": [r.to_dict() for r in self.warning_reasons],
            "sample": self.sample, "months": [m.to_dict() for m in self.months],
        }


class _Reasons:
    """Counts by (field, reason with quoted values folded), at most ``MAX_REASONS`` of them."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str | None, str], list[Any]] = {}

    def add(self, position: int, field_name: str | None, reason: str) -> None:
        key = (clean_optional(field_name, 64), clean(_QUOTED.sub("'…'", reason), 512))
        entry = self._counts.get(key)
        if entry is None:
            if len(self._counts) >= MAX_REASONS:
                key = (None, OTHER_REASONS)
                entry = self._counts.get(key)
            if entry is None:
                entry = self._counts[key] = [0, position, clean(reason, 512)]
        entry[0] += 1

    def counted(self) -> list[ReasonCount]:
        items = [ReasonCount(f, r, n, pos, ex) for (f, r), (n, pos, ex) in self._counts.items()]
        return sorted(items, key=lambda item: (-item.count, item.first_position))


def record_key(record: Record) -> Hashable:
    """A record's identity within its source: what the merge of an ingest dedupes on (app.ingest.staging)."""
    if isinstance(record, CallRecord):
        return record.call_id
    return (record.region, record.queue, record.interval_start)


def mapped_row(position: int, record: Record) -> dict[str, Any]:
    """A record as its canonical fields (SPEC §3), times in UTC: nothing of the input beyond what was mapped."""
    columns = CALL_COLUMNS if isinstance(record, CallRecord) else INTERVAL_COLUMNS
    row: dict[str, Any] = {"line": position}
    for name in columns:
        value = getattr(record, name)
        if isinstance(value, datetime):
            value = utc_iso(value)
        elif isinstance(value, str):
            value = clean(str(value))  # the outcome too: its word, not the enum
        row[name] = value
    return row


class _Tally:
    """Counts per (region, local month), each record counted as the hourly aggregates count it."""

    def __init__(self, definitions: Definitions) -> None:
        self.definitions = definitions
        self.groups: dict[tuple[str, date], Counts] = {}
        self.answered_for: dict[tuple[str, date], int] = {}  # calls answered for another region, by answerer

    def add(self, record: Record) -> None:
        if isinstance(record, CallRecord):
            counts = counts_from_call(record, self.definitions)
            month = local_month_of(record.arrived_at)
            if counts.answered_by_other_regions:
                assert record.answered_by_region is not None
                key = (record.answered_by_region, month)
                self.answered_for[key] = self.answered_for.get(key, 0) + 1
        else:
            counts = counts_from_interval(record, self.definitions)
            month = local_month_of(record.interval_start)
        key = (record.region, month)
        previous = self.groups.get(key)
        self.groups[key] = counts if previous is None else previous + counts

    def months(self) -> list[MonthFigures]:
        """Answered for other regions is added to a region that has figures of its own that month, as the
        scorecard's month reads it (app.scorecard.queries)."""
        out = []
        for (region, month), counts in sorted(self.groups.items(), key=lambda item: (item[0][1], item[0][0])):
            helped = self.answered_for.get((region, month), 0)
            if helped:
                counts = counts + Counts(answered_for_other_regions=helped)
            out.append(MonthFigures(region, month, compute_kpis(counts), tuple(data_quality_notes(counts))))
        return out


def _results(raw: IO[bytes], parser: Parser, options: ParseOptions, origin: str) -> Iterator[Parsed | Rejection]:
    """The delivery read as an ingest reads it (app.ingest.loader.ingest_stream: UTF-8, a BOM skipped). Through
    a ``HashingReader``, whose closing leaves ``raw`` open: it may be read again."""
    buffered = io.BufferedReader(HashingReader(raw), 1 << 16)
    stream = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="replace", newline="")
    try:
        check_encoding(buffered.peek(4)[:4], parser)
        yield from parser(stream, options)
    except FileFormatError as exc:
        raise IngestError(f"{origin}: {exc}") from exc


def dry_run(
    known: frozenset[str],
    definitions: Definitions,
    *,
    record_kind: RecordKind,
    raw: IO[bytes],
    parser: Parser,
    origin: str,
    reader: str,
    profile: str | None = None,
    detected: bool = False,
    detection: str | None = None,
    max_field_length: int = 256,
    max_line_length: int = 65_536,
    max_rows: int | None = None,
    sample_rows: int = SAMPLE_ROWS,
    now: datetime | None = None,
) -> DryRunReport:
    """Read ``raw`` with ``parser`` as an ingest of ``record_kind`` would and report what it would give.

    ``known`` are the region codes an ingest would accept. Raises ``TooManyRows`` past ``max_rows`` rows and
    ``IngestError`` when the delivery as a whole is unreadable; never stores anything.
    """
    report = DryRunReport(record_kind, clean(origin, 512), clean(reader, 200), profile, detected, detection)
    options = ParseOptions(known, max_field_length, max_line_length, now or datetime.now(UTC))
    start = raw.tell()
    rejections, warnings = _Reasons(), _Reasons()
    tally = _Tally(definitions)
    seen: set[int] = set()
    repeated: set[int] = set()
    for result in _results(raw, parser, options, origin):
        report.rows_read += 1
        if max_rows is not None and report.rows_read > max_rows:
            raise TooManyRows(origin, max_rows)
        if isinstance(result, Rejection):
            report.rows_rejected += 1
            rejections.add(result.position, result.field, result.reason)
            continue
        record = result.record
        report.records += 1
        if result.warnings:  # optional fields the record is stored without (issue 14 §4)
            report.rows_warned += 1
            report.warnings += len(result.warnings)
            for warning in result.warnings:
                warnings.add(warning.position, warning.field, warning.reason)
        if len(report.sample) < sample_rows:
            report.sample.append(mapped_row(result.position, record))
        moment = record.arrived_at if isinstance(record, CallRecord) else record.interval_start
        if report.first_record_at is None or moment < report.first_record_at:
            report.first_record_at = moment
        if report.last_record_at is None or moment > report.last_record_at:
            report.last_record_at = moment
        digest = hash(record_key(record))
        if digest in seen:
            repeated.add(digest)
        else:
            seen.add(digest)
        tally.add(record)
    if isinstance(parser, ProfileParser):  # what it did besides records and rejections, read after the last row
        report.rows_skipped, report.legs_merged = parser.skipped, parser.chained_legs
        report.copies_dropped = parser.duplicates
    report.rejections, report.warning_reasons = rejections.counted(), warnings.counted()
    if repeated:
        seen.clear()
        raw.seek(start)
        tally, report.repeats = _recount(raw, parser, options, origin, repeated, definitions)
    report.months = tally.months()
    return report


def _recount(
    raw: IO[bytes], parser: Parser, options: ParseOptions, origin: str, repeated: set[int], definitions: Definitions,
) -> tuple[_Tally, int]:
    """The figures again, each repeated key counted once: its occurrence at the highest position, which is the
    one the merge of an ingest keeps. Returns them and how many records were left out."""
    tally = _Tally(definitions)
    latest: dict[Hashable, tuple[int, Record]] = {}
    left_out = 0
    for result in _results(raw, parser, options, origin):
        if isinstance(result, Rejection):
            continue
        key = record_key(result.record)
        if hash(key) not in repeated:
            tally.add(result.record)
            continue
        kept = latest.get(key)
        if kept is not None:
            left_out += 1
            if kept[0] > result.position:
                continue
        latest[key] = (result.position, result.record)
    for _, record in latest.values():
        tally.add(record)
    return tally, left_out


def dry_run_delivery(
    factory: sessionmaker[Session],
    settings: Any,
    *,
    record_kind: RecordKind,
    raw: IO[bytes],
    parser: Parser,
    origin: str,
    reader: str,
    profile: str | None = None,
    detected: bool = False,
    detection: str | None = None,
    max_rows: int | None = None,
    sample_rows: int = SAMPLE_ROWS,
) -> DryRunReport:
    """``dry_run`` with the region codes this database accepts and the limits and definitions of ``settings``
    (an ``app.config.Settings``). Reads the regions, and nothing else, from storage; writes nothing."""
    with factory() as session:
        known = known_regions(session)
    return dry_run(
        known, settings.definitions, record_kind=record_kind, raw=raw, parser=parser, origin=origin, reader=reader,
        profile=profile, detected=detected, detection=detection, max_field_length=settings.max_field_length,
        max_line_length=settings.max_line_length, max_rows=max_rows, sample_rows=sample_rows,
    )
