"""Request dependencies. The session dependency is the transaction boundary of a request."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.config import Settings
from app.db.session import transaction
from app.scorecard.cache import ScorecardCache
from app.scorecard.forecast_cache import ForecastHistoryCache


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings  # set in ``lifespan`` (app.api.app); State's attributes are Any
    return settings


async def current_time() -> datetime:
    """The moment a request is answered as of: a dependency, so that a test can pin it
    (``app.dependency_overrides``) instead of racing the wall clock across a minute or an hour. ``async`` only
    to skip the thread pool FastAPI runs a plain function in."""
    return datetime.now(UTC)


def get_session(request: Request) -> Iterator[Session]:
    with transaction(request.app.state.session_factory) as session:
        yield session


def get_scorecard_cache(request: Request) -> ScorecardCache:
    """The app's scorecard cache, made in ``lifespan`` (never shared with another app in the process)."""
    cache: ScorecardCache = request.app.state.scorecard_cache
    return cache


def get_forecast_history(request: Request) -> ForecastHistoryCache:
    return get_scorecard_cache(request).history


#: ``scope="function"``: the transaction commits before the response is sent. With FastAPI's default for a yield
#: dependency ("request") it committed afterwards, so a client could be told 200 for a change not yet committed (or
#: never committed, if the commit then failed), and a key it had just revoked still worked on its next request.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ScorecardCacheDep = Annotated[ScorecardCache, Depends(get_scorecard_cache)]
ForecastHistoryDep = Annotated[ForecastHistoryCache, Depends(get_forecast_history)]
NowDep = Annotated[datetime, Depends(current_time)]
