"""Long-running processes: the API and the worker."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from app.cli.base import EXIT_FAILED, app, errors, load_settings, session_factory, start_logging
from app.cli.wording import say
from app.config import Settings
from app.db.session import require_schema
from app.sanitize import for_terminal

if TYPE_CHECKING:
    from app.ingest.worker import Worker


@app.command("serve", help="Kör REST-API:t. Det kör aldrig schemalagda jobb: det gör workern.")
def serve(
    host: Annotated[str | None, typer.Option(help="Adress att lyssna på (standard VPT_API_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (standard VPT_API_PORT)")] = None,
) -> None:
    """Serve the REST API. It never runs scheduled jobs: that is the worker's work."""
    import uvicorn

    from app.api.app import create_app
    from app.api.serving import uvicorn_options

    settings = load_settings()
    require_schema(settings)  # not an API on an empty ./vpt.db that connecting would create; nothing set up before
    start_logging(settings)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn shut down cleanly and re-raises the signal it handled
        # Forwarded addresses believed only from VPT_FORWARDED_ALLOW_IPS, header and body clocks for slow
        # clients, logs through our handler: app.api.serving.
        uvicorn.run(create_app(settings), host=host or settings.api_host, port=port or settings.api_port,
                    **uvicorn_options(settings))


@app.command("worker", help="Kör de schemalagda jobben: hämtar varje källa i sin takt, läser in inläsningsmappen, "
             "bedömer larm och skickar aviseringar, hjärtslag. SIGTERM eller Ctrl-C låter en pågående hämtning "
             "avsluta sin sats och stoppar sedan.")
def worker() -> None:
    """Run the scheduled jobs: pull each source at its cadence, ingest the drop directory, evaluate alerts and
    send their notifications, heartbeat.

    SIGTERM or Ctrl-C lets a running pull finish its current batch, then stops.
    """
    settings = load_settings()
    start_logging(settings)
    build_worker(settings, session_factory(settings)).run_forever()


def build_worker(settings: Settings, factory: sessionmaker[Session], worker_id: str | None = None) -> Worker:
    """The worker with alerting attached: evaluated after every ingest and on a schedule, outbox sent.

    Alert rules and channels are checked here, before anything starts: a mistake in them is an error naming
    the key, not a worker that runs and never tells anyone.
    """
    from app.alerts.channel_config import ChannelConfigError
    from app.alerts.rulebook import RuleConfigError
    from app.alerts.service import Alerting
    from app.ingest.worker import Worker
    from app.scorecard.forecast_cache import ForecastHistoryCache

    worker = Worker(settings, factory, worker_id=worker_id)
    try:
        alerting = Alerting(settings, factory, worker.worker_id, stopping=worker.stopping,
                            history=ForecastHistoryCache())  # this worker's: never shared with another in the process
    except (ChannelConfigError, RuleConfigError) as exc:
        errors.print(f"[red]{say('alert_configuration')}[/red]: {for_terminal(exc)}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    worker.after_ingest.append(alerting.evaluate)
    worker.schedule(alerting.evaluate, settings.alert_evaluate_seconds, "alerts:evaluate")
    worker.schedule(alerting.deliver, settings.alert_deliver_seconds, "alerts:deliver")
    return worker
