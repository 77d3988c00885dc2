"""A region's or collaboration's monthly series, days of a month and hours of a day (local time).

Each is JSON by default and a spreadsheet on request, as the monthly scorecard is: ``format=csv`` or
``format=xlsx`` (or, without ``format``, an ``Accept`` header naming ``text/csv`` or the XLSX media type),
headers in Swedish unless ``lang=en`` (``app.reports.series_exports``). The JSON is the typed models of
app.api.breakdown_schemas, which OpenAPI documents, made from the documents the spreadsheets are made from.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from app.api.alerts_schemas import NO_CONTROL_CHARS
from app.api.auth import require_scope
from app.api.breakdown_schemas import ScopeDays, ScopeHours, ScopeSeries
from app.api.deps import ForecastHistoryDep, SessionDep
from app.api.routers.scorecards import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE
from app.api.schemas import ErrorBody
from app.kpi.glossary import Lang
from app.reports.series_exports import Table, days_table, file_name, hours_table, series_table, table_csv, table_xlsx
from app.scorecard.breakdowns import daily, hourly, month_range, monthly_series, parse_date
from app.scorecard.document import SeriesDocument
from app.scorecard.service import parse_month

router = APIRouter(prefix="/api/v1", tags=["breakdowns"], dependencies=[Depends(require_scope("read"))])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such region or collaboration"},
    422: {"model": ErrorBody, "description": "A month or date is malformed, the range is too long, the code is "
          "longer than 32 characters or holds control characters, or format or lang is not one of the choices"},
}
SPREADSHEETS: dict[str, Any] = {
    "text/csv": {"schema": {"type": "string"}},
    XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
}
Code = Annotated[str, Path(max_length=32, pattern=NO_CONTROL_CHARS,
                           description="Region code (SE-AC) or collaboration code (norra)")]
FromMonth = Annotated[str | None, Query(alias="from", description="First month, YYYY-MM (default: 12 months back)")]
ToMonth = Annotated[str | None, Query(alias="to", description="Last month, YYYY-MM (default: the current month)")]
Month = Annotated[str, Query(description="Local month, YYYY-MM", examples=["2025-10"])]
Day = Annotated[str, Query(description="Local date, YYYY-MM-DD", examples=["2025-10-26"])]
Format = Annotated[Literal["json", "csv", "xlsx"] | None, Query(
    alias="format", description="json (default), csv (UTF-8 with BOM, Excel-ready) or xlsx; without it, an Accept "
    "header of text/csv or the XLSX media type chooses")]
Language = Annotated[Lang, Query(description="Language of CSV and XLSX headers and labels: sv (default; `;` and "
                                 "decimal comma) or en")]
Accept = Annotated[str | None, Header(include_in_schema=False)]


def chosen_format(output_format: str | None, accept: str | None) -> str:
    """``format`` wins; else the first spreadsheet type the Accept header names; else JSON."""
    if output_format is not None:
        return output_format
    wanted = [part.split(";")[0].strip().lower() for part in (accept or "").split(",")]
    for media in wanted:
        if media == "text/csv":
            return "csv"
        if media == XLSX_MEDIA_TYPE:
            return "xlsx"
    return "json"


def _spreadsheet(table: Table, output: str, name: str, lang: Lang) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Vary": "Accept"}
    if output == "csv":
        return Response(table_csv(table, lang).encode("utf-8"), media_type=CSV_MEDIA_TYPE, headers=headers)
    return Response(table_xlsx(table, lang), media_type=XLSX_MEDIA_TYPE, headers=headers)


def _add_routes(kind: str, prefix: str) -> None:
    def series(session: SessionDep, history: ForecastHistoryDep, code: Code, first: FromMonth = None,
               last: ToMonth = None, output_format: Format = None, lang: Language = "sv",
               accept: Accept = None) -> SeriesDocument | Response:
        now = datetime.now(UTC)
        start, end = month_range(first, last, now)
        document = monthly_series(session, kind, code, start, end, now, history=history)
        output = chosen_format(output_format, accept)
        if output == "json":
            return document
        span = (start.strftime("%Y-%m"), end.strftime("%Y-%m"))
        return _spreadsheet(series_table(document, now, lang), output, file_name("series", code, span, output, lang),
                            lang)

    def days(session: SessionDep, code: Code, month: Month, output_format: Format = None, lang: Language = "sv",
             accept: Accept = None) -> ScopeDays | Response:
        document = daily(session, kind, code, parse_month(month))
        output = chosen_format(output_format, accept)
        if output == "json":
            return ScopeDays.model_validate(document)
        return _spreadsheet(days_table(document, lang), output,
                            file_name("days", code, (document["month"],), output, lang), lang)

    def hours(session: SessionDep, code: Code, date: Day, output_format: Format = None, lang: Language = "sv",
              accept: Accept = None) -> ScopeHours | Response:
        document = hourly(session, kind, code, parse_date(date))
        output = chosen_format(output_format, accept)
        if output == "json":
            return ScopeHours.model_validate(document)
        return _spreadsheet(hours_table(document, lang), output,
                            file_name("hours", code, (document["date"],), output, lang), lang)

    responses = {**ERRORS, 200: {"content": SPREADSHEETS, "description": "JSON by default; with `format=csv|xlsx` "
                                 "(or such an Accept header) a spreadsheet sent as an attachment"}}
    router.add_api_route(f"/{prefix}/{{code}}/scorecards", series, methods=["GET"], response_model=ScopeSeries,
                         responses=responses, summary=f"Monthly series of a {kind}", name=f"{kind}_series")
    router.add_api_route(f"/{prefix}/{{code}}/days", days, methods=["GET"], response_model=ScopeDays,
                         responses=responses, summary=f"Days of a month for a {kind}", name=f"{kind}_days")
    router.add_api_route(f"/{prefix}/{{code}}/hours", hours, methods=["GET"], response_model=ScopeHours,
                         responses=responses, summary=f"Local hours of a day for a {kind} (23–25)",
                         name=f"{kind}_hours")


_add_routes("region", "regions")
_add_routes("collaboration", "collaborations")
