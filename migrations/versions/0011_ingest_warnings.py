"""ingest warnings

A bad optional field no longer rejects its record (issue 14 §4): the record is stored without it and the run
keeps a warning, like a rejected row but with no text of the row (``ingest_warnings``). Runs count the records so
stored and the warnings (``ingest_runs.rows_warned``, ``ingest_runs.warnings``), sources keep a running total for
the metrics (``sources.warnings_total``). Runs before this revision had no warnings: every count starts at 0.

The columns are added with plain ALTER TABLE … ADD/DROP COLUMN (SQLite ≥ 3.35 drops one): batch mode would
recreate ``ingest_runs`` and ``sources``, which the foreign keys of stored rejected rows and runs forbid.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'ingest_warnings',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('run_id', BIG_ID, nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('record_key', sa.String(length=256), nullable=True),
        sa.Column('field', sa.String(length=64), nullable=False),
        sa.Column('reason', sa.String(length=512), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.id'], name=op.f('fk_ingest_warnings_run_id_ingest_runs'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_warnings')),
    )
    op.create_index(op.f('ix_ingest_warnings_run_id'), 'ingest_warnings', ['run_id'], unique=False)
    op.add_column('ingest_runs', sa.Column('rows_warned', sa.Integer(), server_default='0', nullable=False))
    op.add_column('ingest_runs', sa.Column('warnings', sa.Integer(), server_default='0', nullable=False))
    op.add_column('sources', sa.Column('warnings_total', sa.BigInteger(), server_default='0', nullable=False))


def downgrade() -> None:
    op.drop_column('sources', 'warnings_total')
    op.drop_column('ingest_runs', 'warnings')
    op.drop_column('ingest_runs', 'rows_warned')
    op.drop_index(op.f('ix_ingest_warnings_run_id'), table_name='ingest_warnings')
    op.drop_table('ingest_warnings')
