"""A partial month and a member region without data, as the exports and the board report show them (issue 12,
item 10), from ``samples/`` on both databases: Västernorrland (SE-Y) has no data in October 2025, Norrbotten
stops on 2 October, Västerbotten starts at 08:00 on the 1st and Jämtland Härjedalen on the 26th."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.reports.board import build_report
from app.reports.board_html import render_report
from app.reports.exports import scorecard_csv, scorecard_xlsx
from app.scorecard.document import ScorecardDocument
from app.scorecard.service import monthly_scorecard
from tests.helpers import LATER, ingest

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
OCTOBER = date(2025, 10, 1)


@pytest.fixture
def document(session_factory: sessionmaker[Session], settings: Settings) -> ScorecardDocument:
    ingest(session_factory, settings, "calls", SAMPLES / "calls_october.csv")
    ingest(session_factory, settings, "intervals", SAMPLES / "intervals_october.csv")
    with session_factory() as session:
        return monthly_scorecard(session, OCTOBER, settings.definitions, LATER)


def csv_rows(text: str, delimiter: str) -> dict[str, dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(text[1:], newline=""), delimiter=delimiter))
    return {row.get("Kod") or row["Code"]: row for row in rows}


def test_the_csv_names_the_member_without_data_in_its_language(document: ScorecardDocument) -> None:
    sv = csv_rows(scorecard_csv(document, "sv"), ";")
    assert sv["norra"]["Ofullständig"] == "Ja"
    assert sv["norra"]["Datakvalitet"] == ("Medlemsregionen Västernorrland (SE-Y) saknar data för 2025-10: "
                                           "samverkans siffror omfattar inte den regionen")
    assert sv["SE-BD"]["Ofullständig"] == "Ja" and sv["SE-BD"]["Datakvalitet"] == ""
    en = csv_rows(scorecard_csv(document, "en"), ",")
    assert en["norra"]["Partial"] == "Yes"
    assert en["norra"]["Data quality"] == ("member region Västernorrland (SE-Y) has no data in 2025-10: the "
                                           "collaboration's figures leave it out")


def test_the_xlsx_names_the_member_without_data(document: ScorecardDocument) -> None:
    sheet = load_workbook(io.BytesIO(scorecard_xlsx(document))).worksheets[0]
    headers = [c.value for c in sheet[2]]
    norra = next(row for row in sheet.iter_rows(min_row=3, values_only=True) if row[headers.index("Kod")] == "norra")
    assert norra[headers.index("Ofullständig")] == "Ja"
    assert norra[headers.index("Datakvalitet")].startswith("Medlemsregionen Västernorrland (SE-Y) saknar data")


def test_the_report_names_missing_and_partial_members_and_a_late_start(
    session_factory: sessionmaker[Session], settings: Settings, document: ScorecardDocument
) -> None:
    with session_factory() as session:
        norra = render_report(build_report(session, OCTOBER, settings.definitions, LATER, "norra"), "sv")
        english = render_report(build_report(session, OCTOBER, settings.definitions, LATER, "norra"), "en")
        region = render_report(build_report(session, OCTOBER, settings.definitions, LATER, "SE-Z"), "sv")
    assert "Ingen data från Västernorrland i oktober 2025; samverkans siffror omfattar bara de övriga " \
           "medlemsregionerna." in norra
    assert "Ofullständigt underlag från Jämtland Härjedalen, Norrbotten och Västerbotten." in norra
    assert "No data from Västernorrland in October 2025" in english
    assert "Partial data from Jämtland Härjedalen, Norrbotten and Västerbotten." in english
    assert "Ofullständigt underlag:" in region and "Underlaget börjar först 26 oktober 2025 kl. 01:00." in region
