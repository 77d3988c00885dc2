"""How a number is written in each language: one home for every surface (board report, web view, exports, command
line, staffing notes). Swedish groups thousands with a no-break space and writes a decimal comma; English a comma
and a decimal point; both write a true minus sign, and "–" for a figure that does not exist.

Pure: the staffing notes and the reports both need it, and staffing may not import the reports.
"""

from __future__ import annotations

from app.kpi.glossary import Lang

NBSP = "\u00a0"
MINUS = "\u2212"


def number(value: float | None, lang: Lang, digits: int = 0) -> str:
    if value is None:
        return "–"
    text = f"{value:,.{digits}f}"
    if lang == "sv":
        text = text.replace(",", NBSP).replace(".", ",")
    return text.replace("-", MINUS)


def percent(value: float | None, lang: Lang, digits: int = 1) -> str:
    if value is None:
        return "–"
    text = number(value * 100, lang, digits)
    return f"{text}{NBSP}%" if lang == "sv" else f"{text}%"
