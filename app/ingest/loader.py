"""Storing parsed records: one ingest run = one transaction (SPEC §3, §5).

Records, rejected rows, the run's summary and the refreshed hourly aggregates of exactly the touched
hours are committed together or not at all. Re-running the same delivery changes nothing. What the run leaves on
its row and its source (and ``RunReport``, ``RecordKind``, re-exported here for their many importers) is
app.ingest.runs.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING

from sqlalchemy import delete, distinct, func, insert, select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from app.db import source_months
from app.db.aggregates import create_touched_table, drop_touched_table, refresh_touched_hours
from app.db.models import AggregateDefinitions, Region, RejectedRow
from app.db.models import RunStatus as RunStatus  # said where it is stored; ingest's readers import it from here
from app.db.run_models import IngestWarning
from app.errors import VptError
from app.ingest.lines import FileFormatError
from app.ingest.lock import INGEST_LOCK_KEY as INGEST_LOCK_KEY  # its name before app.ingest.lock existed
from app.ingest.lock import LockWait, take_ingest_lock
from app.ingest.parsers import Format, Parsed, ParseOptions, parse_calls, parse_intervals
from app.ingest.prefetch import prefetched
from app.ingest.rows import Rejection
from app.ingest.runs import RecordKind as RecordKind
from app.ingest.runs import RunReport as RunReport
from app.ingest.runs import finish_run, get_or_create_source, lock_for, start_run
from app.ingest.staging import CALLS, INTERVALS, StageWriter, merge, stage_row
from app.kpi.counts import Definitions
from app.kpi.records import CallRecord
from app.sanitize import clean

if TYPE_CHECKING:  # imported when used: pyarrow costs a process ~45 MB, which one that never reads calls CSV saves
    from app.ingest.fastcsv import FastCallReader, PlainBlock
    from app.ingest.fasthours import HourFold, HourGroups
    from app.ingest.faststage import PlainStageWriter

log = logging.getLogger(__name__)

Parser = Callable[[IO[str], ParseOptions], Iterator[Parsed | Rejection]]
REJECTION_SAMPLE = 20
#: Byte-order marks of encodings that are not UTF-8 (longest first: UTF-32 LE starts like UTF-16 LE).
_OTHER_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"),
)


class IngestError(VptError):
    """The delivery as a whole could not be ingested; nothing of it was stored."""

    code = "ingest_failed"
    status_code = 422


class TooManyRows(IngestError):
    """A delivery has more rows than ``max_upload_rows``: refused whole, so nothing of it is stored."""

    code = "too_many_rows"  # an IngestError with its own code
    status_code = 413

    def __init__(self, origin: str, limit: int) -> None:
        super().__init__(
            f"{origin}: more than {limit} rows, the limit of one delivery (VPT_MAX_UPLOAD_ROWS): nothing was stored; "
            "split the file"
        )
        self.limit = limit


class DefinitionsChanged(VptError):
    code = "definitions_changed"
    status_code = 409

    def __init__(self, stored: Definitions, wanted: Definitions) -> None:
        super().__init__(
            f"the stored aggregates were built with short_abandon_seconds={stored.short_abandon_seconds}, "
            f"sl_seconds={stored.sl_seconds}, but the settings say short_abandon_seconds="
            f"{wanted.short_abandon_seconds}, sl_seconds={wanted.sl_seconds}: run `vpt recompute` to apply them"
        )


class HashingReader(io.RawIOBase):
    """Passes bytes through while hashing them and counting progress: the run records what it read."""

    def __init__(self, raw: IO[bytes], on_progress: Callable[[int], None] | None = None) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0
        self._on_progress = on_progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]  # stub: Buffer; io passes these
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        self.bytes_read += n
        if self._on_progress is not None:
            self._on_progress(n)
        return n


def known_regions(session: Session) -> frozenset[str]:
    return frozenset(session.scalars(select(Region.code)))


def ensure_definitions(session: Session, wanted: Definitions) -> None:
    stored = session.get(AggregateDefinitions, 1)
    if stored is None:
        session.add(
            AggregateDefinitions(
                id=1, short_abandon_seconds=wanted.short_abandon_seconds, sl_seconds=wanted.sl_seconds
            )
        )
        session.flush()
        return
    current = Definitions(stored.short_abandon_seconds, stored.sl_seconds)
    if current != wanted:
        raise DefinitionsChanged(current, wanted)


def _lock(session: Session, wait: LockWait | None = None) -> None:
    """Serialise ingests before anything is read: two first deliveries at once must not both create the
    source or the definitions row, and two refreshes of one hour must not both insert it (app.ingest.lock).
    Raises ``IngestBusy`` when another holds it longer than ``wait.seconds``."""
    take_ingest_lock(session, wait)


def ingest_stream(
    session: Session,
    *,
    record_kind: RecordKind,
    raw: IO[bytes],
    fmt: Format,
    source_name: str,
    source_kind: str,
    origin: str,
    definitions: Definitions,
    batch_rows: int = 50_000,
    max_field_length: int = 256,
    max_line_length: int = 65_536,
    max_rows: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    parser: Parser | None = None,
    lock: LockWait | None = None,
    fast_path: bool = True,
) -> RunReport:
    """Parse and store one delivery inside the caller's transaction (the caller commits).

    ``parser`` replaces the canonical parser of ``record_kind`` (e.g. Asterisk queue_log for calls).
    Raises ``IngestError`` when the file as a whole is unreadable, has more than ``max_rows`` rows or holds a
    value the database cannot take; row problems are rejections. Raises ``IngestBusy`` when the ingest lock
    stays taken longer than ``lock.seconds`` (default ``LockWait``, its actor named after ``source_kind``).
    ``fast_path`` (VPT_INGEST_FAST_PATH) reads canonical call CSV by app.ingest.fastcsv: the same records,
    rejections and warnings as the reference parser, which reads every row that is not provably plain.
    """
    started = time.perf_counter()
    _lock(session, lock_for(lock, source_kind, source_name))
    ensure_definitions(session, definitions)
    source = get_or_create_source(session, source_name, source_kind)
    run, report = start_run(session, source, record_kind, origin)

    conn = session.connection()
    kind = CALLS if record_kind == "calls" else INTERVALS
    writer = StageWriter(conn, kind)
    create_touched_table(conn)
    hashing = HashingReader(raw, on_progress)
    buffered = io.BufferedReader(hashing, 1 << 16)
    stream = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="replace", newline="")
    options = ParseOptions(known_regions(session), max_field_length, max_line_length)
    fast: FastCallReader | None = None
    plain_writer: PlainStageWriter | None = None
    fold: HourFold | None = None
    results: Iterator[Parsed | Rejection | PlainBlock] = iter(())
    try:
        check_encoding(buffered.peek(4)[:4], parser)
        if fast_path and record_kind == "calls" and is_calls_csv(parser, fmt):
            from app.ingest.arrow_memory import use_lean_pool
            from app.ingest.fastcsv import FastCallReader, PlainBlock
            from app.ingest.fasthours import HourFold
            from app.ingest.faststage import PlainStageWriter

            use_lean_pool()

            fast = FastCallReader(buffered, replace(options, now=options.now or datetime.now(UTC)))
            plain_writer = PlainStageWriter(conn)
            fold = HourFold(conn, definitions, plain_writer.stream)  # what plain rows bring to their hours
            # read ahead in a thread: pyarrow's parsing overlaps the database's writing (app.ingest.prefetch)
            # the groups of each block's hours too (app.ingest.fasthours.HourGroups: no database)
            results = prefetched(_grouped_ahead(iter(fast), fold.groups), is_large=PlainBlock)
        elif parser is not None:
            results = parser(stream, options)
        elif record_kind == "calls":
            results = parse_calls(stream, fmt, options)
        else:
            results = parse_intervals(stream, fmt, options)
        batch: list[tuple[object, ...]] = []
        rejected: list[dict[str, object]] = []
        warned: list[dict[str, object]] = []
        # PostgreSQL: the plain rows' COPY stays open between blocks; it is closed before any other statement (while
        # it is open, psycopg holds the connection's lock: a statement would wait for ever)
        pause = plain_writer.close if plain_writer is not None else _nothing
        for result in results:
            if not isinstance(result, Parsed | Rejection):  # a PlainBlock: rows stored as they are, no warning
                report.rows_read += result.table.num_rows
                if max_rows is not None and report.rows_read > max_rows:
                    raise TooManyRows(origin, max_rows)
                _widen(report, result.first, result.last)
                # plain blocks come only from the fast path, grouped by its reader thread (_grouped_ahead)
                assert plain_writer is not None and fold is not None and result.groups is not None
                plain_writer.write(result.table)
                fold.write(result.groups)
                continue
            report.rows_read += 1
            if max_rows is not None and report.rows_read > max_rows:
                raise TooManyRows(origin, max_rows)
            if isinstance(result, Rejection):
                report.rows_rejected += 1
                if len(report.rejections) < REJECTION_SAMPLE:
                    report.rejections.append(result)
                rejected.append(_rejected_row(run.id, result))
                if len(rejected) >= 1000:
                    pause()
                    session.execute(insert(RejectedRow), rejected)
                    rejected.clear()
                continue
            if result.warnings:
                report.rows_warned += 1
                report.warnings += len(result.warnings)
                report.warning_sample.extend(result.warnings[: REJECTION_SAMPLE - len(report.warning_sample)])
                warned.extend({"run_id": run.id, **asdict(w)} for w in result.warnings)  # made safe when made
                if len(warned) >= 1000:
                    pause()
                    session.execute(insert(IngestWarning), warned)
                    warned.clear()
            record = result.record
            moment = record.arrived_at if isinstance(record, CallRecord) else record.interval_start
            _widen(report, moment, moment)
            batch.append(stage_row(result.position, record))
            if len(batch) >= batch_rows:
                pause()
                writer.write(batch)
                batch.clear()
        pause()
        writer.write(batch)
        if rejected:
            session.execute(insert(RejectedRow), rejected)
        if warned:
            session.execute(insert(IngestWarning), warned)
        merged = merge(conn, kind, source.id, run.id, fold)
        report.rows_stored, report.rows_updated, report.rows_unchanged = merged.stored, merged.updated, merged.unchanged
        report.rows_rejected += merged.rejected  # overlaps refused by the merge (kept by it as rejected rows)
        report.rejections.extend(merged.rejections[:max(0, REJECTION_SAMPLE - len(report.rejections))])
        if merged.rejected and report.warnings:
            _forget_refused(session, run.id, report)
        report.hours_refreshed = refresh_touched_hours(conn, definitions, calls_delivery=kind is CALLS)
        if kind is INTERVALS:  # a preferred source's records may have superseded other sources' in these months
            source_months.recount(conn, calls=False, intervals=True)
        elif merged.stored or merged.updated:  # else the merge grouped no change (it may have made no hour_changes)
            source_months.add_call_changes(conn, source.id)
    except FileFormatError as exc:
        _abort_copy(plain_writer, exc)
        raise IngestError(f"{origin}: {exc}") from exc
    except (DataError, conn.dialect.loaded_dbapi.DataError) as exc:
        _abort_copy(plain_writer, exc)
        # A value the parsers let through that the database cannot hold (a sum past a column's range): the
        # delivery fails whole, with the database's reason, rather than as a server error.
        orig = getattr(exc, "orig", None) or exc
        reason = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        raise IngestError(f"{origin}: a value does not fit the database: {clean(reason, 300)}") from exc
    except BaseException as exc:  # the caller rolls back, which an open COPY would block
        _abort_copy(plain_writer, exc)
        raise
    finally:
        _close(results)  # a reader thread still reading ahead stops
    if plain_writer is not None:
        plain_writer.detach()
    writer.drop()
    if fold is not None:
        fold.drop()
    drop_touched_table(conn)
    if fast is not None:
        log.info("ingest.fast_path", extra={"plain_rows": fast.stats.plain_rows,
                                            "reference_rows": fast.stats.reference_rows,
                                            "fallback": fast.stats.fallback, "fallback_line": fast.stats.fallback_line})

    finish_run(session, source, run, report, started=started, content_sha256=hashing.sha256.hexdigest())
    report.seconds = time.perf_counter() - started
    log.info(
        "ingest.run.finished",
        extra={"run_id": run.id, "source": source_name, "origin": run.origin, "status": report.status,
               "read": report.rows_read,
               "stored": report.rows_stored, "updated": report.rows_updated, "rejected": report.rows_rejected,
               "warnings": report.warnings},
    )
    return report


def _nothing() -> None:
    pass


def _grouped_ahead(items: Iterator[Parsed | Rejection | PlainBlock],
                   groups: HourGroups) -> Iterator[Parsed | Rejection | PlainBlock]:
    """``items`` with each plain block's groups computed (``PlainBlock.groups``), in the reader thread."""
    from app.ingest.fastcsv import PlainBlock

    for item in items:
        if isinstance(item, PlainBlock) and item.groups is None:
            item.groups = groups.add(item.table)
        yield item


