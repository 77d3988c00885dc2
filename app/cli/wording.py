"""The command line's language: one per run (issue 16, "no mixing"), and numbers and counts in it.

``vpt`` speaks Swedish unless told ``--lang en`` (or ``VPT_LANG=en``): the root callback (``app.cli.base``) calls
``use_lang`` before any command runs, and every message is said through ``say`` in that language. Messages live in
``app.cli.messages``; the words for concepts (statuses, KPIs, units, targets, sources, ...) in the glossary and the
catalogue (``app.kpi``), so a table heading and a sentence name a thing the same way.

The language is a module global, not a click context value, because ``app.cli.main`` prints a database error
after the command's context has ended, and that line must be in the run's language too.

Numbers use the board report's formatter (``app.reports.board_text.number``): ``12 480`` and ``0,42`` in Swedish
(a no-break space groups the thousands), ``12,480`` and ``0.42`` in English. A count agrees with its noun and, in
Swedish, a participle with both: "1 timme uppdaterad", "2 timmar uppdaterade"; "1 hour refreshed", "2 hours".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.cli.messages import MESSAGES
from app.kpi.glossary import LANGS, Lang
from app.kpi.numbers import number
from app.sanitize import for_terminal

DEFAULT_LANG: Lang = "sv"
_lang: Lang = DEFAULT_LANG


def use_lang(lang: str | None) -> Lang:
    """Make ``lang`` the run's language (None: Swedish); a command's own ``--lang`` calls it again."""
    global _lang
    _lang = "en" if lang == "en" else DEFAULT_LANG
    return _lang


def current_lang() -> Lang:
    return _lang


def _in(lang: Lang | None) -> Lang:
    return _lang if lang is None else lang


def say(key: str, lang: Lang | None = None, /, **values: Any) -> str:
    """The message ``key`` in the run's language, its placeholders filled (each value already formatted)."""
    return MESSAGES[key][_in(lang)].format(**values)


def count(n: int | float, lang: Lang | None = None) -> str:
    """``12480`` → ``12 480`` (Swedish, no-break space) or ``12,480`` (English)."""
    return number(n, _in(lang))


def decimal(value: float, digits: int = 2, lang: Lang | None = None) -> str:
    """``0.42`` → ``0,42`` in Swedish: a decimal comma, thousands grouped as ``count`` does."""
    return number(value, _in(lang), digits)


@dataclass(frozen=True, slots=True)
class Noun:
    """A noun a count is said with: its singular and plural in both languages, and its Swedish gender (a
    participle after it agrees: "1 timme uppdaterad", "1 fel rättat")."""

    sv: tuple[str, str]
    en: tuple[str, str]
    neuter: bool = False

    def form(self, n: float, lang: Lang) -> str:
        forms = self.sv if lang == "sv" else self.en
        return forms[0] if n == 1 else forms[1]


@dataclass(frozen=True, slots=True)
class Participle:
    """What happened to the counted things: Swedish has a common, a neuter and a plural form, English one."""

    sv: tuple[str, str, str]
    en: str

    def form(self, n: float, noun: Noun, lang: Lang) -> str:
        if lang == "en":
            return self.en
        return self.sv[2] if n != 1 else self.sv[1] if noun.neuter else self.sv[0]


