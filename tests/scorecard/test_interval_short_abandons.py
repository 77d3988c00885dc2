"""Interval reports whose short abandons are split off (SPEC §4 with short_abandon_seconds > 0), stored and read back
on both databases: the platform's abandoned wait sum holds the short abandons' waits too, so the other abandoned
calls' waits are unknown and mean_wait_all is not computed, where it was once (10200 + 300) / 19."""

from __future__ import annotations

import pytest

from app.config import Settings
from app.db.session import make_engine, make_session_factory
from tests.helpers import ingest_text, scorecard

HEADER = ("region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
          "answered_within_sl,sl_seconds,wait_answered_seconds_sum,wait_abandoned_seconds_sum\n")
# SE-K: 17 answered waiting 10200 s; 3 abandoned, 1 of them short, 300 s together. SE-I: its only abandon is short.
ROWS = HEADER + ("SE-K,,2025-05-06T10:00:00,60,20,17,3,1,0,17,600,10200,300\n"
                 "SE-I,,2025-05-06T10:00:00,60,18,17,1,1,0,17,600,10200,3\n")


@pytest.fixture
def with_threshold(database_url):
    settings = Settings(database_url=database_url, short_abandon_seconds=5, _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(settings)
    yield settings, make_session_factory(engine)
    engine.dispose()


def test_split_off_short_abandons_leave_the_other_abandoned_waits_unknown(with_threshold):
    settings, factory = with_threshold
    ingest_text(factory, settings, "intervals", ROWS)
    document = scorecard(factory, settings, "2025-05")
    k = document.scope("region", "SE-K").kpis
    assert (k.offered, k.answered, k.abandoned, k.short_abandons) == (19, 17, 2, 1)
    assert k.mean_wait == pytest.approx(10200 / 17)  # the answered calls' waits are known
    assert k.mean_wait_all is None  # not (10200 + 300) / 19: the 300 s hold the short abandon's wait
    notes = document.scope("region", "SE-K").data_quality
    assert any("short abandons inside the abandoned wait sum" in note and "cover 2 calls" in note for note in notes)
    only_short = document.scope("region", "SE-I").kpis  # no abandoned call left whose wait is unknown
    assert (only_short.abandoned, only_short.short_abandons) == (0, 1)
    assert only_short.mean_wait_all == pytest.approx(10200 / 17)


def test_without_a_threshold_the_abandoned_wait_sum_is_used_as_it_is(session_factory, settings):
    ingest_text(session_factory, settings, "intervals", ROWS)
    k = scorecard(session_factory, settings, "2025-05").scope("region", "SE-K").kpis
    assert (k.offered, k.abandoned, k.short_abandons) == (20, 3, 0)
    assert k.mean_wait_all == pytest.approx(10500 / 20)
