"""What every ``vpt`` command shares: the Typer apps, consoles, exit codes, error lines and run reports.

Rich reads ``[...]`` in printed text as markup (``[link=...]`` makes a hyperlink) and a terminal obeys escape
sequences, so every value that came from input or storage is printed through ``app.sanitize.for_terminal``.

A domain error (``app.errors.VptError``) that a command does not render itself (as ``vpt targets set`` names
the option at fault) is printed one way, by ``fail``, whichever command raised it: ``error <message>``, exit 1.
"""

from __future__ import annotations

import getpass
from typing import Any

import typer
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker
from typer.core import TyperGroup

from app.cli.wording import run_summary
from app.config import Settings
from app.db.session import make_engine, make_session_factory, require_schema
from app.errors import VptError
from app.ingest.loader import RunReport
from app.logs import setup_logging
from app.sanitize import for_terminal


class _Commands(TyperGroup):
    """The root group: a domain error no command caught is an error line and exit 1, not a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except VptError as exc:
            raise fail(exc) from None


app = typer.Typer(
    help="vpt-monitor: accessibility of 1177 Vårdguiden på telefon.", no_args_is_help=True,
    pretty_exceptions_enable=False, cls=_Commands,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
ingest_app = typer.Typer(help="Load files of call or interval records.", no_args_is_help=True)
sim_app = typer.Typer(help="The simulated contact-centre platform.", no_args_is_help=True)
sources_app = typer.Typer(help="HTTP pull sources.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")
app.add_typer(sim_app, name="sim")
app.add_typer(sources_app, name="sources")

console = Console()
if not console.is_terminal:  # piped to a file or another program: do not wrap at 80 columns
    console = Console(width=160)
errors = Console(stderr=True, width=None if Console(stderr=True).is_terminal else 160)

EXIT_OK, EXIT_FAILED, EXIT_SOME_REJECTED = 0, 1, 3


def fail(problem: VptError | str, exit_code: int = EXIT_FAILED) -> typer.Exit:
    """Print ``problem`` as every command prints an error, and the exit to raise: ``raise fail(exc) from None``."""
    errors.print(f"[red]error[/red] {for_terminal(str(problem))}", highlight=False)
    return typer.Exit(exit_code)


def load_settings() -> Settings:
    return Settings()


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return "unknown"


def cli_actor() -> str:
    """Who the audit log says acted from the command line: ``cli:<os user>`` (whoever can reach the database)."""
    return f"cli:{os_user()}"


def start_logging(settings: Settings) -> None:
    setup_logging(settings.log_level)


def session_factory(settings: Settings) -> sessionmaker[Session]:
    """Sessions on a database that has the schema: a missing one is ``NoSchema`` (exit 1, "run `vpt db
    upgrade`"), never an empty ./vpt.db created by connecting to it."""
    require_schema(settings)
    return make_session_factory(make_engine(settings))


def print_report(report: RunReport) -> None:
    console.print(
        f"[bold]{for_terminal(report.origin)}[/bold] ({report.record_kind}, source {for_terminal(report.source)}, "
        f"run {report.run_id}): "
        f"{run_summary(report)}"
    )
    for rejection in report.rejections[:10]:
        errors.print(f"  [yellow]rejected[/yellow] {for_terminal(report.origin)} {for_terminal(rejection.describe())}",
                     highlight=False)
    if report.rows_rejected > 10:
        errors.print(f"  … and {report.rows_rejected - 10} more (GET /api/v1/ingest/rejected?run={report.run_id})")
    for warning in report.warning_sample[:10]:  # stored without the field: no failure, no exit code of its own
        errors.print(f"  [yellow]warning[/yellow] {for_terminal(report.origin)} {for_terminal(warning.describe())}",
                     highlight=False)
    if report.warnings > 10:
        errors.print(f"  … and {report.warnings - 10} more (GET /api/v1/ingest/runs/{report.run_id}/warnings)")


