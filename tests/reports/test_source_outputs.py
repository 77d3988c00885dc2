"""SPEC §5 on the outputs for people: each scope's sources and how far each has delivered, in the CSV and XLSX
exports (a column after the completeness columns, times as the export writes its timestamps), the web view (the
scorecard's rows and a scope's page, a collaboration's members each with its own, Swedish time) and the board
report; a source name starting with ``-`` (the only formula trigger the source name pattern allows) is neutralised in
both exports. Both databases.

Västerbotten (SE-AC) has calls of two file sources in October 2025: ``platform-norra`` up to a call that arrived at
10:15 on the 3rd (08:15Z), ``sim-history`` up to one that arrived at 08:30 on the 20th (06:30Z); Norrbotten (SE-BD)
only of ``-history`` (12:00 on the 5th, 10:00Z). A file source has delivered up to its newest record's arrival.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.config import Settings
from app.reports.board import build_report
from app.reports.board_html import render_report
from app.reports.exports import scorecard_csv, scorecard_xlsx
from app.scorecard.document import ScorecardDocument
from app.scorecard.service import monthly_scorecard
from app.web.pages import web_now
from tests.helpers import LATER, ingest_text

OCTOBER = date(2025, 10, 1)
HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"
NOW = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)  # October closed


def _deliver(factory: sessionmaker[Session], settings: Settings, source: str, *rows: tuple[str, str, str]) -> None:
    """(call id, region, local arrival) -> calls answered a minute after they arrived, from ``source``."""
    content = HEADER + "".join(f"{key},{region},q,{arrived}+02:00,answered,{arrived[:14]}"
                               f"{int(arrived[14:16]) + 1:02d}:00+02:00,\n" for key, region, arrived in rows)
    report = ingest_text(factory, settings, "calls", content, source=source)
    assert report.rows_rejected == 0


@pytest.fixture
def loaded(session_factory: sessionmaker[Session], settings: Settings) -> sessionmaker[Session]:
    _deliver(session_factory, settings, "platform-norra", ("p1", "SE-AC", "2025-10-03T10:15"))
    _deliver(session_factory, settings, "sim-history", ("s1", "SE-AC", "2025-10-01T09:00"),
             ("s2", "SE-AC", "2025-10-20T08:30"))
    _deliver(session_factory, settings, "-history", ("h1", "SE-BD", "2025-10-05T12:00"))
    return session_factory


@pytest.fixture
def document(loaded: sessionmaker[Session], settings: Settings) -> ScorecardDocument:
    with loaded() as session:
        return monthly_scorecard(session, OCTOBER, settings.definitions, LATER)


def _csv(text: str, delimiter: str) -> dict[str, dict[str, str]]:
    return {row.get("Kod") or row["Code"]: row
            for row in csv.DictReader(io.StringIO(text[1:], newline=""), delimiter=delimiter)}


def test_the_csv_names_both_sources_and_how_far_each_delivered(document: ScorecardDocument) -> None:
    sv, en = _csv(scorecard_csv(document, "sv"), ";"), _csv(scorecard_csv(document, "en"), ",")
    assert sv["SE-AC"]["Källor"] == ("platform-norra (fil, levererat till 2025-10-03T08:15:00Z); "
                                     "sim-history (fil, levererat till 2025-10-20T06:30:00Z)")
    assert en["SE-AC"]["Sources"] == ("platform-norra (file, delivered until 2025-10-03T08:15:00Z); "
                                      "sim-history (file, delivered until 2025-10-20T06:30:00Z)")
    # the column follows the completeness columns, and a collaboration has its members' sources
    header = list(sv["SE-AC"])
    assert header.index("Källor") == header.index("Senaste post (UTC)") + 1
    assert sv["norra"]["Källor"].startswith("'-history (fil, levererat till 2025-10-05T10:00:00Z); platform-norra")


def test_a_source_name_starting_with_a_formula_trigger_is_neutralised(document: ScorecardDocument) -> None:
    """The pattern of source names (A–Z a–z 0–9 . _ -) allows a leading ``-``, never ``=``, ``+`` or ``@``."""
    assert _csv(scorecard_csv(document, "sv"), ";")["SE-BD"]["Källor"] == \
        "'-history (fil, levererat till 2025-10-05T10:00:00Z)"
    sheet = load_workbook(io.BytesIO(scorecard_xlsx(document, "en"))).worksheets[0]
    headers = [c.value for c in sheet[2]]
    cell = next(row[headers.index("Sources")] for row in sheet.iter_rows(min_row=3)
                if row[headers.index("Code")].value == "SE-BD")
    assert cell.value == "'-history (file, delivered until 2025-10-05 10:00 UTC)" and cell.data_type == "s"


def test_the_xlsx_names_both_sources_with_its_timestamp_format(document: ScorecardDocument) -> None:
    workbook = load_workbook(io.BytesIO(scorecard_xlsx(document)))
    sheet = workbook.worksheets[0]
    headers = [c.value for c in sheet[2]]
    row = next(r for r in sheet.iter_rows(min_row=3, values_only=True) if r[headers.index("Kod")] == "SE-AC")
    assert row[headers.index("Källor")] == ("platform-norra (fil, levererat till 2025-10-03 08:15 UTC); "
                                            "sim-history (fil, levererat till 2025-10-20 06:30 UTC)")
    definitions = [r for r in workbook.worksheets[1].iter_rows(values_only=True) if r[0] == "Källor"]
    assert definitions and definitions[0][1].startswith("källorna som månadens siffror bygger på")


@pytest.fixture
def client(loaded: sessionmaker[Session], settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"public_read": True}))
    app.dependency_overrides[web_now] = lambda: NOW
    with TestClient(app) as test_client:
        yield test_client


def test_the_web_scorecard_and_scope_page_show_both_sources_in_swedish_time(client: TestClient) -> None:
    page = client.get("/?month=2025-10")
    assert page.status_code == 200
    row = page.text.split('data-scope="SE-AC">', 1)[1].split("</tr>", 1)[0]
    assert ('<span class="sources">Källor: platform-norra (fil, levererat till 3 oktober 2025 kl. 10:15); '
            "sim-history (fil, levererat till 20 oktober 2025 kl. 08:30)</span>") in row
    scope = client.get("/regions/SE-AC?month=2025-10&lang=en")
    assert scope.status_code == 200
    assert ('<h2 id="sources">Sources</h2>\n<ul class="sources"><li>platform-norra (file, delivered until '
            "3 October 2025, 10:15)</li><li>sim-history (file, delivered until 20 October 2025, 08:30)</li></ul>"
            ) in scope.text


def test_the_board_report_names_the_sources(loaded: sessionmaker[Session], settings: Settings) -> None:
    with loaded() as session:
        html = render_report(build_report(session, OCTOBER, settings.definitions, NOW, "SE-AC"), "sv")
    assert ('<p class="meta sources">Källor: platform-norra (fil, levererat till 3 oktober 2025 kl. 10:15); '
            "sim-history (fil, levererat till 20 oktober 2025 kl. 08:30).</p>") in html


def test_a_collaboration_s_page_lists_each_member_with_its_own_sources(
    client: TestClient, loaded: sessionmaker[Session], settings: Settings
) -> None:
    """Norra's page: its Sources section has the union (three sources), each member region under Member regions
    only its own: Västerbotten two, Norrbotten one (``-history``), the members without data none."""
    page = client.get("/collaborations/norra?month=2025-10")
    assert page.status_code == 200
    members = page.text.split('<ul class="members">', 1)[1].split("</ul>", 1)[0]
    items = {item.split('href="/regions/', 1)[1].split("?", 1)[0]: item for item in members.split("<li>")[1:]}
    assert set(items) == {"SE-AC", "SE-BD", "SE-Y", "SE-Z"}
    assert items["SE-AC"].endswith('<br><span class="sources">Källor: platform-norra (fil, levererat till 3 oktober '
                                   "2025 kl. 10:15); sim-history (fil, levererat till 20 oktober 2025 kl. 08:30)"
                                   "</span></li>")
    assert items["SE-BD"].endswith('<br><span class="sources">Källor: -history (fil, levererat till 5 oktober 2025 '
                                   "kl. 12:00)</span></li>")
    assert "sources" not in items["SE-Y"] and "sources" not in items["SE-Z"]
    with loaded() as session:
        report = build_report(session, OCTOBER, settings.definitions, NOW, "norra")
    assert {m.scope: [s.name for s in m.sources] for m in report.pages[0].members} == {
        "SE-AC": ["platform-norra", "sim-history"], "SE-BD": ["-history"], "SE-Y": [], "SE-Z": []}
    assert [s.name for s in report.pages[0].completeness.sources] == ["-history", "platform-norra", "sim-history"]
