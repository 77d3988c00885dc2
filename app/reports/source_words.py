"""A scope's sources as people read them (SPEC §5): "platform-norra (http, levererat till …); sim-history (fil, …)",
one wording for the exports, the web view and the board report, each giving its own way of writing a time.

The words are the glossary's (``TERMS["sources"]``, ``TERMS["delivered_until"]``, ``SOURCE_KINDS``); the names
come from input, sanitised where they are read (``app.scorecard.month_sources``). A caller escapes the text for its
output (a spreadsheet's formula triggers, HTML).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from app.kpi.glossary import SOURCE_KINDS, Lang, capitalised, term
from app.reports.board_text import moment
from app.scorecard.document import SourceDelivery

#: how an output writes a delivered-until instant (an ISO 8601 UTC string, ``…Z``)
When = Callable[[str], str]


def source_text(source: SourceDelivery, lang: Lang, when: When) -> str:
    """One source: its name, its kind in ``lang`` and how far it has delivered."""
    kind = SOURCE_KINDS.get(source.kind)
    until = (term("not_delivered", lang) if source.delivered_until is None
             else f"{term('delivered_until', lang)} {when(source.delivered_until)}")
    return f"{source.name} ({source.kind if kind is None else kind[lang]}, {until})"


def sources_text(sources: Iterable[SourceDelivery], lang: Lang, when: When) -> str:
    """Every source of a scope on one line, by name as the document lists them; "" without any."""
    return "; ".join(source_text(source, lang, when) for source in sources)


def sources_label(lang: Lang) -> str:
    """The heading a list of sources stands under ("Källor")."""
    return capitalised(term("sources", lang))


def in_swedish_time(lang: Lang) -> When:
    """How pages for people (the web view, the board report) write a delivered-until instant: in Swedish time, as
    their other times."""
    return lambda at: moment(datetime.fromisoformat(at), lang)
