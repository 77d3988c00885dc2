"""Ingest entry points with their transaction boundary: files from disk, bytes from an upload.

Each delivery is one transaction; if it fails as a whole, or gives up waiting for the ingest lock, a failed run
is recorded in a second one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import source_months
from app.db.aggregates import create_touched_table, drop_touched_table, mark_span_touched, refresh_touched_hours
from app.db.models import AggregateDefinitions
from app.db.session import transaction
from app.ingest.builtin_formats import queue_log_parser
from app.ingest.formats import FormatRegistry, default_formats
from app.ingest.loader import IngestError, Parser, ensure_definitions, ingest_stream
from app.ingest.lock import IngestBusy, LockWait, take_ingest_lock
from app.ingest.parsers import Format
from app.ingest.runs import (
    RecordKind,
    RunReport,
    SourceKindMismatch,
    UnknownSource,
    default_actor,
    record_failed_run,
)
from app.kpi.counts import Definitions
from app.sanitize import clean

log = logging.getLogger(__name__)


def ingest_bytes(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    record_kind: RecordKind,
    raw: IO[bytes],
    origin: str,
    fmt: Format | None = None,
    source_name: str | None = None,
    source_kind: str = "file",
    on_progress: Callable[[int], None] | None = None,
    parser: Parser | None = None,
    max_rows: int | None = None,
    actor: str | None = None,
    on_lock_wait: Callable[[str], None] | None = None,
) -> RunReport:
    """Ingest one delivery in one transaction, read by ``parser`` (what the format registry, app.ingest.formats,
    chose for it) or else by the canonical parser of ``record_kind`` in encoding ``fmt`` (for callers that write
    canonical records themselves: the demo, tests). ``max_rows`` (a push's ``max_upload_rows``) refuses a longer
    delivery whole with ``TooManyRows``; like any ``IngestError`` it leaves a failed run behind, and so does
    ``IngestBusy`` (the lock stayed taken past ``VPT_INGEST_LOCK_WAIT_SECONDS``). ``actor`` names this ingest to
    whoever waits for the lock meanwhile (default: after ``source_kind``)."""
    if parser is None and fmt is None:
        raise TypeError("ingest_bytes reads with a parser or a canonical encoding (fmt)")
    source = source_name or settings.default_source
    lock = LockWait(settings.ingest_lock_wait_seconds, actor or default_actor(source_kind), on_lock_wait)
    try:
        with transaction(factory) as session:
            return ingest_stream(
                session,
                record_kind=record_kind,
                raw=raw,
                fmt=fmt or "csv",  # read only without a parser
                source_name=source,
                source_kind=source_kind,
                origin=origin,
                definitions=settings.definitions,
                batch_rows=settings.ingest_batch_rows,
                max_field_length=settings.max_field_length,
                max_line_length=settings.max_line_length,
                max_rows=max_rows,
                on_progress=on_progress,
                parser=parser,
                lock=lock,
                fast_path=settings.ingest_fast_path,
            )
    except IngestError as exc:
        with transaction(factory) as session:
            record_failed_run(
                session, record_kind=record_kind, source_name=source, source_kind=source_kind,
                origin=origin, error=str(exc), lock=LockWait(lock.seconds, lock.actor),
            )
        raise
    except IngestBusy as exc:
        try:
            with transaction(factory) as session:
                record_failed_run(
                    session, record_kind=record_kind, source_name=source, source_kind=source_kind,
                    origin=origin, error=str(exc), lock=LockWait(lock.seconds, lock.actor),
                )
        except (IngestBusy, UnknownSource, SourceKindMismatch) as unrecorded:
            # SQLite writes nothing while the holder keeps its lock; an unknown or foreign source gets no run.
            # The caller still learns why nothing was stored.
            log.warning("ingest.run.unrecorded", extra={"source": clean(source), "origin": clean(origin, 512),
                                                        "reason": clean(str(unrecorded), 300)})
        raise


def ingest_file(
    factory: sessionmaker[Session],
    settings: Settings,
    record_kind: RecordKind,
    path: Path,
    *,
    source_name: str | None = None,
    on_progress: Callable[[int], None] | None = None,
    parser: Parser | None = None,
    on_lock_wait: Callable[[str], None] | None = None,
    formats: FormatRegistry | None = None,
) -> RunReport:
    """Ingest one file of ``record_kind``. Without ``parser`` the format is chosen as ``vpt ingest
    <record_kind>`` chooses it: by the file's suffix among that command's formats."""
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    if parser is None:
        chosen = (formats or default_formats()).for_file(path, command=record_kind)
        if chosen.record_kind != record_kind:
            raise IngestError(f"{path.name}: format {chosen.name} holds {chosen.record_kind}, not {record_kind}")
        parser = chosen.make_parser(settings)
    with path.open("rb") as raw:
        return ingest_bytes(
            factory, settings, record_kind=record_kind, raw=raw, origin=path.name, source_name=source_name,
            on_progress=on_progress, parser=parser, actor="cli ingest", on_lock_wait=on_lock_wait,
        )


def recompute(
    session: Session, definitions: Definitions, start: datetime | None = None, end: datetime | None = None,
    *, lock: LockWait | None = None,
) -> int:
    """Rebuild aggregates from stored records (SPEC §5); applies changed definitions to all history. The sources'
    record counts (app.db.source_months) are counted again for every month with a rebuilt hour.

    Returns the number of hours rebuilt. A partial span with changed definitions is refused: figures
    built under two definitions must never be summed. Holds the ingest lock like an ingest: both rebuild hours
    in place, and two rebuilds of one hour at once would both insert it. Raises ``IngestBusy`` when the lock
    stays taken longer than ``lock.seconds``.
    """
    take_ingest_lock(session, lock or LockWait(actor="recompute"))
    stored = session.get(AggregateDefinitions, 1)
    if stored is None:
        ensure_definitions(session, definitions)
    elif Definitions(stored.short_abandon_seconds, stored.sl_seconds) != definitions:
        if start is not None or end is not None:
            raise IngestError("the definitions changed: recompute all history (no --from/--to)")
        session.execute(
            update(AggregateDefinitions).where(AggregateDefinitions.id == 1).values(
                short_abandon_seconds=definitions.short_abandon_seconds, sl_seconds=definitions.sl_seconds,
                updated_at=datetime.now(UTC),
            )
        )
    session.flush()
    conn = session.connection()
    create_touched_table(conn)
    mark_span_touched(conn, start, end)
    hours = refresh_touched_hours(conn, definitions)
    if start is None and end is None:
        source_months.clear(conn)  # all history: a row of a month left without records cannot stay
    source_months.recount(conn, calls=True, intervals=True)  # whole months: exact whatever the span's edges
    drop_touched_table(conn)
    log.info("aggregates.recomputed", extra={"hours": hours})
    return hours


__all__ = ["IngestBusy", "IngestError", "ingest_bytes", "ingest_file", "queue_log_parser", "recompute"]

