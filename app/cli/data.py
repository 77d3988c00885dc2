"""Commands on stored data: schema, ingest, recompute, scorecard."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import make_url

from app.cli.base import (
    EXIT_FAILED,
    EXIT_SOME_REJECTED,
    app,
    console,
    db_app,
    errors,
    ingest_app,
    load_settings,
    print_report,
    session_factory,
)
from app.db.migrate import upgrade as migrate_upgrade
from app.db.session import transaction
from app.ingest.loader import DefinitionsChanged, IngestError, Parser, RecordKind, SourceKindMismatch
from app.ingest.service import ingest_file, queue_log_parser, recompute
from app.kpi.localtime import local_month_bounds
from app.scorecard.render import STATUS_MARK, STATUS_STYLE, format_ratio, format_seconds, scorecard_csv
from app.scorecard.service import InvalidMonth, monthly_scorecard, parse_month

PROGRESS_MIN_BYTES = 5_000_000


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database at VPT_DATABASE_URL to the newest schema."""
    settings = load_settings()
    migrate_upgrade(settings.database_url)
    redacted = make_url(settings.database_url).render_as_string(hide_password=True)
    console.print(f"database at {redacted} is up to date")


def _ingest(kind: RecordKind, paths: list[Path], source: str | None, parser: Parser | None = None) -> None:
    settings = load_settings()
    factory = session_factory(settings)
    rejected = failed = 0
    for path in paths:
        size = path.stat().st_size if path.is_file() else 0
        show_progress = console.is_terminal and size >= PROGRESS_MIN_BYTES
        try:
            if show_progress:
                with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                              TimeRemainingColumn(), console=console, transient=True) as progress:
                    task = progress.add_task(path.name, total=size)

                    def advance(n: int, progress: Progress = progress, task: TaskID = task) -> None:
                        progress.advance(task, n)

                    report = ingest_file(
                        factory, settings, kind, path, source_name=source, on_progress=advance, parser=parser
                    )
            else:
                report = ingest_file(factory, settings, kind, path, source_name=source, parser=parser)
        except (IngestError, DefinitionsChanged, SourceKindMismatch) as exc:
            errors.print(f"[red]failed[/red] {exc}", highlight=False)
            failed += 1
            continue
        print_report(report)
        rejected += report.rows_rejected
    if failed:
        raise typer.Exit(EXIT_FAILED)
    if rejected:
        raise typer.Exit(EXIT_SOME_REJECTED)


PathsArg = Annotated[list[Path], typer.Argument(help="Files: .csv (or .jsonl for calls)")]
SourceOpt = Annotated[
    str | None, typer.Option(help="Source name; record ids are unique within a source (default VPT_DEFAULT_SOURCE)")
]


@ingest_app.command("calls")
def ingest_calls(paths: PathsArg, source: SourceOpt = None) -> None:
    """Ingest call-level records (canonical CSV or JSON Lines). Exit 3 when some rows were rejected."""
    _ingest("calls", paths, source)


@ingest_app.command("intervals")
def ingest_intervals(paths: PathsArg, source: SourceOpt = None) -> None:
    """Ingest interval records (canonical CSV). Exit 3 when some rows were rejected."""
    _ingest("intervals", paths, source)


@ingest_app.command("queue-log")
def ingest_queue_log(
    paths: Annotated[list[Path], typer.Argument(help="Asterisk queue_log files")],
    queue_map: Annotated[Path, typer.Option("--queue-map", help="CSV with columns queue,region")],
    source: SourceOpt = None,
) -> None:
    """Ingest Asterisk queue_log files; calls still queued at the end of a log wait for a later log."""
    try:
        parser = queue_log_parser(queue_map)
    except IngestError as exc:
        errors.print(f"[red]failed[/red] {exc}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    _ingest("calls", paths, source, parser)


@app.command("recompute")
def recompute_command(
    from_month: Annotated[str | None, typer.Option("--from", help="First month YYYY-MM")] = None,
    to_month: Annotated[str | None, typer.Option("--to", help="Last month YYYY-MM")] = None,
) -> None:
    """Rebuild hourly aggregates from stored records (after changing the definitions, or to verify)."""
    settings = load_settings()
    factory = session_factory(settings)
    try:
        start = local_month_bounds(parse_month(from_month))[0] if from_month else None
        end = local_month_bounds(parse_month(to_month))[1] if to_month else None
        with transaction(factory) as session:
            hours = recompute(session, settings.definitions, start, end)
    except (InvalidMonth, IngestError) as exc:
        errors.print(f"[red]error[/red] {exc}")
        raise typer.Exit(EXIT_FAILED) from None
    console.print(f"rebuilt {hours} hours of aggregates")


@app.command("scorecard")
def scorecard_command(
    month: Annotated[str, typer.Argument(help="YYYY-MM")],
    output_format: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
) -> None:
    """Print the monthly scorecard of every region and collaboration with data."""
    settings = load_settings()
    if output_format not in {"table", "json", "csv"}:
        errors.print("--format must be table, json or csv")
        raise typer.Exit(2)
    try:
        month_date = parse_month(month)
    except InvalidMonth as exc:
        errors.print(f"[red]error[/red] {exc}")
        raise typer.Exit(2) from None
    factory = session_factory(settings)
    with factory() as session:
        document = monthly_scorecard(session, month_date, settings.definitions, datetime.now(UTC))
    if output_format == "json":
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    elif output_format == "csv":
        sys.stdout.write(scorecard_csv(document))
    else:
        _print_table(document)


def _print_table(document: dict) -> None:  # type: ignore[type-arg]
    table = Table(title=f"Styrkort 1177 VPT {document['month']}" + ("" if document["closed"] else " (pågår)"))
    for header in ("Område", "Inkommande", "Besvarade", "Svarsfrekvens", "Medelväntetid", "Servicenivå",
                   "Avbrutna", "Kön full", "Timmar med data"):
        table.add_column(header, justify="left" if header == "Område" else "right")
    for scope in document["scopes"]:
        kpis = scope["kpis"]
        status = {t["kpi"]: t["status"] for t in scope["targets"]}

        def styled(text: str, kpi: str, status: dict[str, str] = status) -> str:
            state = status.get(kpi, "")
            style = STATUS_STYLE.get(state, "")
            return f"[{style}]{text} {STATUS_MARK.get(state, '')}[/{style}]" if style else text

        completeness = scope["completeness"]
        table.add_row(
            f"{scope['name']} ({scope['scope']})",
            str(kpis["offered"]),
            str(kpis["answered"]),
            styled(format_ratio(kpis["answer_rate"]), "answer_rate"),
            styled(format_seconds(kpis["mean_wait"]), "mean_wait"),
            format_ratio(kpis["service_level"]),
            str(kpis["abandoned"]),
            str(kpis["rejected"]),
            f"{completeness['hours_with_data']}/{completeness['hours_in_month']}",
        )
    console.print(table)
    console.print("✓ mål uppfyllt / på väg  ✗ missat  ! risk  – ingen data", style="dim")
    if not document["scopes"]:
        console.print("no data for this month")
