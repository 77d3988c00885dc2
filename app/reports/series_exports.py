"""A scope's monthly series, the days of a month and the hours of a day as CSV and XLSX.

The same files as the monthly export (``app.reports.exports``), so a reader who knows one knows all: its cell
writers (number formats, decimal comma, formula escaping, status colours), its column labels, units and
explanations (``app.reports.columns``, generated from the KPI catalogue and the glossary), a title row, a
bold, frozen, filterable header row and a definitions sheet.

* The series is the monthly export's columns for one scope, one row per month, without the changes against
  earlier months (each month's neighbour is the row above) and without the forecast (the series carries none);
  a "Månaden" column says whether the month is closed, in progress or still to come.
* Days and hours carry every KPI of the catalogue under the monthly export's labels but no target or status:
  targets bound a month, not a day or an hour. A day or hour whose figures come from coarse statistics (SPEC
  §3) has empty KPI cells and says why in words of the glossary.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from app.kpi.catalog import KPIS
from app.kpi.glossary import MONTH_STATES, RESOLUTIONS, Lang, Term, resolution_word
from app.kpi.localtime import local_month_of
from app.reports.board_text import WEEKDAYS_SHORT
from app.reports.columns import COLUMNS, TEXT, Column, Getter, check_lang, header
from app.reports.exports import (
    _BOLD,
    _localize,
    _put,
    cell,
    csv_text,
    safe_text,
    write_table,
)
from app.scorecard.document import ScopeEntry, ScorecardDocument, SeriesDocument, SeriesMonth

#: Titles, sheet names and file name stems of the three exports.
TITLES: dict[str, Term] = {
    "series": Term("Månadsserie", "Monthly series"),
    "days": Term("Dagar", "Days"),
    "hours": Term("Timmar", "Hours"),
}
FILE_STEMS: dict[str, Term] = {
    "series": Term("manadsserie", "monthly-series"),
    "days": Term("dagar", "days"),
    "hours": Term("timmar", "hours"),
}
_DROPPED = {"forecast_remaining_offered"}  # the series carries no forecast; changes are dropped by key below


@dataclass(frozen=True)
class Table:
    """What the writers walk: columns, raw rows (aligned with them) and each row's status per column."""

    kind: str  # series | days | hours
    title: str
    columns: tuple[Column, ...]
    rows: list[list[Any]]  # localised values, numbers in document units (as ``scorecard_rows``)
    statuses: list[list[str | None]]  # the status code behind a status cell, for its colour


def _column(key: str, kind: Any, sv: str, en: str, explain_sv: str, explain_en: str,
            get: Callable[[Any, Any], Any]) -> Column:
    return Column(key, kind, sv, en, explain_sv, explain_en, cast(Getter, get))


# --- the series ---------------------------------------------------------------------------------------------


def _month_state(month: SeriesMonth, current: str) -> str:
    return "closed" if month.closed else "in_progress" if month.month == current else "to_come"


_SERIES_STATE = _column("month_state", "text", "Månaden", "The month",
                        "avslutad, pågår (status mot prognos) eller kommande",
                        "closed, in progress (status against forecast) or to come", lambda _d, _m: None)


def _series_columns() -> tuple[Column, ...]:
    kept = [c for c in COLUMNS if "_delta_" not in c.key and c.key not in _DROPPED]
    at = next(i for i, c in enumerate(kept) if c.key == "month") + 1
    return (*kept[:at], _SERIES_STATE, *kept[at:])


SERIES_COLUMNS = _series_columns()


def _as_entry(document: SeriesDocument, month: SeriesMonth) -> tuple[ScorecardDocument, ScopeEntry]:
    """A month of the series as the (document, scope) pair the monthly columns read."""
    entry = ScopeEntry(scope=document.scope, kind=document.kind, name=document.name, kpis=month.kpis,
                       targets=month.targets, forecast=None, comparisons=None, completeness=month.completeness,
                       data_quality=())
    return cast(ScorecardDocument, _MonthOf(month.month)), entry


@dataclass(frozen=True)
class _MonthOf:
    """The one attribute of a ``ScorecardDocument`` the monthly columns read (``month``)."""

    month: str


