"""Staffing advice per local hour for a region or collaboration (SPEC §7, issue 17)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from app.api.alerts_schemas import NO_CONTROL_CHARS
from app.api.auth import require_scope
from app.api.deps import ForecastHistoryDep, SessionDep
from app.api.schemas import ErrorBody
from app.api.staffing_schemas import StaffingAdviceOut
from app.kpi.localtime import STOCKHOLM
from app.scorecard.breakdowns import parse_date
from app.staffing.document import advice_json
from app.staffing.service import staffing_advice

router = APIRouter(prefix="/api/v1", tags=["staffing"], dependencies=[Depends(require_scope("read"))])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such region or collaboration"},
    422: {"model": ErrorBody, "description": "The date is malformed, out of range or more than 62 days ahead, or the "
          "code is longer than 32 characters or holds control characters"},
}
Code = Annotated[str, Path(max_length=32, pattern=NO_CONTROL_CHARS,
                           description="Region code (SE-AC) or collaboration code (norra)")]
Day = Annotated[str | None, Query(alias="date", max_length=10,
                                  description="Local date, YYYY-MM-DD (default: today); advice runs from it (or from "
                                  "now) to the end of its month", examples=["2026-12-08"])]


def _add_route(kind: str, prefix: str) -> None:
    def advice(session: SessionDep, history: ForecastHistoryDep, code: Code, day: Day = None) -> dict[str, Any]:
        now = datetime.now(UTC)
        wanted = parse_date(day) if day is not None else now.astimezone(STOCKHOLM).date()
        return advice_json(staffing_advice(session, kind, code, wanted, now, history))

    router.add_api_route(f"/{prefix}/{{code}}/staffing", advice, methods=["GET"], response_model=StaffingAdviceOut,
                         responses=ERRORS, summary=f"Nurses needed per hour for a {kind} (Erlang A)",
                         name=f"{kind}_staffing")


_add_route("region", "regions")
_add_route("collaboration", "collaborations")
