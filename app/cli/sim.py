"""Simulated traffic and pull sources: ``vpt simulate``, ``vpt sim serve``, ``vpt sources ...``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from app.cli.base import EXIT_FAILED, app, console, errors, load_settings, session_factory, sim_app, sources_app
from app.db.session import transaction
from app.kpi.localtime import STOCKHOLM
from app.sim.model import SimConfig

RegionsOpt = Annotated[str, typer.Option(help="Comma-separated region codes")]
DEFAULT_REGIONS = "SE-BD,SE-AC,SE-Z,SE-Y"


def _regions(text: str) -> tuple[str, ...]:
    from app.db.reference import REGIONS

    codes = tuple(code.strip().upper() for code in text.split(",") if code.strip())
    unknown = sorted(set(codes) - {code for code, _name, _people in REGIONS})
    if not codes or unknown:
        errors.print(f"[red]error[/red] unknown region code(s): {', '.join(unknown) or '(none given)'}")
        raise typer.Exit(2)
    return codes


def _moment(text: str | None, default: datetime) -> datetime:
    if text is None:
        return default
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors.print(f"[red]error[/red] {text!r} is not an ISO 8601 date or time")
        raise typer.Exit(2) from None
    return moment.replace(tzinfo=STOCKHOLM) if moment.tzinfo is None else moment


def start_of_today() -> datetime:
    return datetime.combine(datetime.now(STOCKHOLM).date(), time(), STOCKHOLM)


@app.command("simulate")
def simulate_command(
    out: Annotated[Path, typer.Option("--out", help="Folder for the files (created)")],
    regions: RegionsOpt = DEFAULT_REGIONS,
    from_date: Annotated[str, typer.Option("--from", help="First local day, YYYY-MM-DD")] = "2024-11-01",
    to_date: Annotated[str, typer.Option("--to", help="Last local day, YYYY-MM-DD")] = "2025-11-30",
    output_format: Annotated[str, typer.Option("--format", help="calls, intervals or queue-log")] = "calls",
    seed: Annotated[int, typer.Option(help="Same seed, same calls")] = SimConfig.seed,
) -> None:
    """Write simulated traffic (a queue model, SPEC §10) as files ready for `vpt ingest`, one per month."""
    from app.sim.writers import write_simulation

    if output_format not in {"calls", "intervals", "queue-log"}:
        errors.print("--format must be calls, intervals or queue-log")
        raise typer.Exit(2)
    try:
        start, end = date.fromisoformat(from_date), date.fromisoformat(to_date)
    except ValueError as exc:
        errors.print(f"[red]error[/red] {exc}")
        raise typer.Exit(2) from None
    if end < start:
        errors.print("[red]error[/red] --to is before --from")
        raise typer.Exit(2)
    config = SimConfig(seed=seed, regions=_regions(regions))
    paths = write_simulation(config, start, end, out, output_format)  # type: ignore[arg-type]
    for path in paths:
        console.print(f"wrote {path}")


@sim_app.command("serve")
def sim_serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (or --host)")] = 8181,
    host: Annotated[str, typer.Option(help="Bind address")] = "127.0.0.1",
    regions: RegionsOpt = DEFAULT_REGIONS,
    seed: Annotated[int, typer.Option(help="Same seed, same calls")] = SimConfig.seed,
    feed_start: Annotated[str | None, typer.Option("--from", help="Feed begins here (default: today 00:00)")] = None,
    clock: Annotated[str | None, typer.Option(help="Simulated time at start (default: now)")] = None,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second; 0 freezes the clock")] = 1.0,
    token: Annotated[str | None, typer.Option(help="Require 'Authorization: Bearer TOKEN'")] = None,
    lag_share: Annotated[float, typer.Option(help="Share of changes published late")] = 0.03,
) -> None:
    """Serve the simulated stream as a contact-centre platform's API: GET /calls and /intervals."""
    import uvicorn

    from app.sim.server import PlatformOptions, create_platform_app

    options = PlatformOptions(
        config=SimConfig(seed=seed, regions=_regions(regions)), start=_moment(feed_start, start_of_today()),
        clock_origin=_moment(clock, datetime.now(UTC)), speed=speed, lag_share=lag_share, token=token,
    )
    console.print(f"platform API on http://{host}:{port}/calls and /intervals (speed {speed}×)")
    uvicorn.run(create_platform_app(options), host=host, port=port, log_level="warning")


