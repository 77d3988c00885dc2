"""Text from input that reaches a log line goes through the one sanitiser: it cannot forge a second entry or steer
the terminal of whoever tails the log (issue 12, item 7)."""

from __future__ import annotations

import io
import logging

from app.logs import EventFormatter, RedactSecrets


def test_message_and_extras_from_input_cannot_forge_lines_or_reach_the_terminal() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(EventFormatter("%(message)s"))
    handler.addFilter(RedactSecrets())
    log = logging.getLogger("tests.log_hygiene")
    log.addHandler(handler)
    log.propagate = False
    hostile = "x.csv\n2026-12-07 INFO app forged=1 \x1b]8;;https://evil.example\x07link\x1b]8;;\x07 \x9b31m \ud800"
    try:
        log.warning("file %s refused", hostile, extra={"file": hostile})
        try:
            raise ValueError("first\nsecond")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    lines = stream.getvalue().splitlines()
    assert lines[1] == "failed"  # the first entry stayed on one line; a traceback keeps its own line breaks
    text = stream.getvalue()
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text and "\ud800" not in text
    assert "x.csv\\x0a2026-12-07 INFO app forged=1 \\x1b]8;;https://evil.example\\x07link" in lines[0]
    assert lines[0].count("x.csv") == 2  # the message and the extra, both on the first line
