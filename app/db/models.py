"""Typed SQLAlchemy 2.0 models: one metadata, stable constraint names on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime
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
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.db.types import UTCDateTime
from app.kpi.histogram import BUCKET_COUNT
from app.kpi.records import CALL_ID_LENGTH, QUEUE_LENGTH
from app.kpi.targets import ComparatorText

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Autoincrementing 64-bit keys on PostgreSQL; SQLite only auto-increments a plain INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
#: What a target is set for: the targets' scope_kind column holds exactly these.
ScopeKind = Literal["region", "collaboration"]
#: A run's verdict. ``rejected``: rows were read and none was stored, updated or found unchanged (all are kept as
#: rejected rows and the run commits); like ``failed`` it is no success of its source. What ``status`` holds.
RunStatus = Literal["running", "succeeded", "rejected", "failed"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """A model's ``Table``, for Core statements. SQLAlchemy types ``__table__`` as any ``FromClause`` (a class
    may be mapped to a join or a select); every model here is mapped to a table, and this checks it."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is mapped to a {type(table).__name__}, not a table")
    return table


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
    last_run_seconds: Mapped[float | None] = mapped_column(Float)


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


# The four high-volume tables below carry no foreign keys: per-row FK checks were most of the SQL time of a
# bulk upsert (bench/README.md). Their region codes are validated against `regions` by the parser, and
# source and run ids are created in the same transaction by the loader.


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("source_id", "call_id"),
        CheckConstraint("outcome IN ('answered', 'abandoned', 'rejected')", name="outcome"),
        Index("ix_calls_region_hour", "region", "hour_start"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(Integer)
    call_id: Mapped[str] = mapped_column(String(CALL_ID_LENGTH))
    region: Mapped[str] = mapped_column(String(8))
    queue: Mapped[str | None] = mapped_column(String(QUEUE_LENGTH))
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_region: Mapped[str | None] = mapped_column(String(8))
    talk_seconds: Mapped[float | None] = mapped_column(Float)
    wrap_seconds: Mapped[float | None] = mapped_column(Float)
    # Derived at parse time so that aggregation needs no dialect-specific date arithmetic.
    wait_ms: Mapped[int | None] = mapped_column(BigInteger)  # whole milliseconds: exact sums
    hour_start: Mapped[datetime] = mapped_column(UTCDateTime)
    run_id: Mapped[int] = mapped_column(BigId)  # the ingest run that last wrote it


class IntervalRow(Base):
    __tablename__ = "interval_records"
    __table_args__ = (
        UniqueConstraint("source_id", "region", "queue", "interval_start"),
        CheckConstraint("interval_minutes IN (15, 30, 60)", name="interval_minutes"),
        Index("ix_interval_records_region_hour", "region", "hour_start"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(8))
    queue: Mapped[str] = mapped_column(String(QUEUE_LENGTH), default="")
    interval_start: Mapped[datetime] = mapped_column(UTCDateTime)
    interval_minutes: Mapped[int] = mapped_column(Integer)
    offered: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    abandoned_short: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    answered_within_sl: Mapped[int] = mapped_column(Integer)
    sl_seconds: Mapped[int] = mapped_column(Integer)
    # the platform's seconds, kept in whole milliseconds like every wait we store
    wait_answered_ms: Mapped[int | None] = mapped_column(BigInteger)
    wait_abandoned_ms: Mapped[int | None] = mapped_column(BigInteger)
    longest_wait_ms: Mapped[int | None] = mapped_column(BigInteger)
    talk_seconds_sum: Mapped[float | None] = mapped_column(Float)
    wrap_seconds_sum: Mapped[float | None] = mapped_column(Float)
    hour_start: Mapped[datetime] = mapped_column(UTCDateTime)
    interval_end: Mapped[datetime] = mapped_column(UTCDateTime)
    run_id: Mapped[int] = mapped_column(BigId)


def _bucket_columns() -> dict[str, Mapped[int]]:
    return {f"wait_bucket_{i:02d}": mapped_column(Integer, default=0, nullable=False) for i in range(BUCKET_COUNT)}


class _SummedColumns:
    """The additive figures (SPEC §5), one set per hour and per month: column names mirror ``app.kpi.Counts``;
    ``wait_bucket_NN`` are non-cumulative counts of answered waits per bucket of ``WAIT_BUCKET_EDGES``."""

    answered: Mapped[int] = mapped_column(Integer, default=0)
    abandoned: Mapped[int] = mapped_column(Integer, default=0)
    short_abandons: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    answered_within_sl: Mapped[int] = mapped_column(Integer, default=0)
    answered_sl_unknown: Mapped[int] = mapped_column(Integer, default=0)
    wait_answered_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    wait_abandoned_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    #: the part of wait_answered_ms from call records: the answered-wait histogram's sum, which must describe
    #: the same calls as its buckets (interval reports have no per-call waits)
    call_wait_answered_ms: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    answered_wait_unknown: Mapped[int] = mapped_column(Integer, default=0)
    abandoned_wait_unknown: Mapped[int] = mapped_column(Integer, default=0)
    longest_wait_unknown: Mapped[int] = mapped_column(Integer, default=0)
    longest_wait_ms: Mapped[int | None] = mapped_column(BigInteger)
    talk_sum: Mapped[float] = mapped_column(Float, default=0.0)
    wrap_sum: Mapped[float] = mapped_column(Float, default=0.0)
    call_records: Mapped[int] = mapped_column(Integer, default=0)
    interval_records: Mapped[int] = mapped_column(Integer, default=0)
    reported_offered: Mapped[int] = mapped_column(Integer, default=0)
    interval_counted_offered: Mapped[int] = mapped_column(Integer, default=0)
    latest_record_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    locals().update(_bucket_columns())


class HourlyAggregate(_SummedColumns, Base):
    """Additive figures of one region's local hour (SPEC §5), keyed by the hour's UTC start."""

    __tablename__ = "hourly_aggregates"
    __table_args__ = (Index("ix_hourly_aggregates_hour", "hour_start"),)

    region: Mapped[str] = mapped_column(String(8), primary_key=True)
    hour_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)


class MonthlyAggregate(_SummedColumns, Base):
    """The sums of a region's hourly aggregates over one local calendar month, kept with them.

    A month read from here is 21 rows instead of ~15 600 hourly ones: the scorecard and the metrics read
    closed months (and the month so far: future hours have no rows) this way. It is rebuilt from the hourly
    rows for every month an ingest or recompute touched, in the same transaction, so it always equals their sum.
    """

    __tablename__ = "monthly_aggregates"

    region: Mapped[str] = mapped_column(String(8), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day of the local month
    hours_with_data: Mapped[int] = mapped_column(Integer, default=0)


class MonthlyAnsweredBy(Base):
    __tablename__ = "monthly_answered_by"

    region: Mapped[str] = mapped_column(String(8), primary_key=True)
    answered_by_region: Mapped[str] = mapped_column(String(8), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    answered: Mapped[int] = mapped_column(Integer)


class HourlyAnsweredBy(Base):
    """Answered calls of a caller region by the region whose nurse answered, per hour (SPEC §2).

    Only calls whose source names the answering region appear here.
    """

    __tablename__ = "hourly_answered_by"
    __table_args__ = (
        Index("ix_hourly_answered_by_answerer", "answered_by_region", "hour_start"),
        # the scorecard filters on the span first; without this it scans the whole table
        Index("ix_hourly_answered_by_hour", "hour_start"),
    )

    region: Mapped[str] = mapped_column(String(8), primary_key=True)
    answered_by_region: Mapped[str] = mapped_column(String(8), primary_key=True)
    hour_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    answered: Mapped[int] = mapped_column(Integer)


class AggregateDefinitions(Base):
    """The definitions the stored aggregates were built with; changing them requires a recompute."""

    __tablename__ = "aggregate_definitions"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    short_abandon_seconds: Mapped[int] = mapped_column(Integer)
    sl_seconds: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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


class RegionTotal(Base):
    """All-time running totals per region behind the Prometheus counters and wait histogram.

    Maintained in the same transaction as the hourly aggregates, from the change of the touched hours:
    growth is added to ``ingested_*``, shrinkage from corrections to ``corrected_*`` (so both only grow, as
    counters must); the histogram buckets and the wait sum count growth only.
    """

    __tablename__ = "region_totals"

    region: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
