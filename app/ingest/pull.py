"""Pulling a platform's paged HTTP feed (SPEC §3): fetch pages, store them, then advance the cursor.

The position in the feed (``delivered_until``, the newest change stored) is written in the transaction
that stores the records, so a crash between fetching and committing re-reads, never skips. Each pull starts
``overlap_seconds`` before that position: platforms publish some changes late with their true timestamp,
and re-reading costs nothing because ingest is idempotent. Fetching and following the pages over HTTP is
app.ingest.feed; this module stores them and moves the position.

A source removed while it is pulled stays removed: every write-back after the start (a batch with its position, a
failure) is to the source row the pull started with, checked under the ingest lock that a removal takes too (or,
for a batch with nothing to store, with that row locked), so a late batch stores nothing and never makes the
source again (``SourceRemoved``).

A source with an import profile (docs/profiles.md) reads each item of a page's ``records`` as one record of that
JSON profile (app.ingest.profile_choice.page_for_profile). The paging and the position (each record's
``updated_at``) stay this feed's: a profile maps what a record holds, not the feed. ``region_map`` and leaving out
calls still ``queued`` are the canonical feed's: the profile maps regions, and its filters leave out what waits.
"""

from __future__ import annotations

import io
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import JobLease, Source
from app.db.session import rows_matched, transaction
from app.ingest.feed import FeedPage, iter_pages, updated_at
from app.ingest.feed import PullError as PullError  # what pull_source raises: its callers import it from here
from app.ingest.loader import RecordKind, ingest_stream
from app.ingest.lock import LockWait, take_ingest_lock
from app.ingest.profile_choice import page_for_profile, pull_source_profile
from app.ingest.profiles import Profile, ProfileError, profile_parser
from app.ingest.sources import PullSourceConfig

log = logging.getLogger(__name__)


@dataclass
class PullReport:
    source: str
    pages: int = 0
    records: int = 0
    pending: int = 0  # calls still queued at the platform: not counted until their outcome arrives
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warnings: int = 0  # optional fields left out of stored records
    runs: list[int] = field(default_factory=list)
    delivered_until: datetime | None = None
    stopped_early: bool = False



def _as_jsonl(records: list[dict[str, Any]], config: PullSourceConfig) -> tuple[bytes, int]:
    """Canonical JSON Lines for the parser; calls still queued are left out (their outcome comes later)."""
    lines: list[str] = []
    pending = 0
    for record in records:
        if config.kind == "calls" and record.get("state") == "queued" and not record.get("outcome"):
            pending += 1
            continue
        if config.region_map:
            record = dict(record)
            for key in ("region", "answered_by_region"):
                value = record.get(key)
                if isinstance(value, str) and value in config.region_map:
                    record[key] = config.region_map[value]
        lines.append(json.dumps(record, ensure_ascii=False, default=str))
    # A lone surrogate (a feed's "\ud800" escape) cannot be UTF-8: written back as that escape, the parser
    # rejects the row naming its field instead of the whole batch failing here.
    return ("\n".join(lines) + "\n").encode("utf-8", "backslashreplace") if lines else b"", pending


def pull_profile(settings: Settings, config: PullSourceConfig) -> Profile | None:
    """The profile a source's pages are read through, or None; ``PullError`` when it cannot be used (unknown,
    broken, of the other record kind, or of a container a page is not: app.ingest.profile_choice)."""
    if config.profile is None:
        return None
    kind: RecordKind = "calls" if config.kind == "calls" else "intervals"
    try:
        return pull_source_profile(settings, config.profile, kind)
    except ProfileError as exc:
        raise PullError(f"{config.name}: {exc}") from None



@dataclass(frozen=True)
class Lease:
    """The job lease a pull runs under; every commit re-checks (and extends) it in the same transaction."""

    name: str
    holder: str
    seconds: int


def source_lease(name: str, holder: str, seconds: int) -> Lease:
    """The one lease under which a source is pulled, by a worker or by hand."""
    return Lease(f"pull:{name}", holder, seconds)


