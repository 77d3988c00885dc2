"""The monthly scorecard as a spreadsheet: CSV and XLSX, Swedish labels by default, English on request.

Both exports have one row per scope (region or collaboration), in the document's order, and the same
stable column list ``COLUMNS``; a figure the document does not have (comparisons, forecast, a target or its
needed value) gives an empty cell, never an error. ``scorecard_rows`` is that table with labels
translated and numbers still in the document's units (ratios as fractions 0..1, waits in seconds).

CSV (for Excel and for scripts):
  * UTF-8 with a byte-order mark (so Excel reads å, ä, ö right), CRLF line ends, RFC 4180 quoting.
  * ``sv``: ``;`` between fields and a decimal comma, as Swedish Excel expects; ``en``: ``,`` and a point.
  * Ratios are percentages with two decimals (7 of 9 answered → ``77,78``), the header says ``(%)``.
    Two decimals, not one, so that 84.96 % never shows as ``85,0`` next to the status "ej uppfyllt".
    Changes of a ratio are in percentage points. Waits are seconds with one decimal, header ``(s)``.
  * Counts are plain integers; no thousands separator, no unit and no quotes in a number, so every
    number parses back with ``float(text.replace(",", "."))``. A null KPI is an empty field.

XLSX (for people): a sheet "Styrkort YYYY-MM" / "Scorecard YYYY-MM" with a title row and a bold, frozen,
filterable header row; numbers are typed: counts as integers (``#,##0``), ratios as the exact fractions
with ``0.0%``, waits as Excel durations (seconds / 86400) with ``[mm]:ss`` so 500 s reads 08:20. Changes
of a wait and the needed wait stay in seconds (Excel shows a negative duration as #####). Status cells are
filled green, amber or red. A second sheet "Definitioner" / "Definitions" explains every column.

Text that comes from the database (scope names and codes can be set by any admin) could be read as a
formula by a spreadsheet: a text cell starting with ``=``, ``+``, ``-``, ``@``, tab, CR or LF gets a
leading apostrophe in both exports, and XLSX text cells are always stored as strings.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from app.kpi.catalog import KPIS, KpiSpec
from app.kpi.glossary import LANGS, SCOPE_KINDS, STATUSES, UNITS, Lang, Term, status_explained, status_word
from app.scorecard.completeness import member_notes
from app.scorecard.document import Completeness, ScopeEntry, ScorecardDocument

#: ratio, ratio_delta: fractions; seconds: waits; seconds_delta, seconds_plain: seconds kept as seconds in XLSX;
#: count: integers; number: a float count (forecast); text: free text; label, status, flag: translated codes;
#: notes: the data-quality notes, those about completeness in the export's language.
Kind = Literal["text", "label", "count", "number", "ratio", "ratio_delta", "seconds", "seconds_delta",
               "seconds_plain", "status", "flag", "timestamp", "notes"]

FLAG_LABELS: dict[Lang, tuple[str, str]] = {"sv": ("Nej", "Ja"), "en": ("No", "Yes")}
TEXT: dict[Lang, dict[str, str]] = {
    "sv": {"sheet": "Styrkort", "title": "Styrkort 1177 Vårdguiden på telefon", "in_progress": "pågår",
           "generated": "genererad", "definitions": "Definitioner", "column": "Kolumn", "meaning": "Förklaring",
           "month": "Månad", "state": "Månaden", "closed": "avslutad", "open": "pågår, status mot prognos",
           "generated_at": "Genererad (UTC)", "short": "Korta avbrott: gräns i sekunder (short_abandon_seconds)",
           "sl": "Servicenivå: gräns i sekunder (sl_seconds)", "status": "Status"},
    "en": {"sheet": "Scorecard", "title": "Scorecard 1177 Vårdguiden på telefon", "in_progress": "in progress",
           "generated": "generated", "definitions": "Definitions", "column": "Column", "meaning": "Meaning",
           "month": "Month", "state": "The month", "closed": "closed", "open": "in progress, status against forecast",
           "generated_at": "Generated (UTC)", "short": "Short abandons: threshold in seconds (short_abandon_seconds)",
           "sl": "Service level: threshold in seconds (sl_seconds)", "status": "Status"},
}

Getter = Callable[[ScorecardDocument, ScopeEntry], Any]


@dataclass(frozen=True)
class Column:
    key: str
    kind: Kind
    sv: str
    en: str
    explain_sv: str
    explain_en: str
    get: Getter

    def label(self, lang: Lang) -> str:
        return self.sv if lang == "sv" else self.en

    def explanation(self, lang: Lang) -> str:
        return self.explain_sv if lang == "sv" else self.explain_en


def _kpi(key: str) -> Getter:
    return lambda _doc, scope: scope.kpis.value(key)


def _target(kpi: str, field: Literal["value", "status", "needed"]) -> Getter:
    def get(_doc: ScorecardDocument, scope: ScopeEntry) -> Any:
        target = scope.target(kpi)
        return None if target is None else getattr(target, field)

    return get


def _delta(kpi: str, against: str) -> Getter:
    return lambda _doc, scope: scope.delta(kpi, against)


def _remaining_offered(_doc: ScorecardDocument, scope: ScopeEntry) -> float | None:
    return None if scope.forecast is None else scope.forecast.expected_remaining_offered


def _notes(document: ScorecardDocument, scope: ScopeEntry) -> tuple[list[str], Completeness, str]:
    return list(scope.data_quality), scope.completeness, document.month


def localized_notes(value: tuple[list[str], Completeness, str], lang: Lang) -> list[str]:
    """The document's notes (English), those naming a member region without data in ``lang``: the others come
    from the input's checks and stay in English."""
    notes, completeness, month = value
    english = set(member_notes(completeness, month, "en"))
    return member_notes(completeness, month, lang) + [note for note in notes if note not in english]


