"""``vpt demo``: the whole service on the embedded default, with a living simulated platform (SPEC §9).

One process runs four things: the simulated platform's API and the demo's webhook receiver (threads), the worker
pulling from the platform over real HTTP and sending alerts to the receiver (its scheduler threads), and the REST
API (in the foreground). Twenty-five months of history are simulated and stored first (``app.sim.history``), so
scorecards have a past and last year's figures; today's calls then arrive as the day goes on.

Nothing needs configuring: the demo writes ``.env`` (the database, for every ``vpt`` command run in this
directory afterwards) unless a ``.env`` of someone else's is there, and ``<database>-alerts.toml`` with alert
timings for a demo (at once, not after 15 minutes to 3 hours), and signs its webhooks with a secret of the run.
"""

from __future__ import annotations

import secrets
import threading
import time as clock
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr

from app.cli.base import app, console, session_factory, start_logging
from app.cli.demo_history import HISTORY_SOURCE, HistoryLoaded, load_history
from app.cli.sim import start_of_today
from app.cli.wording import count, counted, decimal, say
from app.config import Settings
from app.db.migrate import upgrade as migrate_upgrade
from app.db.session import transaction
from app.ingest.sources import PullSourceConfig, save_source
from app.kpi.localtime import STOCKHOLM
from app.sanitize import for_terminal
from app.sim.history import DEFAULT_CALL_MONTHS, DEFAULT_HISTORY_MONTHS, HistoryMonth, plan_history
from app.sim.model import SimConfig

PLATFORM_SOURCE = "platform-norra"
ENV_FILE = Path(".env")
ENV_MARK = "# Written by `vpt demo`"

#: Demo-only timings (SPEC §8 rules, app/alerts/rules.py): production waits 15 min to 3 h before telling anyone,
#: and needs 300 calls in the month; a demo must show an alert within a minute or two.
DEMO_ALERT_RULES = """\
# Written by `vpt demo`: alert timings for the demo only (production defaults: app/alerts/rules.py).
[rules.target_at_risk]
for_minutes = 0
min_offered = 50
[rules.target_unreachable]
for_minutes = 0
min_offered = 50
[rules.target_missed]
for_minutes = 0
[rules.fast_slip]
for_minutes = 0
"""


def _after_history(settings: Settings) -> datetime | None:
    """Local midnight after the last day of simulated history in a kept demo database."""
    from sqlalchemy import func, select

    from app.db.models import Call, Source

    with session_factory(settings)() as session:
        last = session.scalar(
            select(func.max(Call.arrived_at)).join(Source, Source.id == Call.source_id)
            .where(Source.name == HISTORY_SOURCE)
        )
    if last is None:
        return None
    day = last.astimezone(STOCKHOLM).date() + timedelta(days=1)
    return datetime.combine(day, time(), STOCKHOLM)


def write_env(database_url: str) -> str:
    """Point later ``vpt`` commands in this directory at the demo database through ``.env`` (read by Settings).

    A ``.env`` the demo did not write is someone's configuration: it is left alone and the line to add is
    returned in the message instead."""
    lines = f"{ENV_MARK}: `vpt` commands in this directory use the demo database.\n" \
            f"VPT_DATABASE_URL={database_url}\n"
    path, url = for_terminal(str(ENV_FILE.resolve())), for_terminal(database_url)
    if ENV_FILE.exists() and not ENV_FILE.read_text(encoding="utf-8", errors="replace").startswith(ENV_MARK):
        return say("demo.env_yours", path=path, url=url)
    ENV_FILE.write_text(lines, encoding="utf-8")
    return say("demo.env_written", path=path, url=url)


def history_plan_line(plan: list[HistoryMonth], regions: tuple[str, ...]) -> str:
    """What the demo is about to simulate, said before the minutes it takes."""
    recent = sum(month.kind == "calls" for month in plan)
    return say("demo.simulating", first=plan[0].first, last=plan[-1].last, regions=", ".join(regions),
               recent=counted(recent, "month"), older=count(len(plan) - recent))


