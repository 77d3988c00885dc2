"""/metrics reads each span's counts and its answered-by-other-region sums in one statement (issue 15): the roll-up of
the months to compute and today's hourly sums each came with a second statement for the region pairs. A process's
first scrape takes at most 15 statements (17 before), the first after an ingest 14 (16 before), on both databases,
and the figures stay the hand-checked ones of test_collector."""

from __future__ import annotations

from prometheus_client import generate_latest
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from tests.helpers import ingest_text
from tests.metrics.test_collector import CALLS, registry_at_now, value
from tests.metrics.test_scrape_round_trips import figures
from tests.plans import sent

LATE_CALL = ("call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"
             "late-1,SE-AC,,2025-10-15T09:30:00+02:00,answered,2025-10-15T09:31:00+02:00,\n")


def _counts_and_pairs_apart(statements: list[str]) -> list[str]:
    """Statements reading answered-by rows without the counts they belong to."""
    return [sql for sql in statements if "answered_by" in sql and "aggregates" not in sql]


def test_a_first_scrape_and_the_first_after_an_ingest_read_counts_and_pairs_together(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    ingest_text(session_factory, settings, "calls", CALLS)
    registry = registry_at_now(session_factory, settings)
    with session_factory() as session, sent(session) as first:
        generate_latest(registry)
    assert len(first) <= 15, first
    assert not _counts_and_pairs_apart(first), first
    ingest_text(session_factory, settings, "calls", LATE_CALL)  # a new data version: the month in progress again
    with session_factory() as session, sent(session) as after_ingest:
        generate_latest(registry)
    assert len(after_ingest) <= 14, after_ingest
    assert not _counts_and_pairs_apart(after_ingest), after_ingest
    got = figures(session_factory, settings)
    ac = {"scope": "SE-AC", "scope_kind": "region"}  # test_collector's figures, plus the late call
    assert value(got, "vpt_offered_calls", **ac, window="today") == 3
    assert value(got, "vpt_offered_calls", **ac, window="month_to_date") == 4
    assert value(got, "vpt_rejected_calls", **ac, window="previous_month") == 1
