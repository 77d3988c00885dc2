"""The terminal scorecard shows a figure with as many digits as it takes not to contradict its mark: a mean wait
of 600.4 s against ≤ 10 min is "10:00,4 ✗", never "10:00 ✗", and an answer rate of 84.96 % against ≥ 85 % is
"84,96 % ✗", never "85,0 % ✗" (the board report's rule, app.reports.board_text)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from app.cli import app

runner = CliRunner()
HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"


@pytest.fixture
def env(monkeypatch, database_url):
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)


def test_a_wait_just_over_its_target_is_not_shown_as_the_target(env, tmp_path) -> None:
    calls = tmp_path / "calls.csv"
    calls.write_text(HEADER + "w1,SE-Z,vpt,2025-10-01T08:00:00+02:00,answered,2025-10-01T08:10:00.400+02:00,\n")
    assert runner.invoke(app, ["ingest", "calls", str(calls)]).exit_code == 0
    table = runner.invoke(app, ["scorecard", "2025-10"], env={"COLUMNS": "250"})
    assert table.exit_code == 0, table.output
    assert "10:00,4" in table.stdout
    english = runner.invoke(app, ["scorecard", "2025-10", "--lang", "en"], env={"COLUMNS": "250"})
    assert "10:00.4" in english.stdout


def test_an_answer_rate_just_under_its_target_is_not_shown_as_the_target(env, tmp_path) -> None:
    rows = [f"a{i},SE-Z,vpt,2025-10-01T08:{i // 60:02d}:{i % 60:02d}+02:00,answered,"
            f"2025-10-01T08:{i // 60:02d}:{i % 60:02d}+02:00,\n" for i in range(2124)]
    rows += [f"b{i},SE-Z,vpt,2025-10-01T09:00:00+02:00,abandoned,,2025-10-01T09:01:00+02:00\n" for i in range(376)]
    calls = tmp_path / "calls.csv"
    calls.write_text(HEADER + "".join(rows))  # 2124 / 2500 = 84.96 %
    assert runner.invoke(app, ["ingest", "calls", str(calls)]).exit_code == 0
    table = runner.invoke(app, ["scorecard", "2025-10"], env={"COLUMNS": "250"})
    assert table.exit_code == 0, table.output
    shown = table.stdout.replace("\u00a0", " ")
    assert "84,96 % ✗" in shown and "85,0 % ✗" not in shown
