"""The printable monthly board report (HTML with inline SVG charts; print it or save it as PDF)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse

from app.api.alerts_schemas import NO_CONTROL_CHARS
from app.api.auth import AUTH_RESPONSES, require_scope
from app.api.deps import ForecastHistoryDep, SessionDep, SettingsDep
from app.api.schemas import ErrorBody
from app.kpi.glossary import Lang
from app.reports.board import build_report
from app.reports.board_html import render_report
from app.scorecard.service import parse_month

router = APIRouter(prefix="/api/v1", tags=["reports"], dependencies=[Depends(require_scope("read"))])

#: The error bodies are JSON (``ErrorBody``), the document HTML; a ``model`` here would be labelled text/html.
_ERROR_JSON = {"application/json": {"schema": ErrorBody.model_json_schema()}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}},
          "description": "A printable HTML document, one A4 page per scope"},
    404: {"content": _ERROR_JSON, "description": "No such region or collaboration"},
    422: {"content": _ERROR_JSON, "description": "The month is not YYYY-MM, or lang is not sv or en"},
    **{status: {"content": _ERROR_JSON, "description": response["description"]}
       for status, response in AUTH_RESPONSES.items()},
}
Month = Annotated[str, Path(description="Local calendar month, YYYY-MM", examples=["2025-10"])]
Scope = Annotated[str | None, Query(
    max_length=32, pattern=NO_CONTROL_CHARS,
    description="A region (SE-AC) or collaboration (norra); default: one page per collaboration with data (and per "
    "region with data that belongs to none)",
)]
Language = Annotated[Lang, Query(description="Language of the report: sv (default) or en")]


@router.get("/reports/{month}", response_class=HTMLResponse, responses=RESPONSES,
            summary="Printable monthly board report (HTML, A4)")
def get_report(session: SessionDep, settings: SettingsDep, history: ForecastHistoryDep, month: Month,
               scope: Scope = None, lang: Language = "sv") -> HTMLResponse:
    report = build_report(session, parse_month(month), settings.definitions, datetime.now(UTC), scope,
                          history=history)
    return HTMLResponse(render_report(report, lang))
