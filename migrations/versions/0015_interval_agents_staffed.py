"""interval agents staffed

An interval record may carry the staffed positions the platform reports (``agents_staffed``, the average over the
interval: issue 17), so the staffing advice can show the difference to plan. A nullable column: stored records have
none, and no KPI or aggregate reads it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 11:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('interval_records', sa.Column('agents_staffed', sa.Float(), nullable=True))


def downgrade() -> None:
    # A plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): batch mode would copy the whole (large) table.
    op.drop_column('interval_records', 'agents_staffed')