def history_ready_line(loaded: HistoryLoaded) -> str:
    return say("demo.history_ready", seconds=decimal(loaded.seconds, 1), cpu=count(round(loaded.cpu_seconds)),
               calls=counted(loaded.calls, "call"), rows=counted(loaded.intervals, "hourly_row"))


def ready_lines(*, base: str, hook: str, month: str, rules: Path, platform_port: int, speed: float, drop_dir: str,
                database: Path, regions: tuple[str, ...], seconds: float) -> list[str]:
    """The demo's welcome: where each part listens, labels aligned in the run's language."""
    links = [
        (say("demo.web"), f"{base}/"),
        (say("demo.scorecard"), f"{base}/api/v1/scorecards/{month}"),
        (say("demo.report"), f"{base}/api/v1/reports/{month}"),
        (say("demo.delivered"), f"{hook}/  " + say("demo.delivered_how", rules=for_terminal(str(rules)))),
        (say("demo.alerts"), f"{base}/api/v1/alerts"),
        (say("demo.sources"), f"{base}/api/v1/sources"),
        (say("demo.docs"), f"{base}/docs"),
        (say("demo.platform"), f"http://127.0.0.1:{platform_port}/calls " + say("demo.speed", speed=decimal(speed, 1))),
        (say("demo.drop"), f"{for_terminal(drop_dir)}/calls/"),
    ]
    width = max(len(label) for label, _ in links) + 2
    head = say("demo.ready", database=for_terminal(str(database)), regions=", ".join(regions),
               seconds=count(round(seconds)))
    return ["", head, *(f"  {label + ':':<{width}}{target}" for label, target in links), f"  {say('demo.ctrl_c')}", ""]


@app.command("demo", help="Simulera 25 månader för regionerna i Norra sjukvårdsregionen och starta plattformen, "
             "workern, en webhook-mottagare för dess larm och API:t. Ctrl-C stoppar.")
