"""Read queries behind the ingest-visibility endpoints: runs, rejected rows, sources. Read only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from app.api.ingest_schemas import (
    IngestRunOut,
    IngestRunPage,
    LatestRun,
    RejectedRowOut,
    RejectedRowPage,
    RunCounts,
    SourceOut,
    SourcePublicConfig,
)
from app.db.models import IngestRun, RejectedRow, Source
from app.ingest.sources import redact_url

_RUN_FIELDS = (
    "id", "record_kind", "origin", "status", "started_at", "finished_at", "rows_read", "rows_stored",
    "rows_updated", "rows_unchanged", "rows_rejected", "hours_refreshed", "first_record_at", "last_record_at",
    "content_sha256", "error",
)


class RejectedCursorNotFound(LookupError):
    """``after_id`` names no rejected row of the run."""


def _run_out(run: IngestRun, source_name: str) -> IngestRunOut:
    return IngestRunOut(source=source_name, **{name: getattr(run, name) for name in _RUN_FIELDS})


def list_runs(
    session: Session, *, source: str | None, status: str | None, limit: int, before_id: int | None
) -> IngestRunPage:
    query = select(IngestRun, Source.name).join(Source, Source.id == IngestRun.source_id)
    if source is not None:
        query = query.where(Source.name == source)
    if status is not None:
        query = query.where(IngestRun.status == status)
    if before_id is not None:
        query = query.where(IngestRun.id < before_id)
    rows = session.execute(query.order_by(IngestRun.id.desc()).limit(limit + 1)).all()
    runs = [_run_out(run, name) for run, name in rows[:limit]]
    return IngestRunPage(runs=runs, next_before_id=runs[-1].id if len(rows) > limit else None)


def get_run(session: Session, run_id: int) -> IngestRunOut | None:
    row = session.execute(
        select(IngestRun, Source.name).join(Source, Source.id == IngestRun.source_id).where(IngestRun.id == run_id)
    ).first()
    return _run_out(row[0], row[1]) if row is not None else None


def list_rejected(session: Session, *, run_id: int, limit: int, after_id: int | None) -> RejectedRowPage:
    """Rejected rows of one run in file order (position, then id), keyset-paged by the last row's id."""
    query = select(RejectedRow).where(RejectedRow.run_id == run_id)
    if after_id is not None:
        position = session.scalar(
            select(RejectedRow.position).where(RejectedRow.run_id == run_id, RejectedRow.id == after_id)
        )
        if position is None:
            raise RejectedCursorNotFound(f"run {run_id} has no rejected row {after_id}")
        query = query.where(tuple_(RejectedRow.position, RejectedRow.id) > tuple_(position, after_id))
    rows = session.scalars(query.order_by(RejectedRow.position, RejectedRow.id).limit(limit + 1)).all()
    out = [
        RejectedRowOut(id=r.id, position=r.position, record_key=r.record_key, field=r.field, reason=r.reason,
                       raw=r.raw)
        for r in rows[:limit]
    ]
    return RejectedRowPage(run_id=run_id, rows=out, next_after_id=out[-1].id if len(rows) > limit else None)


def run_exists(session: Session, run_id: int) -> bool:
    return session.scalar(select(IngestRun.id).where(IngestRun.id == run_id)) is not None


# --- sources --------------------------------------------------------------------------------------------


def public_config(config: dict[str, Any] | None) -> SourcePublicConfig | None:
    """Only keys known to be harmless; the config may hold auth headers and is never shown whole."""
    if not config:
        return None
    base_url = config.get("base_url")
    cadence = config.get("cadence_seconds")
    return SourcePublicConfig(
        base_url=redact_url(base_url) if isinstance(base_url, str) else None,
        cadence_seconds=cadence if isinstance(cadence, int) and not isinstance(cadence, bool) else None,
    )


def _sources_out(session: Session, sources: Sequence[Source]) -> list[SourceOut]:
    ids = [s.id for s in sources]
    if not ids:
        return []
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    for source_id, status, n in session.execute(
        select(IngestRun.source_id, IngestRun.status, func.count())
        .where(IngestRun.source_id.in_(ids))
        .group_by(IngestRun.source_id, IngestRun.status)
    ):
        counts[source_id][status] = n
    newest = (
        select(func.max(IngestRun.id)).where(IngestRun.source_id.in_(ids)).group_by(IngestRun.source_id)
    ).scalar_subquery()
    latest = {
        run.source_id: LatestRun(id=run.id, status=run.status, finished_at=run.finished_at)  # type: ignore[arg-type]
        for run in session.scalars(select(IngestRun).where(IngestRun.id.in_(newest)))
    }
    return [
        SourceOut(
            name=s.name, kind=s.kind, enabled=s.enabled, created_at=s.created_at, last_attempt_at=s.last_attempt_at,
            last_success_at=s.last_success_at, last_error_at=s.last_error_at, last_error=s.last_error,
            consecutive_failures=s.consecutive_failures, delivered_until=s.delivered_until,
            records_behind=s.records_behind, cursor=s.cursor, config=public_config(s.config),
            latest_run=latest.get(s.id),
            runs=RunCounts(
                total=sum(counts[s.id].values()),
                succeeded=counts[s.id].get("succeeded", 0),
                rejected=counts[s.id].get("rejected", 0),
                failed=counts[s.id].get("failed", 0),
                running=counts[s.id].get("running", 0),
            ),
        )
        for s in sources
    ]


def list_sources(session: Session) -> list[SourceOut]:
    return _sources_out(session, session.scalars(select(Source).order_by(Source.name)).all())


def get_source(session: Session, name: str) -> SourceOut | None:
    source = session.scalar(select(Source).where(Source.name == name))
    return _sources_out(session, [source])[0] if source is not None else None
