"""Response models of push ingest, ingest runs, rejected rows, warnings and sources (SPEC §3, §7)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, RootModel

from app.db.models import IngestRun, RejectedRow
from app.db.run_models import IngestWarning
from app.ingest.loader import RunStatus as RunStatus  # the verdicts, said once (rejected: rows read, none stored)
from app.ingest.queries import RejectedPage, RunPage, RunView, SourceView, WarningPage


class RejectionOut(BaseModel):
    position: int = Field(description="Line number in the delivery; the CSV header is line 1")
    record_key: str | None = Field(description="call_id, or region/queue/interval_start, when it could be read")
    field: str | None = Field(description="The field at fault; null when the row as a whole was unreadable")
    reason: str


class FieldWarningOut(BaseModel):
    position: int = Field(description="Line number in the delivery; the CSV header is line 1")
    record_key: str | None = Field(description="call_id, or region/queue/interval_start (UTC)")
    field: str = Field(description="The optional field left out of the stored record")
    reason: str


class PushReport(BaseModel):
    """What one pushed delivery did. Balanced: rows_read = stored + updated + unchanged + rejected."""

    run_id: int
    source: str
    origin: str
    record_kind: Literal["calls", "intervals"]
    status: RunStatus = Field(description="succeeded, or rejected when rows were read and none could be stored")
    rows_read: int
    rows_stored: int = Field(description="New records")
    rows_updated: int = Field(description="Corrections that replaced a stored record")
    rows_unchanged: int = Field(description="Already stored exactly so (a re-delivery)")
    rows_rejected: int = Field(description="Kept as rejected rows, see /api/v1/ingest/rejected?run=run_id")
    hours_refreshed: int
    first_record_at: datetime | None
    last_record_at: datetime | None
    seconds: float
    rejections: list[RejectionOut] = Field(description="The first rejections (a sample, at most 20)")
    rows_warned: int = Field(description="Records stored without a bad optional field (among stored, updated and "
                             "unchanged)")
    warnings: int = Field(description="Optional fields so left out, see /api/v1/ingest/runs/{run_id}/warnings")
    warning_sample: list[FieldWarningOut] = Field(description="The first warnings (a sample, at most 20)")


class PushErrorBody(BaseModel):
    """The error shape of the push endpoints; ``report`` is present when the delivery was read but nothing
    of it could be stored (``no_rows_stored``)."""

    error: str = Field(description="no_rows_stored, empty_body, ingest_failed, validation_error, ...")
    detail: object
    report: PushReport | None = None


class IngestRunOut(BaseModel):
    id: int
    source: str
    record_kind: Literal["calls", "intervals"]
    origin: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    rows_read: int
    rows_stored: int
    rows_updated: int
    rows_unchanged: int
    rows_rejected: int
    rows_warned: int = Field(description="Records stored without a bad optional field")
    warnings: int = Field(description="Optional fields so left out, see /api/v1/ingest/runs/{id}/warnings")
    hours_refreshed: int
    first_record_at: datetime | None
    last_record_at: datetime | None
    content_sha256: str | None
    error: str | None = Field(description="Why a failed run failed as a whole")

    @classmethod
    def of(cls, view: RunView) -> IngestRunOut:
        fields = {name: getattr(view.run, name) for name in cls.model_fields if name != "source"}
        return cls(source=view.source, **fields)


class IngestRunPage(BaseModel):
    runs: list[IngestRunOut] = Field(description="Newest first")
    next_before_id: int | None = Field(description="Pass as before_id for the next page; null on the last page")

    @classmethod
    def of(cls, page: RunPage) -> IngestRunPage:
        return cls(runs=[IngestRunOut.of(view) for view in page.runs], next_before_id=page.next_before_id)


class RejectedRowOut(BaseModel):
    id: int
    position: int
    record_key: str | None
    field: str | None
    reason: str
    raw: str = Field(description="The row's canonical columns only; other columns are never stored")

    @classmethod
    def of(cls, row: RejectedRow) -> RejectedRowOut:
        return cls(id=row.id, position=row.position, record_key=row.record_key, field=row.field, reason=row.reason,
                   raw=row.raw)


class RejectedRowPage(BaseModel):
    run_id: int
    rows: list[RejectedRowOut] = Field(description="In file order")
    next_after_id: int | None = Field(description="Pass as after_id for the next page; null on the last page")

    @classmethod
    def of(cls, page: RejectedPage) -> RejectedRowPage:
        return cls(run_id=page.run_id, rows=[RejectedRowOut.of(row) for row in page.rows],
                   next_after_id=page.next_after_id)


class IngestWarningOut(FieldWarningOut):
    id: int

    @classmethod
    def of(cls, row: IngestWarning) -> IngestWarningOut:
        return cls(id=row.id, position=row.position, record_key=row.record_key, field=row.field, reason=row.reason)


class IngestWarningPage(BaseModel):
    run_id: int
    warnings: list[IngestWarningOut] = Field(description="In file order")
    next_after_id: int | None = Field(description="Pass as after_id for the next page; null on the last page")

    @classmethod
    def of(cls, page: WarningPage) -> IngestWarningPage:
        return cls(run_id=page.run_id, warnings=[IngestWarningOut.of(row) for row in page.warnings],
                   next_after_id=page.next_after_id)


class LatestRun(BaseModel):
    id: int
    status: RunStatus
    finished_at: datetime | None

    @classmethod
    def of(cls, run: IngestRun) -> LatestRun:
        return cls(id=run.id, status=run.status, finished_at=run.finished_at)


class RunCounts(BaseModel):
    total: int
    succeeded: int
    rejected: int = Field(description="Runs that read rows and stored none")
    failed: int
    running: int


class SourcePublicConfig(BaseModel):
    """The settings that are safe to show. Headers, tokens and the rest of a source's config never leave."""

    base_url: str | None = Field(default=None, description="With any password and query values masked")
    cadence_seconds: int | None = None


