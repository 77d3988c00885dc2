"""The monthly scorecard as a spreadsheet: CSV and XLSX, Swedish labels by default, English on request.

Both exports have one row per scope (region or collaboration), in the document's order, and the same
stable column list ``COLUMNS``; a figure the document does not have (comparisons, forecast, a target or its
needed value) gives an empty cell, never an error. ``scorecard_rows`` is that table with labels
translated and numbers still in the document's units (ratios as fractions 0..1, waits in seconds).

CSV (for Excel and for scripts):
  * UTF-8 with a byte-order mark (so Excel reads å, ä, ö right), CRLF line ends, RFC 4180 quoting.
  * ``sv``: ``;`` between fields and a decimal comma, as Swedish Excel expects; ``en``: ``,`` and a point.
  * Ratios are percentages with two decimals (7 of 9 answered → ``77,78``), the header says ``(%)``.
    Two decimals, not one, so that 84.96 % never shows as ``85,0`` next to the status "ej uppfyllt"; a figure
    that has a target gets more where two would still round it across (84.996 %, ``app.reports.judged``).
    Changes of a ratio are in percentage points. Waits are seconds with one decimal (more likewise: 600,04),
    header ``(s)``.
  * Counts are plain integers; no thousands separator, no unit and no quotes in a number, so every
    number parses back with ``float(text.replace(",", "."))``. A null KPI is an empty field.

XLSX (for people): a sheet "Styrkort YYYY-MM" / "Scorecard YYYY-MM" with a title row and a bold, frozen,
filterable header row; numbers are typed: counts as integers (``#,##0``), ratios as the exact fractions
with ``0.00%``, waits as Excel durations (seconds / 86400) with ``[mm]:ss`` so 500 s reads 08:20; a figure with a
target gets the decimals it needs beside its verdict (``0.000%``, ``[mm]:ss.00``). Changes
of a wait and the needed wait stay in seconds (Excel shows a negative duration as #####). Status cells are
filled green, amber or red. A second sheet "Definitioner" / "Definitions" explains every column.

The sources column names each source of the scope's month and how far it has delivered, its time written as the
export writes its timestamp column (CSV: ``2025-10-31T22:55:00Z``; XLSX: ``2025-10-31 22:55 UTC``).

Text that comes from the database (scope names and codes can be set by any admin, source names by whoever
delivers; a name may start with ``-``) could be read as a
formula by a spreadsheet: a text cell starting with ``=``, ``+``, ``-``, ``@``, tab, CR or LF gets a
leading apostrophe in both exports, and XLSX text cells are always stored as strings.

The column list itself (labels, units, explanations) is ``app.reports.columns``; it is re-exported here. For
a month in progress the changes compare like with like, and their headers and definitions say so ("mot samma dagar
föregående månad", ``columns_for``).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from app.kpi.glossary import SCOPE_KINDS, STATUSES, Lang, status_explained, status_word
from app.reports.columns import (
    COLUMNS,
    FLAG_LABELS,
    TEXT,
    Column,
    Kind,
    check_lang,
    columns_for,
    header,
    localized_notes,
    status_label,
)
from app.reports.judged import Judged, decimals
from app.reports.source_words import When, sources_text
from app.scorecard.document import ScopeEntry, ScorecardDocument

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
#: the columns of running text, which the XLSX sheet gives wider columns
_TEXT_KINDS: tuple[Kind, ...] = ("text", "notes", "sources")
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_text(text: str) -> str:
    """Text a spreadsheet would read as a formula gets a leading apostrophe (OWASP CSV injection)."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


Output = Literal["csv", "xlsx"]


def _xlsx_time(text: str) -> str:
    """An instant in text as an XLSX timestamp cell shows it (``yyyy-mm-dd hh:mm``), with its zone said."""
    moment = _utc_naive(text)
    return text if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


