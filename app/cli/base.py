"""What every ``vpt`` command shares: the Typer apps, consoles, exit codes, error lines and run reports.

Rich reads ``[...]`` in printed text as markup (``[link=...]`` makes a hyperlink) and a terminal obeys escape
sequences, so every value that came from input or storage is printed through ``app.sanitize.for_terminal``.

A domain error (``app.errors.VptError``) that a command does not render itself is printed one way, by ``fail``,
whichever command raised it: ``fel: <message>`` (``error:`` with ``--lang en``), exit 1; one about a parameter
names it: ``fel --date: måste vara ...``. Click's usage errors (an unknown option, a missing argument) are caught
by the root group and said the same way, after the usage line, exit 2 (``app.cli.typer_words``). Every line is in
the run's language (``app.cli.wording``).
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker
from typer.core import TyperGroup

from app.cli.messages import MESSAGES
from app.cli.typer_words import is_help_shown, language_of, localise, usage_problem
from app.cli.wording import DEFAULT_LANG, count, current_lang, problem_text, run_summary, say, use_lang
from app.config import Settings
from app.db.session import make_engine, make_session_factory, require_schema
from app.errors import VptError
from app.ingest.loader import RunReport
from app.kpi.glossary import LANGS, Lang
from app.logs import setup_logging
from app.sanitize import for_terminal


class _Commands(TyperGroup):
    """The root group: a domain error no command caught is an error line and exit 1, not a traceback; help and
    click's usage errors are in the run's language (``app.cli.typer_words``)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except VptError as exc:
            raise fail(exc) from None

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> Any:
        """Words the tree before click parses (help and usage errors can come before the root callback), then runs
        it with ``standalone_mode=False`` so click's errors reach this method, which says them like any error and
        exits as click would (2 for a usage error, 1 for an abort)."""
        argv = list(sys.argv[1:] if args is None else args)
        lang = language_of(argv, _quiet_settings_lang())
        use_lang(lang)
        localise(self, lang)
        try:
            result = super().main(argv, prog_name, complete_var, standalone_mode=False,
                                  windows_expand_args=windows_expand_args, **extra)
        except typer.Abort:
            if not standalone_mode:
                raise
            use_lang(lang)
            errors.print(say("usage.aborted"), style="red", highlight=False)
            sys.exit(1)
        except typer.TyperException as exc:  # click's ClickException and its usage errors derive from it
            if not standalone_mode:
                raise
            use_lang(lang)  # a command's own --lang may not have been read yet: the line's last --lang is
            _say_click_error(exc)
            sys.exit(exc.exit_code)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)  # click returns an Exit's code when not standalone


def _say_click_error(exc: typer.TyperException) -> None:
    """The usage line, where to find help and the error line, as click says them but in the run's language."""
    if is_help_shown(exc):
        return
    if not hasattr(exc, "ctx"):  # not a usage error (click's FileError): its message, as other errors
        error_line(exc.format_message())
        return
    ctx = exc.ctx
    if ctx is not None:
        errors.print(for_terminal(ctx.get_usage()), highlight=False)
        if ctx.command.get_help_option(ctx) is not None:
            errors.print(say("usage.try_help", command=for_terminal(ctx.command_path),
                             option=for_terminal(ctx.help_option_names[0])), highlight=False)
    param, problem = usage_problem(exc)
    error_line(problem, param)


app = typer.Typer(
    help="vpt-monitor: tillgängligheten hos 1177 Vårdguiden på telefon.", no_args_is_help=True,
    pretty_exceptions_enable=False, cls=_Commands,
)
db_app = typer.Typer(help="Databasens schema.", no_args_is_help=True)
ingest_app = typer.Typer(help="Läs in filer med samtal eller intervall.", no_args_is_help=True)
sim_app = typer.Typer(help="Den simulerade kontaktcenterplattformen.", no_args_is_help=True)
sources_app = typer.Typer(help="Källor: hämtande (HTTP) och push.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")
app.add_typer(sim_app, name="sim")
app.add_typer(sources_app, name="sources")

