"""The read side of ingest: runs, their rejected rows, and sources with their freshness. Read only.

Plain functions over a Session, returning the stored rows wrapped in small dataclasses (as ``app.alerts.queries``
does); rendering them is the caller's business (the API maps them to its schemas). A source's stored config may
hold auth headers, so a view carries only ``PublicConfig``, never the config itself.

Paging is by keyset on ids: runs newest first (``before_id``), rejected rows and warnings in file order
(``after_id``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from app.db.models import IngestRun, RejectedRow, Source
from app.db.run_models import IngestWarning
from app.errors import VptError
from app.ingest.sources import redact_url


class RejectedCursorNotFound(VptError, LookupError):
    """``after_id`` names no rejected row (or warning) of the run."""

    code = "not_found"
    status_code = 404


@dataclass(frozen=True, slots=True)
class RunView:
    run: IngestRun
    source: str  # the source's name


@dataclass(frozen=True, slots=True)
class RunPage:
    runs: list[RunView]  # newest first
    next_before_id: int | None  # pass as ``before_id`` for the next (older) page; None on the last page


@dataclass(frozen=True, slots=True)
class RejectedPage:
    run_id: int
    rows: list[RejectedRow]  # in file order
    next_after_id: int | None  # pass as ``after_id`` for the next page; None on the last page


@dataclass(frozen=True, slots=True)
class WarningPage:
    run_id: int
    warnings: list[IngestWarning]  # in file order
    next_after_id: int | None  # pass as ``after_id`` for the next page; None on the last page


@dataclass(frozen=True, slots=True)
class RunTotals:
    """A source's runs by verdict."""

    total: int
    succeeded: int
    rejected: int
    failed: int
    running: int


@dataclass(frozen=True, slots=True)
class PublicConfig:
    """The settings of a source that are safe to show."""

    base_url: str | None  # with any password and query values masked
    cadence_seconds: int | None


@dataclass(frozen=True, slots=True)
class SourceView:
    source: Source
    config: PublicConfig | None
    latest_run: IngestRun | None
    runs: RunTotals


def list_runs(
    session: Session, *, source: str | None, status: str | None, limit: int, before_id: int | None
) -> RunPage:
    query = select(IngestRun, Source.name).join(Source, Source.id == IngestRun.source_id)
    if source is not None:
        query = query.where(Source.name == source)
    if status is not None:
        query = query.where(IngestRun.status == status)
    if before_id is not None:
        query = query.where(IngestRun.id < before_id)
    rows = session.execute(query.order_by(IngestRun.id.desc()).limit(limit + 1)).all()
    runs = [RunView(run, name) for run, name in rows[:limit]]
    return RunPage(runs=runs, next_before_id=runs[-1].run.id if len(rows) > limit else None)


def get_run(session: Session, run_id: int) -> RunView | None:
    row = session.execute(
        select(IngestRun, Source.name).join(Source, Source.id == IngestRun.source_id).where(IngestRun.id == run_id)
    ).first()
    return RunView(row[0], row[1]) if row is not None else None


def list_rejected(session: Session, *, run_id: int, limit: int, after_id: int | None) -> RejectedPage:
    """Rejected rows of one run in file order (position, then id), keyset-paged by the last row's id."""
    rows, next_after_id = _in_file_order(session, RejectedRow, "rejected row", run_id, limit, after_id)
    return RejectedPage(run_id=run_id, rows=rows, next_after_id=next_after_id)


def list_warnings(session: Session, *, run_id: int, limit: int, after_id: int | None) -> WarningPage:
    """Warnings of one run (optional fields left out of stored records) in file order, paged as rejected rows are."""
    rows, next_after_id = _in_file_order(session, IngestWarning, "warning", run_id, limit, after_id)
    return WarningPage(run_id=run_id, warnings=rows, next_after_id=next_after_id)


_Kept = TypeVar("_Kept", RejectedRow, IngestWarning)


def _in_file_order(
    session: Session, model: type[_Kept], noun: str, run_id: int, limit: int, after_id: int | None
) -> tuple[list[_Kept], int | None]:
    query = select(model).where(model.run_id == run_id)
    if after_id is not None:
        position = session.scalar(select(model.position).where(model.run_id == run_id, model.id == after_id))
        if position is None:
            raise RejectedCursorNotFound(f"run {run_id} has no {noun} {after_id}")
        query = query.where(tuple_(model.position, model.id) > tuple_(position, after_id))
    rows = list(session.scalars(query.order_by(model.position, model.id).limit(limit + 1)))
    page = rows[:limit]
    return page, page[-1].id if len(rows) > limit else None


def run_exists(session: Session, run_id: int) -> bool:
    return session.scalar(select(IngestRun.id).where(IngestRun.id == run_id)) is not None


# --- sources --------------------------------------------------------------------------------------------


def public_config(config: dict[str, Any] | None) -> PublicConfig | None:
    """Only keys known to be harmless; the config may hold auth headers and is never shown whole."""
    if not config:
        return None
    base_url = config.get("base_url")
    cadence = config.get("cadence_seconds")
    return PublicConfig(
        base_url=redact_url(base_url) if isinstance(base_url, str) else None,
        cadence_seconds=cadence if isinstance(cadence, int) and not isinstance(cadence, bool) else None,
    )


def _source_views(session: Session, sources: Sequence[Source]) -> list[SourceView]:
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
    latest = {run.source_id: run for run in session.scalars(select(IngestRun).where(IngestRun.id.in_(newest)))}
    return [
        SourceView(
            source=s, config=public_config(s.config), latest_run=latest.get(s.id),
            runs=RunTotals(
                total=sum(counts[s.id].values()),
                succeeded=counts[s.id].get("succeeded", 0),
                rejected=counts[s.id].get("rejected", 0),
                failed=counts[s.id].get("failed", 0),
                running=counts[s.id].get("running", 0),
            ),
        )
        for s in sources
    ]


def list_sources(session: Session) -> list[SourceView]:
    return _source_views(session, session.scalars(select(Source).order_by(Source.name)).all())


def get_source(session: Session, name: str) -> SourceView | None:
    source = session.scalar(select(Source).where(Source.name == name))
    return _source_views(session, [source])[0] if source is not None else None