def _col(key: str, kind: Kind, sv: str, en: str, explain_sv: str, explain_en: str, get: Getter | None = None) -> Column:
    return Column(key, kind, sv, en, explain_sv, explain_en, get or _kpi(key))


_CHANGE_SV = "denna månads värde minus värdet"
_CHANGE_EN = "this month's value minus that of"
#: The figures a reader looks at first; every other KPI of the catalogue follows, in the catalogue's order.
_FIRST_KPIS = ("offered", "answered", "answer_rate", "mean_wait", "mean_wait_all", "service_level")
_BOUND = {"higher": Term("minst", "at least"), "lower": Term("högst", "at most")}
#: (comparison, in the explanation, in the header)
_AGAINST = (
    ("previous_month", Term("föregående månad", "the previous month"), Term("föregående månad", "previous month")),
    ("previous_year", Term("samma månad föregående år", "the same month last year"),
     Term("samma månad föregående år", "same month last year")),
)
#: What the rest of a month in progress must achieve (the scorecard's ``needed``, SPEC §6).
_NEEDED: dict[str, tuple[Kind, Term]] = {
    "answer_rate": ("ratio", Term(
        "pågående månad: svarsfrekvens som behövs på återstående samtal för att nå målet; över 100 % går inte",
        "month in progress: the answer rate needed on the remaining calls to reach the target; above 100 % cannot "
        "be")),
    "mean_wait": ("seconds_plain", Term(
        "pågående månad: medelväntetid som behövs på återstående besvarade samtal för att nå målet",
        "month in progress: the mean wait needed on the remaining answered calls to reach the target")),
}


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _kpi_columns(spec: KpiSpec) -> tuple[Column, ...]:
    """A KPI's value; for a headline KPI (one with a default target) also its target and its status."""
    value = _col(spec.key, spec.unit, spec.name.sv, spec.name.en, spec.definition.sv, spec.definition.en)
    if not spec.headline or spec.better is None:
        return (value,)
    bound, name = _BOUND[spec.better], spec.name
    return (
        value,
        _col(f"{spec.key}_target", spec.unit, f"Mål {_lower(name.sv)}", f"{name.en} target",
             f"målet ({bound.sv}) i den version som gällde för månaden",
             f"the target ({bound.en}) in the version valid that month", _target(spec.key, "value")),
        _col(f"{spec.key}_status", "status", f"Status {_lower(name.sv)}", f"{name.en} status",
             f"{spec.in_text.sv} mot målet, se Status nedan", f"the {spec.in_text.en} against its target, see Status "
             "below", _target(spec.key, "status")),
    )


def _delta_columns(spec: KpiSpec) -> tuple[Column, ...]:
    """A headline KPI's change against the previous month and the same month a year before."""
    kind: Kind = "ratio_delta" if spec.unit == "ratio" else "seconds_delta"
    shorter = (Term("; negativt är kortare väntan", "; negative is a shorter wait") if spec.unit == "seconds"
               else Term("", ""))
    return tuple(
        _col(f"{spec.key}_delta_{against}", kind, f"Förändring {_lower(spec.name.sv)} mot {label.sv}",
             f"{spec.name.en} change vs {label.en}", f"{_CHANGE_SV} {text.sv}{shorter.sv}",
             f"{_CHANGE_EN} {text.en}{shorter.en}", _delta(spec.key, against))
        for against, text, label in _AGAINST
    )


