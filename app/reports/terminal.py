"""Plain renderings of scorecard figures for the terminal (the spreadsheet exports are in ``exports``)."""

from __future__ import annotations

from datetime import datetime

from app.kpi.glossary import STATUS_WORDS
from app.kpi.localtime import STOCKHOLM

STATUS_STYLE = {"met": "green", "on_track": "green", "missed": "red", "unreachable": "red", "at_risk": "yellow",
                "no_data": "dim"}


STATUS_MARK = {status: words.mark for status, words in STATUS_WORDS.items()}


def format_seconds(value: float | None, *, signed: bool = False) -> str:
    """``500`` → ``8:20``; with ``signed`` a change: ``+0:45``, ``−1:10``."""
    if value is None:
        return "–"
    total = round(abs(value))
    minutes, seconds = divmod(total, 60)
    sign = "−" if value < 0 and total else ("+" if total else "±") if signed else ""
    return f"{sign}{minutes}:{seconds:02d}"


def format_ratio(value: float | None, decimal: str = ".", digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f} %".replace(".", decimal)


def format_points(value: float | None, unit: str = "pp", decimal: str = ".") -> str:
    """A change of a ratio in percentage points: ``+2.3 pp``."""
    if value is None:
        return "–"
    text = f"{value * 100:+.1f}"
    if text in {"+0.0", "-0.0"}:
        text = "±0.0"
    return f"{text.replace('-', '−').replace('.', decimal)} {unit}"


def local_minute(at: datetime | str) -> str:
    """An instant (aware, or a document's ISO 8601 ``…Z`` text) as the command line writes its instants: Swedish
    time to the minute, ``2025-10-20 08:30``, short enough for a 100-column terminal."""
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return moment.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")
