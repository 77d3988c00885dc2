"""Migration 0014 (issue 15): the scorecard's month reads of the monthly roll-up use an index on ``month``.

Both monthly tables are keyed (region, ..., month), so ``WHERE month = ...`` read every stored month: at ten
years of history the answered-by query was 8 ms where it is now a fraction of one. The plans are checked on the
statements ``month_counts`` really sends, on both databases (PostgreSQL with sequential scans discouraged, since
an almost empty table would otherwise be scanned whatever the indexes).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from app.scorecard.queries import month_counts
from tests.plans import plan, statements_sent


def test_month_reads_of_the_roll_up_use_the_month_indexes(session_factory: sessionmaker[Session]) -> None:
    for months in ([date(2025, 10, 1)], [date(2025, 10, 1), date(2025, 9, 1), date(2024, 10, 1)]):
        sent = statements_sent(session_factory, lambda s, months=months: month_counts(s, months))
        assert len(sent) == 1  # whatever the number of months: the answered-by sums are joined in (issue 15)
        [(statement, params)] = sent
        chosen = plan(session_factory, statement, params)
        assert "ix_monthly_aggregates_month" in chosen, chosen
        assert "ix_monthly_answered_by_month" in chosen, chosen


def test_downgrade_drops_the_indexes(database_url: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from app.db.migrate import alembic_config

    command.downgrade(alembic_config(database_url), "0013")
    engine = create_engine(database_url)
    try:
        names = {ix["name"] for table in ("monthly_aggregates", "monthly_answered_by")
                 for ix in inspect(engine).get_indexes(table)}
        assert not names & {"ix_monthly_aggregates_month", "ix_monthly_answered_by_month"}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0013"
    finally:
        engine.dispose()
    command.upgrade(alembic_config(database_url), "head")
