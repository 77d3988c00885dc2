"""The web view's changes against the previous month say what they compare: while the month is in progress, the
month so far against the same days of the previous month ("samma dagar i september 2025 (1–15)"), as the board
report and the exports say it; a closed month against the whole previous month. Swedish and English, on the
scorecard and on a region's or collaboration's page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.config import Settings
from app.kpi.glossary import SAME_DAYS
from app.web.pages import web_now
from app.web.texts import word
from tests.web.data import NOW, load
from tests.web.test_web_pages import row_text, text_of

#: the month in progress at ``NOW`` (15 October, 00:00 local) is compared with 1–15 September up to 01:00
IN_PROGRESS = {"sv": "samma dagar i september 2025 (1–15)", "en": "the same days of September 2025 (1–15)"}
#: with the clock in November, October is closed and compared with the whole of September
CLOSED = {"sv": "september 2025", "en": "September 2025"}
NO_CHANGE = {"sv": "±0,0 p.e.", "en": "±0.0 pp"}  # every hour of the test data is alike


def app_at(settings: Settings, now: datetime) -> TestClient:
    app = create_app(settings.model_copy(update={"public_read": True}))
    app.dependency_overrides[web_now] = lambda: now
    return TestClient(app)


@pytest.fixture
def loaded(session_factory: sessionmaker[Session], settings: Settings) -> Settings:
    load(session_factory, settings)
    return settings


@pytest.fixture
def client(loaded: Settings) -> Iterator[TestClient]:
    with app_at(loaded, NOW) as test_client:
        yield test_client


def changes_sentence(html: str) -> str:
    found = re.findall(r'<p class="legend[^"]*">(.*?)</p>', html, re.S)
    return " ".join(text_of(text) for text in found)


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_month_in_progress_says_its_changes_are_against_the_same_days(client: TestClient, lang: str) -> None:
    page = client.get("/" + ("?lang=en" if lang == "en" else ""))
    assert page.status_code == 200
    expected = text_of(word("changes", lang, previous=IN_PROGRESS[lang]))  # type: ignore[arg-type]
    assert expected in changes_sentence(page.text)
    assert SAME_DAYS[lang] in IN_PROGRESS[lang]  # the glossary's words
    # each headline value carries its change, under it
    assert row_text(page.text, "SE-AC").count(NO_CHANGE[lang]) == 1
    assert row_text(page.text, "norra").count(NO_CHANGE[lang]) == 1
    assert page.text.count('<span class="delta">') == 3 * 2  # norra, SE-AC, SE-BD × answer rate, mean wait


@pytest.mark.parametrize(("path", "lang"), [("/regions/SE-AC", "sv"), ("/collaborations/norra?lang=en", "en")])
def test_a_scope_page_in_progress_says_its_changes_are_against_the_same_days(
    client: TestClient, path: str, lang: str
) -> None:
    page = client.get(path)
    assert page.status_code == 200
    expected = text_of(word("changes", lang, previous=IN_PROGRESS[lang]))  # type: ignore[arg-type]
    assert expected in changes_sentence(page.text)
    summary = re.search(r'<table class="summary">(.*?)</table>', page.text, re.S)
    assert summary and text_of(summary.group(1)).count(NO_CHANGE[lang]) == 1


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_a_closed_month_compares_with_the_whole_previous_month(loaded: Settings, lang: str) -> None:
    suffix = "&lang=en" if lang == "en" else ""
    with app_at(loaded, datetime(2025, 11, 20, 12, 0, tzinfo=UTC)) as client:
        for path in ("/?month=2025-10", "/regions/SE-BD?month=2025-10"):
            page = client.get(path + suffix)
            assert page.status_code == 200
            sentence = changes_sentence(page.text)
            assert text_of(word("changes", lang, previous=CLOSED[lang])) in sentence, path  # type: ignore[arg-type]
            assert SAME_DAYS[lang] not in sentence, path


def test_a_month_without_a_previous_one_names_no_changes(client: TestClient) -> None:
    page = client.get("/?month=2025-09")  # August has no data: nothing to compare with
    assert page.status_code == 200
    assert '<span class="delta">' not in page.text
    assert text_of(word("changes", "sv", previous="x")).split(":")[0] not in changes_sentence(page.text)
