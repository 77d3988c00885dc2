"""The ``vpt`` command line: the entry point for operators, CI and the demo."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from app.config import Settings
from app.db.migrate import upgrade as migrate_upgrade
from app.db.session import make_engine, make_session_factory, transaction
from app.ingest.loader import DefinitionsChanged, IngestError, RecordKind, RunReport
from app.ingest.service import ingest_file, recompute
from app.kpi.localtime import local_month_bounds
from app.logs import setup_logging
from app.scorecard.render import STATUS_MARK, STATUS_STYLE, format_ratio, format_seconds, scorecard_csv
from app.scorecard.service import InvalidMonth, monthly_scorecard, parse_month

app = typer.Typer(
    help="vpt-monitor: accessibility of 1177 Vårdguiden på telefon.", no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
ingest_app = typer.Typer(help="Load files of call or interval records.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")

console = Console()
if not console.is_terminal:  # piped to a file or another program: do not wrap at 80 columns
    console = Console(width=160)
errors = Console(stderr=True, width=None if Console(stderr=True).is_terminal else 160)

EXIT_OK, EXIT_FAILED, EXIT_SOME_REJECTED = 0, 1, 3
PROGRESS_MIN_BYTES = 5_000_000


def _settings() -> Settings:
    return Settings()


def _setup_logging(settings: Settings) -> None:
    setup_logging(settings.log_level)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database at VPT_DATABASE_URL to the newest schema."""
    settings = _settings()
    migrate_upgrade(settings.database_url)
    redacted = make_url(settings.database_url).render_as_string(hide_password=True)
    console.print(f"database at {redacted} is up to date")


def _print_report(report: RunReport) -> None:
    console.print(
        f"[bold]{report.origin}[/bold] ({report.record_kind}, source {report.source}, run {report.run_id}): "
        f"read {report.rows_read}, stored {report.rows_stored}, updated {report.rows_updated}, "
        f"unchanged {report.rows_unchanged}, rejected {report.rows_rejected}; "
        f"{report.hours_refreshed} hours refreshed in {report.seconds:.2f} s"
    )
    for rejection in report.rejections[:10]:
        errors.print(f"  [yellow]rejected[/yellow] {report.origin} {rejection.describe()}", highlight=False)
    if report.rows_rejected > 10:
        errors.print(f"  … and {report.rows_rejected - 10} more (GET /api/v1/ingest/rejected?run={report.run_id})")


def _ingest(kind: RecordKind, paths: list[Path], source: str | None) -> None:
    settings = _settings()
    factory = make_session_factory(make_engine(settings))
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

                    report = ingest_file(factory, settings, kind, path, source_name=source, on_progress=advance)
            else:
                report = ingest_file(factory, settings, kind, path, source_name=source)
        except (IngestError, DefinitionsChanged) as exc:
            errors.print(f"[red]failed[/red] {exc}", highlight=False)
            failed += 1
            continue
        _print_report(report)
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


@app.command("recompute")
def recompute_command(
    from_month: Annotated[str | None, typer.Option("--from", help="First month YYYY-MM")] = None,
    to_month: Annotated[str | None, typer.Option("--to", help="Last month YYYY-MM")] = None,
) -> None:
    """Rebuild hourly aggregates from stored records (after changing the definitions, or to verify)."""
    settings = _settings()
    factory = make_session_factory(make_engine(settings))
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
    settings = _settings()
    if output_format not in {"table", "json", "csv"}:
        errors.print("--format must be table, json or csv")
        raise typer.Exit(2)
    try:
        month_date = parse_month(month)
    except InvalidMonth as exc:
        errors.print(f"[red]error[/red] {exc}")
        raise typer.Exit(2) from None
    factory = make_session_factory(make_engine(settings))
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


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default VPT_API_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default VPT_API_PORT)")] = None,
) -> None:
    """Serve the REST API."""
    import uvicorn

    from app.api.app import create_app

    settings = _settings()
    _setup_logging(settings)
    uvicorn.run(create_app(settings), host=host or settings.api_host, port=port or settings.api_port)


@app.command("demo")
def demo(
    port: Annotated[int, typer.Option(help="API port")] = 8000,
    database: Annotated[Path, typer.Option(help="SQLite file for the demo")] = Path("vpt-demo.db"),
) -> None:
    """Load the bundled sample data into a SQLite database and serve the API on it."""
    import uvicorn

    from app.api.app import create_app

    samples = Path(__file__).resolve().parents[1] / "samples"
    settings = Settings(database_url=f"sqlite:///{database}")
    _setup_logging(settings)
    migrate_upgrade(settings.database_url)
    factory = make_session_factory(make_engine(settings))
    for kind, name in (("calls", "calls_october.csv"), ("intervals", "intervals_october.csv")):
        report = ingest_file(factory, settings, kind, samples / name, source_name="samples")  # type: ignore[arg-type]
        _print_report(report)
    console.print(f"\n[bold]vpt-monitor demo[/bold] on {database}")
    console.print(f"  scorecard: http://127.0.0.1:{port}/api/v1/scorecards/2025-10")
    console.print(f"  API docs:  http://127.0.0.1:{port}/docs")
    console.print("  Ctrl-C stops\n")
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


def main() -> None:
    try:
        app()
    except (OperationalError, ProgrammingError) as exc:
        message = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        errors.print(f"[red]database error[/red]: {message}", highlight=False)
        errors.print("Is VPT_DATABASE_URL right, the server up, and the schema current (`vpt db upgrade`)?")
        raise SystemExit(EXIT_FAILED) from None


if __name__ == "__main__":
    main()
