"""Issue 16, "no mixing": a ``vpt`` run speaks one language, Swedish unless told ``--lang en`` or ``VPT_LANG=en``.

Before, the tables' titles were Swedish and the lines around them English ("read 12,480, stored …; 3 hours
refreshed in 0.42 s" under "Styrkort 1177 VPT"). Here the main commands run in each language on one database and
their output (stdout and stderr) must hold no word only the other language uses (tests/cli/vocabulary.py builds
the two word lists from the message catalogue, the glossary and the KPI catalogue).

What the commands quote from elsewhere is not theirs to translate and is left out of the run on purpose: stored
target reasons, profile titles and the canonical field names and values of a dry run's sample. The staffing
advice's notes are worded in the run's language (app.staffing.notes) and scanned like the rest.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from app.cli import app
from app.kpi.glossary import Lang
from tests.cli.vocabulary import foreign_words

SAMPLES = Path(__file__).resolve().parents[2] / "samples"

#: The main commands an operator runs, in an order that leaves each something to show.
COMMANDS: list[list[str]] = [
    ["ingest", "calls", str(SAMPLES / "calls_october.csv")],
    ["ingest", "intervals", str(SAMPLES / "intervals_october.csv")],
    ["recompute", "--from", "2025-10", "--to", "2025-10"],
    ["scorecard", "2025-10"],
    ["scorecard", "2025-10", "--format", "csv", "--out", "styrkort.csv"],
    ["report", "2025-10", "--out", "styrkort.html"],
    ["export", "days", "SE-AC", "2025-10", "--out", "dagar.csv"],
    ["targets", "set", "SE-AC", "answer_rate", "0.9", "--from", "2025-10", "--reason", "2025-12-10", "--by", "anna"],
    ["targets", "list", "--scope", "SE-AC", "--kpi", "answer_rate"],
    ["alerts", "evaluate"],
    ["alerts", "deliver"],
    ["alerts", "channels"],
    ["alerts", "list", "--all"],
    ["alerts", "history"],
    ["alerts", "notifications"],
    ["silences", "add", "--scope", "SE-AC", "--for", "2h", "--reason", "2025-12-10", "--by", "anna"],
    ["silences", "list"],
    ["silences", "expire", "1"],
    ["keys", "create", "--name", "norra", "--scope", "read"],
    ["keys", "list"],
    ["keys", "revoke", "1"],
    ["sources", "add", "norra", "--kind", "push"],
    ["sources", "prefer", "norra"],
    ["sources", "list"],
    ["ingest", "formats"],
    ["staffing", "SE-AC", "--date", "2025-10-30"],
    ["staffing", "norra", "--date", "2025-10-30"],  # no targets stored: a note on the defaults
    ["db", "upgrade"],
]


def said(result: Result) -> str:
    return result.stdout + result.stderr


@pytest.fixture
def workdir(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)  # files the commands write land here; no .env of the repository is read
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    monkeypatch.delenv("VPT_LANG", raising=False)
    return tmp_path


@pytest.mark.parametrize("how", ["default", "option", "setting"])
def test_every_main_command_speaks_only_the_language_of_its_run(workdir: Path, how: str) -> None:
    """Swedish by default; English by ``vpt --lang en`` and by ``VPT_LANG=en``, and nothing of the other."""
    lang: Lang = "sv" if how == "default" else "en"
    runner = CliRunner(env={"VPT_LANG": "en"} if how == "setting" else {})
    mixed: dict[str, set[str]] = {}
    for command in COMMANDS:
        args = ["--lang", "en", *command] if how == "option" else command
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (command, result.output, result.exception)
        found = foreign_words(said(result), lang)
        if found:
            mixed[" ".join(command)] = found
    assert mixed == {}


def test_the_swedish_run_says_its_own_words(workdir: Path) -> None:
    """The scan above passes on silence too: the Swedish run says the catalogue's Swedish, numbers included."""
    runner = CliRunner()
    first = runner.invoke(app, ["ingest", "calls", str(SAMPLES / "calls_october.csv")])
    line = " ".join(first.stdout.split())
    assert "(samtal, källa files, körning 1): lästa 14, sparade 14," in line
    assert "; 10 timmar uppdaterade på " in line and line.endswith(" s") and "," in line.rsplit("på", 1)[1]
    rebuilt = runner.invoke(app, ["recompute", "--from", "2025-10", "--to", "2025-10"])
    assert rebuilt.stdout == "återskapade aggregaten för 9 timmar\n"
    english = runner.invoke(app, ["--lang", "en", "recompute", "--from", "2025-10", "--to", "2025-10"])
    assert english.stdout == "rebuilt 9 hours of aggregates\n"


def test_a_command_lang_option_is_the_language_of_the_whole_run(workdir: Path) -> None:
    """``vpt scorecard --lang en --out F`` writes an English file and says so in English, not in Swedish."""
    runner = CliRunner()
    runner.invoke(app, ["ingest", "calls", str(SAMPLES / "calls_october.csv")])
    english = runner.invoke(app, ["scorecard", "2025-10", "--format", "csv", "--lang", "en", "--out", "card.csv"])
    assert english.exit_code == 0, english.output
    assert english.stderr.startswith("wrote the 2025-10 scorecard (3 scopes) to ")
    header = (workdir / "card.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("Region/collaboration,") and ",Offered," in header
    swedish = runner.invoke(app, ["--lang", "en", "export", "days", "SE-AC", "2025-10", "--lang", "sv", "--out",
                                  "d.csv"])
    assert swedish.stderr.startswith("skrev dagarna i 2025-10 för SE-AC (31 rader) till ")


@pytest.mark.parametrize(("args", "env", "said_"), [
    (["--lang", "de", "recompute"], {}, "fel --lang: måste vara sv eller en"),
    (["recompute"], {"VPT_LANG": "de"}, "fel VPT_LANG: måste vara sv eller en"),
    (["--lang", "en", "scorecard", "2025-10", "--lang", "de"], {}, "error --lang: must be sv or en"),
])
def test_a_language_that_is_not_sv_or_en_is_a_usage_error(workdir: Path, args: list[str], env: dict[str, str],
                                                          said_: str) -> None:
    result = CliRunner(env=env).invoke(app, args)
    assert result.exit_code == 2 and said_ in result.stderr, result.output
