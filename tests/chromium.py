"""Headless Chromium for the tests of the board report and the web view: one place for how it is found, which
flags it runs with, where its screenshots and PDFs are kept, and how a PNG it wrote is read.

Chromium is the Debian package ``chromium``; ``scripts/test`` installs it when missing. In CI (``CI=true``) a
missing Chromium fails the test; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest

from tests.conftest import IN_CI

#: No GPU, no sandbox (containers), and nothing that reaches the network on its own.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_SECONDS = 180  # a few seconds on a quiet machine; a loaded CI machine (pytest -n 2, 2 cores) is slower


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if IN_CI:
        pytest.fail("chromium not found: scripts/test installs the Debian package chromium when /usr/bin/chromium "
                    "is missing")
    pytest.skip("chromium not installed (Debian: apt-get install chromium); the browser tests need it")


def run_chromium(binary: str, profile: Path, *args: str) -> None:
    """One Chromium run with ``args`` (``--screenshot=…``, ``--print-to-pdf=…``, the page) to its end."""
    command = [binary, *FLAGS, f"--user-data-dir={profile}", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"chromium did not finish in {TIMEOUT_SECONDS} s: {' '.join(command)}")
    assert done.returncode == 0, f"chromium exited {done.returncode}:\n{done.stderr[-2000:]}"


def artefacts(kind: str) -> Path:
    """Where what Chromium rendered stays for a person to look at after the run (not committed):
    ``$VPT_TEST_ARTEFACTS/<kind>``, by default ``vpt-test-artefacts/<kind>`` in the system's temporary folder."""
    root = Path(os.environ.get("VPT_TEST_ARTEFACTS") or Path(tempfile.gettempdir()) / "vpt-test-artefacts")
    folder = root / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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
