from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Path

from app.api.deps import SessionDep, SettingsDep
from app.api.schemas import ErrorBody, Scorecard
from app.scorecard.service import monthly_scorecard, parse_month

router = APIRouter(prefix="/api/v1", tags=["scorecards"])


@router.get(
    "/scorecards/{month}",
    response_model=Scorecard,
    responses={422: {"model": ErrorBody, "description": "The month is not YYYY-MM"}},
    summary="Monthly scorecard (styrkort) of every region and collaboration with data",
)
def get_scorecard(
    session: SessionDep,
    settings: SettingsDep,
    month: str = Path(description="Local calendar month, YYYY-MM", examples=["2025-10"]),
) -> dict[str, Any]:
    return monthly_scorecard(session, parse_month(month), settings.definitions, datetime.now(UTC))
