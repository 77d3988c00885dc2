"""``vpt staffing SE-Z --date 2026-12-08``: nurses needed per hour (Erlang A) from a date to the end of its month."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from app.cli.base import EXIT_FAILED, app, console, error_line, load_settings, session_factory
from app.cli.wording import count, counted, current_lang, decimal, say
from app.db.models import Collaboration
from app.kpi.localtime import STOCKHOLM
from app.kpi.numbers import percent
from app.reports.terminal import local_minute
from app.sanitize import for_terminal
from app.scorecard.breakdowns import parse_date
from app.scorecard.service import FIRST_YEAR, LAST_YEAR, InvalidMonth, UnknownScope
from app.staffing.document import advice_json
from app.staffing.plan import Totals
from app.staffing.service import StaffingAdvice, staffing_advice


def _kind(session: Session, code: str) -> str:
    return "collaboration" if session.get(Collaboration, code) is not None else "region"


def _percent(value: float | None) -> str:
    return percent(value, current_lang())


def _totals_line(label: str, totals: Totals) -> str:
    line = say("staffing.totals", label=label, hours=count(totals.nurse_hours),
               calls=counted(round(totals.offered), "call"), rate=_percent(totals.answer_rate),
               erlang_c=count(totals.nurse_hours_erlang_c))
    if totals.nurse_hours_recover is not None:
        known = totals.answered_recover is not None and totals.offered
        rate = totals.answered_recover / totals.offered if known and totals.answered_recover is not None else None
        line += say("staffing.recover", hours=count(totals.nurse_hours_recover), rate=_percent(rate))
    return line


def _print(advice: StaffingAdvice, all_hours: bool) -> None:
    console.print(say("staffing.head", name=for_terminal(advice.name), scope=for_terminal(advice.scope),
                      start=local_minute(advice.advice_from),
                      month=f"{advice.month:%Y-%m}"), highlight=False)
    targets = say("staffing.targets", rate=_percent(advice.answer_rate_target))
    if advice.mean_wait_target is not None:
        targets += say("staffing.wait_target", wait=count(advice.mean_wait_target))
    if advice.needed_answer_rate is not None:
        targets += say("staffing.needed", rate=_percent(advice.needed_answer_rate))
    console.print(targets, highlight=False)
    table = Table(show_edge=False)
    for column in say("staffing.headers").split("|"):
        table.add_column(column, justify="right")
    for hour in advice.hours:
        if not all_hours and hour.start >= advice.day_end:
            break
        target, recover = hour.target, hour.recover
        table.add_row(
            f"{hour.start.astimezone(STOCKHOLM):%m-%d %H}",
            "–" if hour.offered is None else decimal(hour.offered, 1),
            "–" if target is None else count(target.nurses),
            "–" if target is None else _percent(target.answer_rate),
            "–" if target is None else count(target.mean_wait_seconds),
            "" if recover is None else count(recover.nurses),
            "–" if hour.erlang_c_nurses is None else count(hour.erlang_c_nurses),
            "" if hour.staffed is None else decimal(hour.staffed, 1),
            "" if hour.difference is None else ("+" if hour.difference >= 0 else "") + decimal(hour.difference, 1),
        )
    console.print(table)
    console.print(_totals_line(say("staffing.today"), advice.today), highlight=False)
    console.print(_totals_line(say("staffing.rest"), advice.month_rest), highlight=False)
    for note in advice.notes:
        console.print(say("staffing.note", note=for_terminal(note.text(current_lang()))), highlight=False)


@app.command("staffing", help="Sjuksköterskor som behövs per timme för målen (Erlang A, med uppringare som lägger "
             "på), i dag och till månadens slut.")
def staffing_command(
    code: Annotated[str, typer.Argument(help="En region (SE-Z) eller samverkan (norra)")],
    day: Annotated[str | None, typer.Option("--date", help="Datum i svensk tid ÅÅÅÅ-MM-DD (standard: i dag)")] = None,
    month: Annotated[bool, typer.Option("--month", help="Visa varje timme till månadens slut, inte bara dagens")
                     ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Skriv API:ts JSON-dokument")] = False,
) -> None:
    now = datetime.now(UTC)
    try:
        wanted = parse_date(day) if day is not None else now.astimezone(STOCKHOLM).date()
    except InvalidMonth:  # not a date, no such date, or a year out of range: one sentence says all three
        error_line(say("error.bad_date", first=FIRST_YEAR, last=LAST_YEAR, text=day), "--date")
        raise typer.Exit(2) from None
    settings = load_settings()
    factory = session_factory(settings)
    try:
        with factory() as session:
            advice = staffing_advice(session, _kind(session, code), code, wanted, now)
    except UnknownScope as exc:  # neither a collaboration (see _kind) nor a region
        error_line(exc.keyed("unknown_scope", code=code))
        raise typer.Exit(EXIT_FAILED) from None
    except InvalidMonth as exc:
        error_line(exc)
        raise typer.Exit(EXIT_FAILED) from None
    if as_json:
        console.print_json(json.dumps(advice_json(advice), ensure_ascii=False))
        return
    _print(advice, month)
