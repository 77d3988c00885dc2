"""``vpt staffing`` words the advice's notes in the run's language (``app.staffing.notes``), while the API and
``--json`` keep the English text they always returned. Before, the command printed the service's English note
under Swedish lines ("anmärkning: the month needs an answer rate of ...").

SE-BD's October in the sample is two thirds answered and has one day left: its target is out of reach."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from tests.cli.vocabulary import foreign_words

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
#: The API's note, exactly as the service wrote it before notes had codes.
OUT_OF_REACH_EN = ("the month needs an answer rate of 125.0% on the calls to come: out of reach (unreachable), the "
                   "advice keeps the target")


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    monkeypatch.delenv("VPT_LANG", raising=False)
    runner = CliRunner()
    stored = runner.invoke(app, ["ingest", "calls", str(SAMPLES / "calls_october.csv")])
    assert stored.exit_code == 0, stored.output
    return runner


def test_a_note_is_said_in_the_language_of_the_run(runner: CliRunner) -> None:
    swedish = runner.invoke(app, ["staffing", "SE-BD", "--date", "2025-10-30"])
    english = runner.invoke(app, ["--lang", "en", "staffing", "SE-BD", "--date", "2025-10-30"])
    assert swedish.exit_code == 0 and english.exit_code == 0, (swedish.output, english.output)
    assert ("anmärkning: månaden behöver en svarsfrekvens på 125,0\u00a0% på de kommande samtalen: utom räckhåll "
            "(kan inte nås), rådet håller sig till målet") in swedish.stdout.splitlines()
    assert f"note: {OUT_OF_REACH_EN}" in english.stdout.splitlines()
    assert foreign_words(swedish.stdout, "sv") == set() and foreign_words(english.stdout, "en") == set()


def test_the_json_keeps_the_apis_english_note(runner: CliRunner) -> None:
    result = runner.invoke(app, ["staffing", "SE-BD", "--date", "2025-10-30", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["notes"] == [OUT_OF_REACH_EN]
