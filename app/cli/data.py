"""Commands on stored data: schema, ingest, recompute, scorecard."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.table import Table
from sqlalchemy import make_url

from app.cli.base import (
    EXIT_FAILED,
    EXIT_SOME_REJECTED,
    app,
    console,
    db_app,
    errors,
    fail,
    ingest_app,
    load_settings,
    print_report,
    session_factory,
)
from app.cli.dry_run import detected_parser, dry_run_files
from app.cli.progress import IngestProgress
from app.cli.scorecard_table import TABLE_HEADERS as TABLE_HEADERS  # re-exported: tests read them from here
from app.cli.scorecard_table import TABLE_TEXT as TABLE_TEXT
from app.cli.scorecard_table import scorecard_table
from app.cli.wording import counted
from app.config import Settings
from app.db.migrate import upgrade as migrate_upgrade
from app.db.session import transaction
from app.ingest.formats import FormatUnavailable, default_formats
from app.ingest.loader import DefinitionsChanged, IngestError, Parser, RecordKind
from app.ingest.lock import IngestBusy, LockWait
from app.ingest.profile_choice import AUTO
from app.ingest.profiles import ProfileError, UnknownProfile, load_profiles, profile_parser
from app.ingest.runs import SourceKindMismatch
from app.ingest.service import ingest_file, recompute
from app.kpi.glossary import LANGS, Lang, cli_title
from app.kpi.localtime import local_month_bounds
from app.reports.exports import check_lang, scorecard_csv, scorecard_xlsx
from app.sanitize import for_terminal
from app.scorecard.document import ScorecardDocument
from app.scorecard.service import InvalidMonth, monthly_scorecard, parse_month


def _say_waiting(holder: str) -> None:
    """A command that waits for the ingest lock says so, and for whom, instead of seeming to hang."""
    errors.print(f"[dim]waiting for the ingest lock, held by {for_terminal(holder)}[/dim]", highlight=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database at VPT_DATABASE_URL to the newest schema."""
    settings = load_settings()
    migrate_upgrade(settings.database_url)
    redacted = make_url(settings.database_url).render_as_string(hide_password=True)
    console.print(f"database at {for_terminal(redacted)} is up to date")


def _profile_parser(command: str, name: str, settings: Settings) -> Parser:
    """The parser of import profile ``name``, which must map the records ``vpt ingest <command>`` stores, or of the
    registered format ``name`` of those records (``genesys-conversations``)."""
    try:
        profile = load_profiles(settings).get(name)
    except UnknownProfile as exc:  # a format no profile can describe is named like one (app.ingest.profile_choice)
        member = next((f for f in default_formats() if f.name == name and f.record_kind == command), None)
        if member is None:
            raise fail(exc) from None
        try:
            return member.make_parser(settings)
        except FormatUnavailable as unavailable:
            raise fail(unavailable) from None
    except ProfileError as exc:
        raise fail(exc) from None
    if profile.record_kind != command:
        raise fail(f"profile {profile.name!r} maps {profile.record_kind}, not {command}: use "
                   f"`vpt ingest {profile.record_kind} --profile {profile.name}`")
    return profile_parser(profile, settings)


def _ingest(command: str, paths: list[Path], source: str | None, settings: Settings | None = None,
            profile: str | None = None) -> None:
    """Each file in the format the registry chooses for ``vpt ingest <command>`` (by its suffix), or read through
    import ``profile``. A format that cannot be read at all (no usable queue map) ends the command before the next
    file: it would fail every one."""
    settings = settings or load_settings()
    formats = default_formats()
    factory = session_factory(settings)
    parsers: dict[str, Parser] = {}
    if profile is not None and profile != AUTO:
        parsers[f"profile:{profile}"] = _profile_parser(command, profile, settings)
    rejected = failed = 0
    for path in paths:
        if profile == AUTO:  # the profile detection names for this file (app.cli.dry_run)
            parser, kind = detected_parser(settings, cast(RecordKind, command), path), cast(RecordKind, command)
        elif profile is not None:
            parser, kind = parsers[f"profile:{profile}"], cast(RecordKind, command)
        else:
            chosen = formats.for_file(path, command=command)
            if chosen.name not in parsers:
                try:
                    parsers[chosen.name] = chosen.make_parser(settings)
                except FormatUnavailable as exc:
                    errors.print(f"[red]failed[/red] {for_terminal(exc)}", highlight=False)
                    raise typer.Exit(EXIT_FAILED) from None
            parser, kind = parsers[chosen.name], chosen.record_kind
        size = path.stat().st_size if path.is_file() else 0
        try:  # a bar on a terminal once the file has taken a couple of seconds (app.cli.progress)
            with IngestProgress(console, for_terminal(path.name), size) as advance:
                report = ingest_file(factory, settings, kind, path, source_name=source, on_progress=advance,
                                     parser=parser, on_lock_wait=_say_waiting)
        except (IngestError, IngestBusy, DefinitionsChanged, SourceKindMismatch) as exc:
            errors.print(f"[red]failed[/red] {for_terminal(exc)}", highlight=False)
            failed += 1
            continue
        print_report(report)
        if report.status == "rejected":
            errors.print(f"[red]no row stored[/red] {for_terminal(report.origin)}: all {report.rows_read} rows were "
                         f"rejected (run {report.run_id}, status rejected)", highlight=False)
        rejected += report.rows_rejected
    if failed:
        raise typer.Exit(EXIT_FAILED)
    if rejected:
        raise typer.Exit(EXIT_SOME_REJECTED)


