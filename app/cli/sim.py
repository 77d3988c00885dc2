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
    error_line,
    errors,
    kind_word,
    load_settings,
    session_factory,
    sim_app,
    sources_app,
)
from app.cli.wording import count, counted, current_lang, decimal, say, yes_no
from app.db.session import transaction
from app.kpi.glossary import cli_title
from app.kpi.localtime import STOCKHOLM
from app.sanitize import for_terminal
from app.sim.model import SimConfig

RegionsOpt = Annotated[str, typer.Option(help="Regionkoder åtskilda med komma")]
DEFAULT_REGIONS = "SE-BD,SE-AC,SE-Z,SE-Y"


def _regions(text: str) -> tuple[str, ...]:
    from app.kpi.reference import REGIONS

    codes = tuple(code.strip().upper() for code in text.split(",") if code.strip())
    unknown = sorted(set(codes) - {code for code, _name, _people in REGIONS})
    if not codes or unknown:
        error_line(say("sim.unknown_regions", codes=", ".join(unknown) or say("sim.none_given")))
        raise typer.Exit(2)
    return codes


def _moment(text: str | None, default: datetime) -> datetime:
    if text is None:
        return default
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        error_line(say("sim.not_iso", text=repr(text)))
        raise typer.Exit(2) from None
    return moment.replace(tzinfo=STOCKHOLM) if moment.tzinfo is None else moment


def start_of_today() -> datetime:
    return datetime.combine(datetime.now(STOCKHOLM).date(), time(), STOCKHOLM)


@app.command("simulate", help="Skriv simulerad trafik (en kömodell, SPEC §10) som filer klara för `vpt ingest`, "
             "en per månad.")
def simulate_command(
    out: Annotated[Path, typer.Option("--out", help="Mapp för filerna (skapas)")],
    regions: RegionsOpt = DEFAULT_REGIONS,
    from_date: Annotated[str, typer.Option("--from", help="Första dag (svensk tid), ÅÅÅÅ-MM-DD")] = "2024-11-01",
    to_date: Annotated[str, typer.Option("--to", help="Sista dag (svensk tid), ÅÅÅÅ-MM-DD")] = "2025-11-30",
    output_format: Annotated[str, typer.Option("--format", help="calls, intervals eller queue-log")] = "calls",
    seed: Annotated[int, typer.Option(help="Samma frö, samma samtal")] = SimConfig.seed,
) -> None:
    from app.sim.writers import as_output_format, write_simulation

    fmt = as_output_format(output_format)
    if fmt is None:
        errors.print(say("sim.format"))
        raise typer.Exit(2)
    try:
        start, end = date.fromisoformat(from_date), date.fromisoformat(to_date)
    except ValueError as exc:
        error_line(exc)
        raise typer.Exit(2) from None
    if end < start:
        error_line(say("sim.to_before_from"))
        raise typer.Exit(2)
    config = SimConfig(seed=seed, regions=_regions(regions))
    paths = write_simulation(config, start, end, out, fmt)
    for path in paths:
        console.print(say("wrote", path=for_terminal(path)), highlight=False)


@sim_app.command("serve", help="Servera det simulerade flödet som en kontaktcenterplattforms API: GET /calls och "
                 "/intervals.")
def sim_serve(
    port: Annotated[int, typer.Option(help="Port på 127.0.0.1 (eller --host)")] = 8181,
    host: Annotated[str, typer.Option(help="Adress att lyssna på")] = "127.0.0.1",
    regions: RegionsOpt = DEFAULT_REGIONS,
    seed: Annotated[int, typer.Option(help="Samma frö, samma samtal")] = SimConfig.seed,
    feed_start: Annotated[str | None, typer.Option("--from", help="Flödet börjar här (standard: i dag 00:00)")] = None,
    clock: Annotated[str | None, typer.Option(help="Simulerad tid vid start (standard: nu)")] = None,
    speed: Annotated[float, typer.Option(help="Simulerade sekunder per verklig sekund; 0 stoppar klockan")] = 1.0,
    token: Annotated[str | None, typer.Option(help="Kräv 'Authorization: Bearer TOKEN'")] = None,
    lag_share: Annotated[float, typer.Option(help="Andel ändringar som publiceras sent")] = 0.03,
) -> None:
    import uvicorn

    from app.sim.server import PlatformOptions, create_platform_app

    options = PlatformOptions(
        config=SimConfig(seed=seed, regions=_regions(regions)), start=_moment(feed_start, start_of_today()),
        clock_origin=_moment(clock, datetime.now(UTC)), speed=speed, lag_share=lag_share, token=token,
    )
    console.print(say("sim.serving", host=for_terminal(host), port=port, speed=decimal(speed, 1 if speed % 1 else 0)),
                  highlight=False)
    uvicorn.run(create_platform_app(options), host=host, port=port, log_level="warning")


