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
    argument,
    command_lang,
    console,
    db_app,
    error_line,
    errors,
    fail,
    ingest_app,
    kind_word,
    load_settings,
    print_report,
    session_factory,
)
from app.cli.dry_run import detected_parser, dry_run_files
from app.cli.progress import IngestProgress
from app.cli.scorecard_table import TABLE_HEADERS as TABLE_HEADERS  # re-exported: tests read them from here
from app.cli.scorecard_table import TABLE_TEXT as TABLE_TEXT
from app.cli.scorecard_table import scorecard_table
from app.cli.wording import counted, current_lang, say
from app.config import Settings
from app.db.migrate import upgrade as migrate_upgrade
from app.db.session import transaction
from app.ingest.formats import FormatUnavailable, default_formats
from app.ingest.loader import DefinitionsChanged, IngestError, Parser, RecordKind
from app.ingest.lock import IngestBusy, LockWait
from app.ingest.profile_choice import AUTO
from app.ingest.profiles import ProfileError, UnknownProfile, load_profiles, profile_parser
from app.ingest.runs import InvalidSourceName, SourceKindMismatch
from app.ingest.service import ingest_file, recompute
from app.kpi.glossary import Lang, cli_title
from app.kpi.localtime import local_month_bounds
from app.reports.exports import scorecard_csv, scorecard_xlsx
from app.sanitize import for_terminal
from app.scorecard.document import ScorecardDocument
from app.scorecard.service import InvalidMonth, monthly_scorecard, parse_month


def _say_waiting(holder: str) -> None:
    """A command that waits for the ingest lock says so, and for whom, instead of seeming to hang."""
    errors.print(say("lock_wait", holder=for_terminal(holder)), highlight=False)


@db_app.command("upgrade", help="Migrera databasen på VPT_DATABASE_URL till det senaste schemat.")
def db_upgrade() -> None:
    settings = load_settings()
    migrate_upgrade(settings.database_url)
    redacted = make_url(settings.database_url).render_as_string(hide_password=True)
    console.print(say("db_upgraded", url=for_terminal(redacted)), highlight=False)


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
        raise fail(say("profile_kind", name=profile.name, kind=profile.record_kind, command=command))
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
                    errors.print(f"[red]{say('failed')}[/red] {for_terminal(exc)}", highlight=False)
                    raise typer.Exit(EXIT_FAILED) from None
            parser, kind = parsers[chosen.name], chosen.record_kind
        size = path.stat().st_size if path.is_file() else 0
        try:  # a bar on a terminal once the file has taken a couple of seconds (app.cli.progress)
            with IngestProgress(console, for_terminal(path.name), size) as advance:
                report = ingest_file(factory, settings, kind, path, source_name=source, on_progress=advance,
                                     parser=parser, on_lock_wait=_say_waiting)
        except (IngestError, IngestBusy, DefinitionsChanged, SourceKindMismatch, InvalidSourceName) as exc:
            errors.print(f"[red]{say('failed')}[/red] {for_terminal(exc)}", highlight=False)
            failed += 1
            continue
        print_report(report)
        if report.status == "rejected":
            errors.print(say("no_row_stored", origin=for_terminal(report.origin), rows=counted(report.rows_read, "row"),
                             run=report.run_id), highlight=False)
        rejected += report.rows_rejected
    if failed:
        raise typer.Exit(EXIT_FAILED)
    if rejected:
        raise typer.Exit(EXIT_SOME_REJECTED)


PathsArg = Annotated[list[Path], typer.Argument(help="Filer: .csv eller .jsonl (se `vpt ingest formats`)")]
SourceOpt = Annotated[
    str | None, typer.Option(help="Källans namn; postens id är unikt inom en källa (standard VPT_DEFAULT_SOURCE)")
]
ProfileOpt = Annotated[
    str | None, typer.Option("--profile", help="Läs filerna med den här importprofilen (`vpt profiles list`); "
                             "auto: den som `vpt profiles detect` anger för varje fil")
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Läs, mappa och kontrollera; spara inget: visa vad filerna skulle ge")
]


@ingest_app.command("calls", help="Läs in samtalsposter (kanonisk CSV eller JSON Lines, eller en export som en "
                    "importprofil mappar). Slutkod 3 när rader avvisades (eller alla); med --dry-run när inget "
                    "skulle sparas.")
def ingest_calls(paths: PathsArg, source: SourceOpt = None, profile: ProfileOpt = None,
                 dry_run: DryRunOpt = False) -> None:
    """Help texts are the decorators' (Swedish, as all of vpt's). A dry run stores nothing: it goes its own way."""
    if dry_run:
        dry_run_files("calls", paths, profile)
        return
    _ingest("calls", paths, source, profile=profile)


@ingest_app.command("intervals", help="Läs in intervallposter (kanonisk CSV, eller en rapport som en importprofil "
                    "mappar). Slutkod 3 när rader avvisades (eller alla); med --dry-run när inget skulle sparas.")
def ingest_intervals(paths: PathsArg, source: SourceOpt = None, profile: ProfileOpt = None,
                     dry_run: DryRunOpt = False) -> None:
    if dry_run:
        dry_run_files("intervals", paths, profile)
        return
    _ingest("intervals", paths, source, profile=profile)


