"""The staffing advice's notes: a code and its values from the service, worded in both languages here only.

Before, the service wrote English sentences, the web page translated the ones it knew by matching their text and
the command line printed them in English whatever the run's language. Now the service says *which* note applies
(``Note``), and every surface words it in its own language from ``NOTES``: the web page and ``vpt staffing`` in
theirs, the API in English, with the text it has always returned (clients may match on it), so the English
wordings and number formats below must not change.

Values are formatted per language when the note is worded (a rate as ``97.3%`` in the API's English, ``97,3 %`` in
Swedish). Region codes come from storage: whoever shows a note passes its text through ``app.sanitize``.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.kpi.glossary import Lang, Term
from app.kpi.numbers import percent

#: Every note's wording. The English is the API's ``note`` / ``notes`` text as shipped.
NOTES: dict[str, Term] = {
    # on the advice as a whole
    "default_targets": Term(
        "inga mål sparade för området: standardvärdena i SPEC §6 (85 % besvarade, medelväntetid 10 min)",
        "no targets stored for this scope: SPEC §6 defaults (85 % answered, mean wait 10 min)"),
    "no_forecast": Term(
        "ingen prognos: en timme i veckan saknar historik (en källa yngre än en vecka)",
        "no forecast: an hour of the week has no history yet (a source younger than a week)"),
    "rate_out_of_reach": Term(
        "månaden behöver en svarsfrekvens på {rate} på de kommande samtalen: utom räckhåll (kan inte nås), rådet "
        "håller sig till målet",
        "the month needs an answer rate of {rate} on the calls to come: out of reach (unreachable), the advice "
        "keeps the target"),
    "wait_out_of_reach": Term(
        "månadens medelväntetid kan inte längre komma under målet: rådet håller sig till målet",
        "the month's mean wait cannot come under its target any more: the advice keeps the target"),
    # on an hour
    "no_hour_forecast": Term("ingen prognos för timmen", "no forecast for this hour"),
    "no_handling_times": Term("inga samtalstider att skatta från", "no handling times to estimate from"),
    "no_calls_forecast": Term("inga förväntade samtal", "no calls forecast"),
    "erlang_c": Term("inga avbrutna samtal: Erlang C (ingen lägger på)",
                     "no abandons observed: Erlang C (nobody hangs up)"),
    "without_regions": Term("utan {regions}: inget råd för timmen", "without {regions}: no advice for this hour"),
    # the queueing model could not meet the goal (app.kpi.staffing.StaffingError): its English detail is the API's
    "model_limit": Term("modellen kan inte ge något råd för timmen", "{detail}"),
}


def _format(name: str, value: str | float, lang: Lang) -> str:
    if name == "rate" and isinstance(value, float):
        return f"{value:.1%}" if lang == "en" else percent(value, lang)
    return str(value)


@dataclass(frozen=True, slots=True)
class Note:
    """One note: its code (a key of ``NOTES``) and the values its wording is filled with."""

    code: str
    values: tuple[tuple[str, str | float], ...] = ()

    def text(self, lang: Lang = "en") -> str:
        return NOTES[self.code][lang].format(**{name: _format(name, value, lang) for name, value in self.values})

    def __str__(self) -> str:
        """The API's English: what the note said before it had a code."""
        return self.text("en")


def note(code: str, **values: str | float) -> Note:
    if code not in NOTES:
        raise KeyError(f"no staffing note {code!r}")
    return Note(code, tuple(sorted(values.items())))
