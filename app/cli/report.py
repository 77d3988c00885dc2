"""``vpt report``: the printable monthly board report as an HTML file (open it in a browser, print to PDF)."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from app.cli.base import EXIT_FAILED, app, console, errors, load_settings, session_factory
from app.kpi.glossary import LANGS, Lang
from app.reports.board import build_report
from app.reports.board_html import render_report
from app.sanitize import for_terminal
from app.scorecard.service import InvalidMonth, UnknownScope, parse_month


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
    console.print(f"wrote {for_terminal(out)}: {len(report.pages)} page(s) ({for_terminal(names)})", highlight=False)


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
