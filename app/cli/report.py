"""``vpt report``: the printable monthly board report as an HTML file (open it in a browser, print to PDF).

``vpt export series|days|hours``: a region's or collaboration's monthly series, the days of a month or the hours
of a day as CSV or XLSX, the files ``GET /api/v1/{regions|collaborations}/{code}/scorecards|days|hours`` sends
with ``format=csv|xlsx``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from app.cli.base import (
    EXIT_FAILED,
    app,
    argument,
    command_lang,
    console,
    error_line,
    errors,
    fail,
    load_settings,
    session_factory,
)
from app.cli.wording import counted, say
from app.db.models import Collaboration, Region
from app.kpi.glossary import Lang, status_word
from app.reports.board import build_report
from app.reports.board_html import render_report
from app.reports.series_exports import Table, days_table, hours_table, series_table, table_csv, table_xlsx
from app.sanitize import for_terminal
from app.scorecard.breakdowns import daily, hourly, month_range, monthly_series, parse_date
from app.scorecard.service import InvalidMonth, UnknownScope, parse_month

export_app = typer.Typer(help="En regions eller samverkans månader, dagar eller timmar som CSV eller XLSX.",
                         no_args_is_help=True)
app.add_typer(export_app, name="export")


#: A command's ``--lang``: the language of its file and, from then on, of the run (``app.cli.base.command_lang``).
LangOpt = Annotated[str | None, typer.Option("--lang", help="sv eller en: rubriker och etiketter, och körningens "
                                             "språk (standard: vpt --lang)", show_default=False)]


@app.command("report", help="Skriv månadens utskrivbara styrelserapport: en A4-sida per samverkan (eller för "
             "--scope).")
def report_command(
    month: Annotated[str, typer.Argument(help="ÅÅÅÅ-MM")],
    out: Annotated[Path, typer.Option("--out", help="HTML-filen att skriva")],
    scope: Annotated[
        str | None, typer.Option("--scope", help="En region (SE-AC) eller samverkan (norra); standard: varje "
                                 "samverkan med data")
    ] = None,
    lang: LangOpt = None,
) -> None:
    """The report's ``--lang`` is the run's too: the file and the line saying it was written agree."""
    language = command_lang(lang)
    try:
        month_date = parse_month(month)
    except InvalidMonth as exc:
        raise fail(exc, 2, argument("month")) from None
    settings = load_settings()
    factory = session_factory(settings)
    try:
        with factory() as session:
            report = build_report(session, month_date, settings.definitions, datetime.now(UTC), scope)
    except UnknownScope as exc:
        error_line(exc)
        raise typer.Exit(EXIT_FAILED) from None
    html = render_report(report, language)
    _write_atomically(out, html)
    names = ", ".join(page.main.name for page in report.pages) or status_word("no_data", language)
    console.print(say("wrote_report", path=for_terminal(out), pages=counted(len(report.pages), "page"),
                      names=for_terminal(names)), highlight=False)


def lang_code(text: str) -> Lang:
    return "en" if text == "en" else "sv"



def _write_atomically(path: Path, text: str) -> None:
    """Readers never see half a report: write beside the target, then rename over it."""
    directory = path.resolve().parent
    directory.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


CodeArg = Annotated[str, typer.Argument(help="En region (SE-AC) eller samverkan (norra)")]
FormatOpt = Annotated[str, typer.Option("--format", help="csv (standard) eller xlsx")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Skriv till den här filen i stället för standard ut")]


def _kind_of(session: Session, code: str) -> str:
    if session.get(Collaboration, code) is not None:
        return "collaboration"
    if session.get(Region, code) is not None:
        return "region"
    raise UnknownScope(say("unknown_scope", code=code))


def _export(build: Callable[[Session, Lang, datetime], Table], output_format: str, lang: str | None, out: Path | None,
            what: Callable[[], str], period: str | None = None) -> None:
    """Check the options, build the table and write it: the checks of ``vpt scorecard``, the exit codes too.
    ``what`` is said once the command's ``--lang`` has set the run's language; ``period`` is the argument a bad
    month or day names (``MÅNAD``)."""
    from app.cli.data import _stdout_is_terminal, write_output

    language = command_lang(lang)
    if output_format not in ("csv", "xlsx"):
        raise fail(say("format_export"), 2, "--format")
    if output_format == "xlsx" and out is None and _stdout_is_terminal():
        raise fail(say("xlsx_to_terminal"), 2)
    settings = load_settings()
    try:
        with session_factory(settings)() as session:
            table = build(session, language, datetime.now(UTC))
    except InvalidMonth as exc:
        raise fail(exc, 2, argument(period) if period else None) from None
    except UnknownScope as exc:
        error_line(exc)
        raise typer.Exit(EXIT_FAILED) from None
    data = table_csv(table, language).encode("utf-8") if output_format == "csv" else table_xlsx(table, language)
    if write_output(data, out):
        errors.print(say("wrote_export", what=what(), rows=counted(len(table.rows), "row"), path=for_terminal(out)),
                     highlight=False)


@export_app.command("series", help="Månadsserien (13 månader som standard): en rad per månad med dess mål och "
                    "status.")
def export_series(
    code: CodeArg,
    from_month: Annotated[str | None, typer.Option("--from", help="Första månad ÅÅÅÅ-MM (standard: 12 månader "
                                                   "före --to)")] = None,
    to_month: Annotated[str | None, typer.Option("--to", help="Sista månad ÅÅÅÅ-MM (standard: denna månad)")] = None,
    output_format: FormatOpt = "csv", lang: LangOpt = None, out: OutOpt = None,
) -> None:
    def build(session: Session, language: Lang, now: datetime) -> Table:
        first, last = month_range(from_month, to_month, now)
        document = monthly_series(session, _kind_of(session, code), code, first, last, now)
        return series_table(document, now, language)

    _export(build, output_format, lang, out, lambda: say("export.series", code=for_terminal(code)))


@export_app.command("days", help="Månadens dagar (svensk tid): en rad per dag.")
def export_days(code: CodeArg, month: Annotated[str, typer.Argument(help="ÅÅÅÅ-MM")],
                output_format: FormatOpt = "csv", lang: LangOpt = None, out: OutOpt = None) -> None:
    def build(session: Session, language: Lang, _now: datetime) -> Table:
        return days_table(daily(session, _kind_of(session, code), code, parse_month(month)), language)

    _export(build, output_format, lang, out,
            lambda: say("export.days", month=for_terminal(month), code=for_terminal(code)), "month")


@export_app.command("hours", help="Dygnets timmar i svensk tid (23–25): en rad per timme.")
def export_hours(code: CodeArg, day: Annotated[str, typer.Argument(help="ÅÅÅÅ-MM-DD")],
                 output_format: FormatOpt = "csv", lang: LangOpt = None, out: OutOpt = None) -> None:
    def build(session: Session, language: Lang, _now: datetime) -> Table:
        return hours_table(hourly(session, _kind_of(session, code), code, parse_date(day)), language)

    _export(build, output_format, lang, out,
            lambda: say("export.hours", day=for_terminal(day), code=for_terminal(code)), "day")
