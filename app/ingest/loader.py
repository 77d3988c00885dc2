"""Storing parsed records: one ingest run = one transaction (SPEC §3, §5).

Records, rejected rows, the run's summary and the refreshed hourly aggregates of exactly the touched
hours are committed together or not at all. Re-running the same delivery changes nothing.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Literal

from sqlalchemy import insert, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from app.db.aggregates import create_touched_table, drop_touched_table, refresh_touched_hours
from app.db.models import AggregateDefinitions, IngestRun, Region, RejectedRow, Source
from app.db.models import RunStatus as RunStatus  # said where it is stored; ingest's readers import it from here
from app.errors import VptError
from app.ingest.lock import INGEST_LOCK_KEY as INGEST_LOCK_KEY  # its name before app.ingest.lock existed
from app.ingest.lock import LockWait, take_ingest_lock
from app.ingest.parsers import Format, Parsed, ParseOptions, parse_calls, parse_intervals
from app.ingest.rows import FileFormatError, Rejection
from app.ingest.staging import CALLS, INTERVALS, StageWriter, merge, stage_row
from app.kpi.counts import Definitions
from app.kpi.records import CallRecord
from app.sanitize import clean

log = logging.getLogger(__name__)

RecordKind = Literal["calls", "intervals"]
Parser = Callable[[IO[str], ParseOptions], Iterator[Parsed | Rejection]]
REJECTION_SAMPLE = 20
#: Who takes the ingest lock, by source kind, when the caller does not say (shown to whoever waits for it).
_ACTORS = {"push": "api push", "http": "worker pull", "file": "file ingest"}
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


@dataclass
class RunReport:
    run_id: int
    source: str
    origin: str
    record_kind: RecordKind
    rows_read: int = 0
    rows_stored: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_rejected: int = 0
    hours_refreshed: int = 0
    first_record_at: datetime | None = None
    last_record_at: datetime | None = None
    seconds: float = 0.0
    rejections: list[Rejection] = field(default_factory=list)  # the first few, for the summary
    status: RunStatus = "running"

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_stored + self.rows_updated + self.rows_unchanged + self.rows_rejected

    @property
    def verdict(self) -> RunStatus:
        """The one verdict every reader uses (API, drop directory, CLI, metrics): a delivery that stored nothing
        did not succeed, whatever its rows were. An empty delivery (no rows) succeeded."""
        if self.rows_read and not (self.rows_stored + self.rows_updated + self.rows_unchanged):
            return "rejected"
        return "succeeded"


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


class SourceKindMismatch(VptError):
    """Records are identified within their source, so a push into a pull source's name would overwrite that
    feed's calls and move its position: a source takes deliveries of one kind only."""

    code = "source_kind_mismatch"
    status_code = 409

    def __init__(self, name: str, kind: str, wanted: str) -> None:
        super().__init__(f"source {name!r} is a {kind} source, not {wanted}: deliver under another source name")


#: The one push source a push may create on first use: where a push without ``source`` goes.
DEFAULT_PUSH_SOURCE = "push"


class UnknownSource(VptError):
    """A push to a name no admin made. Pushes create no sources (but the default one): an ingest key that could
    would squat names a drop folder, a file ingest or a future pull source needs."""

    code = "not_found"
    status_code = 404

    def __init__(self, name: str) -> None:
        super().__init__(f"no source {name!r}: an admin makes push sources (`vpt sources add {name} --kind push` "
                         "or POST /api/v1/sources)")


