"""Ingest entry points with their transaction boundary: files from disk, bytes from an upload.

Each delivery is one transaction; if it fails as a whole, or gives up waiting for the ingest lock, a failed run
is recorded in a second one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.aggregates import create_touched_table, drop_touched_table, mark_span_touched, refresh_touched_hours
from app.db.models import AggregateDefinitions
from app.db.session import transaction
from app.ingest.loader import (
    IngestError,
    Parser,
    RecordKind,
    RunReport,
    SourceKindMismatch,
    UnknownSource,
    default_actor,
    ensure_definitions,
    format_for,
    ingest_stream,
    record_failed_run,
)
from app.ingest.lock import IngestBusy, LockWait, take_ingest_lock
from app.ingest.parsers import Format, Parsed, ParseOptions
from app.ingest.queue_log import QueueLogOptions, parse_queue_log
from app.ingest.queue_map import QueueMapError, read_queue_map
from app.ingest.rows import Rejection
from app.kpi.counts import Definitions
from app.sanitize import clean

log = logging.getLogger(__name__)


def ingest_bytes(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    record_kind: RecordKind,
    raw: IO[bytes],
    fmt: Format,
    origin: str,
    source_name: str | None = None,
    source_kind: str = "file",
    on_progress: Callable[[int], None] | None = None,
    parser: Parser | None = None,
    max_rows: int | None = None,
    actor: str | None = None,
    on_lock_wait: Callable[[str], None] | None = None,
) -> RunReport:
    """Ingest one delivery in one transaction. ``max_rows`` (a push's ``max_upload_rows``) refuses a longer
    delivery whole with ``TooManyRows``; like any ``IngestError`` it leaves a failed run behind, and so does
    ``IngestBusy`` (the lock stayed taken past ``VPT_INGEST_LOCK_WAIT_SECONDS``). ``actor`` names this ingest to
    whoever waits for the lock meanwhile (default: after ``source_kind``)."""
    source = source_name or settings.default_source
    lock = LockWait(settings.ingest_lock_wait_seconds, actor or default_actor(source_kind), on_lock_wait)
    try:
        with transaction(factory) as session:
            return ingest_stream(
                session,
                record_kind=record_kind,
                raw=raw,
                fmt=fmt,
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
) -> RunReport:
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    with path.open("rb") as raw:
        return ingest_bytes(
            factory, settings, record_kind=record_kind, raw=raw, fmt=format_for(path), origin=path.name,
            source_name=source_name, on_progress=on_progress, parser=parser, actor="cli ingest",
            on_lock_wait=on_lock_wait,
        )


def queue_log_parser(map_path: Path) -> Parser:
    """Asterisk queue_log with queue names mapped to regions by a ``queue,region`` CSV (SPEC §3)."""
    try:
        with map_path.open(encoding="utf-8-sig", newline="") as stream:
            queue_map = read_queue_map(stream)
    except (OSError, QueueMapError) as exc:
        raise IngestError(f"queue map {map_path}: {exc}") from exc

    def parse(stream: IO[str], options: ParseOptions) -> Iterator[Parsed | Rejection]:
        return parse_queue_log(stream, QueueLogOptions(
            queue_map, options.known_regions, options.max_field_length, options.max_line_length))

    return parse


def recompute(
    session: Session, definitions: Definitions, start: datetime | None = None, end: datetime | None = None,
    *, lock: LockWait | None = None,
) -> int:
    """Rebuild aggregates from stored records (SPEC §5); applies changed definitions to all history.

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
    drop_touched_table(conn)
    log.info("aggregates.recomputed", extra={"hours": hours})
    return hours


__all__ = ["IngestBusy", "IngestError", "ingest_bytes", "ingest_file", "recompute"]

