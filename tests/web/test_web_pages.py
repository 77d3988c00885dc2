"""The web view over HTTP (the app in process): figures, languages, bad input, offline docs.

Figures are those of ``tests/web/data.py`` (hand-checkable) and, for the month in progress, those of the
scorecard document itself, formatted as the page formats them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.config import Settings
from app.db.models import Collaboration, CollaborationMember
from app.db.session import transaction
from app.kpi.catalog import kpi_name
from app.kpi.glossary import Lang, status_mark, status_word
from app.kpi.numbers import percent
from app.reports.exports import scorecard_csv
from app.scorecard.service import monthly_scorecard
from app.web.pages import web_now
from app.web.texts import word
from app.web.views import column_label
from tests.web.data import NOW, load

NBSP = "\u00a0"


@pytest.fixture
def client(session_factory: sessionmaker[Session], settings: Settings) -> Iterator[TestClient]:
    """Public reads on (the login flow is tested in test_web_login.py), figures loaded, the clock at ``NOW``."""
    load(session_factory, settings)
    app = create_app(settings.model_copy(update={"public_read": True}))
    app.dependency_overrides[web_now] = lambda: NOW
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def empty_client(settings: Settings) -> Iterator[TestClient]:
    """Public reads on, reference data only: for pages that refuse their input before reading figures."""
    app = create_app(settings.model_copy(update={"public_read": True}))
    app.dependency_overrides[web_now] = lambda: NOW
    with TestClient(app) as test_client:
        yield test_client


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(NBSP, " ")


def row_text(html: str, scope: str) -> str:
    match = re.search(rf'<tr class="[a-z]+" data-scope="{re.escape(scope)}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {scope}"
    return text_of(match.group(1))


def test_the_closed_months_scorecard_in_swedish_with_marks_and_links(client: TestClient) -> None:
    page = client.get("/?month=2025-09")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="sv">' in page.text
    missed, met = status_word("missed", "sv"), status_word("met", "sv")
    # SE-AC: 5 760 of 7 200 answered, 2:00 mean wait; SE-BD: 6 480 answered, 11:40; norra: 85,0 % exactly.
    # the month's source and how far it has delivered (SPEC §5): the source's own clock, past the month shown
    assert row_text(page.text, "SE-AC").split() == (
        "Västerbotten SE-AC Källor: files (fil, levererat till 14 oktober 2025 kl. 23:00) "
        f"region 7 200 5 760 80,0 % {status_mark('missed')} {missed} Mål ≥ 85 % "
        f"2:00 {status_mark('met')} {met} Mål ≤ 10 min 80,0 %").split()  # service level: 8 of 10 within 10 min
    assert f"11:40 {status_mark('missed')} {missed}" in row_text(page.text, "SE-BD")
    assert f"85,0 % {status_mark('met')} {met}" in row_text(page.text, "norra")
    assert 'class="num status-missed"' in page.text  # the colour, besides the word and the mark
    for link in ('href="/report/2025-09"', 'href="/exports/2025-09.csv"', 'href="/exports/2025-09.xlsx"',
                 'href="/collaborations/norra?month=2025-09"', 'href="/regions/SE-AC?month=2025-09"',
                 'href="/api/v1/scorecards/2025-09"'):  # public reads: the API's URLs work in a browser too
        assert link in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert "<script" not in page.text and "://" not in page.text  # no JavaScript, nothing from another host


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # storage is covered by the two above
def test_english_with_lang_en(client: TestClient) -> None:
    page = client.get("/?month=2025-09&lang=en")
    assert page.status_code == 200 and '<html lang="en">' in page.text
    assert "80.0% ✗ missed" in row_text(page.text, "SE-AC").replace(f"{status_mark('missed')} ", "✗ ")
    assert kpi_name("answer_rate", "en") in page.text and kpi_name("answer_rate", "sv") not in page.text
    assert 'href="/report/2025-09?lang=en"' in page.text and 'href="/?month=2025-09"' in page.text  # back to sv


def test_the_month_in_progress_shows_forecast_and_needed_answer_rate(
    client: TestClient, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    page = client.get("/")  # the clock's month: October 2025, 14 days in
    assert page.status_code == 200 and word("in_progress", "sv", month="oktober 2025") in page.text
    with session_factory() as session:
        document = monthly_scorecard(session, date(2025, 10, 1), settings.definitions, NOW)
    scope = document.scope("region", "SE-AC")
    assert scope is not None and scope.forecast is not None
    target = scope.target("answer_rate")
    assert target is not None and target.needed is not None
    rest = scope.forecast.expected_remaining_offered
    # By hand: 3 360 offered and 2 688 answered so far, 10 an hour for the 409 hours left (25 on 26 October).
    # (The document rounds to 6 decimals.)
    assert rest == 4090 and abs(target.needed - (0.85 * (3360 + 4090) - 2688) / 4090) < 1e-6
    row = row_text(page.text, "SE-AC")
    assert "4 090" in row and "89,1 %" in row and percent(target.needed, "sv").replace(NBSP, " ") in row
    assert f"{status_mark('at_risk')} {status_word('at_risk', 'sv')}" in row
    region = text_of(client.get("/regions/SE-AC").text)
    assert word("forecast_text", "sv", rest="4 090", total="7 450", weeks=4) in region
    assert f"{column_label('answer_rate_needed', 'sv')}: 89,1 %" in region


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # storage is covered by the two above
def test_a_region_page_has_its_13_month_charts_series_and_days(client: TestClient) -> None:
    page = client.get("/regions/SE-AC?month=2025-09")
    assert page.status_code == 200
    assert page.text.count('<svg') == 2 and page.text.count('class="slot') == 26
    assert len(re.findall(r'<tr data-month="\d{4}-\d{2}">', page.text)) == 13
    assert len(re.findall(r'<tr data-day="2025-09-\d\d">', page.text)) == 30
    assert 'href="/regions/SE-AC/days/2025-09-01"' in page.text
    assert 'href="/report/2025-09?scope=SE-AC"' in page.text
    hours = client.get("/regions/SE-AC/days/2025-09-01")
    assert hours.status_code == 200 and len(re.findall(r"<tr data-hour=", hours.text)) == 24
    assert "80,0 %" in text_of(hours.text)
    collaboration = client.get("/collaborations/norra?month=2025-09&lang=en")
    assert collaboration.status_code == 200 and 'href="/regions/SE-Z?month=2025-09&amp;lang=en"' in collaboration.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # storage is covered by the two above
def test_report_and_exports_are_the_apis_documents(
    client: TestClient, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    report = client.get("/report/2025-09?scope=norra")
    assert report.status_code == 200 and "<svg" in report.text and "Norra sjukvårdsregionen" in report.text
    csv = client.get("/exports/2025-09.csv")
    with session_factory() as session:
        document = monthly_scorecard(session, date(2025, 9, 1), settings.definitions, NOW)
    assert csv.status_code == 200 and csv.content == scorecard_csv(document, "sv").encode()
    assert csv.headers["content-disposition"] == 'attachment; filename="styrkort-2025-09.csv"'
    xlsx = client.get("/exports/2025-09.xlsx?lang=en")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert xlsx.headers["content-disposition"] == 'attachment; filename="scorecard-2025-09.xlsx"'


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("path", "status", "key"), [
    ("/regions/SE-XX", 404, "unknown_scope"),
    ("/collaborations/nowhere?lang=en", 404, "unknown_scope"),
    ("/regions/" + "A" * 40, 404, "unknown_scope"),
    ("/regions/SE-AC%1B%5B31m", 404, "unknown_scope"),
    ("/?month=2025-13", 400, "bad_month"),
    ("/?month=abc", 400, "bad_month"),
    ("/regions/SE-AC?month=0000-01", 400, "bad_month"),
    ("/?lang=fr", 400, "bad_lang"),
    ("/regions/SE-AC/days/2025-02-30", 400, "bad_date"),
    ("/report/2025-1", 400, "bad_month"),
    ("/report/2025-10?scope=SE-XX", 404, "unknown_scope"),
    ("/exports/2025-10.pdf", 404, "not_found"),
    ("/exports/nonsense.csv", 400, "bad_month"),
])
def test_bad_input_is_a_page_saying_what_is_wrong(empty_client: TestClient, path: str, status: int, key: str) -> None:
    page = empty_client.get(path)
    assert page.status_code == status and page.headers["content-type"].startswith("text/html")
    lang: Lang = "en" if "lang=en" in path else "sv"
    expected = word(key, lang, code="\x00")
    assert expected.split("\x00")[0] in page.text
    assert "\x1b" not in page.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # storage is covered by the two above
def test_text_from_data_is_sanitised_and_escaped(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        session.add(Collaboration(code="evil", name='<script>alert(1)</script>\x1b[31m"'))
        session.add(CollaborationMember(collaboration_code="evil", region_code="SE-AC"))
    page = client.get("/?month=2025-09")
    assert page.status_code == 200
    assert "<script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[31m&#34;" in page.text
    assert client.get("/collaborations/evil?month=2025-09").status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # storage is covered by the two above
def test_docs_and_redoc_load_nothing_from_another_host(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text) + re.findall(r"(?:url|href): '([^']+)'", page.text)
        assert assets and not [a for a in assets if "//" in a], f"{path} references another host: {assets}"
        assert "cdn.jsdelivr.net" not in page.text and "fonts.googleapis" not in page.text
        for asset in assets:
            if asset.startswith("/static/"):
                assert client.get(asset).status_code == 200, asset
    assert '"validatorUrl": null' in client.get("/docs").text  # the badge would call validator.swagger.io
    assert client.get("/openapi.json").status_code == 200
    assert not [p for p in client.get("/openapi.json").json()["paths"] if not p.startswith("/api/")
                and p not in ("/healthz", "/readyz", "/metrics")]  # the pages are not API operations