PathsArg = Annotated[list[Path], typer.Argument(help="Files: .csv, or .jsonl (see `vpt ingest formats`)")]
SourceOpt = Annotated[
    str | None, typer.Option(help="Source name; record ids are unique within a source (default VPT_DEFAULT_SOURCE)")
]
ProfileOpt = Annotated[
    str | None, typer.Option("--profile", help="Read the files through this import profile (`vpt profiles list`); "
                             "auto: the one `vpt profiles detect` names for each file")
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Read, map and check; store nothing: print what the files would give")
]


@ingest_app.command("calls")
def ingest_calls(paths: PathsArg, source: SourceOpt = None, profile: ProfileOpt = None,
                 dry_run: DryRunOpt = False) -> None:
    """Ingest call-level records (canonical CSV or JSON Lines, or any export an import profile maps). Exit 3 when
    rows were rejected (or all were); with --dry-run, when nothing would be stored."""
    if dry_run:
        dry_run_files("calls", paths, profile)
        return
    _ingest("calls", paths, source, profile=profile)


@ingest_app.command("intervals")
def ingest_intervals(paths: PathsArg, source: SourceOpt = None, profile: ProfileOpt = None,
                     dry_run: DryRunOpt = False) -> None:
    """Ingest interval records (canonical CSV, or any report an import profile maps). Exit 3 when rows were
    rejected (or all were); with --dry-run, when nothing would be stored."""
    if dry_run:
        dry_run_files("intervals", paths, profile)
        return
    _ingest("intervals", paths, source, profile=profile)


@ingest_app.command("queue-log")
def ingest_queue_log(
    paths: Annotated[list[Path], typer.Argument(help="Asterisk queue_log files")],
    queue_map: Annotated[Path, typer.Option("--queue-map", help="CSV with columns queue,region")],
    source: SourceOpt = None,
) -> None:
    """Ingest Asterisk queue_log files; calls still queued at the end of a log wait for a later log."""
    settings = load_settings().model_copy(update={"queue_map_file": str(queue_map)})
    _ingest("queue-log", paths, source, settings)


@ingest_app.command("formats")
def ingest_formats() -> None:
    """List the formats files and pushes may come in (built-in and from plugins' vpt.formats entry points).
    Exit 1 when a plugin's entry point was refused."""
    formats = default_formats()
    table = Table(title=cli_title("ingest_formats"))
    for header in ("Namn", "Poster", "vpt ingest", "Inläsningsmapp", "Filändelser", "Medietyper för push",
                   "Entry point"):
        table.add_column(header)
    for member in formats:
        suffixes = ", ".join(suffix or "(none)" for suffix in member.suffixes)
        table.add_row(*(for_terminal(text) for text in (
            member.name, member.record_kind, member.cli_command or "–", member.drop_folder or "–", suffixes or "–",
            ", ".join(member.media_types) or "–", member.origin)))
    console.print(table)
    for problem in formats.problems:
        errors.print(f"[red]refused[/red] {for_terminal(problem)}", highlight=False)
    if formats.problems:
        raise typer.Exit(EXIT_FAILED)


