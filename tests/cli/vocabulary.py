"""The words of each language the command line can say, for tests that hold a run to one of them.

Built from the same sources the command line speaks from: its message catalogue (``app.cli.messages``), its
count nouns (``app.cli.wording``), the staffing notes (``app.staffing.notes``) and the glossary and KPI
catalogue (``app.kpi``). A word both languages use ("status", "region", "push", "Erlang") belongs to neither
list; identifiers (``answer_rate``, ``SE-AC``,
``key.create``, file names) are never words here, so a code a person types is not mistaken for English.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from app.cli.messages import MESSAGES
from app.cli.wording import NOUNS, PARTICIPLES
from app.kpi.catalog import CATALOG
from app.kpi.glossary import CLI_TITLES, STATUS_WORDS, TERMS, UNITS, Lang
from app.kpi.reference import COLLABORATIONS, REGIONS
from app.staffing.notes import NOTES

_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_MARKUP = re.compile(r"\[/?[a-z ]*\]")
#: A token: letters with what joins an identifier or a path (so those stay whole and are not words).
_TOKEN = re.compile(r"[\w.\-/:@'*]+")


def words(text: str) -> set[str]:
    """The plain words of ``text``, lower-cased; placeholders, rich markup and identifiers left out."""
    text = _MARKUP.sub(" ", _PLACEHOLDER.sub(" ", text))
    return {token.lower() for token in _TOKEN.findall(text) if token.isalpha()}


def _texts(lang: Lang) -> Iterator[str]:
    yield from (term[lang] for term in MESSAGES.values())
    yield from (term[lang] for term in NOTES.values())  # the staffing advice's notes, which `vpt staffing` says
    yield from (term[lang] for term in CLI_TITLES.values())
    for group in (TERMS, UNITS):
        for words_ in group.values():
            yield from (words_.short[lang], words_.long[lang])
    for status in STATUS_WORDS.values():
        yield from (status.short[lang], status.long[lang])
    for spec in CATALOG:
        yield from (spec.name[lang], spec.short[lang], spec.in_text[lang])
    for noun in NOUNS.values():
        yield from noun.sv if lang == "sv" else noun.en
    for participle in PARTICIPLES.values():
        yield from participle.sv if lang == "sv" else (participle.en,)


def vocabulary(lang: Lang) -> set[str]:
    return set().union(*(words(text) for text in _texts(lang)))


#: Names in the reference data (Swedish proper nouns: "Norra sjukvårdsregionen" in an English table too).
NAMES = set().union(*(words(name) for _code, name, _people in REGIONS),
                    *(words(name) for _code, name, _members in COLLABORATIONS))
SHARED = vocabulary("sv") & vocabulary("en")
#: The words only the other language uses: what a run in ``lang`` must never say.
FOREIGN: dict[Lang, set[str]] = {
    "sv": vocabulary("en") - SHARED - NAMES,
    "en": vocabulary("sv") - SHARED - NAMES,
}


def foreign_words(text: str, lang: Lang) -> set[str]:
    """The words of the other language in ``text``, which a run in ``lang`` printed."""
    return words(text) & FOREIGN[lang]
