"""Revision 0011 (ingest warnings, issue 14 §4) up and down on a database holding runs and rejected rows, on SQLite
and PostgreSQL: existing runs count no warnings, and going down keeps every run and rejected row."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlalchemy import create_engine, text

from app.db.migrate import alembic_config
from tests.test_migrations import empty_url as empty_url  # the fixture: an empty database of each kind

NOW = "2025-10-01 08:00:00+00:00"


def _columns(engine: sa.Engine, table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(engine).get_columns(table)}


def test_0011_up_and_down_keeps_runs_and_rejected_rows(empty_url):
    config = alembic_config(empty_url)
    command.upgrade(config, "0010")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (name, kind, created_at) VALUES ('files', 'file', :at)"), {"at": NOW})
        conn.execute(text(
            "INSERT INTO ingest_runs (source_id, record_kind, origin, status, started_at, rows_read, rows_stored, "
            "rows_updated, rows_unchanged, rows_rejected, hours_refreshed) "
            "SELECT id, 'calls', 'old.csv', 'succeeded', :at, 2, 1, 0, 0, 1, 1 FROM sources"), {"at": NOW})
        conn.execute(text("INSERT INTO rejected_rows (run_id, position, field, reason, raw) "
                          "SELECT id, 3, 'region', 'unknown region', '' FROM ingest_runs"))
    engine.dispose()

    command.upgrade(config, "0011")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT rows_warned, warnings FROM ingest_runs")).one() == (0, 0)
        assert conn.execute(text("SELECT warnings_total FROM sources")).scalar_one() == 0
        conn.execute(text("INSERT INTO ingest_warnings (run_id, position, record_key, field, reason) "
                          "SELECT id, 2, 'c1', 'talk_seconds', 'not a number' FROM ingest_runs"))
    assert {"id", "run_id", "position", "record_key", "field", "reason"} == _columns(engine, "ingest_warnings")
    assert [ix["name"] for ix in sa.inspect(engine).get_indexes("ingest_warnings")] == ["ix_ingest_warnings_run_id"]
    engine.dispose()

    command.downgrade(config, "0010")
    engine = create_engine(empty_url)
    assert "ingest_warnings" not in sa.inspect(engine).get_table_names()
    assert not {"rows_warned", "warnings"} & _columns(engine, "ingest_runs")
    assert "warnings_total" not in _columns(engine, "sources")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT origin, rows_rejected FROM ingest_runs")).one() == ("old.csv", 1)
        assert conn.execute(text("SELECT count(*) FROM rejected_rows")).scalar_one() == 1
    engine.dispose()

    command.upgrade(config, "0011")  # and up again
    engine = create_engine(empty_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ingest_warnings")).scalar_one() == 0
        assert conn.execute(text("SELECT warnings FROM ingest_runs")).scalar_one() == 0
    engine.dispose()