def series_table(document: SeriesDocument, now: datetime, lang: Lang = "sv") -> Table:
    """``monthly_series``'s document as a table; ``now`` (aware) tells the month in progress from those to come."""
    current = local_month_of(now).strftime("%Y-%m")
    rows, statuses = [], []
    for month in document.months:
        doc, entry = _as_entry(document, month)
        values = []
        for column in SERIES_COLUMNS:
            if column is _SERIES_STATE:
                values.append(MONTH_STATES[_month_state(month, current)][lang])
            else:
                values.append(cell(column, doc, entry, lang))
        rows.append(values)
        statuses.append([column.get(doc, entry) if column.kind == "status" else None for column in SERIES_COLUMNS])
    months = document.months
    span = f"{months[0].month}–{months[-1].month}" if months else ""
    return Table("series", f"{TITLES['series'][lang]} {document.name} ({document.scope}) {span}",
                 SERIES_COLUMNS, rows, statuses)


# --- days and hours -----------------------------------------------------------------------------------------

_SCOPE_COLUMNS = (
    _column("name", "text", "Område", "Region/collaboration", "regionens eller samverkans namn",
            "name of the region or collaboration", lambda d, _r: d["name"]),
    _column("kind", "label", "Typ", "Type", "region, eller samverkan (summan av medlemsregionernas samtal)",
            "region, or collaboration (the sum of its member regions' calls)", lambda d, _r: d["kind"]),
    _column("scope", "text", "Kod", "Code", "ISO 3166-2:SE-kod för en region, kod för en samverkan",
            "ISO 3166-2:SE code of a region, code of a collaboration", lambda d, _r: d["scope"]),
)


def _kpi_getter(key: str) -> Callable[[Any, Any], Any]:
    return lambda _d, row: None if row["kpis"] is None else row["kpis"].get(key)


#: Every KPI of the catalogue, in the monthly export's order (its first KPIs, then the rest of the catalogue).
_KPI_COLUMNS = tuple(
    _column(spec.key, spec.unit, spec.name.sv, spec.name.en, spec.definition.sv, spec.definition.en,
            _kpi_getter(spec.key))
    for spec in (KPIS[c.key] for c in COLUMNS if c.key in KPIS)
)


def _note(_d: Any, row: dict[str, Any]) -> str | None:
    """Why a row has no KPIs: the resolution of its data explained (the glossary's long form)."""
    if row["kpis"] is not None or row.get("resolution") not in RESOLUTIONS:
        return None
    return cast(str, row["resolution"])


_RESOLUTION = _column("resolution", "text", "Upplösning", "Resolution",
                      "timdata, dagliga siffror eller månadssiffror: den grövsta upplösningen i underlaget",
                      "hourly data, daily figures or monthly figures: the coarsest resolution of the data",
                      lambda _d, row: row.get("resolution"))
_NOTE = _column("note", "text", "Anmärkning", "Note",
                "varför nyckeltalen saknas: grova siffror har ingen fördelning på dagar eller timmar",
                "why the KPIs are empty: coarse figures have no breakdown by day or hour", _note)

DAY_COLUMNS: tuple[Column, ...] = (
    *_SCOPE_COLUMNS,
    _column("date", "text", "Datum", "Date", "dag i svensk tid (ÅÅÅÅ-MM-DD)", "day in Swedish time (YYYY-MM-DD)",
            lambda _d, row: row["date"]),
    _column("weekday", "text", "Veckodag", "Weekday", "veckodag", "day of the week",
            lambda _d, row: row["weekday"]),
    *_KPI_COLUMNS,
    _column("hours_with_data", "count", "Timmar med data", "Hours with data", "timmar i dygnet med minst en post",
            "hours of the day with at least one record", lambda _d, row: row["hours_with_data"]),
    _column("hours_in_day", "count", "Timmar i dygnet", "Hours in day",
            "23 när sommartiden börjar, 25 när den slutar, annars 24",
            "23 when daylight saving time starts, 25 when it ends, otherwise 24", lambda _d, row: row["hours_in_day"]),
    _RESOLUTION,
    _NOTE,
)
HOUR_COLUMNS: tuple[Column, ...] = (
    *_SCOPE_COLUMNS,
    _column("date", "text", "Datum", "Date", "dag i svensk tid (ÅÅÅÅ-MM-DD)", "day in Swedish time (YYYY-MM-DD)",
            lambda d, _row: d["date"]),
    _column("local_hour", "text", "Timme", "Hour", "timmens början i svensk tid",
            "start of the hour in Swedish time", lambda _d, row: row["local_hour"]),
    _column("utc_offset", "text", "UTC-förskjutning", "UTC offset",
            "skiljer de två timmarna 02:00 åt när sommartiden slutar",
            "tells the two 02:00 hours apart when daylight saving time ends",
            lambda _d, row: f"UTC{row['utc_offset']}"),
    _column("has_data", "flag", "Data", "Data", "Ja när timmen har poster om områdets egna samtal",
            "Yes when the hour has records of the scope's own calls", lambda _d, row: row["has_data"]),
    *_KPI_COLUMNS,
    _RESOLUTION,
    _NOTE,
)