@sources_app.command("add", help="Skapa eller ändra en hämtande HTTP-källa i databasen; en körande worker tar upp "
                     "den. Med --kind push (och utan --url) skapas i stället en push-källa: inläsningsnycklar får "
                     "sedan skicka till den.")
def sources_add(
    name: Annotated[str, typer.Argument(help="Källans namn")],
    url: Annotated[str | None, typer.Option(help="Bas-URL för plattformens API (hämtande källor)")] = None,
    kind: Annotated[str, typer.Option(help="calls eller intervals (en hämtande källa), eller push")] = "calls",
    cadence: Annotated[int, typer.Option(help="Sekunder mellan hämtningar")] = 60,
    overlap: Annotated[int, typer.Option(help="Sekunder som läses om före den sparade positionen")] = 300,
    page_size: Annotated[int, typer.Option(help="Poster per sida")] = 1000,
    auth_header_env: Annotated[str | None, typer.Option(help="Variabel som håller Authorization-värdet")] = None,
    start: Annotated[str | None, typer.Option(help="Var en ny källa börjar läsa (ISO-tid)")] = None,
    profile: Annotated[str | None, typer.Option(help="Importprofil som leveranserna läses med (`vpt profiles "
                                                "list`): en hämtande källas sidor (en JSON-profil av dess slag), "
                                                "en push som inte anger någon")] = None,
) -> None:
    if kind == "push":
        if url is not None or auth_header_env is not None or start is not None:
            error_line(say("source.push_options"))
            raise typer.Exit(2)
        _add_push_source(name, profile)
        return
    if url is None:
        error_line(say("source.needs_url"))
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
        error_line(exc)
        raise typer.Exit(EXIT_FAILED) from None
    console.print(say("source.saved", name=for_terminal(name)), highlight=False)


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
        read_by = say("source.read_by", profile=for_terminal(source.profile)) if source.profile else ""
    console.print(say("source.push_made" if made else "source.push_exists", name=for_terminal(name), read_by=read_by),
                  highlight=False)


@sources_app.command("remove", help="Ta bort en källa. En som har poster eller inläsningskörningar bara med --purge, "
                     "som raderar dem med den och bygger om aggregaten för timmarna de rörde, i en transaktion med "
                     "sin rad i granskningsloggen.")
def sources_remove(
    name: Annotated[str, typer.Argument(help="Källans namn")],
    purge: Annotated[bool, typer.Option("--purge", help="Radera även dess poster, inläsningskörningar och avvisade "
                                        "rader")]
    = False,
) -> None:
    from app.ingest.lock import LockWait
    from app.ingest.source_admin import remove_source
    from app.sanitize import for_terminal

    settings = load_settings()
    with transaction(session_factory(settings)) as session:  # a refusal is printed as every domain error is
        removal = remove_source(session, name, purge=purge, actor=cli_actor(),
                                lock=LockWait(settings.ingest_lock_wait_seconds, "cli source.remove"))
    purged = say("source.purged", calls=counted(removal.calls, "call"),
                 intervals=counted(removal.intervals, "interval_record"), runs=counted(removal.runs, "run"),
                 rejected=counted(removal.rejected_rows, "rejected_row"),
                 hours=counted(removal.hours_refreshed, "hour")) if removal.purged else ""
    console.print(say("source.removed", kind=kind_word(removal.kind), name=for_terminal(name), purged=purged),
                  highlight=False)