console = Console()
if not console.is_terminal:  # piped to a file or another program: do not wrap at 80 columns
    console = Console(width=160)
errors = Console(stderr=True, width=None if Console(stderr=True).is_terminal else 160)

EXIT_OK, EXIT_FAILED, EXIT_SOME_REJECTED = 0, 1, 3
EXIT_USAGE = 2


@app.callback()
def _run_language(
    lang: Annotated[str | None, typer.Option(
        "--lang", help="Språk för körningens utskrifter: sv eller en (standard VPT_LANG, annars sv)",
        show_default=False)] = None,
) -> None:
    """Every command of a run speaks one language, chosen here before it starts (``app.cli.wording``)."""
    if lang is not None and lang not in LANGS:
        use_lang(DEFAULT_LANG)
        raise fail(say("lang_option"), EXIT_USAGE, "--lang")
    use_lang(lang or _settings_lang())


def _settings_lang() -> str:
    """VPT_LANG; a settings file broken elsewhere is the command's to report (most read settings), not this."""
    try:
        return Settings().lang
    except ValidationError as exc:
        if any(error["loc"] == ("lang",) for error in exc.errors()):
            use_lang(DEFAULT_LANG)
            raise fail(say("lang_setting"), EXIT_USAGE, "VPT_LANG") from None
        return DEFAULT_LANG


def _quiet_settings_lang() -> str | None:
    """VPT_LANG for the words said before the root callback; a bad one is the callback's to report."""
    try:
        return Settings().lang
    except ValidationError:
        return None


def command_lang(lang: str | None) -> Lang:
    """A command's own ``--lang`` (a file's language) is the run's language from then on; left out, the run's."""
    if lang is None:
        return use_lang(current_lang())
    if lang not in LANGS:
        raise fail(say("lang_option"), EXIT_USAGE, "--lang")
    return use_lang(lang)


def error_line(problem: object, param: str | None = None) -> None:
    """``fel: <problem>`` / ``error: <problem>`` on stderr, or ``fel --date: <problem>`` for one about a parameter
    (an option, an argument as help names it: ``MÅNAD``), both through the sanitiser (a domain error that names a
    catalogue sentence in the run's language: ``app.cli.wording.problem_text``)."""
    where = f" {for_terminal(param)}:" if param else ":"
    errors.print(f"[red]{say('error')}[/red]{where} {problem_text(problem)}", highlight=False)


def argument(name: str) -> str:
    """An argument as help and usage lines name it in the run's language (``month`` is ``MÅNAD``)."""
    key = f"arg.{name}"
    return say(key) if key in MESSAGES else name.upper()


def fail(problem: VptError | str, exit_code: int = EXIT_FAILED, param: str | None = None) -> typer.Exit:
    """Print ``problem`` as every command prints an error, and the exit to raise: ``raise fail(exc) from None``."""
    error_line(problem, param)
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
    console.print(say("run_report", origin=for_terminal(report.origin), kind=kind_word(report.record_kind),
                      source=for_terminal(report.source), run=report.run_id, summary=run_summary(report)))
    for rejection in report.rejections[:10]:
        errors.print(say("rejected_line", origin=for_terminal(report.origin), what=for_terminal(rejection.describe())),
                     highlight=False)
    if report.rows_rejected > 10:
        errors.print(say("and_more", n=count(report.rows_rejected - 10),
                         where=f"GET /api/v1/ingest/rejected?run={report.run_id}"), highlight=False)
    for warning in report.warning_sample[:10]:  # stored without the field: no failure, no exit code of its own
        errors.print(say("warning_line", origin=for_terminal(report.origin), what=for_terminal(warning.describe())),
                     highlight=False)
    if report.warnings > 10:
        errors.print(say("and_more", n=count(report.warnings - 10),
                         where=f"GET /api/v1/ingest/runs/{report.run_id}/warnings"), highlight=False)


def kind_word(kind: str) -> str:
    """A record or source kind ("calls") in the run's language; an unknown one as it is, through the sanitiser."""
    key = f"kind.{kind}"
    return say(key) if key in MESSAGES else for_terminal(kind)


