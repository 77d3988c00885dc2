"""Counts in the command line's English messages: thousands separators and a noun that agrees with its number
("1 hour refreshed", "2 hours refreshed", "12,480 rows")."""

from __future__ import annotations

from typing import Any


def count(n: int) -> str:
    """``12480`` → ``12,480`` (the messages are English: a comma groups the thousands)."""
    return f"{n:,}"


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``1 hour``, ``2 hours``, ``12,480 rows``; ``plural`` where adding an s is wrong (``1 query``, ``2 queries``)."""
    return f"{count(n)} {singular if n == 1 else plural or singular + 's'}"


def run_summary(report: Any) -> str:
    """The figures of an ingest run (``app.ingest.loader.RunReport``), as ``vpt ingest`` and the demo print them."""
    return (f"read {count(report.rows_read)}, stored {count(report.rows_stored)}, "
            f"updated {count(report.rows_updated)}, unchanged {count(report.rows_unchanged)}, "
            f"rejected {count(report.rows_rejected)}, warnings {count(report.warnings)}; "
            f"{counted(report.hours_refreshed, 'hour')} refreshed in {report.seconds:.2f} s")
