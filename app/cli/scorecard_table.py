"""The scorecard as a terminal table (``vpt scorecard``), readable down to 120 columns.

Under the table and its legend, the sources each scope's month is built on and how far each has delivered
(SPEC §5), as a footnote block rather than a column, which would not fit: the scopes that share the same sources
on one line by code, each source indented below it, so a month fed by one source for every scope takes two lines
and the block stays under 100 columns.

Counts have thousands separators (``2 618`` in Swedish, ``2,618`` in English); a change against the earlier month
sits under its value (not in a column of its own), so the table keeps a column per figure. No header is ever cut:
when the full words do not fit the terminal, the long Swedish words are hyphenated where Swedish breaks them
(``Svars-/frekvens``), never truncated with "…".
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from app.kpi.catalog import CATALOG
from app.kpi.glossary import LANGS, TERMS, UNITS, Lang, capitalised, status_mark, status_word
from app.kpi.numbers import number
from app.reports.board_text import ratio_digits, wait
from app.reports.comparison_words import compared_with
from app.reports.source_words import source_text, sources_label
from app.reports.terminal import (
    STATUS_MARK,
    STATUS_STYLE,
    format_points,
    format_ratio,
    format_seconds,
    local_minute,
)
from app.sanitize import for_terminal
from app.scorecard.document import ScopeEntry, ScorecardDocument, SourceDelivery

#: The legend's statuses, grouped by their mark (a terminal without colour still tells them apart).
_LEGEND_GROUPS = (("met", "on_track"), ("missed", "unreachable"), ("at_risk",), ("no_data",))


def _legend(lang: Lang) -> str:
    """"✓ uppfyllt / i fas  ✗ ej uppfyllt / kan inte nås  ! i fara  – ingen data": the glossary's words."""
    return "  ".join(f"{status_mark(group[0])} " + " / ".join(status_word(s, lang) for s in group)
                     for group in _LEGEND_GROUPS)


TABLE_TEXT = {
    "sv": {"title": "Styrkort 1177 VPT", "in_progress": "pågår", "points": UNITS["points"].short["sv"],
           "partial": "ofullständig", "legend": _legend("sv") + "   Under värdet: förändring mot {previous}",
           "previous": "föregående månad", "empty": "ingen data för månaden"},
    "en": {"title": "Scorecard 1177 VPT", "in_progress": "in progress", "points": UNITS["points"].short["en"],
           "partial": "partial", "legend": _legend("en") + "   Under the value: change against {previous}",
           "previous": "the previous month", "empty": "no data for this month"},
}
_OTHER_HEADERS: dict[Lang, dict[str, str]] = {
    lang: {"name": capitalised(TERMS["scope"].short[lang]), "delta": "Δ mån" if lang == "sv" else "Δ month",
           "hours": "Timmar med data" if lang == "sv" else "Hours with data",
           "remaining": capitalised(TERMS["expected_calls"].short[lang]),
           "needed": capitalised(TERMS["needed_answer_rate"].short[lang])}
    for lang in LANGS
}
#: The KPIs' short labels (the export's are too wide for a terminal) and the table's other headings.
TABLE_HEADERS = {
    lang: {spec.key: spec.short[lang] for spec in CATALOG} | other for lang, other in _OTHER_HEADERS.items()
}
#: Where a long word of a header breaks when the terminal is narrow (Swedish hyphenation, by syllable).
HYPHENATION = {
    "svarsfrekvens": "svars-frekvens", "medelväntetid": "medel-väntetid", "servicenivå": "service-nivå",
    "inkommande": "inkom-mande", "förväntade": "förvän-tade", "besvarade": "besva-rade",
}


def _words(header: str, hyphenate: bool) -> list[str]:
    """A header's words; with ``hyphenate`` each known long word as its parts (``Svars-``, ``frekvens``)."""
    words: list[str] = []
    for word in header.split(" "):
        broken = HYPHENATION.get(word.lower()) if hyphenate else None
        if broken is None:
            words.append(word)
        else:
            head = len(broken.split("-", 1)[0])
            words += [f"{word[:head]}-", word[head:]]
    return words


def _wrapped(words: list[str], width: int) -> str:
    """The words on lines of at most ``width`` cells (a hyphenated part ends its line with its hyphen)."""
    lines: list[str] = []
    for word in words:
        if lines and not lines[-1].endswith("-") and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        elif lines and lines[-1].endswith("-") and len(lines[-1]) + len(word) <= width:
            lines[-1] += word
        else:
            lines.append(word)
    return "\n".join(lines)


def _cell_width(cell: str) -> int:
    return max((Text.from_markup(line).cell_len for line in cell.split("\n")), default=0)


def scorecard_table(document: ScorecardDocument, lang: Lang, width: int) -> RenderableType:
    """The table and its legend for a terminal ``width`` columns wide: headers on whole words where they fit,
    hyphenated where not."""
    keys, rows = _rows(document, lang)
    table = _table(document, lang, keys, rows, width, hyphenate=False)
    if table is None:
        table = _table(document, lang, keys, rows, width, hyphenate=True)
    text = TABLE_TEXT[lang]
    previous = next((words for s in document.scopes if s.comparisons is not None
                     for words in [compared_with(s.comparisons.previous_month, lang)] if words), text["previous"])
    legend = Text(f"{text['legend'].format(previous=previous)}   * {text['partial']}", style="dim")
    table = table or _table(document, lang, keys, rows, None, hyphenate=True)
    assert table is not None  # width None: always a table
    parts: list[RenderableType] = [table, legend]
    if not document.scopes:
        parts.append(Text(text["empty"]))
    sources = _sources_block(document, lang)
    if sources is not None:
        parts.append(sources)
    return Group(*parts)


