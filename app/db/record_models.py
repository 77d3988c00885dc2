"""The high-volume tables: call and interval records as stored, and the aggregates kept from them (hourly and
monthly sums, answered-by counts, all-time totals, the definitions they were built with).

Apart from app.db.models (sources, runs, reference data, targets, worker state) so each stays readable; they share
``Base.metadata``. ``app.db.models`` re-exports every model here, so importing it still registers every core table
(migrations/env.py and the tests rely on that).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, BigId, utcnow
from app.db.types import UTCDateTime
from app.kpi.histogram import BUCKET_COUNT
from app.kpi.records import CALL_ID_LENGTH, DAY_MINUTES, MONTH_MINUTES, QUEUE_LENGTH

#: What ``interval_records.interval_minutes`` may hold: 15, 30, 60, a day (1440) or a month (its days × 1440).
INTERVAL_MINUTES_SQL = ", ".join(str(m) for m in (15, 30, 60, DAY_MINUTES, *MONTH_MINUTES))
#: The predicate of a day or month record, written as a literal so the partial index serves queries that say it.
COARSE_SQL = f"interval_minutes >= {DAY_MINUTES}"

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
        CheckConstraint(f"interval_minutes IN ({INTERVAL_MINUTES_SQL})", name="interval_minutes"),
        Index("ix_interval_records_region_hour", "region", "hour_start"),
        # Only the few day and month records: what the resolution checks of every delivery look up.
        Index("ix_interval_records_coarse", "region", "hour_start",
              sqlite_where=text(COARSE_SQL), postgresql_where=text(COARSE_SQL)),
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
    #: staffed positions (interval average) as reported: compared with the staffing advice, never summed into a KPI
    agents_staffed: Mapped[float | None] = mapped_column(Float)
    hour_start: Mapped[datetime] = mapped_column(UTCDateTime)
    interval_end: Mapped[datetime] = mapped_column(UTCDateTime)
    run_id: Mapped[int] = mapped_column(BigId)
    #: Overlapped by a preferred source's records (``Source.preferred``): kept, but no longer counted.
    superseded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


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
    #: interval records of a whole local day and of a calendar month (``app.kpi.records``): their calls have no
    #: hour, and sit in the hour the day or month starts
    day_records: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    month_records: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reported_offered: Mapped[int] = mapped_column(Integer, default=0)
    interval_counted_offered: Mapped[int] = mapped_column(Integer, default=0)
    latest_record_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    locals().update(_bucket_columns())


class HourlyAggregate(_SummedColumns, Base):
    """Additive figures of one region's local hour (SPEC §5), keyed by the hour's UTC start."""

    __tablename__ = "hourly_aggregates"
    __table_args__ = (
        Index("ix_hourly_aggregates_hour", "hour_start"),
        # covering the collaboration's distinct hours and the forecast's samples: index-only scans (migration 0016)
        Index("ix_hourly_aggregates_region_hour_counts", "region", "hour_start", "hours_covered", "answered",
              "abandoned", "rejected"),
    )

    region: Mapped[str] = mapped_column(String(8), primary_key=True)
    hour_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    #: the hours the records of this row cover: 1, or the 23–25 of a day record or the hours of a month record
    #: that start here (so a month's hours with data count what its day and month figures cover)
    hours_covered: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class MonthlyAggregate(_SummedColumns, Base):
    """The sums of a region's hourly aggregates over one local calendar month, kept with them.

    A month read from here is 21 rows instead of ~15 600 hourly ones: the scorecard and the metrics read
    closed months (and the month so far: future hours have no rows) this way. It is rebuilt from the hourly
    rows for every month an ingest or recompute touched, in the same transaction, so it always equals their sum.
    """

    __tablename__ = "monthly_aggregates"
    # a month is read across every region; the key starts with region, so without this it scans all months
    __table_args__ = (Index("ix_monthly_aggregates_month", "month"),)

    region: Mapped[str] = mapped_column(String(8), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day of the local month
    hours_with_data: Mapped[int] = mapped_column(Integer, default=0)


class SourceMonthRecords(Base):
    """How many records each source holds per region and local month, kept by every writer of records in the same
    transaction (SPEC §5: each figure names the sources it is built on). The scorecard reads its month's rows instead
    of counting ``calls`` (1.8 s a scorecard at 500 k calls a month). Calls and interval records apart: a delivery of
    calls moves its count by the change the merge grouped, while interval counts are taken again from their small
    table (a preferred source's delivery changes other sources' counts when it supersedes their records)."""

    __tablename__ = "source_month_records"
    # the scorecard reads one month of every region and source; the key starts with the source
    __table_args__ = (Index("ix_source_month_records_month", "month"),)

    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    region: Mapped[str] = mapped_column(String(8), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day of the local month
    call_records: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: interval records that count (not superseded), of any resolution, in the month their hour_start falls in
    interval_records: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class MonthlyAnsweredBy(Base):
    __tablename__ = "monthly_answered_by"
    # a month is read across every region pair; the key starts with region, so without this it scans all months
    __table_args__ = (Index("ix_monthly_answered_by_month", "month"),)

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