def _close(results: Iterator[object]) -> None:
    close = getattr(results, "close", None)
    if close is not None:
        close()


def _abort_copy(writer: PlainStageWriter | None, exc: BaseException) -> None:
    if writer is not None:
        writer.abort(exc)
        writer.detach()


def is_calls_csv(parser: object, fmt: str) -> bool:
    """Whether ``parser`` reads the canonical call CSV (``None`` with ``fmt`` csv, or calls-csv's own parser,
    which app.ingest.builtin_formats marks so): the one format the fast path reads."""
    if parser is None:
        return fmt == "csv"
    return getattr(parser, "canonical", None) == (parse_calls, "csv")


def _widen(report: RunReport, first: datetime, last: datetime) -> None:
    if report.first_record_at is None or first < report.first_record_at:
        report.first_record_at = first
    if report.last_record_at is None or last > report.last_record_at:
        report.last_record_at = last


def _forget_refused(session: Session, run_id: int, report: RunReport) -> None:
    """A warning is of a stored record: a row the merge refused (an overlap, app.ingest.conflicts) is a rejected row
    instead, so its warnings go and the counts are taken again."""
    refused = select(RejectedRow.position).where(RejectedRow.run_id == run_id)
    session.execute(delete(IngestWarning).where(IngestWarning.run_id == run_id, IngestWarning.position.in_(refused))
                    .execution_options(synchronize_session=False))
    report.rows_warned, report.warnings = session.execute(
        select(func.count(distinct(IngestWarning.position)), func.count()).where(IngestWarning.run_id == run_id)
    ).one()
    gone = set(session.scalars(refused.where(RejectedRow.position.in_({w.position for w in report.warning_sample}))))
    report.warning_sample = [w for w in report.warning_sample if w.position not in gone]


def check_encoding(head: bytes, parser: object = None) -> None:
    """Refuse a file that starts with the byte-order mark of another encoding than UTF-8, unless its ``parser``
    reads that encoding itself (an import profile with ``encoding = "utf-16"`` says so by its ``encoding``)."""
    own = str(getattr(parser, "encoding", "utf-8")).replace("-", "").lower()
    for bom, name in _OTHER_BOMS:
        if head.startswith(bom) and own != name.replace("-", "").lower():
            raise FileFormatError(f"the file is {name}-encoded (it starts with a {name} byte-order mark): "
                                  "save it as UTF-8")


def _rejected_row(run_id: int, rejection: Rejection) -> dict[str, object]:
    """The row as stored: a ``Rejection``'s texts are sanitised and cut to these columns when it is made."""
    return {
        "run_id": run_id, "position": rejection.position, "record_key": rejection.record_key,
        "field": rejection.field, "reason": rejection.reason, "raw": rejection.raw,
    }
