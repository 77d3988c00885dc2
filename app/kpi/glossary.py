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

Pure data: imports nothing of the app.
"""

from __future__ import annotations

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
