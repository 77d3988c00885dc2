"""A process's first /metrics scrape in few round trips (issue 15): the names in one statement, the first hours of
all history and of both months in one, the forecast's samples as one range per region, the data version and the
stored definitions in one. 21 statements before, then 15, on both databases."""

from __future__ import annotations

from prometheus_client import generate_latest
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from tests.helpers import ingest_text
from tests.metrics.test_collector import CALLS, registry_at_now, value
from tests.metrics.test_scrape_round_trips import figures
from tests.plans import sent


def test_a_first_scrape_takes_at_most_14_statements_and_its_figures_stay(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    ingest_text(session_factory, settings, "calls", CALLS)
    registry = registry_at_now(session_factory, settings)
    with session_factory() as session, sent(session) as statements:
        generate_latest(registry)
    postgres = session_factory.kw["bind"].dialect.name == "postgresql"
    assert len(statements) <= 14, statements
    assert sum("aggregate_definitions" in sql for sql in statements) == 1, statements  # with the data version
    assert sum("min(hourly_aggregates.hour_start)" in sql for sql in statements) == 1, statements
    assert sum("FROM collaboration_members" in sql for sql in statements) == 1, statements
    assert [("FROM regions" in sql, "FROM collaborations" in sql) for sql in statements
            if "FROM collaboration_members" in sql] == [(True, True)]
    if postgres:  # the samples as a range in hour order, not a list of ~700 hours
        [samples] = [sql for sql in statements if "a.answered + a.abandoned + a.rejected" in sql]
        assert "hour_start >=" in samples and "hour_start <=" in samples and "TIMESTAMP WITH TIME ZONE[]" not in samples
        assert "ORDER BY a.hour_start" in samples and "array_agg" not in samples  # no offset per row unless holes
        assert "NUMERIC" not in samples.upper(), samples  # the hour offset in float8
    got = figures(session_factory, settings)
    ac = {"scope": "SE-AC", "scope_kind": "region"}  # the hand-checked figures of test_collector
    assert value(got, "vpt_offered_calls", **ac, window="today") == 2
    assert value(got, "vpt_offered_calls", **ac, window="month_to_date") == 3
    assert value(got, "vpt_rejected_calls", **ac, window="previous_month") == 1
    assert value(got, "vpt_mean_wait_seconds", **ac, window="month_to_date") == 90
