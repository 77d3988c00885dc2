"""api key sources

The push sources an ingest key may write (a key with none may write every push source). A new table and
nothing else: no existing table is altered, so SQLite needs no batch recreation. Bindings are kept by source
name, without foreign keys, so removing a source never turns a bound key into an unbound one.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'api_key_sources',
        sa.Column('key_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False,
                  nullable=False),
        sa.Column('source_name', sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint('key_id', 'source_name', name=op.f('pk_api_key_sources')),
    )


def downgrade() -> None:
    op.drop_table('api_key_sources')
