"""SPEC §5 on the outputs for people: each scope's sources and how far each has delivered, in the CSV and XLSX
exports (a column after the completeness columns, times as the export writes its timestamps), the web view (the
scorecard's rows and a scope's page, Swedish time) and the board report; a source name starting with ``-`` (the
only formula trigger the source name pattern allows) is neutralised in both exports. Both databases.

Västerbotten (SE-AC) has calls of two file sources in October 2025: ``platform-norra`` up to a call that arrived at
10:15 on the 3rd (08:15Z), ``sim-history`` up to one that arrived at 08:30 on the 20th (06:30Z); Norrbotten (SE-BD)
only of ``-history`` (12:00 on the 5th, 10:00Z). A file source has delivered up to its newest record's arrival.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.reports.exports import scorecard_csv, scorecard_xlsx
from app.scorecard.document import ScorecardDocument
from app.scorecard.service import monthly_scorecard
from tests.helpers import LATER, ingest_text

OCTOBER = date(2025, 10, 1)
HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"


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