def demo(
    port: Annotated[int, typer.Option(help="API:ts port")] = 8000,
    platform_port: Annotated[int, typer.Option(help="Port för den simulerade plattformens API")] = 8181,
    hook_port: Annotated[int, typer.Option(help="Port för demons webhook-mottagare (dit larmen kommer)")] = 8182,
    database: Annotated[Path, typer.Option(help="SQLite-fil för demon (byggs om utan --keep)")] = Path(
        "vpt-demo.db"
    ),
    keep: Annotated[bool, typer.Option(help="Återanvänd demons databas om den finns")] = False,
    speed: Annotated[float, typer.Option(help="Simulerade sekunder per verklig sekund för dagens samtal")] = 1.0,
    months: Annotated[int, typer.Option(min=0, max=120, help="Månader historik före den innevarande")] = (
        DEFAULT_HISTORY_MONTHS),
    call_months: Annotated[int, typer.Option(
        min=0, help="Hur många av dem (de nyaste) som är samtal för samtal; äldre är intervallposter per timme")] = (
        DEFAULT_CALL_MONTHS),
    staffing: Annotated[float, typer.Option(
        min=0.5, max=2.0,
        help="Sjuksköterskor per erlang av prognosens arbetsbelastning (lägre: ett svårare år, fler larm)")] = (
        SimConfig.staffing_level),
    seed: Annotated[int, typer.Option(help="Simuleringens slumpfrö")] = SimConfig.seed,
    cadence: Annotated[int, typer.Option(help="Sekunder mellan workerns hämtningar")] = 10,
    env_file: Annotated[bool, typer.Option(
        help="Skriv .env så att senare vpt-kommandon här hittar demons databas")] = True,
) -> None:
    """The help is the decorator's (Swedish, as every command's); this says what one process runs: see the module."""
    import uvicorn

    from app.api.app import create_app
    from app.api.serving import uvicorn_options
    from app.cli.demo_receiver import WebhookReceiver
    from app.cli.run import build_worker
    from app.sim.server import PlatformOptions, create_platform_app

    base = f"http://127.0.0.1:{port}"
    hook = f"http://127.0.0.1:{hook_port}"
    secret = secrets.token_urlsafe(32)
    rules = database.with_name(f"{database.stem}-alerts.toml")
    rules.write_text(DEMO_ALERT_RULES, encoding="utf-8")
    # Reads are open in the demo (public_read) so a newcomer's browser shows the scorecard without a key;
    # pushing data and admin actions still need one (`vpt keys create`). Links in alerts name this API's port.
    drop_dir = str(database.with_suffix("")) + "-drop"
    settings = Settings(
        database_url=f"sqlite:///{database}", drop_dir=drop_dir, log_level="WARNING",
        public_read=True, public_base_url=base, alerts_file=str(rules), alert_lang="sv",
        alert_webhook_url=f"{hook}/hook", alert_webhook_secret=SecretStr(secret), alert_evaluate_seconds=15,
        alert_deliver_seconds=2, alert_first_retry_seconds=5,
    )
    start_logging(settings)
    config = SimConfig(seed=seed, staffing_level=staffing)
    today = start_of_today()
    started = clock.perf_counter()
    fresh = not (keep and database.exists())
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    migrate_upgrade(settings.database_url)
    if fresh:
        plan = plan_history(today.date(), months, call_months)
        if plan:
            console.print(history_plan_line(plan, tuple(config.regions)), highlight=False)
            try:
                loaded = load_history(settings, config, plan)
            except KeyboardInterrupt:
                console.print(say("demo.interrupted"), highlight=False)
                raise typer.Exit(130) from None
            console.print(history_ready_line(loaded), highlight=False)
    if env_file:
        console.print(write_env(f"sqlite:///{database.resolve()}"), highlight=False)

    # The platform serves everything after the history, so a kept database catches up on the days it missed
    # through the pull (the same source as before: nothing is counted twice).
    feed_start = today if fresh else _after_history(settings) or today
    platform = uvicorn.Server(uvicorn.Config(
        create_platform_app(PlatformOptions(config=config, start=feed_start, clock_origin=datetime.now(UTC),
                                            speed=speed)),
        host="127.0.0.1", port=platform_port, log_level="warning",
    ))
    receiver = uvicorn.Server(uvicorn.Config(WebhookReceiver(secret.encode()).app(), host="127.0.0.1",
                                             port=hook_port, log_level="warning"))
    threads = [threading.Thread(target=server.run, name=name, daemon=True)
               for server, name in ((platform, "platform"), (receiver, "webhook-receiver"))]
    for thread in threads:
        thread.start()
    factory = session_factory(settings)
    with transaction(factory) as session:
        save_source(session, PullSourceConfig(
            name=PLATFORM_SOURCE, kind="calls", base_url=f"http://127.0.0.1:{platform_port}", cadence_seconds=cadence,
            overlap_seconds=300, start=today.astimezone(UTC),
        ))
    worker = build_worker(settings, factory, worker_id="demo-worker")
    worker.start()
    month = datetime.now(STOCKHOLM).strftime("%Y-%m")
    for line in ready_lines(base=base, hook=hook, month=month, rules=rules, platform_port=platform_port,
                            speed=speed, drop_dir=drop_dir, database=database,
                            regions=tuple(config.regions), seconds=clock.perf_counter() - started):
        console.print(line, highlight=False)
    try:
        # The options of `vpt serve`: slow-client timeouts, and no X-Forwarded-For believed from anyone unlisted.
        uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                    **uvicorn_options(settings))
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled; the shutdown below is the answer
        pass
    finally:
        console.print(say("demo.stopping"), highlight=False)
        worker.stop()
        for server in (platform, receiver):
            server.should_exit = True
        for thread in threads:
            thread.join(timeout=10)
        console.print(say("demo.stopped"), highlight=False)
