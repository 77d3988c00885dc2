"""Issue 16, the leftover: the words Typer and click print themselves are in the run's language too.

Before, a Swedish run printed "Usage:", the panels "Options", "Arguments", "Commands", "[default: table]",
"Show this message and exit.", ``<bool>`` next to a flag, and click's usage errors in English ("Try 'vpt scorecard
--help' for help.", "Missing argument 'month'.", "No such option: --bogus"). Here each case runs in both languages:
the Swedish output holds none of Typer's English words (nor any other word only English uses: tests/cli/
vocabulary.py), the English one none of the Swedish words said for them, the error line is the one every ``vpt``
error has ("fel: ..."), and the exit code is click's (0 for help, 2 for a usage error, 1 for an abort).

No database: every case is answered before a command touches one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.models import CommandInfo
from typer.testing import CliRunner, Result

from app.cli import app
from app.cli.typer_words import language_of
from tests.cli.vocabulary import foreign_words, words

#: What Typer and click say in English; a Swedish run says none of it.
TYPER_ENGLISH = {"usage", "options", "arguments", "commands", "command", "default", "required", "show", "message",
                 "exit", "install", "completion", "shell", "try", "help", "error", "missing", "such", "option",
                 "possible", "invalid", "value", "aborted", "unexpected", "extra", "did", "mean", "bool", "args"}
#: What the Swedish run says instead; none of it is in an English run (whose own help texts are still Swedish:
#: these words are not in them).
TYPER_SWEDISH = {"användning", "flaggor", "kommandon", "krävs", "hjälpen", "kommandokomplettering",
                 "prova", "hjälp", "fel", "saknas", "argumentet", "okänd", "flagga", "möjliga", "heltal", "menade",
                 "oväntade", "avbrutet", "okänt", "kommando", "månad", "felaktig"}


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no .env of the repository is read
    monkeypatch.delenv("VPT_LANG", raising=False)
    return CliRunner()


def run(runner: CliRunner, args: list[str]) -> Result:
    return runner.invoke(app, args, prog_name="vpt")


def said(result: Result) -> str:
    return result.stdout + result.stderr


def flat(text: str) -> str:
    """Help as one line: Rich wraps it in boxes as wide as the terminal."""
    return " ".join(text.replace("│", " ").split())


def check_one_language(sv: Result, en: Result, *, help_shown: bool = False) -> None:
    """Help lists command names and quotes command lines (``vpt sources add``), which the vocabulary would take
    for English words: there only Typer's own words are looked for."""
    swedish, english = words(said(sv)), words(said(en))
    assert swedish & TYPER_ENGLISH == set(), said(sv)
    assert help_shown or foreign_words(said(sv), "sv") == set(), said(sv)
    assert english & TYPER_SWEDISH == set(), said(en)


@pytest.mark.parametrize(("args", "swedish", "english"), [
    ([], ["Användning: vpt [FLAGGOR] KOMMANDO [ARGUMENT]...", "─ Flaggor ─", "─ Kommandon ─",
          "Visa den här hjälpen och avsluta.", "Installera kommandokomplettering för det aktuella skalet."],
     ["Usage: vpt [OPTIONS] COMMAND [ARGS]...", "─ Options ─", "─ Commands ─", "Show this message and exit.",
      "Install completion for the current shell."]),
    (["scorecard"], ["Användning: vpt scorecard [FLAGGOR] {MÅNAD}", "─ Argument ─", "MÅNAD", "[krävs]",
                     "[standard: table]", "--out FIL "],
     ["Usage: vpt scorecard [OPTIONS] {MONTH}", "─ Arguments ─", "MONTH", "[required]", "[default: table]",
      "--out FILE "]),
    (["alerts", "list"], ["--limit", "HELTAL"], ["--limit", "INTEGER"]),
])
def test_help_is_in_the_language_of_the_run(runner: CliRunner, args: list[str], swedish: list[str],
                                            english: list[str]) -> None:
    sv = run(runner, [*args, "--help"])
    en = run(runner, ["--lang", "en", *args, "--help"])
    assert (sv.exit_code, en.exit_code) == (0, 0), (sv.output, en.output)
    check_one_language(sv, en, help_shown=True)
    assert [text for text in swedish if text not in flat(sv.stdout)] == [], sv.stdout
    assert [text for text in english if text not in flat(en.stdout)] == [], en.stdout
    for result in (sv, en):  # a flag takes no value: nothing like <bool> next to it
        assert "<bool>" not in result.stdout and "<str>" not in "\n".join(
            line for line in result.stdout.splitlines() if "--" in line)