def _needed_column(spec: KpiSpec) -> Column:
    kind, explained = _NEEDED[spec.key]
    return _col(f"{spec.key}_needed", kind, f"Behövd {_lower(spec.name.sv)}", f"{spec.name.en} needed",
                explained.sv, explained.en, _target(spec.key, "needed"))


_ORDERED = [KPIS[key] for key in _FIRST_KPIS] + [spec for key, spec in KPIS.items() if key not in _FIRST_KPIS]
_HEADLINE = [spec for spec in _ORDERED if spec.headline]

#: The stable column list of both exports (and of ``scorecard_rows``), in order.
COLUMNS: tuple[Column, ...] = (
    _col("name", "text", "Område", "Region/collaboration", "regionens eller samverkans namn",
         "name of the region or collaboration", lambda _d, s: s.name),
    _col("kind", "label", "Typ", "Type", "region, eller samverkan (summan av medlemsregionernas samtal)",
         "region, or collaboration (the sum of its member regions' calls)", lambda _d, s: s.kind),
    _col("scope", "text", "Kod", "Code", "ISO 3166-2:SE-kod för en region, kod för en samverkan",
         "ISO 3166-2:SE code of a region, code of a collaboration", lambda _d, s: s.scope),
    _col("month", "text", "Månad", "Month", "kalendermånad i svensk tid: ett samtal räknas till månaden då det kom in",
         "calendar month in Swedish time: a call counts in the month it arrived", lambda d, _s: d.month),
    *(column for spec in _ORDERED for column in _kpi_columns(spec)),
    *(column for spec in _HEADLINE for column in _delta_columns(spec)),
    _col("hours_with_data", "count", "Timmar med data", "Hours with data", "timmar i månaden med minst en post",
         "hours of the month with at least one record", lambda _d, s: s.completeness.hours_with_data),
    _col("hours_in_month", "count", "Timmar i månaden", "Hours in month",
         "743 i mars och 745 i oktober (sommartid), annars dagar × 24",
         "743 in March and 745 in October (daylight saving time), otherwise days × 24",
         lambda _d, s: s.completeness.hours_in_month),
    _col("partial", "flag", "Ofullständig", "Partial",
         "Ja när underlaget börjar mer än 6 timmar efter månadens början eller den senaste posten är mer än "
         "6 timmar före månadens slut (eller nu); för en samverkan när någon medlemsregion är ofullständig eller "
         "saknar data (den svagaste medlemmen avgör)",
         "Yes when the data start more than 6 hours after the month's start or the newest record is more than "
         "6 hours before the month's end (or now); for a collaboration when any member region is partial or has "
         "no data (the weakest member decides)",
         lambda _d, s: s.completeness.partial),
    _col("latest_record_at", "timestamp", "Senaste post", "Latest record", "tidpunkt för månadens senaste post",
         "time of the newest record of the month", lambda _d, s: s.completeness.latest_record_at),
    _col("forecast_remaining_offered", "number", "Prognos återstående samtal", "Forecast remaining calls",
         "pågående månad: väntade inkommande samtal resten av månaden (samma veckodag och timme senaste veckorna)",
         "month in progress: offered calls expected in the rest of the month (same weekday and hour, recent weeks)",
         _remaining_offered),
    *(_needed_column(spec) for spec in _HEADLINE if spec.key in _NEEDED),
    _col("data_quality", "notes", "Datakvalitet", "Data quality",
         "anmärkningar om indata, bland annat medlemsregioner utan data (kontrollerna av indata på engelska)",
         "notes on the input data, among them member regions without data", _notes),
)

def _units(lang: Lang, output: Literal["csv", "xlsx"]) -> dict[str, str]:
    """The unit in a header: XLSX cells carry their own format (a percentage, a duration), CSV numbers do not."""
    seconds, minutes = UNITS["seconds"].short[lang], UNITS["minutes"].short[lang]
    plain = {"ratio_delta": UNITS["points"].long[lang], "seconds_delta": seconds, "seconds_plain": seconds,
             "timestamp": "UTC"}
    if output == "csv":
        return {**plain, "ratio": UNITS["percent"].short[lang], "seconds": seconds}
    return {**plain, "seconds": f"{minutes}:{seconds}"}


