"""The scorecard cache is sized by bytes (issue 15): ten years of months fit, and it evicts by bytes, oldest first."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session, sessionmaker

from app.api.routers.scorecards import scorecard_json
from app.config import Settings
from app.scorecard.cache import ScorecardCache, document_bytes
from tests.helpers import ingest
from tests.scorecard.test_cache import SAMPLES

NOW = datetime(2025, 12, 3, 9, 30, tzinfo=UTC)
MONTHS = (date(2025, 8, 1), date(2025, 9, 1), date(2025, 10, 1))


def test_entries_are_evicted_by_bytes_oldest_first(session_factory: sessionmaker[Session], settings: Settings) -> None:
    ingest(session_factory, settings, "calls", SAMPLES / "calls_october.csv")
    roomy = ScorecardCache(max_bytes=10**9)
    with session_factory() as session:
        entries = [roomy.get(session, month, settings.definitions, NOW) for month in MONTHS]
    assert len(roomy) == 3 and roomy.bytes == sum(entry.size for entry in entries)
    october = entries[2]
    assert october.size == document_bytes(october.document) > entries[0].size  # 22 scopes against none
    body = october.rendered("json", scorecard_json)
    assert roomy.bytes == sum(entry.size for entry in entries) and october.size == document_bytes(
        october.document) + len(body)

    # room for October with its JSON and one empty month: the two older entries cannot both stay
    tight = ScorecardCache(max_bytes=october.size + entries[0].size)
    with session_factory() as session:
        for month in MONTHS:
            tight.get(session, month, settings.definitions, NOW)
        assert len(tight) == 3  # October without its JSON still fits beside both empty months
        tight.get(session, MONTHS[2], settings.definitions, NOW).rendered("json", scorecard_json)
        assert len(tight) == 2 and tight.bytes <= tight.max_bytes  # August, the least recently used, went
        assert tight.get(session, MONTHS[1], settings.definitions, NOW) is not None and tight.hits == 2
        tight.get(session, MONTHS[0], settings.definitions, NOW)
    assert tight.misses == 4  # August was computed again


def test_the_default_holds_ten_years_of_months_with_their_json() -> None:
    """A 21-region month is 22 scopes (the regions and a collaboration) and ~50 kB of JSON."""
    per_month = ScorecardCache().max_bytes // 120
    assert Settings(_env_file=None).scorecard_cache_bytes == ScorecardCache().max_bytes  # type: ignore[call-arg]
    assert per_month > 2_000 + 6_000 * 22 + 60_000