@sources_app.command("prefer", help="Låt en källas intervallposter vinna där de överlappar en annan källas för samma "
                     "region och kö: dess leveranser ersätter då den andras överlappade rader (sparade, inte längre "
                     "räknade), och den andras överlappande leveranser avvisas med dess namn. Utan en föredragen "
                     "källa vägras sådana överlapp.")
def sources_prefer(
    name: Annotated[str, typer.Argument(help="Källans namn")],
    prefer: Annotated[bool, typer.Option("--prefer/--no-prefer", help="Markera källan som föredragen, eller inte")
                      ] = True,
) -> None:
    from app.ingest.conflicts import NoSuchSource
    from app.ingest.lock import LockWait
    from app.ingest.source_admin import set_preferred
    from app.sanitize import for_terminal

    settings = load_settings()
    try:
        with transaction(session_factory(settings)) as session:
            before = set_preferred(session, name, prefer, actor=cli_actor(),
                                   lock=LockWait(settings.ingest_lock_wait_seconds, "cli source.update"))
    except NoSuchSource:
        error_line(say("source.unknown", name=name))
        raise typer.Exit(EXIT_FAILED) from None
    state = say("source.preferred" if prefer else "source.not_preferred", name=for_terminal(name))
    console.print(state + ("" if before != prefer else say("source.unchanged")), highlight=False)


@sources_app.command("list", help="Källorna och hur färska de är: senast lyckad, senaste fel, position i flödet.")
def sources_list() -> None:
    from sqlalchemy import select

    from app.db.models import Source

    settings = load_settings()
    with session_factory(settings)() as session:
        rows = list(session.scalars(select(Source).order_by(Source.name)))
    table = Table(title=cli_title("sources", current_lang()))
    for header in say("sources.headers").split("|"):
        table.add_column(header)
    for row in rows:
        table.add_row(
            for_terminal(row.name), kind_word(row.kind), for_terminal(row.profile or "–"), yes_no(row.enabled),
            _when(row.last_success_at), _when(row.delivered_until),
            "" if row.records_behind is None else count(row.records_behind),
            "" if row.last_error is None or (row.last_success_at and row.last_error_at and
                                             row.last_success_at > row.last_error_at)
            else f"{_when(row.last_error_at)} {for_terminal(row.last_error[:60])}",
        )
    console.print(table)


@sources_app.command("pull", help="Hämta en källa nu, utanför workern (under samma lås, så aldrig två gånger "
                     "samtidigt).")
def sources_pull(name: Annotated[str, typer.Argument(help="Källans namn")]) -> None:
    import httpx

    from app.db.leases import leased, worker_identity
    from app.ingest.pull import PullError, SourceRemoved, pull_source, source_lease
    from app.ingest.sources import pull_sources

    settings = load_settings()
    factory = session_factory(settings)
    with factory() as session:
        configs = {config.name: config for config in pull_sources(session)}
    if name not in configs:
        error_line(say("source.no_pull", name=name))
        raise typer.Exit(EXIT_FAILED)
    lease = source_lease(name, worker_identity(), settings.lease_seconds)
    with leased(factory, lease.name, lease.holder, lease.seconds) as taken:
        if not taken:
            errors.print(say("source.busy", name=for_terminal(name)), highlight=False)
            raise typer.Exit(EXIT_FAILED)
        try:
            with httpx.Client() as client:
                # create=False, as the worker: the configuration was read from the source's row, so a row gone by
                # now is a removal (`vpt sources remove` meanwhile), not a source to make again
                report = pull_source(factory, settings, configs[name], client, lease=lease, create=False)
        except SourceRemoved:
            error_line(say("source.removed_meanwhile", name=name))
            raise typer.Exit(EXIT_FAILED) from None
        except PullError as exc:
            errors.print(f"[red]{say('failed')}[/red] {for_terminal(exc)}", highlight=False)  # may quote the reply
            raise typer.Exit(EXIT_FAILED) from None
    console.print(say("source.pulled", name=for_terminal(name), pages=counted(report.pages, "page"),
                      records=counted(report.records, "record"), stored=count(report.stored),
                      updated=count(report.updated), unchanged=count(report.unchanged),
                      rejected=count(report.rejected), warnings=counted(report.warnings, "warning"),
                      pending=count(report.pending)), highlight=False)


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M:%S")
