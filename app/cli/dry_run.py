"""``vpt ingest calls|intervals FILE --dry-run``: what a file would give, printed, nothing stored (issue 14 §5).

Which reader a file gets (app.ingest.profile_choice): ``--profile NAME`` that profile; ``--profile auto`` the profile
detection names; no ``--profile`` the canonical format its suffix chooses, as ``vpt ingest`` without a dry run does,
and, only in a dry run, when that format cannot read the file at all, the profile detection names (the report says
so). A real ingest never guesses: it stores through a detected profile only when told ``--profile auto``.

Exit 0 when something would be stored, 3 when nothing would (every row rejected, or none), 1 when a file cannot be
read at all or its profile cannot be used.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from app.cli.base import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_SOME_REJECTED,
    console,
    errors,
    fail,
    kind_word,
    load_settings,
    session_factory,
)
from app.cli.wording import count, counted, current_lang, say
from app.config import Settings
from app.errors import VptError
from app.ingest.dry_run import DryRunReport, ReasonCount, dry_run_delivery
from app.ingest.formats import FormatUnavailable
from app.ingest.loader import IngestError, Parser, RecordKind
from app.ingest.profile_choice import AUTO, Choice, NoProfileDetected, choose_for_file, detect_for_file
from app.kpi.catalog import KPIS
from app.kpi.glossary import SCOPE_KINDS, Lang, note_in
from app.kpi.numbers import percent
from app.reports.terminal import format_seconds, local_minute
from app.sanitize import for_terminal

#: The KPIs a terminal shows per region and month (the API's report has them all), by the catalogue's short names.
MONTH_KPIS = ("offered", "answered", "abandoned", "rejected", "answer_rate", "mean_wait", "service_level")


def month_columns(lang: Lang) -> tuple[str, ...]:
    return (SCOPE_KINDS["region"][lang].capitalize(), say("dry.month", lang),
            *(KPIS[key].short[lang] for key in MONTH_KPIS), say("dry.notes", lang))


def dry_run_files(
    command: RecordKind, paths: list[Path], profile: str | None, settings: Settings | None = None,
) -> None:
    """Dry-run each file and print its report; exit as the module says (the worst file decides)."""
    settings = settings or load_settings()
    factory = session_factory(settings)
    worst = EXIT_OK
    for path in paths:
        try:
            report = _dry_run(factory, settings, command, path, profile)
        except (VptError, OSError) as exc:  # IngestError, TooManyRows, a profile's error, an unreadable file
            errors.print(f"[red]{say('failed')}[/red] {for_terminal(path.name)}: {for_terminal(exc)}", highlight=False)
            worst = EXIT_FAILED
            continue
        print_dry_run(report)
        if not report.would_store and worst == EXIT_OK:
            worst = EXIT_SOME_REJECTED
    if worst != EXIT_OK:
        raise typer.Exit(worst)


def _dry_run(
    factory: sessionmaker[Session], settings: Settings, command: RecordKind, path: Path, profile: str | None,
) -> DryRunReport:
    choice = choose_for_file(settings, command, path, profile)
    try:
        return _run(factory, settings, command, path, choice)
    except (IngestError, FormatUnavailable) as exc:
        if profile is not None:
            raise
        # the canonical format cannot read it at all: perhaps a profile can (a dry run may guess, an ingest not)
        try:
            detected = detect_for_file(settings, command, path, because=str(exc))
        except NoProfileDetected as none:
            raise IngestError(f"{exc}; {none}") from None
        return _run(factory, settings, command, path, detected)


def _run(
    factory: sessionmaker[Session], settings: Settings, command: RecordKind, path: Path, choice: Choice,
) -> DryRunReport:
    with path.open("rb") as raw:
        return dry_run_delivery(
            factory, settings, record_kind=command, raw=raw, parser=choice.parser, origin=path.name,
            reader=choice.reader, profile=choice.profile, detected=choice.detected, detection=choice.detection,
            max_rows=settings.max_upload_rows,
        )


def detected_parser(settings: Settings, command: RecordKind, path: Path) -> Parser:
    """``vpt ingest <command> FILE --profile auto`` (stored for real): the parser of the profile detection names,
    said on stderr; none named is an error line and exit 1."""
    try:
        choice = choose_for_file(settings, command, path, AUTO)
    except VptError as exc:
        raise fail(f"{path.name}: {exc}") from None
    errors.print(f"{for_terminal(path.name)}: {for_terminal(choice.reader)}, {for_terminal(choice.detection)}",
                 highlight=False)
    return choice.parser


def _local(report: DryRunReport) -> str:
    if report.first_record_at is None or report.last_record_at is None:
        return say("dry.no_records")
    first, last = local_minute(report.first_record_at), local_minute(report.last_record_at)
    return say("dry.span", first=first, last=last)


def _reasons(title: str, reasons: list[ReasonCount], style: str) -> None:
    if not reasons:
        return
    table = Table(title=title, title_style=style)
    for i, header in enumerate(say("dry.reason_headers").split("|")):
        table.add_column(header, justify="right" if i in (2, 3) else "left")
    for item in reasons:
        table.add_row(for_terminal(item.field or "–"), for_terminal(item.reason), count(item.count),
                      str(item.first_position), for_terminal(item.example))
    console.print(table)


def print_dry_run(report: DryRunReport) -> None:
    """The report of one file, every text from input through ``for_terminal``."""
    verdict = say("dry.would_store") if report.would_store else say("dry.would_store_nothing")
    console.print(say("dry.head", origin=for_terminal(report.origin), kind=kind_word(report.record_kind),
                      verdict=verdict), highlight=False)
    how = say("dry.detected") if report.detected else say("dry.given")
    reader = for_terminal(report.reader) + (f" ({how})" if report.profile is not None else "")
    console.print(say("dry.read_by", reader=reader), highlight=False)
    if report.detection:
        console.print(f"  {for_terminal(report.detection)}", highlight=False)
    counts = say("dry.counts", read=count(report.rows_read), records=counted(report.records, "record"),
                 rejected=count(report.rows_rejected), warnings=counted(report.warnings, "warning"),
                 warned=counted(report.rows_warned, "record"))
    if report.repeats:
        counts += f", {counted(report.repeats, 'repeated_key')}{say('dry.repeats')}"
    if report.rows_skipped is not None:
        counts += f", {counted(report.rows_skipped, 'row', 'skipped')}"
    if report.legs_merged:
        counts += f", {counted(report.legs_merged, 'leg', 'merged')}"
    if report.copies_dropped:
        counts += f", {counted(report.copies_dropped, 'copy', 'dropped')}"
    console.print(counts + f"; {_local(report)}", highlight=False)
    _reasons(say("dry.rejections"), report.rejections, "red")
    _reasons(say("dry.warnings"), report.warning_reasons, "yellow")
    if report.sample:
        table = Table(title=say("dry.sample", n=len(report.sample)))
        columns = [c for c in report.sample[0] if any(row[c] not in (None, "") for row in report.sample)]
        for column in columns:
            table.add_column(column, overflow="fold", no_wrap=column.endswith("_at") or column == "interval_start")
        for row in report.sample:
            table.add_row(*("–" if row[c] is None else for_terminal(row[c]) for c in columns))
        console.print(table)
    if report.months:
        table = Table(title=say("dry.months"))
        headers = month_columns(current_lang())
        for i, header in enumerate(headers):
            table.add_column(header, justify="left" if i in (0, 1, len(headers) - 1) else "right")
        lang = current_lang()
        for month in report.months:
            k = month.kpis
            table.add_row(
                month.region, month.month.strftime("%Y-%m"), count(k.offered), count(k.answered), count(k.abandoned),
                count(k.rejected), percent(None if k.answer_rate is None else float(k.answer_rate), lang),
                format_seconds(None if k.mean_wait is None else float(k.mean_wait)),
                percent(None if k.service_level is None else float(k.service_level), lang),
                for_terminal("; ".join(note_in(note, lang) for note in month.notes)),
            )
        console.print(table)