@pytest.mark.parametrize(("args", "swedish", "english"), [
    (["scorecard"], "fel: argumentet MÅNAD saknas", "error: missing argument MONTH"),
    (["scorecard", "--bogus"], "fel: okänd flagga --bogus (möjliga flaggor: --out)",
     "error: no such option --bogus (possible options: --out)"),
    (["scorecard", "2025-10", "x1", "x2"], "fel: oväntade argument: x1 x2", "error: unexpected extra arguments: x1 x2"),
    (["alerts", "list", "--limit", "x"], "fel --limit: måste vara ett heltal", "error --limit: must be an integer"),
    (["alerts", "list", "--limit"], "fel --limit: behöver ett värde", "error --limit: requires a value"),
    (["alerts", "list", "--all=yes"], "fel --all: tar inget värde", "error --all: takes no value"),
    (["scorecrd"], "fel: okänt kommando 'scorecrd' (menade du 'scorecard'?)",
     "error: no such command 'scorecrd' (did you mean 'scorecard'?)"),
])
def test_a_usage_error_is_an_error_line_in_the_language_of_the_run(runner: CliRunner, args: list[str], swedish: str,
                                                                   english: str) -> None:
    sv = run(runner, args)
    en = run(runner, ["--lang", "en", *args])
    assert (sv.exit_code, en.exit_code) == (2, 2), (sv.output, en.output)
    check_one_language(sv, en)
    assert sv.stderr.splitlines()[-1] == swedish and en.stderr.splitlines()[-1] == english, (sv.stderr, en.stderr)


def test_a_usage_error_says_how_the_command_is_used_and_where_help_is(runner: CliRunner) -> None:
    sv = run(runner, ["scorecard", "--bogus"])
    en = run(runner, ["--lang", "en", "scorecard", "--bogus"])
    assert sv.stderr.splitlines()[:2] == ["Användning: vpt scorecard [FLAGGOR] {MÅNAD}",
                                          "Prova 'vpt scorecard --help' för hjälp."]
    assert en.stderr.splitlines()[:2] == ["Usage: vpt scorecard [OPTIONS] {MONTH}",
                                          "Try 'vpt scorecard --help' for help."]


def test_a_group_without_a_command_shows_its_help_in_the_language_of_the_run(runner: CliRunner) -> None:
    """``vpt keys``: the group's help and exit 2, as before; ``vpt --lang sv``: "kommando saknas"."""
    sv, en = run(runner, ["keys"]), run(runner, ["--lang", "en", "keys"])
    assert (sv.exit_code, en.exit_code) == (2, 2)
    check_one_language(sv, en, help_shown=True)
    assert "Användning: vpt keys [FLAGGOR] KOMMANDO [ARGUMENT]..." in sv.stdout and "─ Kommandon ─" in sv.stdout
    assert "Usage: vpt keys [OPTIONS] COMMAND [ARGS]..." in en.stdout and "─ Commands ─" in en.stdout
    sv, en = run(runner, ["--lang", "sv"]), run(runner, ["--lang", "en"])
    assert (sv.exit_code, en.exit_code) == (2, 2)
    assert sv.stderr.splitlines()[-1] == "fel: kommando saknas"
    assert en.stderr.splitlines()[-1] == "error: missing command"


def test_a_command_lang_option_and_vpt_lang_choose_the_words_too(runner: CliRunner) -> None:
    """The language is read off the line before click parses it: a command's own ``--lang`` (the line's last)
    words that command's usage errors, ``VPT_LANG`` a run without ``--lang``."""
    own = run(runner, ["scorecard", "--lang", "en", "--bogus"])
    assert own.exit_code == 2 and own.stderr.splitlines()[-1].startswith("error: no such option --bogus")
    last = run(runner, ["--lang", "en", "scorecard", "--lang", "sv", "--bogus"])
    assert last.stderr.splitlines()[-1].startswith("fel: okänd flagga --bogus")
    setting = run(CliRunner(env={"VPT_LANG": "en"}), ["scorecard", "--help"])
    assert setting.exit_code == 0 and "Usage: vpt scorecard [OPTIONS] {MONTH}" in setting.stdout
    assert (language_of(["--lang", "de"], "en"), language_of(["--", "--lang", "en"], None)) == ("en", "sv")


def test_user_text_in_a_usage_error_reaches_the_terminal_through_the_sanitiser(runner: CliRunner) -> None:
    """An escape sequence or Rich markup typed as an option or a command is shown, never obeyed."""
    option = run(runner, ["scorecard", "--x\x1b[2J\x9b[bold]y"])
    command = run(runner, ["[bold]x\x1b]8;;http://e.invalid\x07"])
    assert (option.exit_code, command.exit_code) == (2, 2)
    for result in (option, command):
        assert not any(char in result.stderr for char in "\x1b\x9b\x07"), repr(result.stderr)
    assert option.stderr.splitlines()[-1] == "fel: okänd flagga --x\\x1b[2J\\x9b[bold]y"
    assert command.stderr.splitlines()[-1] == "fel: okänt kommando '[bold]x\\x1b]8;;http://e.invalid\\x07'"


def test_an_abort_is_said_in_the_language_of_the_run(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    def give_up() -> None:
        raise typer.Abort()

    monkeypatch.setattr(app, "registered_commands", [*app.registered_commands,
                                                     CommandInfo(name="give-up", callback=give_up)])
    sv, en = run(runner, ["give-up"]), run(runner, ["--lang", "en", "give-up"])
    assert (sv.exit_code, en.exit_code) == (1, 1)
    assert (sv.stderr, en.stderr) == ("Avbrutet.\n", "Aborted.\n")
