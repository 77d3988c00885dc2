"""coarse statistics

Interval records of a whole local day (``interval_minutes`` 1440) or of a calendar month (its days × 1440: 40320,
41760, 43200 or 44640), as national statistics deliver them (issue 14 §3). Their calls have no hour: they sit in the
hour the day or month starts, and the aggregates say how many such records a row holds (``day_records``,
``month_records``) and how many hours its records cover (``hourly_aggregates.hours_covered``: 1 for every row
before this revision). ``sources.preferred`` lets an operator say whose records win where two sources' interval
records overlap; the losing rows are kept with ``superseded`` set and are no longer counted.

On SQLite the widened CHECK of ``interval_records.interval_minutes`` is written into the stored table definition in
place, as 0010 does for ``ingest_runs`` (recreating the table would copy every interval record).

Downgrade refuses while day or month records or superseded rows are stored: the earlier schema cannot hold the
former, and would count the latter twice.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_CHECK = "interval_minutes IN (15, 30, 60)"
NEW_CHECK = "interval_minutes IN (15, 30, 60, 1440, 40320, 41760, 43200, 44640)"
COARSE = "interval_minutes >= 1440"
AGGREGATE_TABLES = ("hourly_aggregates", "monthly_aggregates")


def _minutes_check(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f('ck_interval_records_interval_minutes'), 'interval_records', type_='check')
        op.create_check_constraint(op.f('ck_interval_records_interval_minutes'), 'interval_records', new)
        return
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        changed = bind.execute(
            sa.text("UPDATE sqlite_master SET sql = replace(sql, :old, :new) "
                    "WHERE type = 'table' AND name = 'interval_records' AND instr(sql, :old) > 0"),
            {"old": old, "new": new},
        ).rowcount
        if changed != 1:
            raise RuntimeError(f"interval_records has no CHECK ({old}): the schema is not the one this revision "
                               "expects")
        bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")  # other connections re-read it
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    _minutes_check(OLD_CHECK, NEW_CHECK)
    # Plain ADD COLUMN on both engines: batch mode would recreate tables that hold all history.
    op.add_column('interval_records', sa.Column('superseded', sa.Boolean(), server_default=sa.false(),
                                                nullable=False))
    op.create_index('ix_interval_records_coarse', 'interval_records', ['region', 'hour_start'], unique=False,
                    sqlite_where=sa.text(COARSE), postgresql_where=sa.text(COARSE))
    op.add_column('sources', sa.Column('preferred', sa.Boolean(), server_default=sa.false(), nullable=False))
    for table in AGGREGATE_TABLES:
        op.add_column(table, sa.Column('day_records', sa.Integer(), server_default='0', nullable=False))
        op.add_column(table, sa.Column('month_records', sa.Integer(), server_default='0', nullable=False))
    op.add_column('hourly_aggregates', sa.Column('hours_covered', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    bind = op.get_bind()
    coarse = bind.execute(sa.text(f"SELECT COUNT(*) FROM interval_records WHERE {COARSE}")).scalar_one()
    superseded = bind.execute(sa.text("SELECT COUNT(*) FROM interval_records WHERE superseded")).scalar_one()
    if coarse or superseded:
        raise RuntimeError(
            f"cannot downgrade below 0012: {coarse} day or month interval records and {superseded} superseded "
            "interval records are stored, which the earlier schema cannot hold (or would count twice); remove "
            "their sources (`vpt sources remove`) first"
        )
    op.drop_column('hourly_aggregates', 'hours_covered')
    for table in AGGREGATE_TABLES:
        op.drop_column(table, 'month_records')
        op.drop_column(table, 'day_records')
    op.drop_column('sources', 'preferred')
    op.drop_index('ix_interval_records_coarse', table_name='interval_records')
    op.drop_column('interval_records', 'superseded')
    _minutes_check(NEW_CHECK, OLD_CHECK)
