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

from app.cli.base import EXIT_FAILED, app, console, errors, load_settings, session_factory
from app.cli.wording import counted
from app.db.models import Collaboration, Region
from app.kpi.glossary import LANGS, Lang
from app.reports.board import build_report
from app.reports.board_html import render_report
from app.reports.series_exports import Table, days_table, hours_table, series_table, table_csv, table_xlsx
from app.sanitize import for_terminal
from app.scorecard.breakdowns import daily, hourly, month_range, monthly_series, parse_date
from app.scorecard.service import InvalidMonth, UnknownScope, parse_month

export_app = typer.Typer(help="A region's or collaboration's months, days or hours as CSV or XLSX.",
                         no_args_is_help=True)
app.add_typer(export_app, name="export")


@app.command("report")
def report_command(
    month: Annotated[str, typer.Argument(help="YYYY-MM")],
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write")],
    scope: Annotated[
        str | None, typer.Option("--scope", help="A region (SE-AC) or collaboration (norra); default: every "
                                 "collaboration with data")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="sv or en")] = "sv",
) -> None:
    """Write the printable board report of a month: one A4 page per collaboration (or the --scope asked for)."""
    if lang not in LANGS:
        errors.print("--lang must be sv or en")
        raise typer.Exit(2)
    try:
        month_date = parse_month(month)
    except InvalidMonth as exc:
        errors.print(f"[red]error[/red] {for_terminal(exc)}", highlight=False)
        raise typer.Exit(2) from None
    settings = load_settings()
    factory = session_factory(settings)
    try:
        with factory() as session:
            report = build_report(session, month_date, settings.definitions, datetime.now(UTC), scope)
    except UnknownScope as exc:
        errors.print(f"[red]error[/red] {for_terminal(exc)}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    html = render_report(report, lang_code(lang))
    _write_atomically(out, html)
    names = ", ".join(page.main.name for page in report.pages) or "no data"
    console.print(f"wrote {for_terminal(out)}: {counted(len(report.pages), 'page')} ({for_terminal(names)})",
                  highlight=False)


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


CodeArg = Annotated[str, typer.Argument(help="A region (SE-AC) or collaboration (norra)")]
FormatOpt = Annotated[str, typer.Option("--format", help="csv (default) or xlsx")]
LangOpt = Annotated[str, typer.Option("--lang", help="sv or en: headers and labels")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout")]


def _kind_of(session: Session, code: str) -> str:
    if session.get(Collaboration, code) is not None:
        return "collaboration"
    if session.get(Region, code) is not None:
        return "region"
    raise UnknownScope(f"no region or collaboration {code!r}")


def _export(build: Callable[[Session, Lang, datetime], Table], output_format: str, lang: str, out: Path | None,
            what: str) -> None:
    """Check the options, build the table and write it: the checks of ``vpt scorecard``, the exit codes too."""
    from app.cli.data import _stdout_is_terminal, write_output

    if output_format not in ("csv", "xlsx"):
        errors.print("--format must be csv or xlsx")
        raise typer.Exit(2)
    if lang not in LANGS:
        errors.print("--lang must be sv or en")
        raise typer.Exit(2)
    if output_format == "xlsx" and out is None and _stdout_is_terminal():
        errors.print("refusing to write a binary XLSX file to the terminal: use --out FILE or redirect stdout")
        raise typer.Exit(2)
    settings = load_settings()
    try:
        with session_factory(settings)() as session:
            table = build(session, lang_code(lang), datetime.now(UTC))
    except InvalidMonth as exc:
        errors.print(f"[red]error[/red] {for_terminal(exc)}", highlight=False)
        raise typer.Exit(2) from None
    except UnknownScope as exc:
        errors.print(f"[red]error[/red] {for_terminal(exc)}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    data = table_csv(table, lang_code(lang)).encode("utf-8") if output_format == "csv" else table_xlsx(
        table, lang_code(lang))
    if write_output(data, out):
        errors.print(f"wrote {what} ({counted(len(table.rows), 'row')}) to {for_terminal(out)}", highlight=False)


@export_app.command("series")
def export_series(
    code: CodeArg,
    from_month: Annotated[str | None, typer.Option("--from", help="First month YYYY-MM (default: 12 months "
                                                   "before --to)")] = None,
    to_month: Annotated[str | None, typer.Option("--to", help="Last month YYYY-MM (default: this month)")] = None,
    output_format: FormatOpt = "csv", lang: LangOpt = "sv", out: OutOpt = None,
) -> None:
    """The monthly series (13 months by default): one row per month with its targets and status."""
    def build(session: Session, language: Lang, now: datetime) -> Table:
        first, last = month_range(from_month, to_month, now)
        document = monthly_series(session, _kind_of(session, code), code, first, last, now)
        return series_table(document, now, language)

    _export(build, output_format, lang, out, f"the monthly series of {for_terminal(code)}")


@export_app.command("days")
def export_days(code: CodeArg, month: Annotated[str, typer.Argument(help="YYYY-MM")],
                output_format: FormatOpt = "csv", lang: LangOpt = "sv", out: OutOpt = None) -> None:
    """The days of a month (local time): one row per day."""
    def build(session: Session, language: Lang, _now: datetime) -> Table:
        return days_table(daily(session, _kind_of(session, code), code, parse_month(month)), language)

    _export(build, output_format, lang, out, f"the days of {for_terminal(month)} for {for_terminal(code)}")


@export_app.command("hours")
def export_hours(code: CodeArg, day: Annotated[str, typer.Argument(help="YYYY-MM-DD")],
                 output_format: FormatOpt = "csv", lang: LangOpt = "sv", out: OutOpt = None) -> None:
    """The local hours of a day (23–25): one row per hour."""
    def build(session: Session, language: Lang, _now: datetime) -> Table:
        return hours_table(hourly(session, _kind_of(session, code), code, parse_date(day)), language)

    _export(build, output_format, lang, out, f"the hours of {for_terminal(day)} for {for_terminal(code)}")
