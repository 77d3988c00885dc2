"""Long-running processes: the API and the worker."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer

from app.cli.base import app, load_settings, session_factory, start_logging


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default VPT_API_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default VPT_API_PORT)")] = None,
) -> None:
    """Serve the REST API. It never runs scheduled jobs: that is the worker's work."""
    import uvicorn

    from app.api.app import create_app

    settings = load_settings()
    start_logging(settings)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn shut down cleanly and re-raises the signal it handled
        uvicorn.run(create_app(settings), host=host or settings.api_host, port=port or settings.api_port)


@app.command("worker")
def worker() -> None:
    """Run the scheduled jobs: pull each source at its cadence, ingest the drop directory, heartbeat.

    SIGTERM or Ctrl-C lets a running pull finish its current batch, then stops.
    """
    from app.ingest.worker import Worker

    settings = load_settings()
    start_logging(settings)
    Worker(settings, session_factory(settings)).run_forever()
