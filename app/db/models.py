"""Typed SQLAlchemy 2.0 models: sources and their runs, reference data (regions, collaborations), targets and the
worker's state.

Import any core model from here: the base (app.db.base) and the record and aggregate tables (app.db.record_models)
are re-exported, so importing this module registers every core table on the one ``Base.metadata``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import NAMING_CONVENTION as NAMING_CONVENTION
from app.db.base import Base as Base
from app.db.base import BigId as BigId
from app.db.base import table_of as table_of
from app.db.base import utcnow as utcnow
from app.db.record_models import COARSE_SQL as COARSE_SQL
from app.db.record_models import INTERVAL_MINUTES_SQL as INTERVAL_MINUTES_SQL
from app.db.record_models import AggregateDefinitions as AggregateDefinitions
from app.db.record_models import Call as Call
from app.db.record_models import HourlyAggregate as HourlyAggregate
from app.db.record_models import HourlyAnsweredBy as HourlyAnsweredBy
from app.db.record_models import IntervalRow as IntervalRow
from app.db.record_models import MonthlyAggregate as MonthlyAggregate
from app.db.record_models import MonthlyAnsweredBy as MonthlyAnsweredBy
from app.db.record_models import RegionTotal as RegionTotal
from app.db.record_models import SourceMonthRecords as SourceMonthRecords
from app.db.types import UTCDateTime
from app.kpi.targets import ComparatorText

#: What a target is set for: the targets' scope_kind column holds exactly these.
ScopeKind = Literal["region", "collaboration"]
#: A run's verdict. ``rejected``: rows were read and none was stored, updated or found unchanged (all are kept as
#: rejected rows and the run commits); like ``failed`` it is no success of its source. What ``status`` holds.
RunStatus = Literal["running", "succeeded", "rejected", "failed"]


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)  # ISO 3166-2:SE, e.g. SE-AC
    name: Mapped[str] = mapped_column(String(64))
    inhabitants: Mapped[int | None] = mapped_column(Integer)


class Collaboration(Base):
    __tablename__ = "collaborations"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))


class CollaborationMember(Base):
    __tablename__ = "collaboration_members"

    collaboration_code: Mapped[str] = mapped_column(
        ForeignKey("collaborations.code", ondelete="CASCADE"), primary_key=True
    )
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)


class Source(Base):
    """Where records come from. Record identity (call_id) is unique only within its source."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # file | push | http
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Pull sources (kind http): their settings, and where the platform's feed has been read up to. The cursor
    # is written in the transaction that stores the records it covers, so it never runs ahead of them.
    config: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The import profile its deliveries are read through (a pull source's pages; a push that names none), or
    #: None for the canonical formats. Checked against the profiles when set, looked up when a delivery is read.
    profile: Mapped[str | None] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    cursor: Mapped[str | None] = mapped_column(String(512))
    delivered_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the source's own clock (§5)
    records_behind: Mapped[int | None] = mapped_column(Integer)  # as the platform last reported it
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a delivery last stored or changed a record (our clock): what the data-stale alert watches. A source
    # that answers but sends only garbage or repeats keeps succeeding while this stands still.
    last_data_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Running totals for Prometheus counters: read in constant time however many runs are kept.
    rows_read_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    rows_stored_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    rows_updated_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    rows_unchanged_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    rows_rejected_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    runs_succeeded_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    runs_failed_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    runs_rejected_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    warnings_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # optional fields dropped
    last_run_seconds: Mapped[float | None] = mapped_column(Float)
    #: Its interval records win where they overlap another source's for one region and queue (issue 14 §3):
    #: an overlapping delivery of a source not preferred is rejected, and stored rows of such a source that a
    #: delivery of this one overlaps are marked superseded. Without it, overlapping deliveries are refused.
    preferred: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ApiKeySource(Base):
    """A push source an ingest key may write. A key with no rows here may write every push source.

    By name, without foreign keys: removing a source must leave its bindings (else a key bound only to it would
    become unbound, free to write anywhere), and ``api_keys`` lives in ``auth_models`` (keys are never deleted).
    """

    __tablename__ = "api_key_sources"

    key_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    source_name: Mapped[str] = mapped_column(String(128), primary_key=True)


class IngestRun(Base):
    __tablename__ = "ingest_runs"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'succeeded', 'rejected', 'failed')", name="status"),
        CheckConstraint("record_kind IN ('calls', 'intervals')", name="record_kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    record_kind: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(String(512))  # file name, upload name or URL
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[RunStatus] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_stored: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    # records stored without a bad optional field (app.db.run_models.IngestWarning), and the fields so dropped
    rows_warned: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    warnings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    hours_refreshed: Mapped[int] = mapped_column(Integer, default=0)
    first_record_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_record_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class RejectedRow(Base):
    """A row that could not be stored, kept so nothing delivered is ever silently lost.

    ``raw`` holds only the canonical columns of the row: unknown columns, which could carry a caller's
    number, are dropped before anything is stored.
    """

    __tablename__ = "rejected_rows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("ingest_runs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # line number, header = 1
    record_key: Mapped[str | None] = mapped_column(String(256))
    field: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(512))
    raw: Mapped[str] = mapped_column(Text)



class TargetVersion(Base):
    """One version of a target; history is never rewritten, a new row supersedes (SPEC §6)."""

    __tablename__ = "targets"
    __table_args__ = (
        CheckConstraint("scope_kind IN ('region', 'collaboration')", name="scope_kind"),
        CheckConstraint("comparator IN ('>=', '<=')", name="comparator"),
        Index("ix_targets_scope", "scope_kind", "scope_code", "kpi"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope_kind: Mapped[ScopeKind] = mapped_column(String(16))
    scope_code: Mapped[str] = mapped_column(String(32))
    kpi: Mapped[str] = mapped_column(String(32))
    comparator: Mapped[ComparatorText] = mapped_column(String(2))
    value: Mapped[Decimal] = mapped_column(Numeric(14, 6))
    valid_from: Mapped[date] = mapped_column(Date)  # first day of a month
    set_by: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobLease(Base):
    """Who may run a job right now. Two workers never pull the same source at once: the lease is taken with
    one conditional UPDATE, which both SQLite and PostgreSQL execute atomically, and expires if its holder
    dies without giving it back."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WorkerHeartbeat(Base):
    """The worker's sign of life, read by /readyz and (later) by the worker-down alert."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    state: Mapped[str] = mapped_column(String(16))  # running | stopping | stopped
    current_job: Mapped[str | None] = mapped_column(String(128))

