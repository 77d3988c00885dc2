"""The web view in a real browser: headless Chromium against a real uvicorn server on 127.0.0.1, reads closed.

The browser is sent to the login form, signs in with a read key through the form (the key never in a URL; the
session cookie HttpOnly and SameSite=Strict as the browser itself stores it), then shows the scorecard and a
region page. Each of the three pages is screenshotted (PNG, decoded here: not blank), its rendered text must
hold the expected figures, and axe-core (WCAG 2.1 A/AA and best practice) must find no serious or critical
violation.

Screenshots go to ``$VPT_TEST_ARTEFACTS/web`` (default: ``vpt-test-artefacts/web`` in the system's temporary
folder), never into the repository. In CI (``CI=true``) a missing Chromium or npm fails; elsewhere it skips.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.config import Settings
from app.kpi.catalog import kpi_name
from app.kpi.glossary import status_word
from app.reports.columns import COLUMNS
from app.web.pages import web_now
from app.web.texts import word
from tests.auth import make_key
from tests.chromium import artefacts, decode_png, find_chromium, pixels
from tests.servers import running_server
from tests.web.browser import Browser, axe_source
from tests.web.data import NOW, load

SERIOUS = {"serious", "critical"}


def plain(text: str) -> str:
    """Rendered text with non-breaking spaces as spaces (the figures are written with them)."""
    return text.replace("\u00a0", " ")


def assert_not_blank(png: bytes, name: str) -> None:
    width, height, channels, rows = decode_png(png)
    assert (width, height) == (1280, 900), f"{name}: {width}×{height}"
    inked = sum(1 for r, g, b in pixels(rows, channels) if min(r, g, b) < 200)
    share = inked / (width * height)
    print(f"{name}: {share:.1%} of the screenshot is ink")
    assert 0.005 < share < 0.6, f"{name}: ink share {share:.1%}: blank or a solid block"


def assert_accessible(browser: Browser, axe: str, name: str) -> None:
    violations = browser.axe_violations(axe)
    serious = [v for v in violations if v["impact"] in SERIOUS]
    print(f"{name}: axe violations {[(v['id'], v['impact']) for v in violations]}")
    assert not serious, f"{name}: serious accessibility violations: {json.dumps(serious, indent=1)}"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    chromium = Browser(find_chromium(), tmp_path / "profile")
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the browser does not care which database
def test_login_scorecard_and_region_page_in_chromium(
    session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    binary = find_chromium()
    axe = axe_source()
    load(session_factory, settings)
    key = make_key(session_factory, "read", name="styrelsen")
    app = create_app(settings)
    app.dependency_overrides[web_now] = lambda: NOW
    out = artefacts("web")
    with running_server(app) as base:
        browser = Browser(binary, tmp_path / "profile")
        try:
            browser.open(base + "/")
            assert browser.evaluate("location.pathname") == "/login"  # reads are closed: the login form
            text = browser.text()
            assert word("login_title", "sv") in text and word("api_key", "sv") in text
            assert_not_blank(browser.screenshot(out / "login.png"), "login")
            assert_accessible(browser, axe, "login")

            browser.submit_and_wait(f"document.getElementById('api_key').value = {json.dumps(key)}; "
                                    "document.querySelector('form.login').submit();")
            assert browser.evaluate("location.pathname") == "/"
            assert key not in browser.evaluate("location.href")
            session = next(c for c in browser.cookies() if c["name"] == "vpt_session")
            assert session["httpOnly"] and session["sameSite"] == "Strict" and key not in session["value"]

            text = plain(browser.text())
            columns = {c.key: c.label("sv") for c in COLUMNS}
            for expected in ("Norra sjukvårdsregionen", "Västerbotten", "Norrbotten", "6 720", "85,0 %",
                             "80,0 %", "90,0 %", "11:40", "4 090", "89,1 %", columns["forecast_remaining_offered"],
                             columns["answer_rate_needed"], status_word("at_risk", "sv"),
                             status_word("on_track", "sv"), word("signed_in_as", "sv", name="styrelsen")):
                assert expected in text, f"{expected!r} not on the scorecard page"
            assert_not_blank(browser.screenshot(out / "scorecard.png"), "scorecard")
            assert_accessible(browser, axe, "scorecard")

            browser.open(base + "/regions/SE-AC?month=2025-09")
            text = plain(browser.text())
            for expected in ("Västerbotten", "SE-AC", "80,0 %", "2:00", "7 200", "5 760",
                             kpi_name("answer_rate", "sv"), status_word("missed", "sv"), status_word("met", "sv")):
                assert expected in text, f"{expected!r} not on the region page"
            assert browser.evaluate("document.querySelectorAll('figure.chart svg').length") == 2
            assert browser.evaluate("document.querySelectorAll('figure.chart svg .slot').length") == 26
            assert_not_blank(browser.screenshot(out / "region-SE-AC.png"), "region")
            assert_accessible(browser, axe, "region")
        finally:
            browser.close()
    print(f"screenshots in {out}")
