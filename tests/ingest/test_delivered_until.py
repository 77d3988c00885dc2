"""A source's delivered_until says how far it has delivered what it stores (SPEC §5's completeness per source): a
delivery whose every row is refused moves nothing, one that stores or re-delivers rows moves it to its last record."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app.db.models import Source
from tests.helpers import ingest_text

INTERVALS = ("region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
             "answered_within_sl,sl_seconds,wait_answered_seconds_sum,wait_abandoned_seconds_sum\n"
             "SE-U,q,2025-08-04T10:00:00Z,15,10,8,2,0,0,8,600,800,100\n"
             "SE-U,q,2025-08-04T10:15:00Z,15,10,8,2,0,0,8,600,800,100\n")


def delivered_until(factory, name: str) -> datetime | None:
    with factory() as session:
        source = session.scalar(select(Source).where(Source.name == name))
        assert source is not None
        return None if source.delivered_until is None else source.delivered_until.replace(tzinfo=UTC)


def test_a_delivery_whose_every_row_is_refused_does_not_move_its_sources_position(session_factory, settings):
    first = ingest_text(session_factory, settings, "intervals", INTERVALS, source="platform")
    assert first.rows_stored == 2
    assert delivered_until(session_factory, "platform") == datetime(2025, 8, 4, 10, 15, tzinfo=UTC)
    refused = ingest_text(session_factory, settings, "intervals", INTERVALS, source="other")
    assert (refused.rows_stored, refused.rows_rejected, refused.status) == (0, 2, "rejected")
    assert delivered_until(session_factory, "other") is None  # it holds no records
    again = ingest_text(session_factory, settings, "intervals", INTERVALS, source="platform")
    assert again.rows_unchanged == 2  # a re-delivery is still delivered
    assert delivered_until(session_factory, "platform") == datetime(2025, 8, 4, 10, 15, tzinfo=UTC)
