"""A region's or collaboration's monthly series, days of a month and hours of a day (local time)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from app.api.alerts_schemas import NO_CONTROL_CHARS
from app.api.auth import require_scope
from app.api.breakdown_schemas import ScopeDays, ScopeHours, ScopeSeries
from app.api.deps import ForecastHistoryDep, SessionDep
from app.api.schemas import ErrorBody
from app.scorecard.breakdowns import daily, hourly, month_range, monthly_series, parse_date
from app.scorecard.document import SeriesDocument
from app.scorecard.service import parse_month

router = APIRouter(prefix="/api/v1", tags=["breakdowns"], dependencies=[Depends(require_scope("read"))])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such region or collaboration"},
    422: {"model": ErrorBody, "description": "A month or date is malformed, the range is too long, or the code is "
          "longer than 32 characters or holds control characters"},
}
Code = Annotated[str, Path(max_length=32, pattern=NO_CONTROL_CHARS,
                           description="Region code (SE-AC) or collaboration code (norra)")]
FromMonth = Annotated[str | None, Query(alias="from", description="First month, YYYY-MM (default: 12 months back)")]
ToMonth = Annotated[str | None, Query(alias="to", description="Last month, YYYY-MM (default: the current month)")]
Month = Annotated[str, Query(description="Local month, YYYY-MM", examples=["2025-10"])]
Day = Annotated[str, Query(description="Local date, YYYY-MM-DD", examples=["2025-10-26"])]


def _add_routes(kind: str, prefix: str) -> None:
    def series(session: SessionDep, history: ForecastHistoryDep, code: Code, first: FromMonth = None,
               last: ToMonth = None) -> SeriesDocument:
        now = datetime.now(UTC)
        start, end = month_range(first, last, now)
        return monthly_series(session, kind, code, start, end, now, history=history)

    def days(session: SessionDep, code: Code, month: Month) -> dict[str, Any]:
        return daily(session, kind, code, parse_month(month))

    def hours(session: SessionDep, code: Code, date: Day) -> dict[str, Any]:
        return hourly(session, kind, code, parse_date(date))

    router.add_api_route(f"/{prefix}/{{code}}/scorecards", series, methods=["GET"], response_model=ScopeSeries,
                         responses=ERRORS, summary=f"Monthly series of a {kind}", name=f"{kind}_series")
    router.add_api_route(f"/{prefix}/{{code}}/days", days, methods=["GET"], response_model=ScopeDays,
                         responses=ERRORS, summary=f"Days of a month for a {kind}", name=f"{kind}_days")
    router.add_api_route(f"/{prefix}/{{code}}/hours", hours, methods=["GET"], response_model=ScopeHours,
                         responses=ERRORS, summary=f"Local hours of a day for a {kind} (23–25)",
                         name=f"{kind}_hours")


_add_routes("region", "regions")
_add_routes("collaboration", "collaborations")
