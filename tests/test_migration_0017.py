"""Migration 0017: ``source_month_records`` is made and filled from the records already stored, with SQL of its own,
equal to what ingest keeps (calls of two sources across a local month boundary, interval records of which some are
superseded). Both databases."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.migrate import alembic_config
from app.db.session import transaction
from app.ingest.conflicts import prefer_source
from tests.scorecard.test_month_sources import INTERVALS, OCTOBER, calls, counts, deliver


def test_the_upgrade_counts_the_stored_records_as_ingest_does(
    database_url: str, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    deliver(session_factory, settings, "alpha", calls(("a1", "SE-AC", "2025-10-31T23:30:00+01:00"),
                                                      ("a2", "SE-AC", "2025-11-01T00:30:00+01:00"),
                                                      ("a3", "SE-BD", "2025-03-30T02:30:00+01:00")))
    deliver(session_factory, settings, "beta", calls(("b1", "SE-AC", "2025-10-01T00:10:00+02:00")))
    row = "SE-Z,q1,{},15,3,2,1,0,0,2,600,60\n"
    deliver(session_factory, settings, "loser", INTERVALS + row.format("2025-10-10T10:00:00+02:00")
            + row.format("2025-10-11T10:00:00+02:00"), "intervals")
    deliver(session_factory, settings, "winner", INTERVALS + row.format("2025-09-30T23:45:00+02:00"), "intervals")
    with transaction(session_factory) as session:
        prefer_source(session.connection(), "winner", True)
    deliver(session_factory, settings, "winner", INTERVALS + row.format("2025-10-10T10:00:00+02:00"), "intervals")
    kept = counts(session_factory)
    assert len(kept) == 7 and kept[("loser", "SE-Z", OCTOBER)] == (0, 1), kept  # one of its two superseded

    command.downgrade(alembic_config(database_url), "0016")
    engine = create_engine(database_url)
    try:
        assert "source_month_records" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    command.upgrade(alembic_config(database_url), "head")
    assert counts(session_factory) == kept
