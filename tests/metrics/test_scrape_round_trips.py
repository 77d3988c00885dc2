"""A process's first /metrics scrape reads what its two month documents share once (issue 15): definitions,
targets, region and collaboration names and the monthly roll-up were read for the month in progress, again for
the previous month, and the names a third time for today."""

from __future__ import annotations

from prometheus_client import generate_latest
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from tests.helpers import ingest_text
from tests.metrics.test_collector import CALLS, registry_at_now, scrape
from tests.plans import sent


def figures(factory: sessionmaker[Session], settings: Settings) -> dict[object, float]:
    return {key: value for key, value in scrape(factory, settings).items()
            if key[0] != "vpt_metrics_collect_duration_seconds"}


def test_a_first_scrape_reads_shared_rows_once_and_its_figures_stay(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    ingest_text(session_factory, settings, "calls", CALLS)
    expected = figures(session_factory, settings)  # checked by hand in test_collector
    registry = registry_at_now(session_factory, settings)
    with session_factory() as session, sent(session) as statements:
        generate_latest(registry)
    assert figures(session_factory, settings) == expected
    assert len(statements) <= 21, statements  # 31 before (on SQLite)
    assert sum("FROM collaboration_members" in sql for sql in statements) == 1, statements
    assert sum("FROM monthly_aggregates" in sql for sql in statements) == 1, statements
    assert sum("FROM monthly_answered_by" in sql for sql in statements) == 1, statements
    assert sum("targets.valid_from" in sql for sql in statements) == 1, statements