_UNITS: dict[str, dict[Lang, dict[str, str]]] = {
    output: {lang: _units(lang, output) for lang in LANGS} for output in ("csv", "xlsx")
}

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def check_lang(lang: str) -> Lang:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    return lang


def header(column: Column, lang: Lang, output: Literal["csv", "xlsx"]) -> str:
    unit = _UNITS[output][lang].get(column.kind)
    return f"{column.label(lang)} ({unit})" if unit else column.label(lang)


def status_label(status: str | None, lang: Lang = "sv") -> str | None:
    return None if status is None else status_word(status, lang)


def safe_text(text: str) -> str:
    """Text a spreadsheet would read as a formula gets a leading apostrophe (OWASP CSV injection)."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _localize(column: Column, value: Any, lang: Lang) -> Any:
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
    return value


def scorecard_rows(document: ScorecardDocument, lang: Lang = "sv") -> list[list[Any]]:
    """One row per scope, aligned with ``COLUMNS``: labels translated, text escaped, numbers in document units."""
    return [[_localize(c, c.get(document, scope), lang) for c in COLUMNS] for scope in document.scopes]


# --- CSV ----------------------------------------------------------------------------------------------------

_CSV_DECIMALS: dict[str, tuple[float, int]] = {  # kind -> (scale, decimals)
    "ratio": (100, 2), "ratio_delta": (100, 2), "seconds": (1, 1), "seconds_delta": (1, 1), "seconds_plain": (1, 1),
    "number": (1, 1),
}


def _csv_number(kind: Kind, value: Any, decimal: str) -> str:
    if kind == "count":
        return str(int(value))
    scale, decimals = _CSV_DECIMALS[kind]
    text = f"{float(value) * scale:.{decimals}f}"
    if text.startswith("-") and not text.strip("-0."):  # -0.00 is 0.00
        text = text[1:]
    return text.replace(".", decimal)


def scorecard_csv(document: ScorecardDocument, lang: Lang = "sv") -> str:
    """The scorecard as CSV text, starting with a byte-order mark (see the module docstring)."""
    lang = check_lang(lang)
    delimiter, decimal = (";", ",") if lang == "sv" else (",", ".")
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([header(c, lang, "csv") for c in COLUMNS])
    for row in scorecard_rows(document, lang):
        writer.writerow([
            "" if value is None else value if isinstance(value, str) else _csv_number(column.kind, value, decimal)
            for column, value in zip(COLUMNS, row, strict=True)
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


def _scorecard_sheet(sheet: Any, document: ScorecardDocument, lang: Lang) -> None:
    sheet.title = f"{TEXT[lang]['sheet']} {document.month}"
    generated = _utc_naive(document.generated_at)
    when = f"{generated:%Y-%m-%d %H:%M} UTC" if generated else document.generated_at
    title = _put(sheet, 1, 1, f"{_title(document, lang)} · {TEXT[lang]['generated']} {when}")
    title.font = Font(bold=True, size=14)
    sheet.row_dimensions[1].height = 22
    headers = [header(c, lang, "xlsx") for c in COLUMNS]
    widths = [min(max(len(max(h.split(), key=len)) + 2, 10 if c.kind not in ("text", "notes") else 12), 18)
              for c, h in zip(COLUMNS, headers, strict=True)]
    for index, text in enumerate(headers, start=1):
        cell = _put(sheet, 2, index, text)
        cell.font = _BOLD
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    rows = scorecard_rows(document, lang)
    for r, (scope, row) in enumerate(zip(document.scopes, rows, strict=True), start=3):
        for c, (column, value) in enumerate(zip(COLUMNS, row, strict=True), start=1):
            cell = _put(sheet, r, c, _xlsx_value(column.kind, value), _XLSX_FORMATS.get(column.kind))
            if column.kind == "status":
                colours = _FILLS.get(str(column.get(document, scope)))
                if colours:
                    cell.fill = PatternFill(fill_type="solid", fgColor=colours[0])
                    cell.font = Font(color=colours[1])
            if column.kind in ("text", "notes") and value:
                widths[c - 1] = max(widths[c - 1], min(len(str(value)) + 2, 48))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    lines = max(math.ceil(len(h) / max(w - 2, 1)) for h, w in zip(headers, widths, strict=True))
    sheet.row_dimensions[2].height = 15 * lines
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
    for column in COLUMNS:
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
