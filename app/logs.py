"""Event-style logs: ``ingest.run.finished source=files read=14 ...`` with the ``extra`` fields rendered.

No API key or bearer token ever reaches a log line: ``RedactSecrets``, installed on the handler by
``setup_logging``, rewrites every record (message, arguments, extras, traceback) before it is formatted. The
service never logs a key on purpose (it logs a key's public id at most); the filter is there for what it
cannot foresee, such as a key pasted into a query string that an access line would otherwise repeat. The same
filter passes message and extras through the one sanitiser (``app.sanitize.clean``), so text from input logged
anywhere cannot forge a second log line or steer a terminal that tails the log.
"""

from __future__ import annotations

import logging
import re
import sys

from app.sanitize import clean as _sanitise

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_NOT_CONTEXT = _STANDARD | {"color_message"}  # uvicorn's copy of the message with terminal colours

#: An API key (app.access.keys): the public id is kept, since it identifies the key without opening it.
KEY_PATTERN = re.compile(r"vpt_([A-Za-z0-9]{8})_[A-Za-z0-9_-]{20,}")
#: ``Bearer <token>`` in any case, e.g. a header dumped by a library, or the metrics token.
BEARER_PATTERN = re.compile(r"\b(bearer)\s+(?!\[redacted\])[^\s\"',;)}\]]+", re.IGNORECASE)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    text = KEY_PATTERN.sub(rf"vpt_\1_{REDACTED}", text)
    return BEARER_PATTERN.sub(rf"\1 {REDACTED}", text)


class RedactSecrets(logging.Filter):
    """Removes API keys and bearer tokens from a record's message, arguments, extras and traceback, and escapes
    control characters in the message and extras (a traceback keeps its line breaks)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the format: the formatter reports that, on clean text
            message = str(record.msg)
        safe = _sanitise(redact(message))
        if safe != message:
            record.msg, record.args = safe, None
        for key, value in list(vars(record).items()):
            if key in _STANDARD or key.startswith("_") or value is None or isinstance(value, int | float):
                continue
            text = value if isinstance(value, str) else str(value)
            cleaned = _sanitise(redact(text))
            if cleaned != text:
                setattr(record, key, cleaned)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class EventFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = {k: v for k, v in vars(record).items() if k not in _NOT_CONTEXT and not k.startswith("_")}
        if context:
            line += " " + " ".join(f"{k}={v}" for k, v in context.items())
        return line


class CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when the event happens, as logging's own last-resort handler does.

    A handler that kept the stream of its creation would, after a command run under a replaced and then closed
    stderr (click's test runner, a daemon that redirects), print "--- Logging error ---" for every later event.
    """

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        """``StreamHandler.setStream`` may assign; the stream is always the current stderr."""


def setup_logging(level: str) -> None:
    handler = CurrentStderr()
    handler.setFormatter(EventFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries that narrate every job run or request at INFO would drown our own events.
    for name in ("apscheduler.executors", "apscheduler.scheduler", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
