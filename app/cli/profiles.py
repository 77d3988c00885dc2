"""``vpt profiles``: the import profiles (docs/profiles.md) there are, what one says, and which reads a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, cast

import typer
from rich.table import Table

from app.cli.base import EXIT_FAILED, app, console, errors, fail, load_settings
from app.ingest.profiles import ProfileError, detect, load_profiles
from app.ingest.profiles.detect import Match
from app.ingest.profiles.model import RecordKind
from app.ingest.profiles.render import profile_toml
from app.kpi.glossary import cli_title
from app.sanitize import for_terminal

profiles_app = typer.Typer(help="Import profiles: how an export maps onto the canonical records (docs/profiles.md).",
                           no_args_is_help=True)
app.add_typer(profiles_app, name="profiles")


@profiles_app.command("list")
def list_profiles() -> None:
    """Built-in profiles and those of VPT_PROFILES_DIR. Exit 1 when one of them is broken (listed with its error)."""
    registry = load_profiles(load_settings())
    table = Table(title=cli_title("import_profiles"))
    for header in ("Namn", "Poster", "Från", "Rubrik"):
        table.add_column(header)
    for profile in registry:
        table.add_row(*(for_terminal(text) for text in (
            profile.name, profile.record_kind, "built-in" if profile.builtin else profile.origin, profile.title)))
    console.print(table)
    for problem in registry.problems:
        errors.print(f"[red]broken[/red] {for_terminal(problem.error)}", highlight=False)
    if registry.problems:
        raise typer.Exit(EXIT_FAILED)


@profiles_app.command("show")
def show_profile(name: Annotated[str, typer.Argument(help="The profile's name (vpt profiles list)")]) -> None:
    """The profile as it is used: its own file with what it extends merged in."""
    try:
        profile = load_profiles(load_settings()).get(name)
    except ProfileError as exc:
        raise fail(exc) from None
    where = "built-in" if profile.builtin else profile.origin
    console.print(f"# {for_terminal(profile.name)} ({profile.record_kind}, {for_terminal(where)})", highlight=False)
    if profile.reference:
        console.print(f"# reference: {for_terminal(profile.reference)}", highlight=False)
    for line in profile_toml(profile).splitlines():
        console.print(for_terminal(line), highlight=False, soft_wrap=True)


def _columns(names: tuple[str, ...]) -> str:
    return ", ".join(for_terminal(n) for n in names) or "–"


def _describe(match: Match) -> str:
    total = len(match.matched) + len(match.missed)
    return (f"{for_terminal(match.profile.name)} ({match.profile.record_kind}): {len(match.matched)} of {total} "
            "columns")


@profiles_app.command("detect")
def detect_profile(
    path: Annotated[Path, typer.Argument(help="The file to recognise (its head is read)")],
    kind: Annotated[str | None, typer.Option("--kind", help="calls or intervals: only profiles of this kind")] = None,
) -> None:
    """Name the profile that reads FILE best, with the columns it matched and missed. Exit 0 when one is chosen,
    1 when none is (a tie, or none has more than half of its columns)."""
    if kind not in (None, "calls", "intervals"):
        errors.print("--kind must be calls or intervals")
        raise typer.Exit(2)
    registry = load_profiles(load_settings())
    try:
        detection = detect(path, registry, cast(RecordKind | None, kind))
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    chosen = detection.chosen
    if chosen is not None:
        console.print(f"[green]chosen[/green] {_describe(chosen)}", highlight=False)
        console.print(f"  matched: {_columns(chosen.matched)}", highlight=False)
        console.print(f"  missed: {_columns(chosen.missed)}", highlight=False)
        return
    errors.print(f"[yellow]no profile chosen[/yellow]: {for_terminal(detection.reason)}", highlight=False)
    for match in detection.candidates[:5]:
        errors.print(f"  candidate {_describe(match)}; missed: {_columns(match.missed)}", highlight=False)
    raise typer.Exit(EXIT_FAILED)
