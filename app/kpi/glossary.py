"""The words every surface uses for the same fact: the languages, the status of a target, units, scope kinds.

One decided wording per fact, so the export, the board report, the terminal table and an alert message never
call the same status two different things. Each status has a short form (a table cell, a legend, next to its
mark) and a long form (what it means, for a definitions sheet or a sentence); the long form says what the
status means without the month's state, which ``STATUS_CONTEXT`` adds where a reader needs it. The KPI names
are in ``app.kpi.catalog``, beside this module.

Choices (issue 13): ``on_track`` is "i fas" (was "på väg" in exports and the terminal, "på väg att nås" in the
board report), ``at_risk`` "i fara" (was "risk"; "i fas" / "i fara" read as a pair), ``missed`` "ej uppfyllt"
(was "missat" in exports and the terminal), ``unreachable`` "kan inte nås" (was "ouppnåeligt"). The English
words were already one set.

Issue 16 added the other concepts a person meets on every surface (``TERMS``: target, expected calls, needed
answer rate, month to date, previous month, today, ...), the wording of the data-quality notes in both languages
(``NOTES``), and ``SUPERSEDED``: the words that were used for the same things before, which a test looks for on
every surface (dashboards, alerting rules, web templates, reports, exports, CLI) so that none comes back.

Pure data: imports nothing of the app.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Lang = Literal["sv", "en"]
#: Swedish first: it is the default of every surface for people.
LANGS: tuple[Lang, ...] = ("sv", "en")


@dataclass(frozen=True, slots=True)
class Term:
    """One thing said in both languages; ``term[lang]`` picks one."""

    sv: str
    en: str

    def __getitem__(self, lang: Lang) -> str:
        return self.sv if lang == "sv" else self.en


@dataclass(frozen=True, slots=True)
class Words:
    """A short form for tight places and a long form that explains."""

    short: Term
    long: Term


@dataclass(frozen=True, slots=True)
class StatusWords(Words):
    #: a text mark, so that a status reads without colour (print, screen readers, a terminal without colour)
    mark: str


#: The statuses of ``app.kpi.targets.Status`` in the order a legend or a definitions sheet lists them: the two
#: verdicts on a closed month, no data, then the three judgements of a month in progress.
STATUSES: tuple[str, ...] = ("met", "missed", "no_data", "on_track", "at_risk", "unreachable")
#: Not a status of a target but of a chart slot or a table cell: nothing to judge against.
NO_TARGET = "no_target"

STATUS_WORDS: dict[str, StatusWords] = {
    "met": StatusWords(
        Term("uppfyllt", "met"),
        Term("målet nåddes", "the target was reached"), "✓"),
    "missed": StatusWords(
        Term("ej uppfyllt", "missed"),
        Term("målet nåddes inte", "the target was not reached"), "✗"),
    "no_data": StatusWords(
        Term("ingen data", "no data"),
        Term("inget att bedöma (inga samtal eller värdet kan inte beräknas)",
             "nothing to judge (no calls, or the value cannot be computed)"), "–"),
    "on_track": StatusWords(
        Term("i fas", "on track"),
        Term("målet nås om resten av månaden går som prognosen",
             "the target is reached if the rest of the month goes as forecast"), "✓"),
    "at_risk": StatusWords(
        Term("i fara", "at risk"),
        Term("målet nås bara om det blir bättre än hittills", "the target is reached only if things improve"), "!"),
    "unreachable": StatusWords(
        Term("kan inte nås", "unreachable"),
        Term("målet kan inte längre nås", "the target can no longer be reached"), "✗"),
    NO_TARGET: StatusWords(
        Term("inget mål", "no target"),
        Term("inget mål gäller för månaden", "no target is in force for the month"), "○"),
}
#: The state of the month a status belongs to, said before its long form where the reader needs it.
STATUS_CONTEXT: dict[str, Term] = {
    "met": Term("avslutad månad", "closed month"),
    "missed": Term("avslutad månad", "closed month"),
    "on_track": Term("pågående månad", "month in progress"),
    "at_risk": Term("pågående månad", "month in progress"),
    "unreachable": Term("pågående månad", "month in progress"),
}


def status_word(status: str, lang: Lang) -> str:
    """The short form; an unknown status (a newer server, an old row) is shown as its code, never an error."""
    words = STATUS_WORDS.get(status)
    return status if words is None else words.short[lang]


def status_explained(status: str, lang: Lang) -> str:
    """The long form with the state of the month: "avslutad månad: målet nåddes"."""
    words = STATUS_WORDS.get(status)
    if words is None:
        return status
    context = STATUS_CONTEXT.get(status)
    return words.long[lang] if context is None else f"{context[lang]}: {words.long[lang]}"


def status_mark(status: str) -> str:
    words = STATUS_WORDS.get(status)
    return "" if words is None else words.mark


#: Units as people read them. A ratio is shown as a percentage, its change in percentage points.
UNITS: dict[str, Words] = {
    "percent": Words(Term("%", "%"), Term("procent", "percent")),
    "points": Words(Term("p.e.", "pp"), Term("procentenheter", "percentage points")),
    "seconds": Words(Term("s", "s"), Term("sekunder", "seconds")),
    "minutes": Words(Term("min", "min"), Term("minuter", "minutes")),
    "hours": Words(Term("h", "h"), Term("timmar", "hours")),
    "calls": Words(Term("samtal", "calls"), Term("samtal", "calls")),
}

#: What a scorecard row is about.
SCOPE_KINDS: dict[str, Term] = {
    "region": Term("region", "region"),
    "collaboration": Term("samverkan", "collaboration"),
}

#: The resolution of a scope's data in a span (``Counts.resolution``, ``Completeness.resolution``): hourly data
#: (call records, 15–60-minute intervals), or the coarse statistics of SPEC §3, which have no hours.
RESOLUTIONS: dict[str, Words] = {
    "hour": Words(Term("timdata", "hourly data"),
                  Term("samtal eller intervall om högst en timme", "call records or intervals of an hour at most")),
    "day": Words(Term("dagliga siffror", "daily figures"),
                 Term("en summa per dag: ingen fördelning på timmar och inga percentiler",
                      "one total a day: no hour breakdown and no percentiles")),
    "month": Words(Term("månadssiffror", "monthly figures"),
                   Term("en summa för månaden: ingen fördelning på dagar eller timmar och inga percentiler",
                        "one total for the month: no day or hour breakdown and no percentiles")),
}


def resolution_word(resolution: str | None, lang: Lang) -> str:
    """The short form ("dagliga siffror"); an unknown or missing resolution as its code or an empty string."""
    words = RESOLUTIONS.get(resolution or "")
    return (resolution or "") if words is None else words.short[lang]


#: How a source delivers (``sources.kind``): a file (upload, drop folder, CLI), a push to the API, a pull over HTTP.
SOURCE_KINDS: dict[str, Term] = {
    "file": Term("fil", "file"),
    "push": Term("push", "push"),
    "http": Term("http", "http"),
}


#: Where a month stands (a row of a monthly series): its figures are final, still growing, or not begun.
MONTH_STATES: dict[str, Term] = {
    "closed": Term("avslutad", "closed"),
    "in_progress": Term("pågår", "in progress"),
    "to_come": Term("kommande", "to come"),
}
#: A month-in-progress comparison: the month so far against the same days of an earlier month (like with like).
SAME_DAYS = Term("samma dagar", "same days")


def capitalised(text: str) -> str:
    """A glossary word at the start of a label or a heading: "i fas" -> "I fas"."""
    return text[:1].upper() + text[1:]


#: Concepts other than statuses, KPIs and units, one wording each. The short form is a label or a heading (used
#: capitalised at its start), the long form says it in a sentence.
TERMS: dict[str, Words] = {
    "scope": Words(Term("område", "region/collaboration"),
                   Term("region eller samverkan", "region or collaboration")),
    "kpi": Words(Term("mått", "KPI"), Term("mått", "KPI")),
    "target": Words(Term("mål", "target"), Term("målet", "the target")),
    "status": Words(Term("status", "status"), Term("status mot målet", "status against the target")),
    "month_to_date": Words(Term("månaden hittills", "month to date"),
                           Term("sedan månadens början", "since the start of the month")),
    "previous_month": Words(Term("föregående månad", "previous month"),
                            Term("hela föregående månad", "the whole previous month")),
    #: a month in progress is compared like with like (``app.scorecard.like_for_like``): the header of a change
    #: says so, its explanation says up to when
    "same_days_previous_month": Words(Term("samma dagar föregående månad", "the same days of the previous month"),
                                      Term("föregående månad fram till samma dag och timme som nu",
                                           "the previous month up to the same day and hour as now")),
    "same_days_previous_year": Words(Term("samma dagar samma månad föregående år",
                                          "the same days of the same month last year"),
                                     Term("samma månad föregående år fram till samma dag och timme som nu",
                                          "the same month last year up to the same day and hour as now")),
    "today": Words(Term("i dag", "today"),
                   Term("i dag sedan midnatt (svensk tid)", "today since midnight (Swedish time)")),
    "month_in_progress": Words(Term("pågående månad", "month in progress"),
                               Term("månaden som pågår", "the month in progress")),
    "closed_month": Words(Term("avslutad månad", "closed month"), Term("en avslutad månad", "a closed month")),
    "forecast": Words(Term("prognos", "forecast"),
                      Term("samma veckodag och timme de senaste veckorna", "same weekday and hour, recent weeks")),
    #: offered calls forecast for the rest of the month ("väntade samtal" read as calls that had waited)
    "expected_calls": Words(Term("förväntade samtal", "expected calls"),
                            Term("förväntade samtal resten av månaden", "expected calls in the rest of the month")),
    "needed_answer_rate": Words(Term("behövd svarsfrekvens", "answer rate needed"),
                                Term("svarsfrekvens som behövs på de förväntade samtalen resten av månaden",
                                     "answer rate needed on the expected calls in the rest of the month")),
    "data_quality": Words(Term("datakvalitet", "data quality"),
                          Term("anmärkningar om indata", "notes on the input data")),
    "ingest": Words(Term("inläsning", "ingest"),
                    Term("inläsning av samtal och intervall", "ingest of calls and intervals")),
    "source": Words(Term("källa", "source"), Term("källa för samtalsdata", "source of call data")),
    #: the sources a scope's month is built on (SPEC §5), each with how far it has delivered
    "sources": Words(Term("källor", "sources"),
                     Term("källorna som månadens siffror bygger på och hur långt var och en har levererat (UTC)",
                          "the sources the month's figures are built on and how far each has delivered (UTC)")),
    #: a source's own clock: a pull source's feed position, a file's or a push's newest record
    "delivered_until": Words(Term("levererat till", "delivered until"),
                             Term("hur långt källan har levererat: en hämtande källas position, annars dess senaste "
                                  "post", "how far the source has delivered: a pull source's position, else its "
                                  "newest record")),
    "not_delivered": Words(Term("inget levererat ännu", "nothing delivered yet"),
                           Term("källan har inte levererat något ännu", "the source has delivered nothing yet")),
    #: the process `vpt worker` starts: its name in both languages, as the alert facts and the rules say it
    "worker": Words(Term("worker", "worker"),
                    Term("workern som hämtar data och skickar larm", "the worker that pulls data and sends alerts")),
    "alert": Words(Term("larm", "alert"), Term("larm", "alert")),
    "notification": Words(Term("avisering", "notification"), Term("avisering om ett larm", "alert notification")),
    "silence": Words(Term("tystnad", "silence"), Term("tystnad för larm", "alert silence")),
    "audit_log": Words(Term("granskningslogg", "audit log"),
                       Term("granskningslogg över administrativa ändringar", "audit log of admin actions")),
    "api_key": Words(Term("API-nyckel", "API key"), Term("API-nyckel", "API key")),
    # staffing advice (issue 17): Erlang A's nurses per hour and their sum over hours
    "staffing": Words(Term("bemanning", "staffing"),
                      Term("bemanningsråd enligt Erlang A (med avbrutna samtal)",
                           "staffing advice from Erlang A (callers who hang up included)")),
    "nurses_needed": Words(Term("sjuksköterskor som behövs", "nurses needed"),
                           Term("sjuksköterskor som behövs för målet enligt Erlang A",
                                "nurses Erlang A says the target needs")),
    "nurse_hours": Words(Term("skötersketimmar", "nurse-hours"),
                         Term("skötersketimmar (sjuksköterskor × timmar)", "nurse-hours (nurses × hours)")),
}


def term(key: str, lang: Lang, *, long: bool = False) -> str:
    words = TERMS[key]
    return (words.long if long else words.short)[lang]


#: Words used before for a concept of this glossary, mapped to the key of the concept (a ``TERMS`` key, a status
#: or a KPI key). Matched case-insensitively as whole words; a surface for people that says one of them bypasses
#: the glossary (tests/reports/test_vocabulary_scan.py).
SUPERSEDED: dict[str, str] = {
    # statuses
    "på väg": "on_track", "på väg att nås": "on_track", "målet i fara": "at_risk", "ouppnåeligt": "unreachable",
    "ouppnåelig": "unreachable", "missat": "missed", "ej nått": "missed",
    # expected calls: "väntade samtal" reads as calls that waited
    "väntade samtal": "expected_calls", "samtal som väntas": "expected_calls", "återstående samtal": "expected_calls",
    "samtal som återstår": "expected_calls", "samtalen som återstår": "expected_calls",
    "återstående samtalen": "expected_calls", "återstående besvarade": "expected_calls",
    "remaining answered calls": "expected_calls",
    "remaining calls": "expected_calls", "calls forecast": "expected_calls", "calls still to come": "expected_calls",
    "forecast remaining": "expected_calls",
    # needed answer rate
    "krävs resten av månaden": "needed_answer_rate", "needed for the rest of the month": "needed_answer_rate",
    # months and days
    "förra månaden": "previous_month", "idag": "today",
    # the Ingest health dashboard, English among Swedish dashboards before
    "ingest health": "ingest",
}


def superseded_pattern(words: tuple[str, ...] | list[str] | None = None) -> re.Pattern[str]:
    """One regex matching any superseded word as a whole word (not "väntade samtal" inside "förväntade samtal")."""
    chosen = sorted(words if words is not None else SUPERSEDED, key=len, reverse=True)
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(word) for word in chosen) + r")(?!\w)", re.IGNORECASE)


#: The data-quality notes of ``app.kpi.formulas.data_quality_notes`` in both languages, with their placeholders.
#: The scorecard document keeps them in English (the API's contract); an export or a report for people in
#: Swedish says them in Swedish through ``note_in``.
NOTES: dict[str, Term] = {
    "offered_mismatch": Term(
        "intervallrapporterna anger {reported} inkommande samtal, men deras besvarade + avbrutna + kön full är "
        "{counted}; måtten bygger på det senare (utan korta avbrott, där de räknas bort)",
        "interval reports state {reported} offered calls, but their answered + abandoned + rejected is {counted}; "
        "the KPIs use the latter (less short abandons, where they are split off)"),
    "sl_unknown": Term(
        "{count} besvarade samtal kommer från intervallrapporter med en annan gräns för servicenivå; servicenivå "
        "beräknas inte",
        "{count} answered calls come from interval reports with another service-level threshold; service level is "
        "not computed"),
    "wait_unknown": Term(
        "intervallrapporter utan summa väntetid (eller med korta avbrott i summan för avbrutna) omfattar {count} "
        "samtal; medelväntetider beräknas inte",
        "interval reports without wait sums (or with short abandons inside the abandoned wait sum) cover {count} "
        "calls; mean waits are not computed"),
    "month_records": Term(
        "månadssiffror ({count} månadsposter): månadens samtal är en summa, utan fördelning på dagar eller timmar; "
        "percentiler för väntetid beräknas inte",
        "monthly figures ({count} month records): the month's calls are one total, with no day or hour breakdown; "
        "wait percentiles are not computed"),
    "day_records": Term(
        "dagliga siffror ({count} dagsposter): en dags samtal är en summa, utan fördelning på timmar; percentiler "
        "för väntetid beräknas inte",
        "daily figures ({count} day records): a day's calls are one total, with no hour breakdown; wait "
        "percentiles are not computed"),
    "mixed_sources": Term(
        "både samtalsposter och intervallrapporter bidrar: kontrollera att ingen kö levereras två gånger",
        "both call records and interval reports contribute: check that no queue is delivered twice"),
}


def _note_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>-?\\d+)" for i, part in enumerate(parts))
    return re.compile(f"^{pattern}$")


_NOTE_REGEXES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (key, _note_regex(note.en)) for key, note in NOTES.items())


def note_in(note: str, lang: Lang) -> str:
    """An English data-quality note said in ``lang``; a note this glossary does not know stays as it is."""
    if lang == "en":
        return note
    for key, regex in _NOTE_REGEXES:
        match = regex.match(note)
        if match is not None:
            return NOTES[key][lang].format(**match.groupdict())
    return note


#: The titles of the CLI's tables, in the language of the terminal scorecard's default (Swedish).
CLI_TITLES: dict[str, Term] = {
    "alerts": Term("Larm", "Alerts"),
    "alert_history": Term("Larmhistorik", "Alert history"),
    "notifications": Term("Aviseringar", "Notifications"),
    "silences": Term("Tystnader", "Silences"),
    "api_keys": Term("API-nycklar", "API keys"),
    "audit_log": Term("Granskningslogg", "Audit log"),
    "ingest_formats": Term("Inläsningsformat", "Ingest formats"),
    "import_profiles": Term("Importprofiler", "Import profiles"),
    "sources": Term("Källor", "Sources"),
}


def cli_title(key: str, lang: Lang = "sv") -> str:
    return CLI_TITLES[key][lang]
