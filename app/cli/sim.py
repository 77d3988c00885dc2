"""Simulated traffic and pull sources: ``vpt simulate``, ``vpt sim serve``, ``vpt sources ...``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from app.cli.base import (
    EXIT_FAILED,
    app,
    cli_actor,
    console,
    errors,
    load_settings,
    session_factory,
    sim_app,
    sources_app,
)
from app.db.session import transaction
from app.kpi.glossary import cli_title
from app.kpi.localtime import STOCKHOLM
from app.sanitize import for_terminal
from app.sim.model import SimConfig

RegionsOpt = Annotated[str, typer.Option(help="Comma-separated region codes")]
DEFAULT_REGIONS = "SE-BD,SE-AC,SE-Z,SE-Y"


def _regions(text: str) -> tuple[str, ...]:
    from app.kpi.reference import REGIONS

    codes = tuple(code.strip().upper() for code in text.split(",") if code.strip())
    unknown = sorted(set(codes) - {code for code, _name, _people in REGIONS})
    if not codes or unknown:
        errors.print(f"[red]error[/red] unknown region code(s): {for_terminal(', '.join(unknown) or '(none given)')}")
        raise typer.Exit(2)
    return codes


def _moment(text: str | None, default: datetime) -> datetime:
    if text is None:
        return default
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors.print(f"[red]error[/red] {for_terminal(repr(text))} is not an ISO 8601 date or time")
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
    from app.sim.writers import as_output_format, write_simulation

    fmt = as_output_format(output_format)
    if fmt is None:
        errors.print("--format must be calls, intervals or queue-log")
        raise typer.Exit(2)
    try:
        start, end = date.fromisoformat(from_date), date.fromisoformat(to_date)
    except ValueError as exc:
        errors.print(f"[red]error[/red] {for_terminal(exc)}")
        raise typer.Exit(2) from None
    if end < start:
        errors.print("[red]error[/red] --to is before --from")
        raise typer.Exit(2)
    config = SimConfig(seed=seed, regions=_regions(regions))
    paths = write_simulation(config, start, end, out, fmt)
    for path in paths:
        console.print(f"wrote {for_terminal(path)}")


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
    console.print(f"platform API on http://{for_terminal(host)}:{port}/calls and /intervals (speed {speed}×)")
    uvicorn.run(create_platform_app(options), host=host, port=port, log_level="warning")


@sources_app.command("add")
def sources_add(
    name: Annotated[str, typer.Argument(help="Source name")],
    url: Annotated[str | None, typer.Option(help="Base URL of the platform API (pull sources)")] = None,
    kind: Annotated[str, typer.Option(help="calls or intervals (a pull source), or push")] = "calls",
    cadence: Annotated[int, typer.Option(help="Seconds between pulls")] = 60,
    overlap: Annotated[int, typer.Option(help="Seconds re-read before the stored position")] = 300,
    page_size: Annotated[int, typer.Option(help="Records per page")] = 1000,
    auth_header_env: Annotated[str | None, typer.Option(help="Variable holding the Authorization value")] = None,
    start: Annotated[str | None, typer.Option(help="Where a new source starts reading (ISO time)")] = None,
    profile: Annotated[str | None, typer.Option(help="Import profile its deliveries are read through (`vpt profiles "
                                                "list`): a pull source's pages (a JSON profile of its kind), a push "
                                                "that names none")] = None,
) -> None:
    """Create or change an HTTP pull source in the database; a running worker picks it up.

    With --kind push (and no --url), make a push source instead: ingest keys may then push to it.
    """
    if kind == "push":
        if url is not None or auth_header_env is not None or start is not None:
            errors.print("[red]error[/red] a push source takes no --url, --auth-header-env or --start")
            raise typer.Exit(2)
        _add_push_source(name, profile)
        return
    if url is None:
        errors.print("[red]error[/red] --url is required for a pull source (--kind calls or intervals)")
        raise typer.Exit(2)
    from app.ingest.profile_choice import pull_source_profile
    from app.ingest.sources import PullSourceConfig, SourceConfigError, save_source

    settings = load_settings()
    try:
        config = PullSourceConfig.from_mapping({
            "name": name, "kind": kind, "base_url": url, "cadence_seconds": cadence, "overlap_seconds": overlap,
            "page_size": page_size, "auth_header_env": auth_header_env,
            "start": _moment(start, datetime.now(UTC)) if start else None, "profile": profile,
        })
        if profile is not None:  # a refusal (unknown, broken, other kind, not JSON) is printed as every domain error
            pull_source_profile(settings, profile, "calls" if config.kind == "calls" else "intervals")
        with transaction(session_factory(settings)) as session:
            save_source(session, config)
    except SourceConfigError as exc:
        errors.print(f"[red]error[/red] {for_terminal(exc)}")
        raise typer.Exit(EXIT_FAILED) from None
    console.print(f"source {for_terminal(name)} saved")


def _add_push_source(name: str, profile: str | None = None) -> None:
    from app.ingest.lock import LockWait
    from app.ingest.profile_choice import usable_profile
    from app.ingest.source_admin import create_push_source, reserved_names
    from app.sanitize import for_terminal

    settings = load_settings()
    if profile is not None:  # a refusal (unknown or broken, naming the usable ones) is printed as every domain error
        usable_profile(settings, profile)
    with transaction(session_factory(settings)) as session:  # a refusal is printed as every domain error is
        source, made = create_push_source(session, name, reserved_names(settings),
                                          LockWait(settings.ingest_lock_wait_seconds, "cli source.create"),
                                          actor=cli_actor(), profile=profile)
        read_by = f" (pushes read through profile {source.profile})" if source.profile else ""
    console.print(f"push source {for_terminal(name)} made: ingest keys may push to it{for_terminal(read_by)}" if made
                  else f"push source {for_terminal(name)} exists already{for_terminal(read_by)}", highlight=False)


@sources_app.command("remove")
def sources_remove(
    name: Annotated[str, typer.Argument(help="Source name")],
    purge: Annotated[bool, typer.Option("--purge", help="Also delete its records, ingest runs and rejected rows")]
    = False,
) -> None:
    """Remove a source. One that holds records or ingest runs only with --purge, which deletes them with it and
    rebuilds the aggregates of the hours they touched, in one transaction with its audit row."""
    from app.ingest.lock import LockWait
    from app.ingest.source_admin import remove_source
    from app.sanitize import for_terminal

    settings = load_settings()
    with transaction(session_factory(settings)) as session:  # a refusal is printed as every domain error is
        removal = remove_source(session, name, purge=purge, actor=cli_actor(),
                                lock=LockWait(settings.ingest_lock_wait_seconds, "cli source.remove"))
    purged = (f": deleted {removal.calls} calls, {removal.intervals} interval records, {removal.runs} ingest runs "
              f"and {removal.rejected_rows} rejected rows; {removal.hours_refreshed} hours of aggregates rebuilt"
              if removal.purged else "")
    console.print(f"{removal.kind} source {for_terminal(name)} removed{purged}", highlight=False)


@sources_app.command("prefer")
def sources_prefer(
    name: Annotated[str, typer.Argument(help="Source name")],
    prefer: Annotated[bool, typer.Option("--prefer/--no-prefer", help="Mark or unmark the source preferred")] = True,
) -> None:
    """Let a source's interval records win where they overlap another source's for one region and queue: its
    deliveries then supersede the other's overlapped rows (kept, no longer counted), and the other's overlapping
    deliveries are rejected naming it. Without a preferred source such overlaps are refused."""
    from app.ingest.conflicts import NoSuchSource, prefer_source
    from app.sanitize import for_terminal

    settings = load_settings()
    try:
        with transaction(session_factory(settings)) as session:
            before = prefer_source(session.connection(), name, prefer)
    except NoSuchSource:
        errors.print(f"[red]error[/red] no source named {for_terminal(name)}")
        raise typer.Exit(EXIT_FAILED) from None
    state = "preferred" if prefer else "not preferred"
    console.print(f"source {for_terminal(name)} is {state}" + ("" if before != prefer else " (unchanged)"),
                  highlight=False)


@sources_app.command("list")
def sources_list() -> None:
    """Sources with their freshness: last success, last error, position in the feed."""
    from sqlalchemy import select

    from app.db.models import Source

    settings = load_settings()
    with session_factory(settings)() as session:
        rows = list(session.scalars(select(Source).order_by(Source.name)))
    table = Table(title=cli_title("sources"))
    for header in ("Namn", "Typ", "Profil", "På", "Senast lyckad", "Levererat t.o.m.", "Efter", "Senaste fel"):
        table.add_column(header)
    for row in rows:
        table.add_row(
            for_terminal(row.name), for_terminal(row.kind), for_terminal(row.profile or "–"),
            "ja" if row.enabled else "nej",
            _when(row.last_success_at), _when(row.delivered_until),
            "" if row.records_behind is None else str(row.records_behind),
            "" if row.last_error is None or (row.last_success_at and row.last_error_at and
                                             row.last_success_at > row.last_error_at)
            else f"{_when(row.last_error_at)} {for_terminal(row.last_error[:60])}",
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
        errors.print(f"[red]error[/red] no enabled pull source named {for_terminal(name)}")
        raise typer.Exit(EXIT_FAILED)
    lease = source_lease(name, worker_identity(), settings.lease_seconds)
    with leased(factory, lease.name, lease.holder, lease.seconds) as taken:
        if not taken:
            errors.print(f"source {for_terminal(name)} is being pulled by a worker right now")
            raise typer.Exit(EXIT_FAILED)
        try:
            with httpx.Client() as client:
                report = pull_source(factory, settings, configs[name], client, lease=lease)
        except PullError as exc:
            errors.print(f"[red]failed[/red] {for_terminal(exc)}")  # may quote the platform's reply
            raise typer.Exit(EXIT_FAILED) from None
    console.print(
        f"{for_terminal(name)}: {report.pages} pages, {report.records} records: stored {report.stored}, updated "
        f"{report.updated}, unchanged {report.unchanged}, rejected {report.rejected}, warnings {report.warnings}, "
        f"still queued {report.pending}"
    )


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M:%S")