@sources_app.command("add")
def sources_add(
    name: Annotated[str, typer.Argument(help="Source name")],
    url: Annotated[str, typer.Option(help="Base URL of the platform API")],
    kind: Annotated[str, typer.Option(help="calls or intervals")] = "calls",
    cadence: Annotated[int, typer.Option(help="Seconds between pulls")] = 60,
    overlap: Annotated[int, typer.Option(help="Seconds re-read before the stored position")] = 300,
    page_size: Annotated[int, typer.Option(help="Records per page")] = 1000,
    auth_header_env: Annotated[str | None, typer.Option(help="Variable holding the Authorization value")] = None,
    start: Annotated[str | None, typer.Option(help="Where a new source starts reading (ISO time)")] = None,
) -> None:
    """Create or change an HTTP pull source in the database; a running worker picks it up."""
    from app.ingest.sources import PullSourceConfig, SourceConfigError, save_source

    settings = load_settings()
    try:
        config = PullSourceConfig.from_mapping({
            "name": name, "kind": kind, "base_url": url, "cadence_seconds": cadence, "overlap_seconds": overlap,
            "page_size": page_size, "auth_header_env": auth_header_env,
            "start": _moment(start, datetime.now(UTC)) if start else None,
        })
        with transaction(session_factory(settings)) as session:
            save_source(session, config)
    except SourceConfigError as exc:
        errors.print(f"[red]error[/red] {exc}")
        raise typer.Exit(EXIT_FAILED) from None
    console.print(f"source {name} saved")


@sources_app.command("list")
def sources_list() -> None:
    """Sources with their freshness: last success, last error, position in the feed."""
    from sqlalchemy import select

    from app.db.models import Source

    settings = load_settings()
    with session_factory(settings)() as session:
        rows = list(session.scalars(select(Source).order_by(Source.name)))
    table = Table(title="Källor")
    for header in ("Namn", "Typ", "På", "Senast lyckad", "Levererat t.o.m.", "Efter", "Senaste fel"):
        table.add_column(header)
    for row in rows:
        table.add_row(
            row.name, row.kind, "ja" if row.enabled else "nej",
            _when(row.last_success_at), _when(row.delivered_until),
            "" if row.records_behind is None else str(row.records_behind),
            "" if row.last_error is None or (row.last_success_at and row.last_error_at and
                                             row.last_success_at > row.last_error_at)
            else f"{_when(row.last_error_at)} {row.last_error[:60]}",
        )
    console.print(table)


@sources_app.command("pull")
def sources_pull(name: Annotated[str, typer.Argument(help="Source name")]) -> None:
    """Pull one source now, outside the worker (under the same lease, so never twice at once)."""
    import httpx

    from app.db.leases import leased, worker_identity
    from app.ingest.pull import PullError, pull_source, source_lease
    from app.ingest.sources import pull_sources

    settings = load_settings()
    factory = session_factory(settings)
    with factory() as session:
        configs = {config.name: config for config in pull_sources(session)}
    if name not in configs:
        errors.print(f"[red]error[/red] no enabled pull source named {name}")
        raise typer.Exit(EXIT_FAILED)
    lease = source_lease(name, worker_identity(), settings.lease_seconds)
    with leased(factory, lease.name, lease.holder, lease.seconds) as taken:
        if not taken:
            errors.print(f"source {name} is being pulled by a worker right now")
            raise typer.Exit(EXIT_FAILED)
        try:
            with httpx.Client() as client:
                report = pull_source(factory, settings, configs[name], client, lease=lease)
        except PullError as exc:
            errors.print(f"[red]failed[/red] {exc}")
            raise typer.Exit(EXIT_FAILED) from None
    console.print(
        f"{name}: {report.pages} pages, {report.records} records: stored {report.stored}, updated "
        f"{report.updated}, unchanged {report.unchanged}, rejected {report.rejected}, still queued {report.pending}"
    )


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M:%S")