def get_or_create_source(session: Session, name: str, kind: str) -> Source:
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        if kind == "push" and name != DEFAULT_PUSH_SOURCE:
            raise UnknownSource(name)
        source = Source(name=name, kind=kind)
        session.add(source)
        session.flush()
    elif source.kind != kind:
        raise SourceKindMismatch(name, source.kind, kind)
    return source


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
) -> RunReport:
    """Parse and store one delivery inside the caller's transaction (the caller commits).

    ``parser`` replaces the canonical parser of ``record_kind`` (e.g. Asterisk queue_log for calls).
    Raises ``IngestError`` when the file as a whole is unreadable, has more than ``max_rows`` rows or holds a
    value the database cannot take; row problems are rejections. Raises ``IngestBusy`` when the ingest lock
    stays taken longer than ``lock.seconds`` (default ``LockWait``, its actor named after ``source_kind``).
    """
    started = time.perf_counter()
    _lock(session, lock_for(lock, source_kind, source_name))
    ensure_definitions(session, definitions)
    source = get_or_create_source(session, source_name, source_kind)
    run = IngestRun(source_id=source.id, record_kind=record_kind, origin=clean(origin, 512), status="running")
    session.add(run)
    session.flush()
    report = RunReport(run.id, source_name, run.origin, record_kind)  # sanitised: it is shown back

    conn = session.connection()
    kind = CALLS if record_kind == "calls" else INTERVALS
    writer = StageWriter(conn, kind)
    create_touched_table(conn)
    hashing = HashingReader(raw, on_progress)
    buffered = io.BufferedReader(hashing, 1 << 16)
    stream = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="replace", newline="")
    options = ParseOptions(known_regions(session), max_field_length, max_line_length)
    try:
        _check_encoding(buffered.peek(4)[:4])
        if parser is not None:
            results: Iterator[Parsed | Rejection] = parser(stream, options)
        elif record_kind == "calls":
            results = parse_calls(stream, fmt, options)
        else:
            results = parse_intervals(stream, fmt, options)
        batch: list[tuple[object, ...]] = []
        rejected: list[dict[str, object]] = []
        for result in results:
            report.rows_read += 1
            if max_rows is not None and report.rows_read > max_rows:
                raise TooManyRows(origin, max_rows)
            if isinstance(result, Rejection):
                report.rows_rejected += 1
                if len(report.rejections) < REJECTION_SAMPLE:
                    report.rejections.append(result)
                rejected.append(_rejected_row(run.id, result))
                if len(rejected) >= 1000:
                    session.execute(insert(RejectedRow), rejected)
                    rejected.clear()
                continue
            record = result.record
            moment = record.arrived_at if isinstance(record, CallRecord) else record.interval_start
            if report.first_record_at is None or moment < report.first_record_at:
                report.first_record_at = moment
            if report.last_record_at is None or moment > report.last_record_at:
                report.last_record_at = moment
            batch.append(stage_row(result.position, record))
            if len(batch) >= batch_rows:
                writer.write(batch)
                batch.clear()
        writer.write(batch)
        if rejected:
            session.execute(insert(RejectedRow), rejected)
        merged = merge(conn, kind, source.id, run.id)
        report.rows_stored, report.rows_updated, report.rows_unchanged = merged.stored, merged.updated, merged.unchanged
        report.hours_refreshed = refresh_touched_hours(conn, definitions)
    except FileFormatError as exc:
        raise IngestError(f"{origin}: {exc}") from exc
    except (DataError, conn.dialect.loaded_dbapi.DataError) as exc:
        # A value the parsers let through that the database cannot hold (a sum past a column's range): the
        # delivery fails whole, with the database's reason, rather than as a server error.
        orig = getattr(exc, "orig", None) or exc
        reason = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        raise IngestError(f"{origin}: a value does not fit the database: {clean(reason, 300)}") from exc
    writer.drop()
    drop_touched_table(conn)

    run.status = report.status = report.verdict
    run.finished_at = datetime.now(UTC)
    if report.status == "succeeded":
        source.last_success_at = run.finished_at
        source.consecutive_failures = 0
        # Written even when it read 0: a failed run may have been recorded meanwhile without the lock.
        flag_modified(source, "consecutive_failures")
        source.runs_succeeded_total += 1
    else:  # stored nothing: no success of the source, but no failure of the service either
        source.runs_rejected_total += 1
    if report.rows_stored or report.rows_updated:
        source.last_data_at = run.finished_at
    source.rows_read_total += report.rows_read
    source.rows_stored_total += report.rows_stored
    source.rows_updated_total += report.rows_updated
    source.rows_unchanged_total += report.rows_unchanged
    source.rows_rejected_total += report.rows_rejected
    source.last_run_seconds = time.perf_counter() - started
    if source.kind != "http" and report.last_record_at is not None and (  # a pull sets its own position
        source.delivered_until is None or report.last_record_at > source.delivered_until
    ):
        source.delivered_until = report.last_record_at
    run.content_sha256 = hashing.sha256.hexdigest()
    for name in ("rows_read", "rows_stored", "rows_updated", "rows_unchanged", "rows_rejected", "hours_refreshed",
                 "first_record_at", "last_record_at"):
        setattr(run, name, getattr(report, name))
    session.flush()
    report.seconds = time.perf_counter() - started
    log.info(
        "ingest.run.finished",
        extra={"run_id": run.id, "source": source_name, "origin": run.origin, "status": report.status,
               "read": report.rows_read,
               "stored": report.rows_stored, "updated": report.rows_updated, "rejected": report.rows_rejected},
    )
    return report


