"""``vpt profiles``: the import profiles (docs/profiles.md) there are, what one says, and which reads a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, cast

import typer
from rich.table import Table

from app.cli.base import EXIT_FAILED, app, console, errors, fail, kind_word, load_settings
from app.cli.wording import count, current_lang, say
from app.ingest.profiles import ProfileError, detect, load_profiles
from app.ingest.profiles.detect import Match
from app.ingest.profiles.model import RecordKind
from app.ingest.profiles.render import profile_toml
from app.kpi.glossary import cli_title
from app.sanitize import for_terminal

profiles_app = typer.Typer(help="Importprofiler: hur en export mappas till de kanoniska posterna (docs/profiles.md).",
                           no_args_is_help=True)
app.add_typer(profiles_app, name="profiles")


@profiles_app.command("list", help="Inbyggda profiler och de i VPT_PROFILES_DIR. Slutkod 1 när någon av dem är "
                      "trasig (listad med sitt fel).")
def list_profiles() -> None:
    registry = load_profiles(load_settings())
    table = Table(title=cli_title("import_profiles", current_lang()))
    for header in say("profiles.headers").split("|"):
        table.add_column(header)
    for profile in registry:
        table.add_row(for_terminal(profile.name), kind_word(profile.record_kind),
                      say("profile.builtin") if profile.builtin else for_terminal(profile.origin),
                      for_terminal(profile.title))
    console.print(table)
    for problem in registry.problems:
        errors.print(say("profile.broken", error=for_terminal(problem.error)), highlight=False)
    if registry.problems:
        raise typer.Exit(EXIT_FAILED)


@profiles_app.command("show", help="Profilen som den används: dess egen fil med det den bygger vidare på "
                      "insammanfogat.")
def show_profile(name: Annotated[str, typer.Argument(help="Profilens namn (`vpt profiles list`)")]) -> None:
    try:
        profile = load_profiles(load_settings()).get(name)
    except ProfileError as exc:
        raise fail(exc) from None
    where = say("profile.builtin") if profile.builtin else for_terminal(profile.origin)
    console.print(f"# {for_terminal(profile.name)} ({kind_word(profile.record_kind)}, {where})", highlight=False)
    if profile.reference:
        console.print(say("profile.reference", reference=for_terminal(profile.reference)), highlight=False)
    for line in profile_toml(profile).splitlines():
        console.print(for_terminal(line), highlight=False, soft_wrap=True)


def _columns(names: tuple[str, ...]) -> str:
    return ", ".join(for_terminal(n) for n in names) or "–"


def _describe(match: Match) -> str:
    total = len(match.matched) + len(match.missed)
    return say("profile.columns", name=for_terminal(match.profile.name), kind=kind_word(match.profile.record_kind),
               matched=count(len(match.matched)), total=count(total))


@profiles_app.command("detect", help="Ange profilen som läser FIL bäst, med kolumnerna den matchade och saknade. "
                      "Slutkod 0 när en väljs, 1 när ingen gör det (oavgjort, eller ingen har mer än hälften av sina "
                      "kolumner).")
def detect_profile(
    path: Annotated[Path, typer.Argument(help="Filen att känna igen (dess början läses)")],
    kind: Annotated[str | None, typer.Option("--kind", help="calls eller intervals: bara profiler av det slaget")
                    ] = None,
) -> None:
    if kind not in (None, "calls", "intervals"):
        errors.print(say("profile.kind_option"))
        raise typer.Exit(2)
    registry = load_profiles(load_settings())
    try:
        detection = detect(path, registry, cast(RecordKind | None, kind))
    except OSError as exc:
        raise fail(say("cannot_read", path=path, reason=exc.strerror or type(exc).__name__)) from None
    chosen = detection.chosen
    if chosen is not None:
        console.print(say("profile.chosen", profile=_describe(chosen)), highlight=False)
        console.print(say("profile.matched", columns=_columns(chosen.matched)), highlight=False)
        console.print(say("profile.missed", columns=_columns(chosen.missed)), highlight=False)
        return
    errors.print(say("profile.none_chosen", reason=for_terminal(detection.reason)), highlight=False)
    for match in detection.candidates[:5]:
        errors.print(say("profile.candidate", profile=_describe(match), columns=_columns(match.missed)),
                     highlight=False)
    raise typer.Exit(EXIT_FAILED)
