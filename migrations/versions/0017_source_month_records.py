"""source month records

SPEC §5: every figure carries how far each contributing source has delivered. Which sources contribute to a month
may not be found by counting ``calls`` when the scorecard is read (1.8 s a scorecard at 500 k calls a month), so
every writer of records keeps each source's records per region and local month in ``source_month_records``
(app.db.source_months). The records already stored are counted here, by SQL of this revision's own (a migration
never imports the application): every hour from the first record to the last is mapped to its local month in a
temporary table, and each record table is grouped through it in one pass (a range join of months would compare
every record with every month; hours join by equality).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 20:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied from the application as it was at this revision (app.kpi.localtime); do not import.
STOCKHOLM = ZoneInfo("Europe/Stockholm")
HOUR = timedelta(hours=1)
CHUNK = 10_000  # hours inserted per statement


def upgrade() -> None:
    op.create_table('source_month_records',
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=8), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('call_records', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('interval_records', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_source_month_records_source_id_sources'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('source_id', 'region', 'month', name=op.f('pk_source_month_records'))
    )
    op.create_index('ix_source_month_records_month', 'source_month_records', ['month'], unique=False)
    _count_stored_records()


def _count_stored_records() -> None:
    """Each source's records per region and local month of their hour; superseded interval records count nowhere,
    as in the aggregates."""
    conn = op.get_bind()
    stamp = sa.DateTime(timezone=True)
    calls = sa.table("calls", sa.column("source_id"), sa.column("region"), sa.column("hour_start", stamp))
    intervals = sa.table("interval_records", sa.column("source_id"), sa.column("region"),
                         sa.column("hour_start", stamp), sa.column("superseded", sa.Boolean()))
    counts = sa.table("source_month_records", sa.column("source_id"), sa.column("region"), sa.column("month"),
                      sa.column("call_records"), sa.column("interval_records"))
    found = [_as_utc(moment) for table in (calls, intervals) for moment in conn.execute(
        sa.select(sa.func.min(table.c.hour_start), sa.func.max(table.c.hour_start))).one() if moment is not None]
    if not found:
        return
    hour_months = sa.Table("hour_months_0017", sa.MetaData(), sa.Column("hour_start", stamp, primary_key=True),
                           sa.Column("month", sa.Date(), nullable=False), prefixes=["TEMPORARY"])
    hour_months.create(conn)
    try:
        hour, last, rows = min(found), max(found), []
        while hour <= last:
            rows.append({"hour_start": _bound(conn, hour), "month": _local_month(hour)})
            hour += HOUR
            if len(rows) >= CHUNK or hour > last:
                conn.execute(hour_months.insert(), rows)
                rows = []
        m = hour_months.c
        zero = sa.literal_column("0")
        by_call = sa.select(calls.c.source_id, calls.c.region, m.month, sa.func.count().label("n_calls"),
                            zero.label("n_intervals")).select_from(
            calls.join(hour_months, m.hour_start == calls.c.hour_start)).group_by(
            calls.c.source_id, calls.c.region, m.month)
        by_interval = sa.select(intervals.c.source_id, intervals.c.region, m.month, zero.label("n_calls"),
                                sa.func.count().label("n_intervals")).select_from(
            intervals.join(hour_months, m.hour_start == intervals.c.hour_start)).where(
            intervals.c.superseded.is_(sa.false())).group_by(intervals.c.source_id, intervals.c.region, m.month)
        both = sa.union_all(by_call, by_interval).subquery()
        conn.execute(counts.insert().from_select(
            ["source_id", "region", "month", "call_records", "interval_records"],
            sa.select(both.c.source_id, both.c.region, both.c.month, sa.func.sum(both.c.n_calls),
                      sa.func.sum(both.c.n_intervals)).group_by(both.c.source_id, both.c.region, both.c.month)))
    finally:
        hour_months.drop(conn)


def _as_utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back naive (they are stored in UTC), PostgreSQL aware."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _bound(conn: sa.Connection, moment: datetime) -> datetime:
    """An instant as this database stores it: naive UTC on SQLite (compared as text), aware elsewhere."""
    return moment.replace(tzinfo=None) if conn.dialect.name == "sqlite" else moment


def _local_month(moment: datetime) -> date:
    local = moment.astimezone(STOCKHOLM)
    return date(local.year, local.month, 1)


def downgrade() -> None:
    op.drop_index('ix_source_month_records_month', table_name='source_month_records')
    op.drop_table('source_month_records')
