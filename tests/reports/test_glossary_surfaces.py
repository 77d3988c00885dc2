"""Every surface for people says a status and a KPI the way the glossary and the catalogue say it (issue 13).

Before, the export said "missat" and "på väg", the board report "ej uppfyllt" and "på väg att nås", the terminal
"missat / ouppnåeligt", each from its own table. No database: these are the renderers' own words.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.alerts.engine import AlertKey
from app.alerts.messages import render
from app.cli.data import TABLE_HEADERS, TABLE_TEXT
from app.kpi.catalog import CATALOG, KPIS
from app.kpi.glossary import LANGS, STATUS_WORDS, STATUSES, Lang, status_word
from app.reports.board_text import label, marks_legend
from app.reports.exports import COLUMNS, status_label
from app.reports.terminal import STATUS_MARK


@pytest.mark.parametrize("lang", LANGS)
def test_the_export_board_report_and_terminal_use_the_glossary_words(lang: Lang) -> None:
    for status in STATUSES:
        word = STATUS_WORDS[status].short[lang]
        assert status_label(status, lang) == word
        assert f"{STATUS_WORDS[status].mark}\u00a0{word}" in marks_legend(lang, STATUSES)
        assert word in TABLE_TEXT[lang]["legend"]
        assert STATUS_MARK[status] == STATUS_WORDS[status].mark


def test_one_swedish_wording_per_status() -> None:
    legend = TABLE_TEXT["sv"]["legend"]
    assert legend.startswith("✓ uppfyllt / i fas  ✗ ej uppfyllt / kan inte nås  ! i fara  – ingen data")
    for old in ("missat", "på väg", "ouppnåeligt", "risk "):
        assert old not in legend and old not in marks_legend("sv", STATUSES)
    assert [status_label(s, "sv") for s in STATUSES] == [
        "uppfyllt", "ej uppfyllt", "ingen data", "i fas", "i fara", "kan inte nås"]


@pytest.mark.parametrize("lang", LANGS)
def test_every_kpi_is_exported_under_its_catalogue_name(lang: Lang) -> None:
    columns = {column.key: column for column in COLUMNS}
    for spec in CATALOG:  # a KPI added to the catalogue becomes a column without a change in the export
        assert columns[spec.key].label(lang) == spec.name[lang]
        assert columns[spec.key].kind == spec.unit
        assert columns[spec.key].explanation(lang) == spec.definition[lang]
        assert label(spec.key, lang) == spec.name[lang]  # the board report's headings
        assert TABLE_HEADERS[lang][spec.key] == spec.short[lang]  # the terminal's
    for spec in (s for s in CATALOG if s.headline):
        assert columns[f"{spec.key}_status"].kind == "status"
        assert columns[f"{spec.key}_target"].label(lang) in (f"Mål {spec.name.sv.lower()}", f"{spec.name.en} target")


def test_an_alert_says_the_verdict_and_the_recovery_in_the_glossary_words() -> None:
    key = AlertKey("target_at_risk", "SE-AC", "answer_rate", "2025-10")
    details = {"scope_name": "Region Västerbotten", "value": 0.8123, "target": 0.85, "comparator": ">=",
               "month": "2025-10"}
    at = datetime(2025, 11, 1, 8, tzinfo=UTC)

    def resolved(lang: Lang, **extra: object) -> tuple[str, str]:
        message = render(key, "resolved", {**details, **extra}, lang=lang, starts_at=at, ends_at=at, channel="ops",
                         link="")
        return message.title, message.text

    assert resolved("sv", closed=True, status="missed")[1].endswith(", målet nåddes inte.")
    assert resolved("en", closed=True, status="met")[1].endswith(", the target was reached.")
    assert resolved("sv")[0] == f"Svarsfrekvensen i Region Västerbotten är åter {status_word('on_track', 'sv')} för " \
                                "oktober 2025"
    assert resolved("en")[0] == "Answer rate in Region Västerbotten is back on track for October 2025"
    assert KPIS["answer_rate"].in_text.sv in resolved("sv", closed=True, status="met")[1]