@app.command("recompute")
def recompute_command(
    from_month: Annotated[str | None, typer.Option("--from", help="First month YYYY-MM")] = None,
    to_month: Annotated[str | None, typer.Option("--to", help="Last month YYYY-MM")] = None,
) -> None:
    """Rebuild hourly aggregates from stored records (after changing the definitions, or to verify).

    Waits for a running ingest or recompute up to VPT_INGEST_LOCK_WAIT_SECONDS, then gives up (exit 1).
    """
    settings = load_settings()
    factory = session_factory(settings)
    lock = LockWait(settings.ingest_lock_wait_seconds, "recompute", _say_waiting)
    try:
        start = local_month_bounds(parse_month(from_month))[0] if from_month else None
        end = local_month_bounds(parse_month(to_month))[1] if to_month else None
        with transaction(factory) as session:
            hours = recompute(session, settings.definitions, start, end, lock=lock)
    except (InvalidMonth, IngestError, IngestBusy) as exc:
        errors.print(f"[red]error[/red] {for_terminal(exc)}")
        raise typer.Exit(EXIT_FAILED) from None
    console.print(f"rebuilt {counted(hours, 'hour')} of aggregates")


SCORECARD_FORMATS = ("table", "json", "csv", "xlsx")


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def write_output(data: bytes, out: Path | None) -> bool:
    """An export's bytes to ``out``, or to stdout when no file is named; a file that cannot be written is an error
    naming it (exit 1). True when a file was written, so the caller says what it wrote."""
    if out is None:
        _write_stdout_bytes(data)
        return False
    try:
        out.write_bytes(data)
    except OSError as exc:
        errors.print(f"[red]error[/red] cannot write {for_terminal(out)}: {for_terminal(exc.strerror or exc)}",
                     highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    return True


def _write_stdout_bytes(data: bytes) -> None:
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a text-only stream: only UTF-8 text ever comes here
        sys.stdout.write(data.decode("utf-8"))
    else:
        buffer.write(data)
        buffer.flush()


@app.command("scorecard")
def scorecard_command(
    month: Annotated[str, typer.Argument(help="YYYY-MM")],
    output_format: Annotated[str, typer.Option("--format", help="table, json, csv or xlsx")] = "table",
    lang: Annotated[str, typer.Option("--lang", help="sv or en: headers and labels of table, csv and xlsx")] = "sv",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout (json, csv, xlsx)")
    ] = None,
) -> None:
    """Print or export the monthly scorecard of every region and collaboration with data.

    csv is UTF-8 with a byte-order mark; with --lang sv (default) it uses ; and a decimal comma as Swedish
    Excel expects. xlsx is written to --out, or to stdout only when stdout is not a terminal.
    """
    settings = load_settings()
    if output_format not in SCORECARD_FORMATS:
        errors.print("--format must be table, json, csv or xlsx")
        raise typer.Exit(2)
    if lang not in LANGS:
        errors.print("--lang must be sv or en")
        raise typer.Exit(2)
    if out is not None and output_format == "table":
        errors.print("--out writes json, csv or xlsx: choose one with --format")
        raise typer.Exit(2)
    if output_format == "xlsx" and out is None and _stdout_is_terminal():
        errors.print("refusing to write a binary XLSX file to the terminal: use --out FILE or redirect stdout")
        raise typer.Exit(2)
    try:
        month_date = parse_month(month)
    except InvalidMonth as exc:
        errors.print(f"[red]error[/red] {for_terminal(exc)}")
        raise typer.Exit(2) from None
    factory = session_factory(settings)
    with factory() as session:
        document = monthly_scorecard(session, month_date, settings.definitions, datetime.now(UTC))
    language = check_lang(lang)
    if output_format == "table":
        _print_table(document, language)
        return
    if output_format == "json":
        data = (json.dumps(document.to_dict(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    elif output_format == "csv":
        data = scorecard_csv(document, language).encode("utf-8")
    else:
        data = scorecard_xlsx(document, language)
    if write_output(data, out):
        errors.print(f"wrote the {document.month} scorecard ({len(document.scopes)} scopes) to {for_terminal(out)}",
                     highlight=False)


def _print_table(document: ScorecardDocument, lang: Lang = "sv") -> None:
    """The scorecard in the terminal (as wide as it is: rich reads ``COLUMNS`` there), values coloured by their
    target's status (``app.cli.scorecard_table``)."""
    console.print(scorecard_table(document, lang, console.width))