@ingest_app.command("queue-log", help="Läs in Asterisk queue_log-filer; samtal som fortfarande står i kö när "
                    "loggen slutar väntar på en senare logg.")
def ingest_queue_log(
    paths: Annotated[list[Path], typer.Argument(help="Asterisk queue_log-filer")],
    queue_map: Annotated[Path, typer.Option("--queue-map", help="CSV med kolumnerna queue,region")],
    source: SourceOpt = None,
) -> None:
    settings = load_settings().model_copy(update={"queue_map_file": str(queue_map)})
    _ingest("queue-log", paths, source, settings)


@ingest_app.command("formats", help="Lista formaten som filer och push kan komma i (inbyggda och från tilläggs "
                    "vpt.formats-entry points). Slutkod 1 när ett tilläggs entry point vägrades.")
def ingest_formats() -> None:
    formats = default_formats()
    table = Table(title=cli_title("ingest_formats", current_lang()))
    for header in say("formats.headers").split("|"):
        table.add_column(header)
    for member in formats:
        suffixes = ", ".join(suffix or say("no_suffix") for suffix in member.suffixes)
        table.add_row(for_terminal(member.name), kind_word(member.record_kind), *(for_terminal(text) for text in (
            member.cli_command or "–", member.drop_folder or "–", suffixes or "–",
            ", ".join(member.media_types) or "–", member.origin)))
    console.print(table)
    for problem in formats.problems:
        errors.print(say("refused", problem=for_terminal(problem)), highlight=False)
    if formats.problems:
        raise typer.Exit(EXIT_FAILED)


@app.command("recompute", help="Bygg om timaggregaten från sparade poster (efter ändrade definitioner, eller för "
             "att kontrollera). Väntar på en pågående inläsning eller omräkning högst "
             "VPT_INGEST_LOCK_WAIT_SECONDS, ger sedan upp (slutkod 1).")
def recompute_command(
    from_month: Annotated[str | None, typer.Option("--from", help="Första månad ÅÅÅÅ-MM")] = None,
    to_month: Annotated[str | None, typer.Option("--to", help="Sista månad ÅÅÅÅ-MM")] = None,
) -> None:
    settings = load_settings()
    factory = session_factory(settings)
    lock = LockWait(settings.ingest_lock_wait_seconds, "recompute", _say_waiting)
    try:
        start = local_month_bounds(parse_month(from_month))[0] if from_month else None
        end = local_month_bounds(parse_month(to_month))[1] if to_month else None
        with transaction(factory) as session:
            hours = recompute(session, settings.definitions, start, end, lock=lock)
    except (InvalidMonth, IngestError, IngestBusy) as exc:
        error_line(exc)
        raise typer.Exit(EXIT_FAILED) from None
    console.print(say("recomputed", hours=counted(hours, "hour")), highlight=False)


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
        error_line(say("cannot_write", path=out, reason=exc.strerror or exc))
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


@app.command("scorecard", help="Visa eller exportera månadens styrkort för varje region och samverkan med data. "
             "csv är UTF-8 med byte-order mark; på svenska med ; och decimalkomma som svenska Excel väntar sig. "
             "xlsx skrivs till --out, eller till standard ut bara när den inte är en terminal.")
def scorecard_command(
    month: Annotated[str, typer.Argument(help="ÅÅÅÅ-MM")],
    output_format: Annotated[str, typer.Option("--format", help="table, json, csv eller xlsx")] = "table",
    lang: Annotated[str | None, typer.Option("--lang", help="sv eller en: körningens språk, även rubriker och "
                                             "etiketter i table, csv och xlsx (standard: vpt --lang)",
                                             show_default=False)] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Skriv till den här filen i stället för standard ut (json, csv, xlsx)")
    ] = None,
) -> None:
    """A command's ``--lang`` sets the whole run's language: the table and the messages around it agree."""
    settings = load_settings()
    language = command_lang(lang)
    if output_format not in SCORECARD_FORMATS:
        raise fail(say("format_scorecard"), 2, "--format")
    if out is not None and output_format == "table":
        raise fail(say("out_needs_format"), 2, "--out")
    if output_format == "xlsx" and out is None and _stdout_is_terminal():
        raise fail(say("xlsx_to_terminal"), 2)
    try:
        month_date = parse_month(month)
    except InvalidMonth as exc:
        raise fail(exc, 2, argument("month")) from None
    factory = session_factory(settings)
    with factory() as session:
        document = monthly_scorecard(session, month_date, settings.definitions, datetime.now(UTC))
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
        errors.print(say("wrote_scorecard", month=document.month, scopes=counted(len(document.scopes), "scope"),
                         path=for_terminal(out)), highlight=False)


def _print_table(document: ScorecardDocument, lang: Lang = "sv") -> None:
    """The scorecard in the terminal (as wide as it is: rich reads ``COLUMNS`` there), values coloured by their
    target's status (``app.cli.scorecard_table``)."""
    console.print(scorecard_table(document, lang, console.width))
