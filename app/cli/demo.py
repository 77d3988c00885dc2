"""``vpt demo``: the whole service on the embedded default, with a living simulated platform (SPEC §9).

One process runs three things: the simulated platform's API (in a thread), the worker pulling from it over
real HTTP (its scheduler threads), and the REST API (in the foreground). About thirteen months of history
are simulated and ingested first, so scorecards have a past; today's calls then arrive as the day goes on.
"""

from __future__ import annotations

import io
import threading
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import typer

from app.cli.base import app, console, print_report, session_factory, start_logging
from app.cli.sim import start_of_today
from app.config import Settings
from app.db.migrate import upgrade as migrate_upgrade
from app.db.session import transaction
from app.ingest.service import ingest_bytes
from app.ingest.sources import PullSourceConfig, save_source
from app.kpi.localtime import STOCKHOLM, next_month
from app.sim.model import SimConfig, simulate
from app.sim.writers import write_calls_csv

HISTORY_SOURCE = "sim-history"
PLATFORM_SOURCE = "platform-norra"


def month_starts(first: date, last: date) -> list[date]:
    months = []
    month = first.replace(day=1)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def load_history(settings: Settings, config: SimConfig, first: date, last: date) -> None:
    """Simulate and ingest local days ``first``..``last``, a month per delivery, as a platform export would."""
    factory = session_factory(settings)
    for month in month_starts(first, last):
        end = min(last, next_month(month) - timedelta(days=1))
        start = max(first, month)
        text = io.StringIO()
        write_calls_csv(simulate(config, start, end), text)
        report = ingest_bytes(
            factory, settings, record_kind="calls", raw=io.BytesIO(text.getvalue().encode()), fmt="csv",
            origin=f"calls_{month:%Y-%m}.csv", source_name=HISTORY_SOURCE, source_kind="file",
        )
        print_report(report)


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


@app.command("demo")
def demo(
    port: Annotated[int, typer.Option(help="API port")] = 8000,
    platform_port: Annotated[int, typer.Option(help="Simulated platform API port")] = 8181,
    database: Annotated[Path, typer.Option(help="SQLite file for the demo (rebuilt unless --keep)")] = Path(
        "vpt-demo.db"
    ),
    keep: Annotated[bool, typer.Option(help="Reuse the demo database if it exists")] = False,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second for today's calls")] = 1.0,
    months: Annotated[int, typer.Option(help="Months of history before the current one")] = 12,
    seed: Annotated[int, typer.Option(help="Simulation seed")] = SimConfig.seed,
    cadence: Annotated[int, typer.Option(help="Seconds between the worker's pulls")] = 10,
) -> None:
    """Simulate ~13 months for the Norra regions, start the platform, the worker and the API. Ctrl-C stops."""
    import uvicorn

    from app.api.app import create_app
    from app.api.serving import uvicorn_options
    from app.cli.run import build_worker
    from app.sim.server import PlatformOptions, create_platform_app

    # Reads are open in the demo (public_read) so a newcomer's browser shows the scorecard without a key;
    # pushing data and admin actions still need one (`vpt keys create`).
    settings = Settings(
        database_url=f"sqlite:///{database}", drop_dir=str(database.with_suffix("")) + "-drop", log_level="WARNING",
        public_read=True,
    )
    start_logging(settings)
    config = SimConfig(seed=seed)
    today = start_of_today()
    fresh = not (keep and database.exists())
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    migrate_upgrade(settings.database_url)
    if fresh:
        first = month_starts(today.date(), today.date())[0]
        for _ in range(months):
            first = (first - timedelta(days=1)).replace(day=1)
        console.print(f"simulating {first} … {today.date() - timedelta(days=1)} for {', '.join(config.regions)}")
        started = clock.perf_counter()
        load_history(settings, config, first, today.date() - timedelta(days=1))
        console.print(f"history ready in {clock.perf_counter() - started:.0f} s")

    # The platform serves everything after the history, so a kept database catches up on the days it missed
    # through the pull (the same source as before: nothing is counted twice).
    feed_start = today if fresh else _after_history(settings) or today
    platform = uvicorn.Server(uvicorn.Config(
        create_platform_app(PlatformOptions(config=config, start=feed_start, clock_origin=datetime.now(UTC),
                                            speed=speed)),
        host="127.0.0.1", port=platform_port, log_level="warning",
    ))
    platform_thread = threading.Thread(target=platform.run, name="platform", daemon=True)
    platform_thread.start()
    factory = session_factory(settings)
    with transaction(factory) as session:
        save_source(session, PullSourceConfig(
            name=PLATFORM_SOURCE, kind="calls", base_url=f"http://127.0.0.1:{platform_port}", cadence_seconds=cadence,
            overlap_seconds=300, start=today.astimezone(UTC),
        ))
    worker = build_worker(settings, factory, worker_id="demo-worker")
    worker.start()
    month = datetime.now(STOCKHOLM).strftime("%Y-%m")
    base = f"http://127.0.0.1:{port}"
    console.print(f"\n[bold]vpt-monitor demo[/bold] on {database} ({', '.join(config.regions)})")
    console.print(f"  scorecard, month to date: {base}/api/v1/scorecards/{month}")
    console.print(f"  sources and freshness:    {base}/api/v1/sources")
    console.print(f"  alerts (firing, pending): {base}/api/v1/alerts")
    console.print(f"  ingest runs:              {base}/api/v1/ingest/runs")
    console.print(f"  API docs:                 {base}/docs")
    console.print(f"  simulated platform:       http://127.0.0.1:{platform_port}/calls ({speed}× real time)")
    console.print(f"  drop files into:          {settings.drop_dir}/calls/")
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
        platform.should_exit = True
        platform_thread.join(timeout=10)
        console.print("stopped")
