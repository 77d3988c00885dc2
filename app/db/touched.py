"""The (region, hour) pairs one transaction touched: a temporary table that the aggregate refresh and the running
totals both read, kept apart from either so that neither has to import the other.

An hour is either rebuilt from its stored records (the default: a superseded interval, a purge, a recompute) or,
when a delivery of calls added or corrected calls in it, moved by what changed (``rebuild`` false, the change in
``hour_changes`` and ``answered_by_changes``): the merge knows it from the staged rows and the stored rows they
replace, so the refresh need not read the hour's stored records again (issue 15). The refresh still rebuilds such an
hour when a maximum or the last record may have left it (app.db.aggregates).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    false,
    true,
)

from app.db.types import UTCDateTime
from app.kpi.histogram import BUCKET_COUNT

_temp_metadata = MetaData()
#: The (region, hour) pairs an ingest touched; created per transaction.
touched_hours = Table(
    "touched_hours",
    _temp_metadata,
    Column("region", String(8), primary_key=True),
    Column("hour_start", UTCDateTime, primary_key=True),
    #: false for an hour whose change the merge put in ``hour_changes``
    Column("rebuild", Boolean, nullable=False, server_default=true()),
    #: true for an hour rebuilt only because a maximum may have left it (app.db.hour_deltas): its answered-by counts,
    #: which have no maximum, still move by ``answered_by_changes`` instead of being summed again from ``calls``
    Column("answered_by_moves", Boolean, nullable=False, server_default=false()),
    prefixes=["TEMPORARY"],
)

#: The (region, local month) pairs of ``touched_hours`` with the month's UTC bounds, filled by the monthly roll-up's
#: refresh (app.db.aggregates.refresh_touched_months, the one place hours are mapped to local months), so the
#: per-source counts (app.db.source_months) follow the same months in set-based SQL.
touched_months = Table(
    "touched_months",
    _temp_metadata,
    Column("region", String(8), primary_key=True),
    Column("month", Date, primary_key=True),
    Column("month_start", UTCDateTime, nullable=False),
    Column("month_end", UTCDateTime, nullable=False),
    # the month's call records in the monthly roll-up before and after the refresh rebuilt it
    Column("call_records_before", BigInteger),
    Column("call_records_after", BigInteger),
    prefixes=["TEMPORARY"],
)

_INTEGER_SUMS = (
    "answered", "abandoned", "short_abandons", "rejected", "answered_within_sl", "answered_sl_unknown",
    "wait_answered_ms", "wait_abandoned_ms", "call_wait_answered_ms", "answered_wait_unknown",
    "abandoned_wait_unknown", "longest_wait_unknown",
)
_LATER_SUMS = (
    "call_records", "interval_records", "reported_offered", "interval_counted_offered",
    *[f"wait_bucket_{i:02d}" for i in range(BUCKET_COUNT)], "day_records", "month_records",
)
#: What changed in an hour's aggregate row (app.db.aggregates.SUMMED_COLUMNS): a row of the sums of calls added to
#: it with their maxima, or of the calls taken out of it, negated, with their maxima as ``removed_*``. Several rows
#: per (region, hour): several merges of one transaction each add theirs.
hour_changes = Table(
    "hour_changes",
    _temp_metadata,
    Column("region", String(8)),
    Column("hour_start", UTCDateTime),
    *[Column(name, BigInteger) for name in _INTEGER_SUMS],
    Column("talk_sum", Float),
    Column("wrap_sum", Float),
    *[Column(name, BigInteger) for name in _LATER_SUMS],
    Column("longest_wait_ms", BigInteger),
    Column("latest_record_at", UTCDateTime),
    Column("removed_longest_wait_ms", BigInteger),
    Column("removed_latest_record_at", UTCDateTime),
    prefixes=["TEMPORARY"],
)
#: Answered calls added to (or, negative, taken out of) a (region, answered_by_region, hour).
answered_by_changes = Table(
    "answered_by_changes",
    _temp_metadata,
    Column("region", String(8)),
    Column("answered_by_region", String(8)),
    Column("hour_start", UTCDateTime),
    Column("answered", Integer),
    prefixes=["TEMPORARY"],
)


def create_touched_table(conn: Connection) -> None:
    drop_touched_table(conn)
    touched_hours.create(conn)
    touched_months.create(conn)


def create_changes_tables(conn: Connection) -> None:
    """Made by the first merge of a transaction that changes hours; dropped with ``touched_hours``."""
    hour_changes.create(conn, checkfirst=True)
    answered_by_changes.create(conn, checkfirst=True)


def drop_touched_table(conn: Connection) -> None:
    touched_hours.drop(conn, checkfirst=True)
    touched_months.drop(conn, checkfirst=True)
    hour_changes.drop(conn, checkfirst=True)
    answered_by_changes.drop(conn, checkfirst=True)


__all__ = [
    "answered_by_changes",
    "create_changes_tables",
    "create_touched_table",
    "drop_touched_table",
    "hour_changes",
    "touched_hours",
    "touched_months",
]