class PullStopped(PullError):
    """The worker was asked to stop while waiting to retry: not a fault of the source."""


class SourceRemoved(PullError):
    """The source was removed (``vpt sources remove``, DELETE /api/v1/sources/{name}) before or while it was pulled:
    what was fetched after the removal is not stored, and nothing is written back to a source that is gone."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name}: the source was removed while it was pulled; nothing more of it is stored")


CLOCK_SKEW = timedelta(minutes=5)  # how far a record's updated_at may run ahead of our clock


def pull_source(
    factory: sessionmaker[Session],
    settings: Settings,
    config: PullSourceConfig,
    client: httpx.Client,
    *,
    stop: threading.Event | None = None,
    lease: Lease | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    create: bool = True,
) -> PullReport:
    """Read the feed from just before the stored position to its end, committing every ``batch_records``.

    ``stop`` is checked after each committed batch and while waiting to retry: a worker asked to stop
    finishes the batch it holds. With a ``lease``, a batch commits only while the lease is still ours, so a
    pull that lost its lease (it stalled past expiry and another worker took over) cannot overwrite newer
    data or move the position back. A failure is recorded on the source and raised; batches committed
    before it stay committed.

    ``create``: whether a source missing at the start is made (a pull of a configuration not stored yet). The
    worker passes False: its configurations are read from the source rows, so a missing row is a removed source
    (``SourceRemoved``). Once started, a pull never makes its source again, whatever ``create`` says.
    """
    report = PullReport(config.name)
    try:
        profile = pull_profile(settings, config)
    except PullError as exc:
        _record_failure(factory, config, exc, create=create)
        raise
    with transaction(factory) as session:
        source = _source(session, config, create=create)
        source_id = source.id
        position = source.delivered_until
        source.last_attempt_at = datetime.now(UTC)
    if position is not None:
        since: str | None = (position - timedelta(seconds=config.overlap_seconds)).isoformat()
    else:
        since = config.start.astimezone(UTC).isoformat() if config.start else None

    def pause(seconds: float) -> None:
        if stop is None:
            sleep(seconds)
        elif stop.wait(seconds):
            raise PullStopped(f"{config.name}: stopped while waiting to retry")

    buffer: list[dict[str, Any]] = []
    newest = position
    try:
        for page in iter_pages(client, config, since, max_bytes=settings.max_pull_page_bytes, sleep=pause,
                               rng=rng):
            report.pages += 1
            report.records += len(page.records)
            buffer.extend(page.records)
            # A record stamped in the future (a platform's broken clock, a bad row) must not move the position
            # past what the platform has actually published: later pulls would start beyond real changes.
            horizon = min(page.server_time or datetime.now(UTC), datetime.now(UTC)) + CLOCK_SKEW
            for record in page.records:
                moment = updated_at(record)
                if moment is not None and moment <= horizon and (newest is None or moment > newest):
                    newest = moment
            if len(buffer) >= config.batch_records or not page.has_more:
                _store(factory, settings, config, source_id, buffer, newest, page, report, lease, profile)
                buffer = []
                if stop is not None and stop.is_set() and page.has_more:
                    report.stopped_early = True
                    break
    except PullStopped:
        report.stopped_early = True
        return report
    except SourceRemoved:
        log.info("pull.source_removed", extra={"source": config.name, "pages": report.pages,
                                               "stored": report.stored})
        raise
    except Exception as exc:
        _record_failure(factory, config, exc, source_id=source_id)
        if isinstance(exc, PullError):
            raise
        raise PullError(f"{config.name}: {exc}") from exc
    report.delivered_until = newest
    log.info("pull.finished", extra={"source": config.name, "pages": report.pages, "records": report.records,
                                     "stored": report.stored, "updated": report.updated, "pending": report.pending})
    return report


def _record_failure(
    factory: sessionmaker[Session], config: PullSourceConfig, exc: Exception, *, source_id: int | None = None,
    create: bool = True,
) -> None:
    """The failure onto the source: the row the pull started with (``source_id``), if it still exists, or before
    the start the row of its name (made if ``create``)."""
    with transaction(factory) as session:
        if source_id is None:
            try:
                source_id = _source(session, config, create=create).id
            except SourceRemoved:
                source_id = -1
        # In SQL: a row removed meanwhile matches nothing, instead of failing the write or coming back.
        session.execute(update(Source).where(Source.id == source_id).values(
            last_error_at=datetime.now(UTC), last_error=str(exc)[:2000],
            consecutive_failures=Source.consecutive_failures + 1,
        ).execution_options(synchronize_session=False))
    log.error("pull.failed", extra={"source": config.name, "error": str(exc)[:500]})


def _source(session: Session, config: PullSourceConfig, *, create: bool = True) -> Source:
    source = session.scalar(select(Source).where(Source.name == config.name))
    if source is None:
        if not create:
            raise SourceRemoved(config.name)
        source = Source(name=config.name, kind="http", config=config.to_json(), profile=config.profile)
        session.add(source)
        session.flush()
    return source


def _started_with(session: Session, config: PullSourceConfig, source_id: int) -> Source:
    """The source row the pull started with; ``SourceRemoved`` when it is gone (or replaced by a new source of the
    same name, whose position this pull's does not describe)."""
    # Locked (PostgreSQL): without the ingest lock (a batch with nothing to store), a removal waits for this commit.
    source = session.get(Source, source_id, populate_existing=True, with_for_update=True)
    if source is None or source.name != config.name:
        raise SourceRemoved(config.name)
    return source


def _hold(session: Session, lease: Lease) -> None:
    now = datetime.now(UTC)
    held = session.execute(
        update(JobLease).where(JobLease.name == lease.name, JobLease.holder == lease.holder)
        .values(expires_at=now + timedelta(seconds=lease.seconds)).execution_options(synchronize_session=False)
    )
    if rows_matched(held) != 1:
        raise PullError(f"lease {lease.name} was lost to another worker: this batch is not committed")


def _store(
    factory: sessionmaker[Session], settings: Settings, config: PullSourceConfig, source_id: int,
    records: list[dict[str, Any]], newest: datetime | None, page: FeedPage, report: PullReport, lease: Lease | None,
    profile: Profile | None = None,
) -> None:
    if profile is None:
        payload, pending = _as_jsonl(records, config)
        report.pending += pending
    else:
        payload = page_for_profile(records, profile)
    kind: RecordKind = "calls" if config.kind == "calls" else "intervals"
    stored_nothing = False
    lock = LockWait(settings.ingest_lock_wait_seconds, f"worker pull source={config.name}")
    with transaction(factory) as session:
        if lease is not None:
            _hold(session, lease)
        if payload:
            # Under the lock a removal takes, before the source is looked at: it cannot go between this check and
            # the commit, and the ingest below (which makes a source it does not find) finds this one.
            take_ingest_lock(session, lock)
        source = _started_with(session, config, source_id)
        if payload:
            run = ingest_stream(
                session, record_kind=kind, raw=io.BytesIO(payload), fmt="jsonl", source_name=config.name,
                source_kind="http", origin=f"{config.public_url.rstrip('/')}/{config.kind}",
                definitions=settings.definitions, batch_rows=settings.ingest_batch_rows,
                max_field_length=settings.max_field_length, max_line_length=settings.max_line_length,
                lock=lock, parser=None if profile is None else profile_parser(profile, settings),
            )
            stored_nothing = run.status == "rejected"
            report.stored += run.rows_stored
            report.updated += run.rows_updated
            report.unchanged += run.rows_unchanged
            report.rejected += run.rows_rejected
            report.warnings += run.warnings
            report.runs.append(run.run_id)
        if newest is not None:  # the records this position covers are committed with it
            source.delivered_until = newest
        source.cursor = page.next_cursor
        source.records_behind = page.remaining if page.remaining is not None else (0 if not page.has_more else None)
        if not stored_nothing:  # a page whose every record was rejected is no success (the run says rejected)
            source.last_success_at = datetime.now(UTC)
            source.consecutive_failures = 0
