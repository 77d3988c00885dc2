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
from app.cli.demo_history import HISTORY_SOURCE, load_history
from app.cli.sim import start_of_today
from app.config import Settings
from app.db.migrate import upgrade as migrate_upgrade
from app.db.session import transaction
from app.ingest.sources import PullSourceConfig, save_source
from app.kpi.localtime import STOCKHOLM
from app.sanitize import for_terminal
from app.sim.history import DEFAULT_CALL_MONTHS, DEFAULT_HISTORY_MONTHS, plan_history
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
    if ENV_FILE.exists() and not ENV_FILE.read_text(encoding="utf-8", errors="replace").startswith(ENV_MARK):
        return (f"{ENV_FILE.resolve()} is yours and was left alone: add VPT_DATABASE_URL={database_url} to it (or "
                "export it) to run `vpt` commands against the demo")
    ENV_FILE.write_text(lines, encoding="utf-8")
    return (f"wrote {ENV_FILE.resolve()}: `vpt scorecard`, `vpt report`, `vpt keys create` … in this directory "
            f"use {database_url} without exporting VPT_DATABASE_URL (delete the file to stop)")


@app.command("demo")
def demo(
    port: Annotated[int, typer.Option(help="API port")] = 8000,
    platform_port: Annotated[int, typer.Option(help="Simulated platform API port")] = 8181,
    hook_port: Annotated[int, typer.Option(help="Port of the demo's webhook receiver (where alerts arrive)")] = 8182,
    database: Annotated[Path, typer.Option(help="SQLite file for the demo (rebuilt unless --keep)")] = Path(
        "vpt-demo.db"
    ),
    keep: Annotated[bool, typer.Option(help="Reuse the demo database if it exists")] = False,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second for today's calls")] = 1.0,
    months: Annotated[int, typer.Option(min=0, max=120, help="Months of history before the current one")] = (
        DEFAULT_HISTORY_MONTHS),
    call_months: Annotated[int, typer.Option(
        min=0, help="How many of those (the newest) are call by call; older ones are hourly interval records")] = (
        DEFAULT_CALL_MONTHS),
    staffing: Annotated[float, typer.Option(
        min=0.5, max=2.0, help="Nurses per Erlang of forecast workload (lower: a harder year, more alerts)")] = (
        SimConfig.staffing_level),
    seed: Annotated[int, typer.Option(help="Simulation seed")] = SimConfig.seed,
    cadence: Annotated[int, typer.Option(help="Seconds between the worker's pulls")] = 10,
    env_file: Annotated[bool, typer.Option(help="Write .env so later vpt commands here find the demo database")] = True,
) -> None:
    """Simulate 25 months for the Norra regions, start the platform, the worker, a webhook receiver for its
    alerts and the API. Ctrl-C stops."""
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
    settings = Settings(
        database_url=f"sqlite:///{database}", drop_dir=str(database.with_suffix("")) + "-drop", log_level="WARNING",
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
            console.print(f"simulating {plan[0].first} … {plan[-1].last} for {', '.join(config.regions)} "
                          f"({sum(m.kind == 'calls' for m in plan)} months call by call, "
                          f"{sum(m.kind != 'calls' for m in plan)} older ones as hourly queue reports)")
            try:
                loaded = load_history(settings, config, plan)
            except KeyboardInterrupt:
                console.print("stopped while loading the history (the next run rebuilds it)")
                raise typer.Exit(130) from None
            console.print(f"history ready in {loaded.seconds:.1f} s ({loaded.cpu_seconds:.0f} s of CPU over two "
                          f"processes): {loaded.calls:,} calls, {loaded.intervals:,} hourly rows")
    if env_file:
        console.print(for_terminal(write_env(f"sqlite:///{database.resolve()}")))

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
    console.print(f"\n[bold]vpt-monitor demo[/bold] on {for_terminal(database)} ({', '.join(config.regions)}), "
                  f"ready {clock.perf_counter() - started:.0f} s after start")
    console.print(f"  web view:                 {base}/")
    console.print(f"  scorecard, month to date: {base}/api/v1/scorecards/{month}")
    console.print(f"  board report:             {base}/api/v1/reports/{month}")
    console.print(f"  alerts delivered:         {hook}/  (signed webhooks, signature checked; timings: "
                  f"{for_terminal(rules)})")
    console.print(f"  alerts (firing, pending): {base}/api/v1/alerts")
    console.print(f"  sources and freshness:    {base}/api/v1/sources")
    console.print(f"  API docs:                 {base}/docs")
    console.print(f"  simulated platform:       http://127.0.0.1:{platform_port}/calls ({speed}× real time)")
    console.print(f"  drop files into:          {for_terminal(settings.drop_dir)}/calls/")
    console.print("  Ctrl-C stops everything\n")
    try:
        # The options of `vpt serve`: slow-client timeouts, and no X-Forwarded-For believed from anyone unlisted.
        uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                    **uvicorn_options(settings))
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled; the shutdown below is the answer
        pass
    finally:
        console.print("stopping: worker …")
        worker.stop()
        for server in (platform, receiver):
            server.should_exit = True
        for thread in threads:
            thread.join(timeout=10)
        console.print("stopped")
