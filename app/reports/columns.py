"""The export's columns: one stable list (``COLUMNS``) with Swedish and English labels, units and explanations,
generated from the KPI catalogue and the glossary, so a KPI added there gets its columns here without an edit.

Kept apart from the writers in ``exports`` (CSV, XLSX), which only walk this list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from app.kpi.catalog import KPIS, KpiSpec
from app.kpi.glossary import LANGS, TERMS, UNITS, Lang, Term, capitalised, note_in, status_word
from app.scorecard.completeness import member_notes
from app.scorecard.document import Completeness, ScopeEntry, ScorecardDocument

#: ratio, ratio_delta: fractions; seconds: waits; seconds_delta, seconds_plain: seconds kept as seconds in XLSX;
#: count: integers; number: a float count (forecast); text: free text; label, status, flag: translated codes;
#: notes: the data-quality notes, those about completeness in the export's language; sources: the month's sources and
#: how far each has delivered (``app.reports.source_words``), times written as the export writes a timestamp.
Kind = Literal["text", "label", "count", "number", "ratio", "ratio_delta", "seconds", "seconds_delta",
               "seconds_plain", "status", "flag", "timestamp", "notes", "sources"]

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
    #: (comparator, bound) of the target the value is judged against on a scope, where it has one
    judge: Callable[[ScorecardDocument, ScopeEntry], tuple[str, float] | None] | None = None

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


def _judge(kpi: str) -> Callable[[ScorecardDocument, ScopeEntry], tuple[str, float] | None]:
    def judge(_doc: ScorecardDocument, scope: ScopeEntry) -> tuple[str, float] | None:
        target = scope.target(kpi)
        return None if target is None else (str(target.comparator), float(target.value))

    return judge


def _delta(kpi: str, against: str) -> Getter:
    return lambda _doc, scope: scope.delta(kpi, against)


def _remaining_offered(_doc: ScorecardDocument, scope: ScopeEntry) -> float | None:
    return None if scope.forecast is None else scope.forecast.expected_remaining_offered


def _notes(document: ScorecardDocument, scope: ScopeEntry) -> tuple[list[str], Completeness, str]:
    return list(scope.data_quality), scope.completeness, document.month


def localized_notes(value: tuple[list[str], Completeness, str], lang: Lang) -> list[str]:
    """The document's notes (English) in ``lang``: those naming a member region without data worded again, the
    input's checks through the glossary's wording of them."""
    notes, completeness, month = value
    english = set(member_notes(completeness, month, "en"))
    return member_notes(completeness, month, lang) + [note_in(note, lang) for note in notes if note not in english]


def _col(key: str, kind: Kind, sv: str, en: str, explain_sv: str, explain_en: str, get: Getter | None = None) -> Column:
    return Column(key, kind, sv, en, explain_sv, explain_en, get or _kpi(key))


_CHANGE_SV = "denna månads värde minus värdet"
_CHANGE_EN = "this month's value minus that of"
#: a month in progress is compared like with like (``app.scorecard.like_for_like``)
_SAME_DAYS = Term("; pågående månad: månaden hittills mot samma dagar och timmar i den månaden",
                  "; month in progress: the month so far against the same days and hours of that month")
_SO_FAR_SV = "månadens värde hittills minus värdet för"
_SO_FAR_EN = "the month's value so far minus that of"
_SHORTER_MONTH = Term("; en kortare månad som saknar dagen jämförs hel",
                      "; a shorter month without that day is compared whole")
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
        "pågående månad: svarsfrekvens som behövs på de förväntade samtalen resten av månaden för att nå målet; "
        "över 100 % går inte",
        "month in progress: the answer rate needed on the expected calls in the rest of the month to reach the "
        "target; above 100 % cannot be")),
    "mean_wait": ("seconds_plain", Term(
        "pågående månad: medelväntetid som behövs för de förväntade samtalen resten av månaden som besvaras, för "
        "att nå målet",
        "month in progress: the mean wait needed for the expected calls in the rest of the month that are answered, "
        "to reach the target")),
}


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _kpi_columns(spec: KpiSpec) -> tuple[Column, ...]:
    """A KPI's value; for a headline KPI (one with a default target) also its target and its status."""
    value = replace(_col(spec.key, spec.unit, spec.name.sv, spec.name.en, spec.definition.sv, spec.definition.en),
                    judge=_judge(spec.key))
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


