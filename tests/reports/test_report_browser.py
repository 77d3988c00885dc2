"""The printable report in a real browser: headless Chromium renders it to a PNG and to an A4 PDF.

Simulated Norra traffic (``app.sim``): the first week of October 2025 and one day in each of the twelve months
before, so the charts have thirteen months. The PNG is decoded with the standard library (zlib) and must be
neither blank nor a solid block; the bars must be drawn in their status colours; the PDF must be one A4 page.

Chromium is the Debian package ``chromium``; ``scripts/test`` installs it when missing. In CI (``CI=true``) a
missing Chromium fails the test; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.reports.board import build_report
from app.reports.board_html import render_report
from app.reports.svg import FILL
from app.sim.model import SimConfig, simulate
from app.sim.writers import write_calls_csv
from tests.conftest import IN_CI
from tests.helpers import LATER, ingest_text

WINDOW = (1240, 1754)  # A4 at 150 dpi
TIMEOUT_SECONDS = 60
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if IN_CI:
        pytest.fail("chromium not found: scripts/test installs the Debian package chromium when /usr/bin/chromium "
                    "is missing")
    pytest.skip("chromium not installed (Debian: apt-get install chromium); the browser test needs it")


def run_chromium(binary: str, profile: Path, *args: str) -> None:
    command = [binary, *FLAGS, f"--user-data-dir={profile}", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"chromium did not finish in {TIMEOUT_SECONDS} s: {' '.join(command)}")
    assert done.returncode == 0, f"chromium exited {done.returncode}:\n{done.stderr[-2000:]}"


def keep_artefacts(*files: Path) -> None:
    """The rendered report stays for a person to look at after the run (not committed): ``$VPT_TEST_ARTEFACTS/report``,
    by default ``vpt-test-artefacts/report`` in the system's temporary folder, beside the web view's screenshots."""
    root = Path(os.environ.get("VPT_TEST_ARTEFACTS") or Path(tempfile.gettempdir()) / "vpt-test-artefacts")
    folder = root / "report"
    folder.mkdir(parents=True, exist_ok=True)
    for file in files:
        shutil.copyfile(file, folder / file.name)


def decode_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """Width, height, channels and the unfiltered rows of an 8-bit, non-interlaced RGB(A) or grey PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks, header = 8, [], b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        elif kind == b"IEND":
            break
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and interlace == 0, f"unsupported PNG: depth {depth}, interlace {interlace}"
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:  # Sub
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif kind == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:  # Average
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:  # Paeth
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b, c = previous[i], previous[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def pixels(rows: list[bytes], channels: int):  # type: ignore[no-untyped-def]
    for row in rows:
        for i in range(0, len(row), channels):
            yield tuple(row[i:i + 3]) if channels >= 3 else (row[i],) * 3


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

