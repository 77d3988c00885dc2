"""The printable report in a real browser: headless Chromium renders it to a PNG and to an A4 PDF.

Simulated Norra traffic (``app.sim``): the first week of October 2025 and one day in each of the twelve months
before, so the charts have thirteen months. The PNG is decoded with the standard library (zlib) and must be
neither blank nor a solid block; the bars must be drawn in their status colours; the PDF must be one A4 page.

Chromium is found and run by ``tests.chromium`` (shared with the web view's browser tests).
"""

from __future__ import annotations

import io
import itertools
import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import Collaboration, CollaborationMember
from app.reports.board import build_report
from app.reports.board_html import render_report
from app.reports.svg import FILL
from app.scorecard.targets import set_target
from app.sim.model import SimConfig, simulate
from app.sim.writers import write_calls_csv
from tests.chromium import artefacts, decode_png, find_chromium, pixels, run_chromium
from tests.helpers import LATER, ingest_text

WINDOW = (1240, 1754)  # A4 at 150 dpi


def keep_artefacts(*files: Path) -> None:
    """The rendered report stays beside the web view's screenshots (``tests.chromium.artefacts``)."""
    folder = artefacts("report")
    for file in files:
        shutil.copyfile(file, folder / file.name)


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def simulated_history(factory: sessionmaker[Session], settings: Settings) -> None:
    config = SimConfig()
    days = [simulate(config, date(2025, 10, 1), date(2025, 10, 7))]
    for back in range(1, 13):
        year, month = (2025, 10 - back) if back < 10 else (2024, 22 - back)
        days.append(simulate(config, date(year, month, 15), date(year, month, 15)))
    stream = io.StringIO()
    write_calls_csv(itertools.chain(*days), stream)
    report = ingest_text(factory, settings, "calls", stream.getvalue(), origin="sim.csv")
    assert report.rows_rejected == 0 and report.rows_stored > 10_000


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the browser does not care which database
def test_the_report_renders_to_a_non_blank_png_and_a_one_page_a4_pdf(
    session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    binary = find_chromium()
    simulated_history(session_factory, settings)
    with session_factory() as session:
        report = build_report(session, date(2025, 10, 1), settings.definitions, LATER, "norra")
    assert len(report.pages) == 1 and [p.month for p in report.pages[0].series if p.has_data] != []
    page = tmp_path / "report.html"
    page.write_text(render_report(report, "sv"), encoding="utf-8")
    png, pdf = tmp_path / "report.png", tmp_path / "report.pdf"

    run_chromium(binary, tmp_path / "profile-png", f"--screenshot={png}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
                 page.as_uri())
    run_chromium(binary, tmp_path / "profile-pdf", f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri())

    width, height, channels, rows = decode_png(png.read_bytes())
    assert (width, height) == WINDOW
    total = width * height
    non_white = 0
    status_coloured = 0
    bar_colours = {hex_rgb(FILL[s]) for s in ("met", "missed", "at_risk")}
    for r, g, b in pixels(rows, channels):
        if min(r, g, b) < 235:
            non_white += 1
            if any(abs(r - cr) + abs(g - cg) + abs(b - cb) < 24 for cr, cg, cb in bar_colours):
                status_coloured += 1
    share = non_white / total
    print(f"non-white share of the screenshot: {share:.1%}; bar-coloured pixels: {status_coloured}")
    assert 0.03 < share < 0.5, f"non-white share {share:.1%}: blank or a solid block"
    assert status_coloured > 5_000, "the answer-rate bars were not drawn in their status colours"

    keep_artefacts(png, pdf)
    document = pdf.read_bytes()
    assert document.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", document)
    assert len(boxes) == 1, f"expected one page for one collaboration, got {len(boxes)}"
    assert [round(float(v)) for v in boxes[0]] == [595, 842]  # A4 in points
    html = page.read_text(encoding="utf-8")  # the small multiples are on that one page: a row per member region
    assert len(re.findall(r'<tr class="multiple" data-region="SE-[A-Z]+">', html)) == 4
    assert html.count('<svg class="chart mini"') == 8


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_fullest_page_a_month_in_progress_is_still_one_a4_page(
    session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    """In progress, the page also carries the forecast, what is needed and the partial-data notes."""
    binary = find_chromium()
    simulated_history(session_factory, settings)
    now = datetime(2025, 10, 7, 16, 0, tzinfo=UTC)
    with session_factory() as session:
        report = build_report(session, date(2025, 10, 1), settings.definitions, now, "norra")
    assert report.in_progress and report.pages[0].member_series
    for lang in ("sv", "en"):
        page = tmp_path / f"report-{lang}.html"
        page.write_text(render_report(report, lang), encoding="utf-8")
        pdf = tmp_path / f"report-{lang}.pdf"
        run_chromium(binary, tmp_path / f"profile-{lang}", f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
                     page.as_uri())
        boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf.read_bytes())
        assert len(boxes) == 1, f"{lang}: expected one page, got {len(boxes)}"



#: The largest collaboration a region may be part of: Sjukvårdsregion Mellansverige (Uppsala–Örebro), seven
#: regions. Only ``norra`` ships (``app.kpi.reference``); a larger one is configured, as here.
LARGEST = ("mellansverige", "Sjukvårdsregion Mellansverige",
           ("SE-C", "SE-D", "SE-S", "SE-T", "SE-U", "SE-W", "SE-X"))


def largest_collaboration(factory: sessionmaker[Session], settings: Settings) -> None:
    """Hourly interval reports (fast to load) for six of its seven regions: 1–7 October 2025 to 16:00, 1–4
    September (a partial month before, for changes against the same days) and the 15th of each of the eleven
    months before; SE-X delivers nothing in October (named as missing), SE-W stops on the 3rd (partial) and SE-C
    has a target of its own, so the page carries every note and every line it can."""
    code, name, members = LARGEST
    with factory() as session, session.begin():
        session.add(Collaboration(code=code, name=name))
        session.add_all(CollaborationMember(collaboration_code=code, region_code=region) for region in members)
        session.flush()
        set_target(session, "SE-C", "answer_rate", value="0.9", valid_from="2024-01", reason="egen", set_by="test")
    rows = ["region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
            "answered_within_sl,sl_seconds,wait_answered_seconds_sum,wait_abandoned_seconds_sum"]
    days = [date(2025, 10, day) for day in range(1, 8)] + [date(2025, 9, day) for day in range(1, 5)]
    days += [date(2025 if back < 10 else 2024, 10 - back if back < 10 else 22 - back, 15) for back in range(2, 13)]
    for index, region in enumerate(members):
        for day in days:
            if (region == "SE-X" and day.month == 10 and day.year == 2025) or (region == "SE-W" and day > days[2]
                                                                                 and day.month == 10):
                continue
            for hour in range(24):
                if day == days[6] and hour >= 18:
                    break
                n = day.toordinal() + hour * 7 + index * 13
                offered = 4 + n % 17 + (12 if 7 <= hour <= 19 else 0)
                abandoned = n % 5
                answered = offered - abandoned - (n % 11 == 0)
                wait = answered * (60 + (n * 37 + index * 211) % 900)
                rows.append(f"{region},vpt,{day.isoformat()}T{hour:02d}:00:00,60,{offered},{answered},{abandoned},0,"
                            f"{int(n % 11 == 0)},{max(0, answered - n % 6)},600,{wait},{abandoned * 120}")
    report = ingest_text(factory, settings, "intervals", "\n".join(rows) + "\n", origin="mellansverige.csv")
    assert report.rows_rejected == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("in_progress", [True, False], ids=["in-progress", "closed"])
def test_the_largest_collaboration_seven_regions_fits_one_a4_page(
    session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path, in_progress: bool
) -> None:
    """Seven rows of small multiples besides the scorecard table's seven member rows: still one A4 page, in
    Swedish and in English, with the month in progress's notes or as a closed month."""
    binary = find_chromium()
    largest_collaboration(session_factory, settings)
    code, _name, members = LARGEST
    now = datetime(2025, 10, 7, 16, 0, tzinfo=UTC) if in_progress else LATER
    with session_factory() as session:
        report = build_report(session, date(2025, 10, 1), settings.definitions, now, code)
    assert report.in_progress is in_progress and len(report.pages[0].members) == len(members)
    for lang in ("sv", "en"):
        html = render_report(report, lang)
        assert len(re.findall(r'<tr class="multiple" data-region="SE-[A-Z]+">', html)) == len(members)
        # the members' common target once in the header; only SE-C's own (90 %) in its row
        assert len(re.findall(r'<span class="sub">(regionernas mål|the regions&#x27; target) ', html)) == 2
        assert len(re.findall(r'<span class="delta">(mål|target) ', html)) == 1
        page = tmp_path / f"report-{code}-{'in-progress' if in_progress else 'closed'}-{lang}.html"
        page.write_text(html, encoding="utf-8")
        pdf = page.with_suffix(".pdf")
        run_chromium(binary, tmp_path / f"profile-{lang}", f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
                     page.as_uri())
        keep_artefacts(pdf)
        boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf.read_bytes())
        assert len(boxes) == 1, f"{lang}: {len(members)} member regions take {len(boxes)} pages, not one"
        assert [round(float(v)) for v in boxes[0]] == [595, 842]


def test_the_report_and_the_web_view_run_chromium_the_same_way() -> None:
    """One helper (``tests.chromium``) for finding and running Chromium: the flags are not repeated."""
    from tests import chromium
    from tests.web import browser

    assert browser.FLAGS is chromium.FLAGS
    assert "FLAGS" not in globals() and "find_chromium" not in vars(browser)
