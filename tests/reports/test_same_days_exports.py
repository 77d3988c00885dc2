"""The exports of a month in progress say what their changes compare: the month so far against the same days of
the previous month (and of the same month a year before), in the CSV header, the XLSX header and its definitions
sheet; a closed month's changes keep "mot föregående månad". The wording is the glossary's (``TERMS``)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook

from app.kpi.glossary import TERMS
from app.reports.columns import COLUMNS, IN_PROGRESS_COLUMNS, columns_for, header
from app.reports.exports import scorecard_csv, scorecard_xlsx
from app.scorecard.document import ScorecardDocument
from app.scorecard.service import monthly_scorecard
from tests.helpers import ingest_text
from tests.reports.test_exports import CALLS, closed_document, in_progress_shape
from tests.scorecard.documents import document as typed

#: (language, the previous month's change header, the year's) for a month in progress
SAME_DAYS = {
    "sv": ("Förändring svarsfrekvens mot samma dagar föregående månad (procentenheter)",
           "Förändring medelväntetid mot samma dagar samma månad föregående år (s)"),
    "en": ("Answer rate change vs the same days of the previous month (percentage points)",
           "Mean wait change vs the same days of the same month last year (s)"),
}
WHOLE = {"sv": "Förändring svarsfrekvens mot föregående månad (procentenheter)",
         "en": "Answer rate change vs previous month (percentage points)"}
#: what a month-in-progress header must not say: a change against a whole month
WHOLE_MONTH = {"sv": ("mot föregående månad", "mot samma månad föregående år"),
               "en": ("vs previous month", "vs same month last year")}


def same_days_document() -> ScorecardDocument:
    """The exports' month in progress with its comparisons as the service makes them: against 1–20 September."""
    shape: dict[str, Any] = in_progress_shape()
    comparisons = shape["scopes"][0]["comparisons"]
    comparisons["previous_month"] |= {"span": "same_days", "until": "2025-09-20T09:00:00Z"}
    comparisons["previous_year"] |= {"span": "same_days", "until": "2024-10-20T09:00:00Z"}
    return typed(shape)


def csv_header(text: str, lang: str) -> list[str]:
    return next(csv.reader(io.StringIO(text[1:], newline=""), delimiter=";" if lang == "sv" else ","))


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_csv_of_a_month_in_progress_says_its_changes_are_against_the_same_days(lang: str) -> None:
    names = csv_header(scorecard_csv(same_days_document(), lang), lang)  # type: ignore[arg-type]
    assert SAME_DAYS[lang][0] in names and SAME_DAYS[lang][1] in names
    assert not [name for name in names if name.endswith(WHOLE_MONTH[lang]) or any(
        f"{words} (" in name for words in WHOLE_MONTH[lang])]
    assert TERMS["same_days_previous_month"].short[lang] in SAME_DAYS[lang][0]  # the glossary's words
    # the same columns in the same places, only labelled: the values under them are those of a closed month's
    assert len(names) == len(COLUMNS)
    assert names.index(SAME_DAYS[lang][0]) == [c.key for c in COLUMNS].index("answer_rate_delta_previous_month")
    text = scorecard_csv(same_days_document(), lang)  # type: ignore[arg-type]
    rows = list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=";" if lang == "sv" else ","))
    assert rows[1][names.index(SAME_DAYS[lang][0])] == ("-5,00" if lang == "sv" else "-5.00")


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_a_closed_month_keeps_the_change_against_the_previous_month(lang: str) -> None:
    names = csv_header(scorecard_csv(closed_document(), lang), lang)  # type: ignore[arg-type]
    assert WHOLE[lang] in names and SAME_DAYS[lang][0] not in names


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_xlsx_header_and_definitions_of_a_month_in_progress_say_the_same_days(lang: str) -> None:
    workbook = load_workbook(io.BytesIO(scorecard_xlsx(same_days_document(), lang)))  # type: ignore[arg-type]
    header_row = [cell.value for cell in workbook.worksheets[0][2]]
    assert SAME_DAYS[lang][0] in header_row and SAME_DAYS[lang][1] in header_row
    definitions = {row[0]: row[1] for row in workbook.worksheets[1].iter_rows(values_only=True) if row[0]}
    explained = definitions[SAME_DAYS[lang][0]]
    assert TERMS["same_days_previous_month"].long[lang] in explained
    assert not any(name.endswith(words) for name in definitions for words in WHOLE_MONTH[lang])
    assert not any(f"{words} (" in name for name in definitions for words in WHOLE_MONTH[lang])


def test_only_the_change_columns_are_relabelled() -> None:
    changed = [(a.key, b.key) for a, b in zip(COLUMNS, IN_PROGRESS_COLUMNS, strict=True) if a is not b]
    assert changed and all(a == b and "_delta_" in a for a, b in changed)
    assert len(changed) == 4
    document = same_days_document()
    assert columns_for(document) is IN_PROGRESS_COLUMNS and columns_for(closed_document()) is COLUMNS


def test_the_service_s_month_in_progress_exports_with_same_days_headers(session_factory, settings) -> None:
    """On the real store (SQLite and PostgreSQL): October in progress against the same days of September."""
    ingest_text(session_factory, settings, "calls", CALLS)
    now = datetime(2025, 10, 20, 10, 30, tzinfo=UTC)
    with session_factory() as session:
        document = monthly_scorecard(session, date(2025, 10, 1), settings.definitions, now)
        closed = monthly_scorecard(session, date(2025, 9, 1), settings.definitions, now)
    assert document.scopes and document.scopes[0].comparisons is not None
    assert document.scopes[0].comparisons.previous_month.span == "same_days"
    for lang in ("sv", "en"):
        names = csv_header(scorecard_csv(document, lang), lang)
        assert SAME_DAYS[lang][0] in names and WHOLE[lang] not in names
        assert header(IN_PROGRESS_COLUMNS[names.index(SAME_DAYS[lang][0])], lang, "csv") == SAME_DAYS[lang][0]
        assert WHOLE[lang] in csv_header(scorecard_csv(closed, lang), lang)