#: how each export writes an instant inside text: as its timestamp column does (CSV: the document's ISO 8601 UTC)
_WHEN: dict[str, When] = {"csv": str, "xlsx": _xlsx_time}


def _localize(column: Column, value: Any, lang: Lang, output: Output = "csv") -> Any:
    if value is None:
        return None
    if column.kind == "status":
        return status_label(str(value), lang)
    if column.kind == "label":
        kind = SCOPE_KINDS.get(str(value))
        return str(value) if kind is None else kind[lang]
    if column.kind == "flag":
        return FLAG_LABELS[lang][bool(value)]
    if column.kind == "text":
        return safe_text(str(value))
    if column.kind == "notes":
        return safe_text("; ".join(localized_notes(value, lang))) or None
    if column.kind == "sources":  # names come from input: escaped like every text cell
        return safe_text(sources_text(value, lang, _WHEN[output])) or None
    return value


def cell(column: Column, document: ScorecardDocument, scope: ScopeEntry, lang: Lang, output: Output = "csv") -> Any:
    """A column's value on a scope as the writers take it: translated, escaped, and a figure that has a target on
    the scope ``Judged``, so the writers give it the decimals it needs beside its verdict."""
    value = _localize(column, column.get(document, scope), lang, output)
    if column.judge is not None and isinstance(value, float):
        judge = column.judge(document, scope)
        if judge is not None:
            return Judged(value, *judge)
    return value


def scorecard_rows(document: ScorecardDocument, lang: Lang = "sv", output: Output = "csv") -> list[list[Any]]:
    """One row per scope, aligned with ``COLUMNS``: labels translated, text escaped, numbers in document units;
    ``output``: the export whose way of writing an instant the text of a cell follows."""
    return [[cell(c, document, scope, lang, output) for c in COLUMNS] for scope in document.scopes]


# --- CSV ----------------------------------------------------------------------------------------------------

_CSV_DECIMALS: dict[str, tuple[float, int]] = {  # kind -> (scale, decimals)
    "ratio": (100, 2), "ratio_delta": (100, 2), "seconds": (1, 1), "seconds_delta": (1, 1), "seconds_plain": (1, 1),
    "number": (1, 1),
}


def _csv_number(kind: Kind, value: Any, decimal: str) -> str:
    if kind == "count":
        return str(int(value))
    scale, digits = _CSV_DECIMALS[kind]
    if isinstance(value, Judged):
        digits = decimals(value, value.comparator, value.bound, scale=scale, least=digits)
    text = f"{float(value) * scale:.{digits}f}"
    if text.startswith("-") and not text.strip("-0."):  # -0.00 is 0.00
        text = text[1:]
    return text.replace(".", decimal)


def scorecard_csv(document: ScorecardDocument, lang: Lang = "sv") -> str:
    """The scorecard as CSV text, starting with a byte-order mark (see the module docstring)."""
    lang = check_lang(lang)
    return csv_text(columns_for(document), scorecard_rows(document, lang), lang)


def csv_text(columns: Sequence[Column], rows: Iterable[Sequence[Any]], lang: Lang) -> str:
    """Every CSV export's one writer: BOM, CRLF, ``;`` and a decimal comma in Swedish, numbers by column kind. Text
    values are written as given (each export makes its text safe when it makes its rows)."""
    delimiter, decimal = (";", ",") if lang == "sv" else (",", ".")
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([header(c, lang, "csv") for c in columns])
    for row in rows:
        writer.writerow([
            "" if value is None else value if isinstance(value, str) else _csv_number(column.kind, value, decimal)
            for column, value in zip(columns, row, strict=True)
        ])
    return buffer.getvalue()


# --- XLSX ---------------------------------------------------------------------------------------------------