def _check_encoding(head: bytes) -> None:
    for bom, name in _OTHER_BOMS:
        if head.startswith(bom):
            raise FileFormatError(f"the file is {name}-encoded (it starts with a {name} byte-order mark): "
                                  "save it as UTF-8")


def _rejected_row(run_id: int, rejection: Rejection) -> dict[str, object]:
    """The row as stored: a ``Rejection``'s texts are sanitised and cut to these columns when it is made."""
    return {
        "run_id": run_id, "position": rejection.position, "record_key": rejection.record_key,
        "field": rejection.field, "reason": rejection.reason, "raw": rejection.raw,
    }


def default_actor(source_kind: str) -> str:
    return _ACTORS.get(source_kind, f"{source_kind} ingest")


def lock_for(lock: LockWait | None, source_kind: str, source_name: str) -> LockWait:
    """The caller's ``LockWait`` (default: named after the source kind), its actor naming the source too."""
    lock = lock or LockWait(actor=default_actor(source_kind))
    return LockWait(lock.seconds, f"{lock.actor} source={source_name}", lock.on_wait)


def record_failed_run(
    session: Session, *, record_kind: RecordKind, source_name: str, source_kind: str, origin: str, error: str,
    lock: LockWait | None = None,
) -> int:
    """A delivery that could not be ingested still leaves a trace (in its own transaction).

    PostgreSQL records it without the ingest lock, so a delivery that gave up waiting for the lock is recorded
    while the lock is still held; a first delivery of the same name racing to create the source is met by a
    savepoint. SQLite writes nothing without its write lock: there it is waited for like any ingest.
    """
    if session.get_bind().dialect.name == "postgresql":
        try:
            with session.begin_nested():
                source = get_or_create_source(session, source_name, source_kind)
        except IntegrityError:  # created meanwhile by a delivery that held the lock
            source = get_or_create_source(session, source_name, source_kind)
    else:
        _lock(session, lock_for(lock, source_kind, source_name))
        source = get_or_create_source(session, source_name, source_kind)
    run = IngestRun(
        source_id=source.id, record_kind=record_kind, origin=clean(origin, 512), status="failed",
        finished_at=datetime.now(UTC), error=clean(error, 4000),
    )
    session.add(run)
    # Increments in SQL: without the lock an ingest of this source may update its row at the same time.
    session.execute(
        update(Source).where(Source.id == source.id).values(
            last_error_at=run.finished_at, last_error=run.error,
            consecutive_failures=Source.consecutive_failures + 1, runs_failed_total=Source.runs_failed_total + 1,
        ).execution_options(synchronize_session=False)
    )
    session.flush()
    return run.id
