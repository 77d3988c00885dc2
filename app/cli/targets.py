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

from app.cli.base import EXIT_FAILED, app, cli_actor, console, errors, fail, load_settings, session_factory
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
    help="Targets per region and collaboration: in force, history, new versions.", no_args_is_help=True
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
    return (f"{record.scope_name} ({record.scope}) {record.kpi} {record.comparator} "
            f"{format_value(record.kpi, record.value)} från {record.valid_from_month}")


def _print_table(title: str, records: list[TargetRecord], history: bool) -> None:
    table = Table(title=title)
    headers = ["Område", "Mått", "Jämförelse", "Värde", "Gäller från", "Satt av", "Motivering"]
    for header in [*headers, *(["Sparad (UTC)"] if history else [])]:
        table.add_column(header, justify="right" if header == "Värde" else "left")
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
        console.print("inga mål")


@targets_app.command("list")
def list_command(
    scope: Annotated[str | None, typer.Option("--scope", help="A region (SE-AC) or collaboration (norra)")] = None,
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM (default: the current month)")] = None,
    kpi: Annotated[str | None, typer.Option("--kpi", help="Only this KPI, e.g. answer_rate")] = None,
    history: Annotated[bool, typer.Option("--history", help="Every version ever stored, oldest first")] = False,
) -> None:
    """Print the targets in force in a month, or (--history) every version ever stored."""
    if history and month is not None:
        raise fail("--history lists every version of every month: leave out --month")
    factory = session_factory(load_settings())
    with factory() as session:  # an InvalidTarget or UnknownScope is printed as every domain error is
        if history:
            records = target_history(session, scope=scope, kpi=kpi)
            title = "Målhistorik"
        else:
            first_day = parse_month_field(month, "--month") if month is not None else current_month()
            records = list_in_force(session, first_day, scope=scope, kpi=kpi)
            title = f"Mål som gäller {first_day:%Y-%m}"
    _print_table(title, records, history)


@targets_app.command("set")
def set_command(
    scope: Annotated[str, typer.Argument(help="A region (SE-AC) or collaboration (norra)")],
    kpi: Annotated[str, typer.Argument(help="answer_rate, mean_wait, service_level, …")],
    value: Annotated[str, typer.Argument(help="A ratio 0–1 (0.9) or seconds (600)")],
    valid_from: Annotated[str, typer.Option("--from", help="First month it applies to, YYYY-MM")],
    reason: Annotated[str, typer.Option("--reason", help="Why the target changes (auditors read it)")],
    comparator: Annotated[
        str | None, typer.Option("--comparator", help="'>=' or '<=' (default by KPI)")
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who sets it (default: the OS user)")] = None,
) -> None:
    """Store a new version of a target from a month on; earlier versions stay in the history.

    The audit log records the change as ``cli:<os user>`` whatever ``--by`` says: --by names who decided,
    the audit log who typed it."""
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
            errors.print(f"[red]error[/red] {for_terminal(_option_name(field))}: {for_terminal(message)}",
                         highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    version = change.version
    console.print(f"sparat: {for_terminal(_describe(version))}, satt av {for_terminal(version.set_by)} "
                  f"(version {version.id})", highlight=False)
    if change.previous is not None:
        console.print(f"ersätter: {for_terminal(_describe(change.previous))}, satt av "
                      f"{for_terminal(change.previous.set_by)}", highlight=False)
    if change.affects_closed_months:
        errors.print(f"[yellow]obs[/yellow] {version.valid_from_month} är en stängd månad: styrkorten från "
                     f"{version.valid_from_month} bedöms nu mot detta mål", highlight=False)


def _option_name(field: str) -> str:
    """How the user named a field on the command line."""
    return {"valid_from": "--from", "reason": "--reason", "comparator": "--comparator", "set_by": "--by",
            "value": "VALUE", "kpi": "KPI", "scope_kind": "SCOPE"}.get(field, field)
