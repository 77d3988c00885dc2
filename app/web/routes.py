"""The pages: the month's scorecard at ``/``, a region's or collaboration's page, its hours of a day, and the
board report and the exports for a signed-in browser.

The same figures as the API: the month comes from the app's scorecard cache, the series and charts from the board
report's builders, the days and hours from the breakdowns.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy.orm import Session

from app.errors import VptError
from app.kpi.glossary import Lang
from app.kpi.localtime import STOCKHOLM, local_month_bounds, next_month, previous_month
from app.kpi.numbers import number
from app.reports.board import build_report
from app.reports.board_html import chart_for, render_report
from app.reports.exports import scorecard_csv, scorecard_xlsx
from app.reports.source_words import sources_label
from app.reports.svg import render_chart
from app.sanitize import clean
from app.scorecard.breakdowns import daily, hourly, parse_date, resolve_scope
from app.staffing.service import staffing_advice
from app.web import views
from app.web.access import Viewer
from app.web.pages import (
    KINDS,
    Now,
    PageError,
    checked_code,
    common,
    html_page,
    link,
    month_of,
    page,
    settings_of,
)
from app.web.staffing import StaffingView, staffing_view, unavailable_view
from app.web.texts import word

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def scorecard_page(request: Request, now: datetime = Now) -> Response:
    def build(session: Session, viewer: Viewer, lang: Lang) -> Response:
        settings = settings_of(request)
        month = month_of(request.query_params.get("month"), now)
        cached = request.app.state.scorecard_cache.get(session, month, settings.definitions, now,
                                                       version_ttl=settings.scorecard_version_ttl_seconds)
        document = cached.document
        start, end = local_month_bounds(month)
        in_progress = start <= now < end
        key = document.month
        suffix = "" if lang == "sv" else "&lang=en"
        links = {
            "report": f"/report/{key}" + (f"?lang={lang}" if lang != "sv" else ""),
            "csv": f"/exports/{key}.csv" + (f"?lang={lang}" if lang != "sv" else ""),
            "xlsx": f"/exports/{key}.xlsx" + (f"?lang={lang}" if lang != "sv" else ""),
            "api_json": f"/api/v1/scorecards/{key}", "api_csv": f"/api/v1/scorecards/{key}?format=csv{suffix}",
        }
        return html_page(
            request, "scorecard.html", title=word("scorecard_for", lang, month=views.month_title(month, lang)),
            month=key, month_title=views.month_title(month, lang), in_progress=in_progress, closed=document.closed,
            rows=views.scorecard_rows(document, lang), legend=views.legend(lang, in_progress), links=links,
            changes=views.changes_against(document, lang), sources_label=sources_label(lang),
            headline=views.HEADLINE, kpi=lambda k: views.kpi_label(k, lang),
            column=lambda k: views.column_label(k, lang),
            previous=link(request, month=previous_month(month).strftime("%Y-%m")),
            next=link(request, month=next_month(month).strftime("%Y-%m")),
            updated=views.moment_text(now, lang), **common(request, lang, viewer),
        )

    return page(request, build)


@router.get("/regions/{code}", response_class=HTMLResponse)
@router.get("/collaborations/{code}", response_class=HTMLResponse)
def scope_page(request: Request, code: str, now: datetime = Now) -> Response:
    kinds = request.url.path.split("/")[1]

    def build(session: Session, viewer: Viewer, lang: Lang) -> Response:
        kind = KINDS[kinds]
        checked_code(code)
        name, regions = resolve_scope(session, kind, code)
        month = month_of(request.query_params.get("month"), now)
        report = build_report(session, month, settings_of(request).definitions, now, code,
                              history=request.app.state.scorecard_cache.history)
        page = report.pages[0]
        charts = [Markup(render_chart(chart_for(page, kpi, lang)))  # noqa: S704  # svg.py escapes every text
                  for kpi in views.HEADLINE]
        key = month.strftime("%Y-%m")
        main = page.main
        return html_page(
            request, "scope.html", title=f"{clean(name, 200)} – {views.month_title(month, lang)}",
            name=clean(name, 200), code=clean(code), kind=kind, month=key,
            month_title=views.month_title(month, lang), in_progress=report.in_progress,
            cells={k: views.with_delta(views.cell(k, main.kpis, main.targets.get(k), lang), k,
                                       None if main.delta is None else main.delta.get(k), lang)
                   for k in views.HEADLINE},
            changes=views.report_changes_against(report, lang)
            if main.delta is not None and any(main.delta.get(k) is not None for k in views.HEADLINE) else None,
            offered=number(main.kpis.offered, lang) if main.kpis is not None else "–",
            answered=number(main.kpis.answered, lang) if main.kpis is not None else "–",
            forecast=page.forecast, forecast_rest=number(page.forecast.expected_remaining_offered, lang)
            if page.forecast else "", forecast_total=number(page.forecast.expected_total_offered, lang)
            if page.forecast else "",
            needed={k: cell for k in views.HEADLINE
                    if (cell := views.needed_cell(main.targets.get(k), lang)) is not None},
            sources=views.source_texts(page.completeness.sources, lang), sources_label=sources_label(lang),
            members=[(clean(m.scope), clean(m.name, 200), views.source_texts(m.sources, lang)) for m in page.members]
            if kind == "collaboration" else [], regions=regions, charts=charts, series=views.series_rows(page, lang),
            days=views.day_rows(daily(session, kind, code, month), lang),
            legend=views.legend(lang, report.in_progress), headline=views.HEADLINE,
            kpi=lambda k: views.kpi_label(k, lang), column=lambda k: views.column_label(k, lang),
            report=f"/report/{key}?" + urlencode({"scope": code} | ({"lang": lang} if lang != "sv" else {})),
            api_series=f"/api/v1/{kinds}/{quote(code)}/scorecards",
            api_days=f"/api/v1/{kinds}/{quote(code)}/days?month={key}",
            day_link=lambda day: link(request, f"/{kinds}/{quote(code)}/days/{day}", month=None),
            previous=link(request, month=previous_month(month).strftime("%Y-%m")),
            next=link(request, month=next_month(month).strftime("%Y-%m")),
            staffing=_staffing(session, kind, code, kinds, now, lang) if report.in_progress else None,
            **common(request, lang, viewer),
        )

    return page(request, build)


def _staffing(session: Session, kind: str, code: str, kinds: str, now: datetime, lang: Lang) -> StaffingView:
    """Today's staffing advice (the API's ``/staffing``): shown with the month in progress only."""
    today = now.astimezone(STOCKHOLM).date()
    api = f"/api/v1/{kinds}/{quote(code)}/staffing?date={today.isoformat()}"
    try:
        advice = staffing_advice(session, kind, code, today, now)
    except VptError as error:  # the rest of the page stands without it
        return unavailable_view(error.message, lang, api)
    return staffing_view(advice, lang, api)


@router.get("/regions/{code}/days/{day}", response_class=HTMLResponse)
@router.get("/collaborations/{code}/days/{day}", response_class=HTMLResponse)
def hours_page(request: Request, code: str, day: str) -> Response:
    kinds = request.url.path.split("/")[1]

    def build(session: Session, viewer: Viewer, lang: Lang) -> Response:
        kind = KINDS[kinds]
        checked_code(code)
        try:
            when = parse_date(day)
        except VptError:
            raise PageError(400, "bad_date") from None
        hours = hourly(session, kind, code, when)
        return html_page(
            request, "hours.html", title=f"{clean(hours['name'], 200)} – {when.isoformat()}",
            name=clean(hours["name"], 200), code=clean(code), day=when.isoformat(),
            rows=views.hour_rows(hours, lang), kpi=lambda k: views.kpi_label(k, lang),
            scope_link=link(request, f"/{kinds}/{quote(code)}", month=when.strftime("%Y-%m")),
            api_hours=f"/api/v1/{kinds}/{quote(code)}/hours?date={when.isoformat()}",
            **common(request, lang, viewer),
        )

    return page(request, build)


@router.get("/report/{month}", response_class=HTMLResponse)
def report_page(request: Request, month: str, now: datetime = Now) -> Response:
    """The board report (the API's ``/api/v1/reports/{month}``) for a signed-in browser."""

    def build(session: Session, viewer: Viewer, lang: Lang) -> Response:
        scope = request.query_params.get("scope")
        if scope is not None:
            checked_code(scope)
        report = build_report(session, month_of(month, now), settings_of(request).definitions, now, scope,
                              history=request.app.state.scorecard_cache.history)
        return HTMLResponse(render_report(report, lang), headers={"Cache-Control": "no-store"})

    return page(request, build)


@router.get("/exports/{name}", response_class=Response)
def export_file(request: Request, name: str, now: datetime = Now) -> Response:
    """The scorecard as CSV or XLSX (the API's ``?format=``) for a signed-in browser: ``2025-10.csv``."""

    def build(session: Session, viewer: Viewer, lang: Lang) -> Response:
        stem, _, extension = name.rpartition(".")
        if extension not in ("csv", "xlsx"):
            raise PageError(404, "not_found")
        month = month_of(stem, now)
        settings = settings_of(request)
        document = request.app.state.scorecard_cache.get(session, month, settings.definitions, now,
                                                         version_ttl=settings.scorecard_version_ttl_seconds).document
        filename = f"{'styrkort' if lang == 'sv' else 'scorecard'}-{document.month}.{extension}"
        headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
        if extension == "csv":
            return Response(scorecard_csv(document, lang).encode(), media_type="text/csv; charset=utf-8",
                            headers=headers)
        return Response(scorecard_xlsx(document, lang), headers=headers,
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    return page(request, build)
