"""Migration 0016 (issue 15): a covering index on hourly_aggregates for the scorecard's and the forecast's reads.

A collaboration's distinct hours with data (every uncached scorecard) and the forecast's sampled offered counts (a
process's first /metrics scrape) read a few columns of thousands of rows of a few regions. Through the primary key
each row was a heap visit, a month of one region spread over ~450 heap pages at ten years (3–9 ms). With
(region, hour_start, hours_covered, answered, abandoned, rejected) in one index both are index-only scans. The
plans are checked on the statements the service really sends, on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import HourlyAggregate
from app.scorecard.offered_samples import offered_by_region_hour
from app.scorecard.queries import distinct_hours_with_data
from tests.helpers import ingest
from tests.plans import plan, statements_sent
from tests.scorecard.test_cache import SAMPLES

INDEX = "ix_hourly_aggregates_region_hour_counts"
OCTOBER = (datetime(2025, 9, 30, 22, tzinfo=UTC), datetime(2025, 10, 31, 23, tzinfo=UTC))
NORRA = ["SE-AC", "SE-BD", "SE-Y", "SE-Z"]
FILLED = (datetime(2025, 4, 30, 22, tzinfo=UTC), datetime(2025, 8, 31, 21, tzinfo=UTC))  # PostgreSQL: see _filled
JULY = (datetime(2025, 6, 30, 22, tzinfo=UTC), datetime(2025, 7, 31, 22, tzinfo=UTC))


def _filled(database_url: str) -> None:
    """PostgreSQL: four months of every region's hours (~60 000 rows, so the planner weighs the indexes as at ten
    years, where the hour index reads every region's rows), vacuumed as (auto)vacuum leaves an older month: an
    index-only scan needs the visibility map."""
    if not database_url.startswith("postgresql"):
        return
    columns = [c for c in HourlyAggregate.__table__.columns if c.name not in ("region", "hour_start")]
    values = ", ".join("NULL" if c.nullable else "1" if c.name in ("hours_covered", "answered") else "0"
                       for c in columns)
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        # the test server commits asynchronously, and VACUUM marks no page all-visible before the commit is flushed
        conn.execute(text("SET synchronous_commit = on"))
        conn.execute(text(
            f"INSERT INTO hourly_aggregates (region, hour_start, {', '.join(c.name for c in columns)}) "
            f"SELECT code, hour, {values} FROM regions, generate_series(:first, :last, interval '1 hour') AS hour"
        ), {"first": FILLED[0], "last": FILLED[1]})
        conn.execute(text("VACUUM ANALYZE hourly_aggregates"))
    engine.dispose()


def test_distinct_hours_and_forecast_samples_read_only_the_covering_index(
    session_factory: sessionmaker[Session], settings: Settings, database_url: str
) -> None:
    ingest(session_factory, settings, "calls", SAMPLES / "calls_october.csv")  # October: hours of SQLite's plans
    _filled(database_url)
    span = JULY if database_url.startswith("postgresql") else OCTOBER
    hours = [span[0] + timedelta(hours=k) for k in range(28 * 24)]
    reads = {
        "distinct hours": statements_sent(session_factory, lambda s: distinct_hours_with_data(s, NORRA, *span)),
        "forecast samples": statements_sent(session_factory, lambda s: offered_by_region_hour(s, NORRA, hours)),
    }
    postgres = database_url.startswith("postgresql")
    for name, sent in reads.items():
        [(statement, params)] = sent
        chosen = plan(session_factory, statement, params)
        wanted = f"Index Only Scan using {INDEX}" if postgres else f"COVERING INDEX {INDEX}"
        assert wanted in chosen, (name, chosen)


def test_downgrade_drops_the_index(database_url: str) -> None:
    from alembic import command

    from app.db.migrate import alembic_config

    command.downgrade(alembic_config(database_url), "0015")
    engine = create_engine(database_url)
    try:
        assert INDEX not in {ix["name"] for ix in inspect(engine).get_indexes("hourly_aggregates")}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0015"
    finally:
        engine.dispose()
    command.upgrade(alembic_config(database_url), "head")
    engine = create_engine(database_url)
    try:
        assert INDEX in {ix["name"] for ix in inspect(engine).get_indexes("hourly_aggregates")}
    finally:
        engine.dispose()