def _delta_columns(spec: KpiSpec, *, same_days: bool = False) -> tuple[Column, ...]:
    """A headline KPI's change against the previous month and the same month a year before; ``same_days``: as a
    month in progress has them, against the same days of those months, and the header says so."""
    kind: Kind = "ratio_delta" if spec.unit == "ratio" else "seconds_delta"
    shorter = (Term("; negativt är kortare väntan", "; negative is a shorter wait") if spec.unit == "seconds"
               else Term("", ""))
    if same_days:
        return tuple(
            _col(f"{spec.key}_delta_{against}", kind, f"Förändring {_lower(spec.name.sv)} mot {words.short.sv}",
                 f"{spec.name.en} change vs {words.short.en}",
                 f"{_SO_FAR_SV} {words.long.sv}{shorter.sv}{_SHORTER_MONTH.sv}",
                 f"{_SO_FAR_EN} {words.long.en}{shorter.en}{_SHORTER_MONTH.en}", _delta(spec.key, against))
            for against, words in ((against, TERMS[f"same_days_{against}"]) for against, _t, _l in _AGAINST)
        )
    return tuple(
        _col(f"{spec.key}_delta_{against}", kind, f"Förändring {_lower(spec.name.sv)} mot {label.sv}",
             f"{spec.name.en} change vs {label.en}", f"{_CHANGE_SV} {text.sv}{shorter.sv}{_SAME_DAYS.sv}",
             f"{_CHANGE_EN} {text.en}{shorter.en}{_SAME_DAYS.en}", _delta(spec.key, against))
        for against, text, label in _AGAINST
    )


def _needed_column(spec: KpiSpec) -> Column:
    kind, explained = _NEEDED[spec.key]
    return _col(f"{spec.key}_needed", kind, f"Behövd {_lower(spec.name.sv)}", f"{spec.name.en} needed",
                explained.sv, explained.en, _target(spec.key, "needed"))


#: "Förväntade samtal resten av månaden": the forecast's offered calls (was "Prognos återstående samtal").
_EXPECTED = TERMS["expected_calls"].long
_FORECAST = TERMS["forecast"]
_SOURCES = TERMS["sources"]

_ORDERED = [KPIS[key] for key in _FIRST_KPIS] + [spec for key, spec in KPIS.items() if key not in _FIRST_KPIS]
_HEADLINE = [spec for spec in _ORDERED if spec.headline]

#: The stable column list of both exports (and of ``scorecard_rows``), in order; for a month in progress the
#: changes are labelled as against the same days (``columns_for``), in the same places.
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
    _col("sources", "sources", capitalised(_SOURCES.short.sv), capitalised(_SOURCES.short.en), _SOURCES.long.sv,
         _SOURCES.long.en, lambda _d, s: s.completeness.sources),
    _col("forecast_remaining_offered", "number", capitalised(_EXPECTED.sv), capitalised(_EXPECTED.en),
         f"pågående månad: {_EXPECTED.sv} (inkommande samtal; {_FORECAST.short.sv}: {_FORECAST.long.sv})",
         f"month in progress: {_EXPECTED.en} (offered calls; {_FORECAST.short.en}: {_FORECAST.long.en})",
         _remaining_offered),
    *(_needed_column(spec) for spec in _HEADLINE if spec.key in _NEEDED),
    _col("data_quality", "notes", "Datakvalitet", "Data quality",
         "anmärkningar om indata, bland annat medlemsregioner utan data",
         "notes on the input data, among them member regions without data", _notes),
)

_SAME_DAYS_COLUMNS = {column.key: column for spec in _HEADLINE for column in _delta_columns(spec, same_days=True)}
IN_PROGRESS_COLUMNS: tuple[Column, ...] = tuple(_SAME_DAYS_COLUMNS.get(column.key, column) for column in COLUMNS)


def compares_same_days(document: ScorecardDocument) -> bool:
    """Whether the document's changes are against the same days of the earlier months (a month in progress): as
    its comparisons say, or for a document without any, as its month is not closed."""
    spans = {scope.comparisons.previous_month.span for scope in document.scopes if scope.comparisons is not None}
    return "same_days" in spans if spans else not document.closed


def columns_for(document: ScorecardDocument) -> tuple[Column, ...]:
    """``COLUMNS`` with the changes labelled for what this document compares (values and order the same)."""
    return IN_PROGRESS_COLUMNS if compares_same_days(document) else COLUMNS


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


def check_lang(lang: str) -> Lang:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    return lang


def header(column: Column, lang: Lang, output: Literal["csv", "xlsx"]) -> str:
    unit = _UNITS[output][lang].get(column.kind)
    return f"{column.label(lang)} ({unit})" if unit else column.label(lang)


def status_label(status: str | None, lang: Lang = "sv") -> str | None:
    return None if status is None else status_word(status, lang)
