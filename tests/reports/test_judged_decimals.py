"""A figure that has a target gets the decimals its verdict needs, in every output (app.reports.judged): 84.996 %
is never written as 85,00 next to "ej uppfyllt", nor 600.04 s as 10:00,0."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from app.reports.board_text import percent_judged, wait
from app.reports.exports import scorecard_csv, scorecard_xlsx
from app.reports.judged import decimals
from app.scorecard.document import ScorecardDocument
from tests.reports.test_exports import by_header, closed_shape, kpis, read_csv, render_table, target
from tests.scorecard.documents import document as typed


def near_the_targets_document() -> ScorecardDocument:
    """Three regions that miss their targets by less than the usual decimals show (the audit's cases), and one
    that meets them exactly."""
    shape = closed_shape()
    base = shape["scopes"][0]
    cases = [("SE-O", 21249 / 25000, 500.0, "missed", "met"), ("SE-N", 0.9, 600.04, "met", "missed"),
             ("SE-F", 0.9, 600.4, "met", "missed"), ("SE-K", 0.85, 600.0, "met", "met")]
    shape["scopes"] = [{**base, "scope": code, "name": code,
                        "kpis": kpis(offered=25000, answered=21249, answer_rate=rate, mean_wait=mean_wait),
                        "targets": [target("answer_rate", 0.85, rate_status), target("mean_wait", 600.0, wait_status)]}
                       for code, rate, mean_wait, rate_status, wait_status in cases]
    return typed(shape)


def test_csv_writes_a_figure_just_past_its_target_with_the_decimals_that_show_it():
    rows = {row["Kod"]: row for row in read_csv(scorecard_csv(near_the_targets_document()), ";")}
    assert rows["SE-O"]["Svarsfrekvens (%)"] == "84,996"  # not 85,00 next to "ej uppfyllt"
    assert rows["SE-N"]["Medelväntetid (s)"] == "600,04"  # not 600,0
    assert rows["SE-F"]["Medelväntetid (s)"] == "600,4"
    assert rows["SE-K"]["Svarsfrekvens (%)"] == "85,00" and rows["SE-K"]["Medelväntetid (s)"] == "600,0"
    assert rows["SE-F"]["Svarsfrekvens (%)"] == "90,00"
    assert rows["SE-O"]["Mål svarsfrekvens (%)"] == "85,00"  # the target itself keeps its decimals


def test_xlsx_formats_a_figure_just_past_its_target_with_the_decimals_that_show_it():
    sheet = load_workbook(io.BytesIO(scorecard_xlsx(near_the_targets_document())))["Styrkort 2025-10"]
    cells = {by_header(sheet, row)["Kod"].value: by_header(sheet, row) for row in range(3, 7)}
    assert cells["SE-O"]["Svarsfrekvens"].number_format == "0.000%"
    assert cells["SE-N"]["Medelväntetid (min:s)"].number_format == "[mm]:ss.00"
    assert cells["SE-F"]["Medelväntetid (min:s)"].number_format == "[mm]:ss.0"
    assert cells["SE-K"]["Svarsfrekvens"].number_format == "0.00%"
    assert cells["SE-K"]["Medelväntetid (min:s)"].number_format == "[mm]:ss"


def test_the_terminal_table_writes_a_wait_just_past_its_target_with_the_decimals_that_show_it(monkeypatch):
    plain = re.sub(r"\x1b\[[0-9;]*m", "", render_table(near_the_targets_document(), monkeypatch))
    assert "10:00,04 ✗" in plain and "10:00,4 ✗" in plain and "84,996 %" in plain


def test_judged_figures_get_the_decimals_their_verdict_needs():
    assert wait(600.04, "sv", "<=", 600) == "10:00,04"
    assert wait(599.996, "en", "<=", 600) == "10:00"  # met, and whole seconds say so
    assert wait(600.0006, "en", "<=", 600) == "10:00.001"
    assert wait(600.00004, "en", "<=", 600) == "10:00.00004"
    assert percent_judged(0.849996, "en", ">=", 0.85) == "84.9996%"
    assert decimals(0.8499999999, ">=", 0.85, scale=100, least=1) == 8
    assert decimals(600.6, "<=", 600) == 0 and decimals(600.6, "<=", 600, truncated_too=True) == 1
