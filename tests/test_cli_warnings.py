"""Warnings where rejections are shown (issue 14 §4): the `vpt ingest` summary and the drop directory's report file.
A warning is no failure: the exit code stays 0 when nothing was rejected."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.ingest import dropdir

runner = CliRunner(env={"VPT_LANG": "en"})  # these tests read the English wording (tests/cli: both)
HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds\n"
ROW = "{id},SE-AC,{queue},2025-10-01T08:00:00+02:00,answered,2025-10-01T08:01:00+02:00,,,{talk},\n"


@pytest.fixture
def env(monkeypatch, database_url):
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_the_ingest_summary_counts_and_shows_warnings_and_exits_0(env, tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(HEADER + ROW.format(id="c1", queue="vpt", talk="abc") + ROW.format(id="c2", queue="vpt", talk="9"))
    result = runner.invoke(app, ["ingest", "calls", str(path)])
    assert result.exit_code == 0, result.output
    assert "read 2, stored 2, updated 0, unchanged 0, rejected 0, warnings 1;" in one_line(result.stdout)
    assert ("warning export.csv line 2 (c1), field talk_seconds: not a number: 'abc' (digits 0-9 and a decimal "
            "point) (stored without it)") in one_line(result.stderr)


def test_the_summary_shows_the_first_ten_warnings_and_where_the_rest_are(env, tmp_path):
    path = tmp_path / "many.csv"
    escape = "vpt\x1b[2J"  # a queue with a terminal escape: the warning names it, the terminal never gets it
    path.write_text(HEADER + "".join(ROW.format(id=f"c{i}", queue=escape, talk="") for i in range(12)))
    result = runner.invoke(app, ["ingest", "calls", str(path)])
    assert result.exit_code == 0, result.output
    err = one_line(result.stderr)
    assert err.count("field queue: contains the control character U+001B") == 10
    assert "… and 2 more (GET /api/v1/ingest/runs/1/warnings)" in err
    assert "\x1b" not in result.output


def test_the_drop_directory_report_lists_warnings(settings, session_factory, tmp_path):
    drop = tmp_path / "drop"
    dropdir.prepare(drop)
    (drop / "calls" / "export.csv").write_text(HEADER + ROW.format(id="c1", queue="vpt", talk="abc"))
    result = dropdir.ingest_drop_file(session_factory, settings, "calls", drop / "calls" / "export.csv")
    assert result.ok and result.moved_to.parent.name == "processed"
    summary = json.loads(result.moved_to.with_name(result.moved_to.name + ".report.json").read_text())
    assert (summary["rows"]["stored"], summary["rows"]["rejected"], summary["rows"]["warned"]) == (1, 0, 1)
    assert summary["warnings"] == ["line 2 (c1), field talk_seconds: not a number: 'abc' (digits 0-9 and a decimal "
                                   "point) (stored without it)"]
