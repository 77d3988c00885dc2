"""source profiles

A source may name the import profile its deliveries are read through (issue 14 §5): a pull source's pages, a push
source's pushes that name none themselves. Only the name is stored; the profile itself lives in the package or in
VPT_PROFILES_DIR and is looked up when a delivery is read.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('sources', sa.Column('profile', sa.String(length=64), nullable=True))


def downgrade() -> None:
    # A plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): batch mode would recreate ``sources``, which the
    # foreign keys of stored ingest runs forbid.
    op.drop_column('sources', 'profile')
