"""monthly answered-by by month

``monthly_answered_by``'s key is (region, answered_by_region, month), so the scorecard's and the metrics'
queries of one month (``WHERE month = ...``) read the whole table, which grows with every month of history
(3 ms at one year, 25 ms at ten: issue 15). An index on ``month`` makes them read that month's rows only, as
migration 0002 did for ``hourly_answered_by``. ``monthly_aggregates`` (key (region, month)) had the same
pattern: its month query was a sequential scan of every stored month (EXPLAIN at ten years); it gets the same
index.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 08:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_monthly_answered_by_month', 'monthly_answered_by', ['month'], unique=False)
    op.create_index('ix_monthly_aggregates_month', 'monthly_aggregates', ['month'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_monthly_aggregates_month', table_name='monthly_aggregates')
    op.drop_index('ix_monthly_answered_by_month', table_name='monthly_answered_by')
