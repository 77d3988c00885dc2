"""The ``vpt`` command line: the entry point for operators, CI and the demo."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError, ProgrammingError

# each module registers its commands
from app.cli import alerts, alerts_run, data, demo, keys, profiles, report, run, sim, staffing, targets  # noqa: F401
from app.cli.base import EXIT_FAILED, app, errors
from app.cli.wording import say
from app.sanitize import for_terminal

__all__ = ["app", "main"]


def main() -> None:
    try:
        app()
    except (OperationalError, ProgrammingError) as exc:
        message = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        errors.print(f"[red]{say('database_error')}[/red]: {for_terminal(message)}", highlight=False)
        errors.print(say("database_hint"), highlight=False)
        raise SystemExit(EXIT_FAILED) from None