_XLSX_FORMATS: dict[str, str] = {
    "count": "#,##0", "number": "#,##0", "ratio": "0.00%", "ratio_delta": "+0.00%;-0.00%;0.00%", "seconds": "[mm]:ss",
    "seconds_delta": "+0;-0;0", "seconds_plain": "0", "timestamp": "yyyy-mm-dd hh:mm",
}
_FILLS: dict[str, tuple[str, str]] = {  # status -> (fill, font): Excel's Good / Bad / Neutral styles
    "met": ("C6EFCE", "006100"), "on_track": ("C6EFCE", "006100"),
    "missed": ("FFC7CE", "9C0006"), "unreachable": ("FFC7CE", "9C0006"),
    "at_risk": ("FFEB9C", "9C5700"), "no_data": ("EDEDED", "595959"),
}
_BOLD = Font(bold=True)


def _utc_naive(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _xlsx_value(kind: Kind, value: Any) -> Any:
    if value is None or (isinstance(value, str) and kind != "timestamp"):
        return value
    if kind == "timestamp":
        return _utc_naive(value) or safe_text(value)
    if kind == "count":
        return int(value)
    number = float(value)
    if not math.isfinite(number):
        return None
    return number / 86400 if kind == "seconds" else number


def _xlsx_format(kind: Kind, value: Any) -> str | None:
    """The column's number format; for a figure with a target, with the decimals it needs beside its verdict (a
    time format's seconds, which a spreadsheet may cut rather than round, at most to thousandths)."""
    if isinstance(value, Judged):
        if kind == "ratio":
            digits = decimals(value, value.comparator, value.bound, scale=100, least=2)
            return f"0.{'0' * digits}%"
        if kind == "seconds":
            digits = decimals(value, value.comparator, value.bound, most=3, truncated_too=True)
            return f"[mm]:ss.{'0' * digits}" if digits else "[mm]:ss"
    return _XLSX_FORMATS.get(kind)


def _put(sheet: Any, row: int, col: int, value: Any, number_format: str | None = None) -> Any:
    """Write one cell; a string is always stored as a string, never as a formula or an error code."""
    cell = sheet.cell(row=row, column=col)
    if isinstance(value, str):
        cell.value = _ILLEGAL_XML.sub("\ufffd", value)
        cell.data_type = "s"
    else:
        cell.value = value
        if number_format and value is not None:
            cell.number_format = number_format
    return cell


def _title(document: ScorecardDocument, lang: Lang) -> str:
    text = TEXT[lang]
    state = "" if document.closed else f" ({text['in_progress']})"
    return f"{text['title']} {document.month}{state}"


def write_table(sheet: Any, headers: list[str], widths: list[int], columns: Sequence[Column],
                rows: Iterable[tuple[Sequence[Any], Sequence[Any]]]) -> None:
    """Header in row 2 (bold, wrapped), then one row per (values, statuses) from row 3: typed numbers, the status
    fill where a cell has a status, text columns widened to their longest value; then the widths and the header's
    height. The monthly sheet and the series/day/hour sheets write their tables alike (``app.reports.series_exports``).
    """
    for index, text in enumerate(headers, start=1):
        cell = _put(sheet, 2, index, text)
        cell.font = _BOLD
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for r, (row, statuses) in enumerate(rows, start=3):
        for c, (column, value, status) in enumerate(zip(columns, row, statuses, strict=True), start=1):
            written = _put(sheet, r, c, _xlsx_value(column.kind, value), _xlsx_format(column.kind, value))
            colours = _FILLS.get(str(status)) if status is not None else None
            if colours:
                written.fill = PatternFill(fill_type="solid", fgColor=colours[0])
                written.font = Font(color=colours[1])
            if column.kind in _TEXT_KINDS and value:
                widths[c - 1] = max(widths[c - 1], min(len(str(value)) + 2, 48))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    lines = max(math.ceil(len(h) / max(w - 2, 1)) for h, w in zip(headers, widths, strict=True))
    sheet.row_dimensions[2].height = 15 * lines


def _scorecard_sheet(sheet: Any, document: ScorecardDocument, lang: Lang) -> None:
    sheet.title = f"{TEXT[lang]['sheet']} {document.month}"
    when = _xlsx_time(document.generated_at)
    title = _put(sheet, 1, 1, f"{_title(document, lang)} · {TEXT[lang]['generated']} {when}")
    title.font = Font(bold=True, size=14)
    sheet.row_dimensions[1].height = 22
    headers = [header(c, lang, "xlsx") for c in columns_for(document)]
    widths = [min(max(len(max(h.split(), key=len)) + 2, 10 if c.kind not in _TEXT_KINDS else 12),
                  18) for c, h in zip(COLUMNS, headers, strict=True)]
    rows = scorecard_rows(document, lang, "xlsx")
    statuses = ([column.get(document, scope) if column.kind == "status" else None for column in COLUMNS]
                for scope in document.scopes)
    write_table(sheet, headers, widths, COLUMNS, zip(rows, statuses, strict=True))
    last = get_column_letter(len(COLUMNS))
    sheet.freeze_panes = "B3"
    sheet.auto_filter.ref = f"A2:{last}{max(len(rows) + 2, 3)}"
    sheet.print_title_rows = "2:2"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def _definitions_sheet(sheet: Any, document: ScorecardDocument, lang: Lang) -> None:
    text = TEXT[lang]
    definitions = document.definitions
    _put(sheet, 1, 1, f"{text['definitions']} · {_title(document, lang)}").font = Font(bold=True, size=14)
    facts: list[tuple[str, Any, str | None]] = [
        (text["month"], document.month, None),
        (text["state"], text["closed"] if document.closed else text["open"], None),
        (text["generated_at"], _utc_naive(document.generated_at) or document.generated_at, "yyyy-mm-dd hh:mm"),
        (text["short"], definitions.short_abandon_seconds, "0"),
        (text["sl"], definitions.sl_seconds, "0"),
    ]
    row = 3
    for label, value, number_format in facts:
        _put(sheet, row, 1, label).font = _BOLD
        _put(sheet, row, 2, value, number_format).alignment = Alignment(horizontal="left")
        row += 1
    row += 1
    _put(sheet, row, 1, text["column"]).font = _BOLD
    _put(sheet, row, 2, text["meaning"]).font = _BOLD
    for column in columns_for(document):
        row += 1
        _put(sheet, row, 1, header(column, lang, "xlsx"))
        _put(sheet, row, 2, column.explanation(lang))
    row += 2
    _put(sheet, row, 1, text["status"]).font = _BOLD
    _put(sheet, row, 2, text["meaning"]).font = _BOLD
    for status in STATUSES:
        row += 1
        cell = _put(sheet, row, 1, status_word(status, lang))
        fill, font = _FILLS[status]
        cell.fill = PatternFill(fill_type="solid", fgColor=fill)
        cell.font = Font(color=font)
        _put(sheet, row, 2, status_explained(status, lang))
    sheet.column_dimensions["A"].width = 48
    sheet.column_dimensions["B"].width = 100


def scorecard_xlsx(document: ScorecardDocument, lang: Lang = "sv") -> bytes:
    """The scorecard as an Excel workbook (see the module docstring)."""
    lang = check_lang(lang)
    workbook = Workbook()
    _scorecard_sheet(workbook.active, document, lang)
    _definitions_sheet(workbook.create_sheet(TEXT[lang]["definitions"]), document, lang)
    properties = workbook.properties
    properties.title = _title(document, lang)
    properties.subject = "1177 Vårdguiden på telefon"
    properties.creator = "vpt-monitor"
    properties.lastModifiedBy = "vpt-monitor"
    properties.language = "sv-SE" if lang == "sv" else "en"
    created = _utc_naive(document.generated_at)
    if created is not None:
        properties.created = created
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


__all__ = ["COLUMNS", "FLAG_LABELS", "TEXT", "Column", "Kind", "check_lang", "header", "localized_notes", "safe_text",
           "scorecard_csv", "scorecard_rows", "scorecard_xlsx", "status_label"]
