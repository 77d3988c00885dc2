"""How a change against an earlier month is labelled: "föregående månad", or for a month in progress "samma dagar
i september 2025 (1–20)", so no reader takes twenty days against a whole month, or the same days for the whole."""

from __future__ import annotations

from datetime import date, datetime

from app.kpi.glossary import SAME_DAYS, Lang
from app.kpi.localtime import utc_iso
from app.reports.board_text import MONTHS
from app.scorecard.document import Comparison
from app.scorecard.like_for_like import last_day_compared, same_days_end

_PATTERN: dict[Lang, str] = {"sv": "{same} i {month} {year} (1–{last})",
                             "en": "the {same} of {month} {year} (1–{last})"}


def compared_with(comparison: Comparison | None, lang: Lang) -> str | None:
    """The words for a ``same_days`` comparison; None for a whole month (the caller names it as before)."""
    if comparison is None or comparison.span != "same_days" or comparison.until is None:
        return None
    year, month = int(comparison.month[:4]), int(comparison.month[5:7])
    last = last_day_compared(comparison.until)
    return _PATTERN[lang].format(same=SAME_DAYS[lang], month=MONTHS[lang][month - 1], year=year, last=last.day)


def report_compared_with(previous: date, now: datetime, in_progress: bool, lang: Lang) -> str | None:
    """``compared_with`` for the board report, which knows the previous month and the moment it describes."""
    if not in_progress:
        return None
    until = utc_iso(same_days_end(previous, now))
    return compared_with(Comparison(month=previous.strftime("%Y-%m"), kpis=None, delta={}, span="same_days",
                                    until=until), lang)


#: The report's summary sentence after a KPI: "Samma dagar föregående månad 80,0 %." (month in progress).
SUMMARY_SAME_DAYS: dict[Lang, str] = {"sv": "Samma dagar föregående månad {value}.",
                                      "en": "Same days of the previous month {value}."}


def summary_previous(default: str, in_progress: bool, lang: Lang) -> str:
    return SUMMARY_SAME_DAYS[lang] if in_progress else default