def _localized(column: Column, raw: Any, lang: Lang) -> Any:
    if column is _RESOLUTION:
        return None if raw is None else resolution_word(raw, lang)
    if column is _NOTE:
        return None if raw is None else RESOLUTIONS[raw].long[lang]
    if column.key == "weekday":
        return WEEKDAYS_SHORT[lang][int(raw) - 1]
    return _localize(column, raw, lang)


def _breakdown_table(kind: str, document: dict[str, Any], rows_key: str, columns: tuple[Column, ...],
                     when: str, lang: Lang) -> Table:
    rows = [[_localized(c, c.get(cast(Any, document), row), lang) for c in columns] for row in document[rows_key]]
    title = f"{TITLES[kind][lang]} {document['name']} ({document['scope']}) {when}"
    return Table(kind, title, columns, rows, [[None] * len(columns) for _ in rows])


def days_table(document: dict[str, Any], lang: Lang = "sv") -> Table:
    """``app.scorecard.breakdowns.daily``'s document as a table."""
    return _breakdown_table("days", document, "days", DAY_COLUMNS, document["month"], lang)


def hours_table(document: dict[str, Any], lang: Lang = "sv") -> Table:
    """``app.scorecard.breakdowns.hourly``'s document as a table."""
    return _breakdown_table("hours", document, "hours", HOUR_COLUMNS, document["date"], lang)


# --- writers ------------------------------------------------------------------------------------------------


def table_csv(table: Table, lang: Lang = "sv") -> str:
    """As ``scorecard_csv``: BOM, CRLF, ``;`` and a decimal comma in Swedish, percentages with two decimals."""
    lang = check_lang(lang)
    rows = ([safe_text(value) if isinstance(value, str) else value for value in row] for row in table.rows)
    return csv_text(table.columns, rows, lang)


def table_xlsx(table: Table, lang: Lang = "sv") -> bytes:
    """As ``scorecard_xlsx``: typed numbers, a frozen filterable header, status fills, a definitions sheet."""
    lang = check_lang(lang)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = TITLES[table.kind][lang]
    _put(sheet, 1, 1, safe_text(table.title)).font = Font(bold=True, size=14)
    sheet.row_dimensions[1].height = 22
    headers = [header(c, lang, "xlsx") for c in table.columns]
    widths = [min(max(len(max(h.split(), key=len)) + 2, 10), 18) for h in headers]
    write_table(sheet, headers, widths, table.columns, zip(table.rows, table.statuses, strict=True))
    sheet.freeze_panes = "B3"
    sheet.auto_filter.ref = f"A2:{get_column_letter(len(table.columns))}{max(len(table.rows) + 2, 3)}"
    sheet.print_title_rows = "2:2"
    sheet.page_setup.orientation = "landscape"
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    _definitions(workbook.create_sheet(TEXT[lang]["definitions"]), table, lang)
    properties = workbook.properties
    properties.title = table.title
    properties.subject = "1177 Vårdguiden på telefon"
    properties.creator = properties.lastModifiedBy = "vpt-monitor"
    properties.language = "sv-SE" if lang == "sv" else "en"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _definitions(sheet: Any, table: Table, lang: Lang) -> None:
    text = TEXT[lang]
    _put(sheet, 1, 1, f"{text['definitions']} · {safe_text(table.title)}").font = Font(bold=True, size=14)
    _put(sheet, 3, 1, text["column"]).font = _BOLD
    _put(sheet, 3, 2, text["meaning"]).font = _BOLD
    for row, column in enumerate(table.columns, start=4):
        _put(sheet, row, 1, header(column, lang, "xlsx"))
        _put(sheet, row, 2, column.explanation(lang))
    sheet.column_dimensions["A"].width = 40
    sheet.column_dimensions["B"].width = 100


def file_name(kind: str, code: str, span: Sequence[str], output: str, lang: Lang) -> str:
    """``manadsserie-SE-AC-2024-10-2025-10.csv``: only letters, digits and ``-`` from the code (it names a file)."""
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch == "-") else "_" for ch in code)
    return "-".join([FILE_STEMS[kind][lang], safe, *span]) + f".{output}"


__all__ = ["DAY_COLUMNS", "HOUR_COLUMNS", "SERIES_COLUMNS", "Table", "days_table", "file_name", "hours_table",
           "series_table", "table_csv", "table_xlsx"]
