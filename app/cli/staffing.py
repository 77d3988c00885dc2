"""``vpt staffing SE-Z --date 2026-12-08``: nurses needed per hour (Erlang A) from a date to the end of its month."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from app.cli.base import EXIT_FAILED, app, console, errors, load_settings, session_factory
from app.db.models import Collaboration
from app.kpi.localtime import STOCKHOLM
from app.sanitize import for_terminal
from app.scorecard.breakdowns import parse_date
from app.scorecard.service import InvalidMonth, UnknownScope
from app.staffing.document import advice_json
from app.staffing.plan import Totals
from app.staffing.service import StaffingAdvice, staffing_advice


def _kind(session: Session, code: str) -> str:
    return "collaboration" if session.get(Collaboration, code) is not None else "region"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _totals_line(label: str, totals: Totals) -> str:
    line = (f"{label}: {totals.nurse_hours} skötersketimmar for {totals.offered:.0f} calls "
            f"(answer rate {_percent(totals.answer_rate)}); Erlang C: {totals.nurse_hours_erlang_c}")
    if totals.nurse_hours_recover is not None:
        known = totals.answered_recover is not None and totals.offered
        rate = totals.answered_recover / totals.offered if known and totals.answered_recover is not None else None
        line += f"; to save the month: {totals.nurse_hours_recover} ({_percent(rate)})"
    return line


def _print(advice: StaffingAdvice, all_hours: bool) -> None:
    console.print(f"[bold]{for_terminal(advice.name)}[/bold] ({for_terminal(advice.scope)}) — staffing from "
                  f"{advice.advice_from.astimezone(STOCKHOLM):%Y-%m-%d %H:%M} to the end of "
                  f"{advice.month:%Y-%m}", highlight=False)
    targets = f"targets: answer rate ≥ {_percent(advice.answer_rate_target)}"
    if advice.mean_wait_target is not None:
        targets += f", mean wait ≤ {advice.mean_wait_target:.0f} s"
    if advice.needed_answer_rate is not None:
        targets += f"; the rest of the month needs {_percent(advice.needed_answer_rate)}"
    console.print(targets, highlight=False)
    table = Table(show_edge=False)
    for column in ("hour", "calls", "nurses", "answer rate", "mean wait s", "save month", "Erlang C", "staffed",
                   "difference"):
        table.add_column(column, justify="right")
    for hour in advice.hours:
        if not all_hours and hour.start >= advice.day_end:
            break
        target, recover = hour.target, hour.recover
        table.add_row(
            f"{hour.start.astimezone(STOCKHOLM):%m-%d %H}",
            "–" if hour.offered is None else f"{hour.offered:.1f}",
            "–" if target is None else str(target.nurses),
            "–" if target is None else _percent(target.answer_rate),
            "–" if target is None else f"{target.mean_wait_seconds:.0f}",
            "" if recover is None else str(recover.nurses),
            "–" if hour.erlang_c_nurses is None else str(hour.erlang_c_nurses),
            "" if hour.staffed is None else f"{hour.staffed:.1f}",
            "" if hour.difference is None else f"{hour.difference:+.1f}",
        )
    console.print(table)
    console.print(_totals_line("today", advice.today), highlight=False)
    console.print(_totals_line("rest of month", advice.month_rest), highlight=False)
    for note in advice.notes:
        console.print(f"note: {for_terminal(note)}", highlight=False)


@app.command("staffing")
def staffing_command(
    code: Annotated[str, typer.Argument(help="A region (SE-Z) or collaboration (norra)")],
    day: Annotated[str | None, typer.Option("--date", help="Local date YYYY-MM-DD (default: today)")] = None,
    month: Annotated[bool, typer.Option("--month", help="Show every hour to the end of the month, not the day's")
                     ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON document")] = False,
) -> None:
    """Nurses needed per hour for the targets (Erlang A, with callers who hang up), today and to the month's end."""
    now = datetime.now(UTC)
    try:
        wanted = parse_date(day) if day is not None else now.astimezone(STOCKHOLM).date()
    except InvalidMonth as exc:
        errors.print(f"[red]error[/red] --date: {for_terminal(exc)}", highlight=False)
        raise typer.Exit(2) from None
    settings = load_settings()
    factory = session_factory(settings)
    try:
        with factory() as session:
            advice = staffing_advice(session, _kind(session, code), code, wanted, now)
    except (UnknownScope, InvalidMonth) as exc:
        errors.print(f"[red]error[/red] {for_terminal(exc)}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    if as_json:
        console.print_json(json.dumps(advice_json(advice), ensure_ascii=False))
        return
    _print(advice, month)