class SourceOut(BaseModel):
    name: str
    kind: str = Field(description="file, push or http")
    profile: str | None = Field(default=None, description="The import profile its deliveries are read through (a "
                                "pull source's pages, a push that names none); null: the canonical formats")
    enabled: bool
    preferred: bool = Field(description="Its interval records win where they overlap another source's for one region "
                            "and queue (PATCH /api/v1/sources/{name}, `vpt sources prefer`)")
    created_at: datetime
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    delivered_until: datetime | None = Field(description="Newest record time the source has delivered")
    records_behind: int | None = Field(description="As the platform last reported it (pull sources)")
    cursor: str | None = Field(description="Where a pull source's feed has been read up to")
    config: SourcePublicConfig | None
    latest_run: LatestRun | None
    runs: RunCounts

    @classmethod
    def of(cls, view: SourceView) -> SourceOut:
        s, runs = view.source, view.runs
        return cls(
            name=s.name, kind=s.kind, profile=s.profile, enabled=s.enabled, preferred=s.preferred,
            created_at=s.created_at,
            last_attempt_at=s.last_attempt_at,
            last_success_at=s.last_success_at, last_error_at=s.last_error_at, last_error=s.last_error,
            consecutive_failures=s.consecutive_failures, delivered_until=s.delivered_until,
            records_behind=s.records_behind, cursor=s.cursor,
            config=SourcePublicConfig(base_url=view.config.base_url, cadence_seconds=view.config.cadence_seconds)
            if view.config is not None else None,
            latest_run=LatestRun.of(view.latest_run) if view.latest_run is not None else None,
            runs=RunCounts(total=runs.total, succeeded=runs.succeeded, rejected=runs.rejected, failed=runs.failed,
                           running=runs.running),
        )


class ReasonCountOut(BaseModel):
    field: str | None = Field(description="The field at fault; null when the row as a whole was unreadable")
    reason: str = Field(description="The reason, quoted values shown as '…' so that rows of one cause count together")
    count: int
    first_position: int = Field(description="Line of the first such row")
    example: str = Field(description="The first such reason in full")


class MonthFiguresOut(BaseModel):
    region: str
    month: str = Field(description="The local month, YYYY-MM")
    offered: int
    answered: int
    abandoned: int
    rejected: int
    kpis: dict[str, float | int | None] = Field(description="Every KPI of SPEC §4 (/api/v1/kpis), as the "
                                                "scorecard's month would have it from this delivery alone")
    notes: list[str] = Field(description="Data-quality notes, as the scorecard writes them")


class DryRunOut(BaseModel):
    """What a delivery would give (dry_run=true): read, mapped and checked as a push, stored nowhere, no run
    recorded. The figures are the delivery's alone, as if its source held nothing yet."""

    dry_run: Literal[True]
    record_kind: Literal["calls", "intervals"]
    origin: str
    reader: str = Field(description="What read it: 'profile NAME' or 'format NAME'")
    profile: str | None = Field(description="The import profile, when one read it")
    detected: bool = Field(description="The profile was chosen by detection (profile=auto)")
    detection: str | None = Field(description="What detection matched")
    would_store: bool = Field(description="A push of it would store records")
    rows_read: int
    records: int = Field(description="Rows that would be stored (or update or match stored records)")
    repeats: int = Field(description="Records whose key comes again later in the delivery: the last one counts")
    rows_rejected: int
    rows_warned: int = Field(description="Records that would be stored without a bad optional field")
    warnings: int
    rows_skipped: int | None = Field(description="Rows a profile's filters leave out; null without a profile")
    legs_merged: int | None = Field(description="Legs a profile's chain folds into one call; null without a profile")
    copies_dropped: int | None = Field(description="Older copies a profile's dedupe drops; null without a profile")
    first_record_at: datetime | None
    last_record_at: datetime | None
    rejections: list[ReasonCountOut] = Field(description="Rejected rows counted by field and reason")
    warning_reasons: list[ReasonCountOut] = Field(description="Warnings counted by field and reason")
    sample: list[dict[str, str | int | float | None]] = Field(
        description="The first records as they would be stored: their line and canonical fields (UTC times)")
    months: list[MonthFiguresOut] = Field(description="Per region and local month")


class PushAnswer(RootModel[PushReport | DryRunOut]):
    """What a push answers: what it stored (PushReport), or with dry_run=true what it would give (DryRunOut)."""
