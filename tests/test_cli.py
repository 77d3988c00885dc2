"""The vpt command: exit codes and outputs operators script against."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from app.cli import app

runner = CliRunner(env={"VPT_LANG": "en"})  # these tests read the English wording (tests/cli: both)


@pytest.fixture
def env(monkeypatch, database_url):
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)


def test_ingest_exit_codes(env, fixtures_dir, tmp_path):
    ok = runner.invoke(app, ["ingest", "calls", str(fixtures_dir / "calls_october.csv")])
    assert ok.exit_code == 0, ok.output
    assert "read 14, stored 14" in ok.stdout.replace("\n", " ")

    some_rejected = runner.invoke(app, ["ingest", "calls", str(fixtures_dir / "calls_corrections.csv")])
    assert some_rejected.exit_code == 3
    assert "line 4 (c201), field region: unknown region" in some_rejected.stderr.replace("\n", " ").replace("  ", " ")

    broken = tmp_path / "broken.csv"
    broken.write_text("call_id,region\nx,SE-AC\n")
    failed = runner.invoke(app, ["ingest", "calls", str(broken)])
    assert failed.exit_code == 1 and "missing required column" in failed.stderr

    missing = runner.invoke(app, ["ingest", "intervals", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 1


def test_scorecard_formats(env, fixtures_dir):
    runner.invoke(app, ["ingest", "calls", str(fixtures_dir / "calls_october.csv")])
    as_json = runner.invoke(app, ["scorecard", "2025-10", "--format", "json"])
    assert json.loads(as_json.stdout)["month"] == "2025-10"
    as_csv = runner.invoke(app, ["scorecard", "2025-10", "--format", "csv"], env={"VPT_LANG": None})  # default: sv
    assert as_csv.stdout_bytes.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, ; and decimal comma for Excel
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout.removeprefix("\ufeff"), newline=""), delimiter=";"))
    assert [r["Kod"] for r in rows] == ["SE-AC", "SE-BD", "norra"]
    assert rows[0]["Inkommande samtal"] == "9" and rows[0]["Status svarsfrekvens"] == "ej uppfyllt"
    assert rows[0]["Svarsfrekvens (%)"] == "66,67"
    as_english = runner.invoke(app, ["scorecard", "2025-10", "--format", "csv", "--lang", "en"])
    rows = list(csv.DictReader(io.StringIO(as_english.stdout.removeprefix("\ufeff"), newline="")))
    assert rows[0]["Offered"] == "9" and rows[0]["Answer rate status"] == "missed"
    table = runner.invoke(app, ["scorecard", "2025-10"])
    assert table.exit_code == 0 and "Västerbotten" in table.stdout
    bad = runner.invoke(app, ["scorecard", "10-2025"])
    assert bad.exit_code == 2


def test_recompute_command(env, fixtures_dir):
    runner.invoke(app, ["ingest", "calls", str(fixtures_dir / "calls_october.csv")])
    result = runner.invoke(app, ["recompute", "--from", "2025-10", "--to", "2025-10"])
    assert result.exit_code == 0 and "rebuilt 9 hours" in result.stdout
