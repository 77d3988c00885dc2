"""hourly aggregates covering index

Two hot reads of ``hourly_aggregates`` take a few columns of many rows of a few regions: a collaboration's
distinct hours with data in a month (every uncached scorecard: ~3 000 rows of 4 regions, ``hours_covered``) and
the forecast's sampled hours (a /metrics first scrape: four weeks of 21 regions, the offered counts). Through the
primary key or ``ix_hourly_aggregates_hour`` each row is a heap visit, and a month of one region is spread over
~450 heap pages (rows are stored hour by hour, every region's together): 3–9 ms at ten years of history (issue
15). An index holding those columns after (region, hour_start) makes both index-only scans (a vacuumed table).
Plain key columns rather than PostgreSQL's INCLUDE, so SQLite gets the same covering index.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 12:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_hourly_aggregates_region_hour_counts', 'hourly_aggregates',
                    ['region', 'hour_start', 'hours_covered', 'answered', 'abandoned', 'rejected'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_hourly_aggregates_region_hour_counts', table_name='hourly_aggregates')
