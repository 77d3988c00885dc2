"""``vpt targets``: the targets in force, their history, and a new version (SPEC §6).

The same service functions as the API (``app.scorecard.targets``), which write the audit row as ``cli:<os user>``.
Exit 0 on success, 1 with a message naming the problem otherwise (Typer's own usage errors, such as a missing
``--reason``, exit 2).
"""

from __future__ import annotations

import getpass
from decimal import Decimal
from typing import Annotated

import typer
from rich.table import Table

from app.cli.base import EXIT_FAILED, app, cli_actor, console, error_line, errors, fail, load_settings, session_factory
from app.cli.wording import say
from app.db.session import transaction
from app.kpi.catalog import SECONDS_KPIS
from app.sanitize import for_terminal
from app.scorecard.targets import (
    InvalidTarget,
    TargetRecord,
    current_month,
    list_in_force,
    parse_month_field,
    set_target,
    target_history,
)

targets_app = typer.Typer(
    help="Mål per region och samverkan: de som gäller, historik, nya versioner.", no_args_is_help=True
)
app.add_typer(targets_app, name="targets")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return "unknown"


def format_value(kpi: str, value: Decimal) -> str:
    """The value as it would be typed: 0.85, 600 s. Never exponent notation."""
    text = f"{value.normalize():f}"
    return f"{text} s" if kpi in SECONDS_KPIS else text


def _describe(record: TargetRecord) -> str:
    return say("target.describe", name=record.scope_name, scope=record.scope, kpi=record.kpi,
               comparator=record.comparator, value=format_value(record.kpi, record.value),
               month=record.valid_from_month)


def _print_table(title: str, records: list[TargetRecord], history: bool) -> None:
    table = Table(title=title)
    headers = say("targets.headers").split("|")
    for i, header in enumerate(headers if history else headers[:-1]):
        table.add_column(header, justify="right" if i == 3 else "left")
    for record in records:
        row = [
            f"{record.scope_name} ({record.scope})", record.kpi, record.comparator,
            format_value(record.kpi, record.value), record.valid_from_month, record.set_by, record.reason,
        ]
        if history:
            row.append(record.created_at.strftime("%Y-%m-%d %H:%M:%S"))
        table.add_row(*(for_terminal(cell) for cell in row))
    console.print(table)
    if not records:
        console.print(say("targets.none"))


@targets_app.command("list", help="Visa målen som gäller en månad, eller (--history) varje version som sparats.")
def list_command(
    scope: Annotated[str | None, typer.Option("--scope", help="En region (SE-AC) eller samverkan (norra)")] = None,
    month: Annotated[str | None, typer.Option("--month", help="ÅÅÅÅ-MM (standard: innevarande månad)")] = None,
    kpi: Annotated[str | None, typer.Option("--kpi", help="Bara det här måttet, t.ex. answer_rate")] = None,
    history: Annotated[bool, typer.Option("--history", help="Varje version som sparats, äldst först")] = False,
) -> None:
    if history and month is not None:
        raise fail(say("targets.history_month"))
    factory = session_factory(load_settings())
    with factory() as session:  # an InvalidTarget or UnknownScope is printed as every domain error is
        if history:
            records = target_history(session, scope=scope, kpi=kpi)
            title = say("targets.history_title")
        else:
            first_day = parse_month_field(month, "--month") if month is not None else current_month()
            records = list_in_force(session, first_day, scope=scope, kpi=kpi)
            title = say("targets.in_force_title", month=f"{first_day:%Y-%m}")
    _print_table(title, records, history)


@targets_app.command("set", help="Spara en ny version av ett mål från en månad och framåt; tidigare versioner "
                     "finns kvar i historiken. Granskningsloggen registrerar ändringen som cli:<OS-användare> vad "
                     "--by än säger: --by anger vem som beslutade, granskningsloggen vem som skrev in det.")
def set_command(
    scope: Annotated[str, typer.Argument(help="En region (SE-AC) eller samverkan (norra)")],
    kpi: Annotated[str, typer.Argument(help="answer_rate, mean_wait, service_level, …")],
    value: Annotated[str, typer.Argument(help="En andel 0–1 (0,9) eller sekunder (600)")],
    valid_from: Annotated[str, typer.Option("--from", help="Första månaden det gäller, ÅÅÅÅ-MM")],
    reason: Annotated[str, typer.Option("--reason", help="Varför målet ändras (revisorer läser det)")],
    comparator: Annotated[
        str | None, typer.Option("--comparator", help="'>=' eller '<=' (standard efter mått)")
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Vem som sätter det (standard: OS-användaren)")] = None,
) -> None:
    factory = session_factory(load_settings())
    if "," in value and "." not in value:
        value = value.replace(",", ".", 1)  # a Swedish decimal comma: 0,9
    try:
        with transaction(factory) as session:
            change = set_target(
                session, scope, kpi, value=value, valid_from=valid_from, reason=reason,
                set_by=by if by is not None else _os_user(), comparator=comparator, actor=cli_actor(),
            )
    except InvalidTarget as exc:  # each field as the option that set it; an UnknownScope as every domain error
        for field, message in exc.problems:
            error_line(f"{_option_name(field)}: {message}")
        raise typer.Exit(EXIT_FAILED) from None
    version = change.version
    console.print(say("target.saved", target=for_terminal(_describe(version)), by=for_terminal(version.set_by),
                      id=version.id), highlight=False)
    if change.previous is not None:
        console.print(say("target.replaces", target=for_terminal(_describe(change.previous)),
                          by=for_terminal(change.previous.set_by)), highlight=False)
    if change.affects_closed_months:
        errors.print(say("target.closed_month", month=version.valid_from_month), highlight=False)


def _option_name(field: str) -> str:
    """How the user named a field on the command line."""
    return {"valid_from": "--from", "reason": "--reason", "comparator": "--comparator", "set_by": "--by",
            "value": "VALUE", "kpi": "KPI", "scope_kind": "SCOPE"}.get(field, field)
