"""What an ingest run leaves on its ``ingest_runs`` row and its source: the run opened and closed, its report, the
source's running totals and position, and the trace of a delivery that failed whole (SPEC §3).

Apart from app.ingest.loader, which parses and stores a delivery: this is the bookkeeping around it, shared with
the runs that never reach the loader (``record_failed_run``) and with the readers of a run's outcome (the API, the
CLI, the drop directory), which import ``RunReport`` and the source errors without the storing machinery.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from app.db.models import IngestRun, RunStatus, Source
from app.errors import VptError
from app.ingest.lock import LockWait, take_ingest_lock
from app.ingest.rows import FieldWarning, Rejection
from app.kpi.records import SOURCE_NAME_PATTERN, SOURCE_NAME_RULE
from app.sanitize import clean

RecordKind = Literal["calls", "intervals"]
#: Who takes the ingest lock, by source kind, when the caller does not say (shown to whoever waits for it).
_ACTORS = {"push": "api push", "http": "worker pull", "file": "file ingest"}


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
    #: records stored without a bad optional field (each among stored, updated or unchanged), and those fields
    rows_warned: int = 0
    warnings: int = 0
    warning_sample: list[FieldWarning] = field(default_factory=list)  # the first few, for the summary
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


def start_run(session: Session, source: Source, record_kind: RecordKind, origin: str) -> tuple[IngestRun, RunReport]:
    """The run's row, ``running`` until ``finish_run``, and its report (the origin sanitised: it is shown back)."""
    run = IngestRun(source_id=source.id, record_kind=record_kind, origin=clean(origin, 512), status="running")
    session.add(run)
    session.flush()
    return run, RunReport(run.id, source.name, run.origin, record_kind)


def finish_run(
    session: Session, source: Source, run: IngestRun, report: RunReport, *, started: float, content_sha256: str,
) -> None:
    """The run's verdict and counts onto its row, and the source's running totals and position (``started``: the
    ``time.perf_counter()`` at which the run began)."""
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
    source.warnings_total += report.warnings
    source.last_run_seconds = time.perf_counter() - started
    # How far the source has delivered is what it has stored: a delivery whose every row was refused (an overlap
    # with another source, say) moves nothing. A pull sets its own position.
    kept = report.rows_stored + report.rows_updated + report.rows_unchanged
    if source.kind != "http" and kept and report.last_record_at is not None and (
        source.delivered_until is None or report.last_record_at > source.delivered_until
    ):
        source.delivered_until = report.last_record_at
    run.content_sha256 = content_sha256
    for name in ("rows_read", "rows_stored", "rows_updated", "rows_unchanged", "rows_rejected", "rows_warned",
                 "warnings", "hours_refreshed", "first_record_at", "last_record_at"):
        setattr(run, name, getattr(report, name))
    session.flush()


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


class InvalidSourceName(VptError, ValueError):
    """A new source's name outside ``SOURCE_NAME_PATTERN``. Every way of naming one is held to it (the API, a pull
    source's config, ``VPT_DEFAULT_SOURCE``, an admin's ``vpt sources add``); ``get_or_create_source`` is the last
    guard, for a file ingest's ``--source``: a name is stored once and shown in URLs, logs, exports and terminals. A
    source already stored keeps its name."""

    code = "invalid_source_name"
    status_code = 422

    def __init__(self, name: str) -> None:
        super().__init__(f"source name {clean(name, 140)!r} is not allowed: a source name is {SOURCE_NAME_RULE}")


_SOURCE_NAME = re.compile(SOURCE_NAME_PATTERN)


def check_source_name(name: str) -> None:
    """Raise ``InvalidSourceName`` unless the whole of ``name`` keeps the rule (not ``match``: its ``$`` also matches
    before a final newline)."""
    if not _SOURCE_NAME.fullmatch(name):
        raise InvalidSourceName(name)


def get_or_create_source(session: Session, name: str, kind: str) -> Source:
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        check_source_name(name)
        if kind == "push" and name != DEFAULT_PUSH_SOURCE:
            raise UnknownSource(name)
        source = Source(name=name, kind=kind)
        session.add(source)
        session.flush()
    elif source.kind != kind:
        raise SourceKindMismatch(name, source.kind, kind)
    return source


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
        take_ingest_lock(session, lock_for(lock, source_kind, source_name))  # as an ingest takes it
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