def _sources_block(document: ScorecardDocument, lang: Lang) -> Text | None:
    """"Källor:", then per group of scopes with the same sources (in the table's order) their codes and, indented,
    each source with how far it has delivered; None when no scope names a source. Codes and names come from
    input: ``for_terminal`` before they reach the markup."""
    groups: dict[tuple[SourceDelivery, ...], list[str]] = {}
    for scope in document.scopes:
        if scope.completeness.sources:
            groups.setdefault(scope.completeness.sources, []).append(scope.scope)
    if not groups:
        return None
    lines = [f"{sources_label(lang)}:"]
    for sources, codes in groups.items():
        lines.append("  " + ", ".join(for_terminal(code) for code in codes))
        lines += ["    " + for_terminal(source_text(source, lang, local_minute)) for source in sources]
    return Text.from_markup("\n".join(lines))


def _table(document: ScorecardDocument, lang: Lang, keys: list[str], rows: list[list[str]], width: int | None, *,
           hyphenate: bool) -> Table | None:
    """The table if it fits ``width`` with no word of a header or a name cut, else None (``width`` None: the table
    for a terminal too narrow for that, where rich wraps and cuts rather than drop a column).
    Figure columns are as wide as their widest cell or header word and never wrap; the names wrap."""
    label = TABLE_HEADERS[lang]
    text = TABLE_TEXT[lang]
    headers = [_words(label[key], hyphenate) for key in keys]
    widths = [max([len(w) for w in words] + [_cell_width(row[i]) for row in rows])
              for i, words in enumerate(headers)]
    names = max([len(w) for w in headers[0]] + [len(w) for row in rows for w in Text.from_markup(row[0]).plain.split()])
    needed = names + sum(widths[1:]) + 2 * (len(keys) - 1)  # a pad and a separator after every column but the last
    if width is not None and needed > width:
        return None
    title = f"{text['title']} {document.month}" + ("" if document.closed else f" ({text['in_progress']})")
    table = Table(title=title, padding=(0, 1, 0, 0), pad_edge=False, show_edge=False)
    table.add_column(_wrapped(headers[0], names), justify="left", min_width=names)
    for words, column_width in zip(headers[1:], widths[1:], strict=True):  # narrower than it fits: rich squeezes
        table.add_column(_wrapped(words, column_width), justify="right", no_wrap=width is not None)
    for row in rows:
        table.add_row(*row)
    return table


def _rows(document: ScorecardDocument, lang: Lang) -> tuple[list[str], list[list[str]]]:
    """The column keys and every row's cells (rich markup), counts with thousands separators."""
    text = TABLE_TEXT[lang]
    decimal = "," if lang == "sv" else "."
    scopes = document.scopes

    def delta(scope: ScopeEntry, kpi: str) -> float | None:
        value = scope.delta(kpi)
        return None if value is None else float(value)

    def needed(scope: ScopeEntry, kpi: str) -> float | None:
        target = scope.target(kpi)
        return None if target is None else target.needed

    show_forecast = any(s.forecast for s in scopes)
    show_needed = any(needed(s, "answer_rate") is not None for s in scopes)
    keys = ["name", "offered", "answered", "answer_rate", "mean_wait", "service_level", "abandoned", "rejected",
            "hours", *(["remaining"] if show_forecast else []), *(["needed"] if show_needed else [])]
    rows: list[list[str]] = []
    for scope in scopes:
        kpis = scope.kpis

        def styled(value: str, kpi: str, scope: ScopeEntry = scope, mark: bool = True) -> str:
            target = scope.target(kpi)
            state = "" if target is None else target.status.value
            style = STATUS_STYLE.get(state, "")
            suffix = f" {STATUS_MARK.get(state, '')}" if mark else ""
            return f"[{style}]{value}{suffix}[/{style}]" if style else value

        def judged(kpi: str, scope: ScopeEntry = scope) -> tuple[str | None, float | None]:
            """The target a value is shown against: more digits where rounding would cross it (600.4 s)."""
            target = scope.target(kpi)
            return (None, None) if target is None else (target.comparator, target.value)

        def under(value: str, change: str | None) -> str:
            return value if change is None else f"{value}\n[dim]{change}[/dim]"

        completeness = scope.completeness
        answer_rate, mean_wait = kpis.answer_rate, kpis.mean_wait
        rate_change, wait_change = delta(scope, "answer_rate"), delta(scope, "mean_wait")
        cells = [
            for_terminal(f"{scope.name} ({scope.scope})"), number(kpis.offered, lang), number(kpis.answered, lang),
            under(styled(format_ratio(answer_rate, decimal, ratio_digits(
                None if answer_rate is None else float(answer_rate), *judged("answer_rate"))), "answer_rate"),
                None if rate_change is None else format_points(rate_change, text["points"], decimal)),
            under(styled(wait(None if mean_wait is None else float(mean_wait), lang, *judged("mean_wait")),
                         "mean_wait"), None if wait_change is None else format_seconds(wait_change, signed=True)),
            format_ratio(kpis.service_level, decimal), number(kpis.abandoned, lang), number(kpis.rejected, lang),
            f"{number(completeness.hours_with_data, lang)}/{number(completeness.hours_in_month, lang)}"
            + ("*" if completeness.partial else ""),
        ]
        if show_forecast:
            remaining = None if scope.forecast is None else scope.forecast.expected_remaining_offered
            cells.append(number(remaining, lang))
        if show_needed:
            cells.append(styled(format_ratio(needed(scope, "answer_rate"), decimal), "answer_rate", mark=False))
        rows.append(cells)
    return keys, rows
