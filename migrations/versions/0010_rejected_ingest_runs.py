"""rejected ingest runs

A delivery whose rows were all rejected (rows read, none stored, updated or unchanged) gets its own run status,
``rejected``, counted per source in ``runs_rejected_total``. Such runs used to say ``succeeded``: they are
reclassified here, and the sources' run counters with them, so runs, API and metrics give one verdict.

SQLite cannot alter a CHECK constraint, and recreating ``ingest_runs`` (batch mode) would cascade-delete every
rejected row that references it. Widening the CHECK makes nothing stored invalid, so on SQLite the table's stored
definition is edited in place: the procedure SQLite documents for such changes (lang_altertable.html, "otheralter").

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_CHECK = "status IN ('running', 'succeeded', 'failed')"
NEW_CHECK = "status IN ('running', 'succeeded', 'rejected', 'failed')"
STORED_NOTHING = "status = 'succeeded' AND rows_read > 0 AND rows_stored + rows_updated + rows_unchanged = 0"


def _status_check(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f('ck_ingest_runs_status'), 'ingest_runs', type_='check')
        op.create_check_constraint(op.f('ck_ingest_runs_status'), 'ingest_runs', new)
        return
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        changed = bind.execute(
            sa.text("UPDATE sqlite_master SET sql = replace(sql, :old, :new) "
                    "WHERE type = 'table' AND name = 'ingest_runs' AND instr(sql, :old) > 0"),
            {"old": old, "new": new},
        ).rowcount
        if changed != 1:
            raise RuntimeError(f"ingest_runs has no CHECK ({old}): the schema is not the one this revision expects")
        bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")  # other connections re-read it
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    _status_check(OLD_CHECK, NEW_CHECK)
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('runs_rejected_total', sa.BigInteger(), server_default='0', nullable=False))
    op.execute(
        "UPDATE sources SET runs_rejected_total = (SELECT COUNT(*) FROM ingest_runs "
        f"WHERE ingest_runs.source_id = sources.id AND {STORED_NOTHING})"
    )
    op.execute(
        "UPDATE sources SET runs_succeeded_total = CASE WHEN runs_succeeded_total > runs_rejected_total "
        "THEN runs_succeeded_total - runs_rejected_total ELSE 0 END"
    )
    op.execute(f"UPDATE ingest_runs SET status = 'rejected' WHERE {STORED_NOTHING}")


def downgrade() -> None:
    op.execute("UPDATE sources SET runs_succeeded_total = runs_succeeded_total + runs_rejected_total")
    op.execute("UPDATE ingest_runs SET status = 'succeeded' WHERE status = 'rejected'")
    # A plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): batch mode would recreate ``sources``, which the
    # foreign keys of stored ingest runs forbid.
    op.drop_column('sources', 'runs_rejected_total')
    _status_check(NEW_CHECK, OLD_CHECK)
