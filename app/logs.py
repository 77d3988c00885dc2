"""Event-style logs: ``ingest.run.finished source=files read=14 ...`` with the ``extra`` fields rendered."""

from __future__ import annotations

import logging

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class EventFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        if context:
            line += " " + " ".join(f"{k}={v}" for k, v in context.items())
        return line


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(EventFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries that narrate every job run or request at INFO would drown our own events.
    for name in ("apscheduler.executors", "apscheduler.scheduler", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