#: The nouns the command line counts. Their plurals agree with the glossary where it names the same thing
#: (``UNITS["hours"]`` "timmar", ``UNITS["calls"]`` "samtal"): tests/cli/test_one_language.py holds them to it.
NOUNS: dict[str, Noun] = {
    "hour": Noun(("timme", "timmar"), ("hour", "hours")),
    "row": Noun(("rad", "rader"), ("row", "rows")),
    "page": Noun(("sida", "sidor"), ("page", "pages")),
    "record": Noun(("post", "poster"), ("record", "records")),
    "call": Noun(("samtal", "samtal"), ("call", "calls"), neuter=True),
    "warning": Noun(("varning", "varningar"), ("warning", "warnings")),
    "key": Noun(("nyckel", "nycklar"), ("key", "keys")),
    "change": Noun(("ändring", "ändringar"), ("change", "changes")),
    "notification": Noun(("avisering", "aviseringar"), ("notification", "notifications")),
    "scope": Noun(("område", "områden"), ("scope", "scopes"), neuter=True),
    "run": Noun(("körning", "körningar"), ("ingest run", "ingest runs")),
    "interval_record": Noun(("intervallpost", "intervallposter"), ("interval record", "interval records")),
    "rejected_row": Noun(("avvisad rad", "avvisade rader"), ("rejected row", "rejected rows")),
    "leg": Noun(("del", "delar"), ("leg", "legs")),
    "copy": Noun(("kopia", "kopior"), ("copy", "copies")),
    "repeated_key": Noun(("upprepad nyckel", "upprepade nycklar"), ("repeated key", "repeated keys")),
    "month": Noun(("månad", "månader"), ("month", "months")),
    "hourly_row": Noun(("timrad", "timrader"), ("hourly row", "hourly rows")),
}
PARTICIPLES: dict[str, Participle] = {
    "refreshed": Participle(("uppdaterad", "uppdaterat", "uppdaterade"), "refreshed"),
    "rebuilt": Participle(("återskapad", "återskapat", "återskapade"), "rebuilt"),
    "evaluated": Participle(("bedömd", "bedömt", "bedömda"), "evaluated"),
    "written": Participle(("skriven", "skrivet", "skrivna"), "written"),
    "silenced": Participle(("tystad", "tystat", "tystade"), "silenced"),
    "skipped": Participle(("överhoppad", "överhoppat", "överhoppade"), "skipped by filters"),
    "merged": Participle(("sammanslagen", "sammanslaget", "sammanslagna"), "merged into calls"),
    "dropped": Participle(("bortlagd", "bortlagt", "bortlagda"), "dropped"),
    "deleted": Participle(("raderad", "raderat", "raderade"), "deleted"),
}


def counted(n: int, noun: str, participle: str | None = None, lang: Lang | None = None) -> str:
    """``1 timme``, ``2 timmar``, ``12 480 rader``; with ``participle`` ``2 timmar uppdaterade`` / ``2 hours
    refreshed``."""
    language = _in(lang)
    words = NOUNS[noun]
    text = f"{count(n, language)} {words.form(n, language)}"
    if participle is not None:
        text += f" {PARTICIPLES[participle].form(n, words, language)}"
    return text


def run_summary(report: Any, lang: Lang | None = None) -> str:
    """The figures of an ingest run (``app.ingest.loader.RunReport``), as ``vpt ingest`` prints them."""
    language = _in(lang)
    return say("run_summary", language, read=count(report.rows_read, language),
               stored=count(report.rows_stored, language), updated=count(report.rows_updated, language),
               unchanged=count(report.rows_unchanged, language), rejected=count(report.rows_rejected, language),
               warnings=count(report.warnings, language),
               hours=counted(report.hours_refreshed, "hour", "refreshed", language),
               seconds=decimal(report.seconds, 2, language))


def problem_text(problem: object, lang: Lang | None = None) -> str:
    """An error as a line of the command line, through the sanitiser (its values may quote input): a domain error
    that names a catalogue sentence (``VptError.keyed``) in the run's language, any other as its own text (a domain
    error's English ``message``)."""
    key = getattr(problem, "message_key", None)
    if isinstance(key, str) and key in MESSAGES:
        params = getattr(problem, "message_params", {})
        return for_terminal(say(key, lang, **{name: str(value) for name, value in params.items()}))
    return for_terminal(str(problem))


def yes_no(value: bool, lang: Lang | None = None) -> str:
    return say("yes" if value else "no", lang)


__all__ = ["LANGS", "Lang", "count", "counted", "current_lang", "decimal", "run_summary", "say", "use_lang"]
