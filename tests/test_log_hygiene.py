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


def test_logging_set_up_under_a_stderr_that_is_closed_later_writes_to_the_stderr_of_the_event() -> None:
    """A command run under click's test runner (or a redirect) must not leave the root logger on a dead stream."""
    import io
    import logging
    import sys

    from app.logs import setup_logging

    saved_handlers, saved_level, saved_stderr = logging.getLogger().handlers[:], logging.getLogger().level, sys.stderr
    first, later = io.StringIO(), io.StringIO()
    try:
        sys.stderr = first
        setup_logging("INFO")
        sys.stderr = later
        first.close()
        logging.getLogger("vpt.test").warning("after.the.run")
    finally:
        sys.stderr = saved_stderr
        logging.getLogger().handlers[:] = saved_handlers
        logging.getLogger().setLevel(saved_level)
    assert "after.the.run" in later.getvalue()
    assert "Logging error" not in later.getvalue()
