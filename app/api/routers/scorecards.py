"""The monthly scorecard: JSON (the document of ``monthly_scorecard``), CSV or XLSX (SPEC §7)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from app.api.auth import require_scope
from app.api.deps import NowDep, ScorecardCacheDep, SessionDep, SettingsDep
from app.api.schemas import ErrorBody, Scorecard
from app.kpi.glossary import Lang
from app.reports.exports import scorecard_csv, scorecard_xlsx
from app.scorecard.document import ScorecardDocument
from app.scorecard.service import parse_month

router = APIRouter(prefix="/api/v1", tags=["scorecards"], dependencies=[Depends(require_scope("read"))])

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_STEM = {"sv": "styrkort", "en": "scorecard"}

EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The scorecard: JSON by default; `format=csv` or `format=xlsx` for a spreadsheet "
        "(one row per scope, headers in Swedish unless `lang=en`), sent as an attachment named "
        "`styrkort-YYYY-MM.csv|xlsx` (`scorecard-YYYY-MM.*` in English).",
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "\ufeffOmråde;Typ;Kod;Månad;Inkommande samtal;Besvarade;Svarsfrekvens (%);…\r\n"
                "Västerbotten;region;SE-AC;2025-10;9;6;66,67;…\r\n",
            },
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    },
    422: {"model": ErrorBody, "description": "The month is not YYYY-MM, or format or lang is not one of the choices"},
}


def scorecard_json(document: ScorecardDocument) -> bytes:
    """The body FastAPI sends for ``response_model=Scorecard, response_model_exclude_unset=True``, made once
    per cached document: a repeated request skips the validation and encoding of ~50 kB."""
    return Scorecard.model_validate(document, from_attributes=True).model_dump_json(
        by_alias=True, exclude_unset=True).encode()


@router.get(
    "/scorecards/{month}",
    response_model=Scorecard,
    response_model_exclude_unset=True,
    responses=EXPORT_RESPONSES,
    summary="Monthly scorecard (styrkort) of every region and collaboration with data",
)
def get_scorecard(
    session: SessionDep,
    settings: SettingsDep,
    cache: ScorecardCacheDep,
    now: NowDep,
    month: Annotated[str, Path(description="Local calendar month, YYYY-MM", examples=["2025-10"])],
    output_format: Annotated[
        Literal["json", "csv", "xlsx"],
        Query(alias="format", description="json (default), csv (UTF-8 with BOM, Excel-ready) or xlsx"),
    ] = "json",
    lang: Annotated[
        Lang,
        Query(description="Language of CSV and XLSX headers and labels: sv (default; `;` and decimal comma) or en"),
    ] = "sv",
) -> Any:
    cached = cache.get(session, parse_month(month), settings.definitions, now,
                                 version_ttl=settings.scorecard_version_ttl_seconds)
    document = cached.document
    if output_format == "json":
        return Response(cached.rendered("json", scorecard_json), media_type="application/json")
    filename = f"{FILE_STEM[lang]}-{document.month}.{output_format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if output_format == "csv":
        return Response(scorecard_csv(document, lang).encode("utf-8"), media_type=CSV_MEDIA_TYPE, headers=headers)
    return Response(scorecard_xlsx(document, lang), media_type=XLSX_MEDIA_TYPE, headers=headers)
