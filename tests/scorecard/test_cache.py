"""The scorecard cache gives exactly what ``monthly_scorecard`` gives, and the same bytes FastAPI would send.

A closed month is reused until the data version moves (an ingest run, a target version, definitions); the
month in progress is computed as of the start of the minute and reused within it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.api.routers.scorecards import scorecard_json
from app.api.schemas import Scorecard
from app.config import Settings
from app.db.models import TargetVersion
from app.db.session import transaction
from app.scorecard.cache import ScorecardCache
from app.scorecard.document import ScorecardDocument
from app.scorecard.service import monthly_scorecard
from tests.helpers import ingest, ingest_text

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
OCTOBER = date(2025, 10, 1)
CLOSED_NOW = datetime(2025, 12, 3, 9, 30, 12, tzinfo=UTC)
IN_PROGRESS_NOW = datetime(2025, 10, 20, 12, 34, 56, 789, tzinfo=UTC)
HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"


def _fastapi_body(document: ScorecardDocument) -> bytes:
    """What the route sent before the cache: the document returned through ``response_model``."""
    app = FastAPI()

    @app.get("/s", response_model=Scorecard, response_model_exclude_unset=True)
    def route() -> Any:
        return document

    with TestClient(app) as client:
        return client.get("/s").content


def _uncached(factory: sessionmaker[Session], settings: Settings, month: date, now: datetime) -> ScorecardDocument:
    with factory() as session:
        return monthly_scorecard(session, month, settings.definitions, now)


def test_the_cached_body_is_the_bytes_fastapi_sends(session_factory: sessionmaker[Session], settings: Settings) -> None:
    ingest(session_factory, settings, "calls", SAMPLES / "calls_october.csv")
    for now in (CLOSED_NOW, IN_PROGRESS_NOW):
        document = _uncached(session_factory, settings, OCTOBER, now)
        assert document.scopes
        assert scorecard_json(document) == _fastapi_body(document)


def test_a_closed_month_is_reused_until_the_data_version_moves(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    ingest(session_factory, settings, "calls", SAMPLES / "calls_october.csv")
    cache = ScorecardCache()
    with session_factory() as session:
        first = cache.get(session, OCTOBER, settings.definitions, CLOSED_NOW)
    assert first.document == _uncached(session_factory, settings, OCTOBER, CLOSED_NOW)
    with session_factory() as session:
        assert cache.get(session, OCTOBER, settings.definitions, CLOSED_NOW + timedelta(days=3)) is first
    assert (cache.hits, cache.misses) == (1, 1)

    ingest_text(session_factory, settings, "calls", HEADER + "late1,SE-AC,vpt,2025-10-02T10:00:00Z,answered,"
                                                             "2025-10-02T10:01:00Z,2025-10-02T10:09:00Z\n")
    later = CLOSED_NOW + timedelta(days=4)
    with session_factory() as session:
        after_ingest = cache.get(session, OCTOBER, settings.definitions, later)
    assert after_ingest is not first and after_ingest.document == _uncached(session_factory, settings, OCTOBER, later)
    offered = {s.scope: s.kpis.offered for s in after_ingest.document.scopes}
    assert offered["SE-AC"] == {s.scope: s.kpis.offered for s in first.document.scopes}["SE-AC"] + 1

    with transaction(session_factory) as session:
        session.add(TargetVersion(scope_kind="region", scope_code="SE-AC", kpi="answer_rate", comparator=">=",
                                  value=Decimal("0.95"), valid_from=date(2025, 1, 1), set_by="test", reason="test"))
    with session_factory() as session:
        after_target = cache.get(session, OCTOBER, settings.definitions, later)
    assert after_target is not after_ingest
    assert after_target.document == _uncached(session_factory, settings, OCTOBER, later)
    se_ac = next(s for s in after_target.document.scopes if s.scope == "SE-AC")
    assert next(t for t in se_ac.targets if t.kpi == "answer_rate").value == 0.95


def test_with_a_version_ttl_an_ingest_shows_once_the_ttl_has_passed(
    session_factory: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API's default: the version is re-read at most once a second, so a cached request makes no database
    round trip; an ingest shows at the first request after the TTL, never later."""
    clock = [1000.0]
    monkeypatch.setattr("app.scorecard.cache.time.monotonic", lambda: clock[0])
    ingest(session_factory, settings, "calls", SAMPLES / "calls_october.csv")
    cache = ScorecardCache()
    with session_factory() as session:
        first = cache.get(session, OCTOBER, settings.definitions, CLOSED_NOW, version_ttl=1.0)
    ingest_text(session_factory, settings, "calls", HEADER + "late2,SE-AC,vpt,2025-10-02T10:00:00Z,answered,"
                                                             "2025-10-02T10:01:00Z,2025-10-02T10:09:00Z\n")
    clock[0] += 0.5
    with session_factory() as session:
        assert cache.get(session, OCTOBER, settings.definitions, CLOSED_NOW, version_ttl=1.0) is first  # within
    clock[0] += 0.6
    with session_factory() as session:
        fresh = cache.get(session, OCTOBER, settings.definitions, CLOSED_NOW, version_ttl=1.0)
    assert fresh is not first
    assert fresh.document == _uncached(session_factory, settings, OCTOBER, CLOSED_NOW)


def test_the_month_in_progress_is_computed_as_of_the_minute_and_reused_within_it(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    ingest(session_factory, settings, "calls", SAMPLES / "calls_october.csv")
    cache = ScorecardCache()
    minute = IN_PROGRESS_NOW.replace(second=0, microsecond=0)
    with session_factory() as session:
        entry = cache.get(session, OCTOBER, settings.definitions, IN_PROGRESS_NOW)
        assert cache.get(session, OCTOBER, settings.definitions, minute + timedelta(seconds=59)) is entry
        next_minute = cache.get(session, OCTOBER, settings.definitions, minute + timedelta(seconds=60))
    assert entry.document == _uncached(session_factory, settings, OCTOBER, minute)
    assert entry.document.closed is False and entry.document.generated_at == "2025-10-20T12:34:00Z"
    assert next_minute is not entry
    assert next_minute.document == _uncached(session_factory, settings, OCTOBER, minute + timedelta(seconds=60))


def test_the_api_serves_new_data_at_once(session_factory: sessionmaker[Session], settings: Settings) -> None:
    from tests.faults.support import public_read

    ingest(session_factory, settings, "calls", SAMPLES / "calls_october.csv")
    with TestClient(create_app(public_read(settings))) as client:
        first = client.get("/api/v1/scorecards/2025-10")
        assert first.status_code == 200 and first.headers["content-type"] == "application/json"
        assert client.get("/api/v1/scorecards/2025-10").json() == first.json()  # reused: even generated_at
        ingest_text(session_factory, settings, "calls", HEADER + "late1,SE-AC,vpt,2025-10-02T10:00:00Z,answered,"
                                                                 "2025-10-02T10:01:00Z,2025-10-02T10:09:00Z\n")
        second = client.get("/api/v1/scorecards/2025-10").json()
        csv = client.get("/api/v1/scorecards/2025-10", params={"format": "csv"})
    offered = {s["scope"]: s["kpis"]["offered"] for s in second["scopes"]}
    assert offered["SE-AC"] == {s["scope"]: s["kpis"]["offered"] for s in first.json()["scopes"]}["SE-AC"] + 1
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
