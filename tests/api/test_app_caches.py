"""Each app (and each worker) has its own caches, made in its lifespan: two apps in one process on the same
database never serve each other's entries (issue 13). Both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.api.deps import current_time
from app.config import Settings
from app.kpi.localtime import floor_hour, local_month_bounds, local_month_of
from tests.faults.support import public_read
from tests.helpers import ingest, ingest_text

HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"


def _call(call_id: str, arrived: datetime, region: str = "SE-Z") -> str:
    return f"{call_id},{region},q,{arrived.isoformat()},answered,{(arrived + timedelta(seconds=30)).isoformat()},\n"


def _offered(client: TestClient, month: str, code: str) -> int:
    response = client.get(f"/api/v1/scorecards/{month}")
    assert response.status_code == 200, response.text
    return next(s["kpis"]["offered"] for s in response.json()["scopes"] if s["scope"] == code)


def test_two_apps_do_not_share_scorecards(session_factory: sessionmaker[Session], settings: Settings,
                                          fixtures_dir: Path) -> None:
    """With the production version TTL, an app trusts the data version it read for a minute; a second app in
    the same process has read nothing yet, so it sees a later ingest at once."""
    ingest(session_factory, settings, "calls", fixtures_dir / "calls_october.csv")
    slow = public_read(settings.model_copy(update={"scorecard_version_ttl_seconds": 60}))
    with TestClient(create_app(slow)) as first, TestClient(create_app(slow)) as second:
        assert first.app.state.scorecard_cache is not second.app.state.scorecard_cache  # type: ignore[attr-defined]
        before = _offered(first, "2025-10", "SE-AC")
        late = _call("late", datetime(2025, 10, 2, 10, tzinfo=UTC), "SE-AC")
        ingest_text(session_factory, settings, "calls", HEADER + late)
        assert _offered(second, "2025-10", "SE-AC") == before + 1
        assert _offered(first, "2025-10", "SE-AC") == before  # its own entry, within its TTL


def test_two_apps_do_not_share_the_forecast_history(session_factory: sessionmaker[Session],
                                                    settings: Settings) -> None:
    """The forecast of the month in progress samples the same weekday and hour of past weeks; an app keeps
    what it sampled for a few minutes, another app samples afresh.

    Both apps answer as of one pinned moment: the hour in progress counts with the share of it still to come,
    so a minute that turned between two requests (likelier on a loaded machine) changed the figure by itself."""
    now = datetime.now(UTC)
    month_start, _ = local_month_bounds(local_month_of(now))
    history_start = floor_hour(now) - timedelta(days=8)
    rows = [_call(f"h{n}", history_start + timedelta(hours=n)) for n in range(7 * 24)]  # a week of history
    rows.append(_call("now", max(month_start, now - timedelta(minutes=1))))  # data this month
    ingest_text(session_factory, settings, "calls", HEADER + "".join(rows))
    month = local_month_of(now).strftime("%Y-%m")
    app_settings = public_read(settings)
    with TestClient(create_app(app_settings)) as first, TestClient(create_app(app_settings)) as second:
        for client in (first, second):
            client.app.dependency_overrides[current_time] = lambda: now  # type: ignore[attr-defined]
        expected_before = _expected_rest(first, month)
        # ten more calls in every hour around the same hour a week ago (whatever the DST offset then)
        more = [_call(f"m{hour}-{n}", floor_hour(now) - timedelta(days=7, hours=hour) + timedelta(minutes=n))
                for hour in range(-2, 3) for n in range(10)]
        ingest_text(session_factory, settings, "calls", HEADER + "".join(more))
        assert _expected_rest(second, month) > expected_before
        assert _expected_rest(first, month) == expected_before  # its own sampled hours, kept a few minutes


def _expected_rest(client: TestClient, month: str) -> float:
    response = client.get(f"/api/v1/scorecards/{month}")
    assert response.status_code == 200, response.text
    scope = next(s for s in response.json()["scopes"] if s["scope"] == "SE-Z")
    assert scope["forecast"] is not None, scope
    return float(scope["forecast"]["expected_remaining_offered"])
