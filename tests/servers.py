"""Real HTTP servers on 127.0.0.1 for tests: an ASGI app under uvicorn in a background thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.pgserver import _free_port as free_port

__all__ = ["free_port", "running_server"]


@contextmanager
def running_server(app: Any, port: int | None = None, **config_options: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 until the block ends; yields the base URL. ``config_options`` go to
    ``uvicorn.Config`` (e.g. ``log_config=None`` to log through the app's own handler)."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, **{"log_level": "warning", "lifespan": "auto",
                                                                 **config_options})
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # the app's lifespan opens the database: slow on a loaded CI machine
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
