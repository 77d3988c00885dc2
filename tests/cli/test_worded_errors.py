"""The common domain errors in the run's language (issue 16, "no mixing"): before, a Swedish run printed their
English detail ("fel no region 'SE-XX'"). An error names a catalogue sentence (``VptError.keyed``) and the command
line words it; the API's JSON keeps the English ``message``, and an error without a sentence is shown as before.

An error line reads "fel: <problem>", or "fel --date: <problem>" when it is about a parameter; a bad month or day
argument is named as help names it ("fel MÅNAD: ..."), not run into the sentence ("fel måste vara ...")."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.cli.wording import problem_text
from app.errors import VptError
from app.scorecard.service import UnknownScope


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    monkeypatch.delenv("VPT_LANG", raising=False)
    return CliRunner()


@pytest.mark.parametrize(("args", "exit_code", "swedish", "english"), [
    (["staffing", "SE-XX"], 1, "fel: ingen region eller samverkan 'SE-XX'",
     "error: no region or collaboration 'SE-XX'"),
    (["staffing", "SE-AC", "--date", "2025-13-01"], 2,
     "fel --date: måste vara ett datum ÅÅÅÅ-MM-DD mellan år 1970 och 9998, fick '2025-13-01'",
     "error --date: must be a date YYYY-MM-DD between the years 1970 and 9998, got '2025-13-01'"),
    (["staffing", "SE-AC", "--date", "2099-01-01"], 1, "fel: datumet får ligga högst 62 dagar fram, fick 2099-01-01",
     "error: date must be at most 62 days ahead, got 2099-01-01"),
    # raised in app.scorecard and app.reports, worded by the command line
    (["scorecard", "2025-13"], 2, "fel MÅNAD: måste vara en månad ÅÅÅÅ-MM mellan år 1970 och 9998, fick '2025-13'",
     "error MONTH: must be a month YYYY-MM between the years 1970 and 9998, got '2025-13'"),
    (["report", "2025-13", "--out", "r.html"], 2,
     "fel MÅNAD: måste vara en månad ÅÅÅÅ-MM mellan år 1970 och 9998, fick '2025-13'",
     "error MONTH: must be a month YYYY-MM between the years 1970 and 9998, got '2025-13'"),
    (["export", "hours", "SE-AC", "2025-02-30"], 2,
     "fel DAG: måste vara ett datum ÅÅÅÅ-MM-DD mellan år 1970 och 9998, fick '2025-02-30'",
     "error DAY: must be a date YYYY-MM-DD between the years 1970 and 9998, got '2025-02-30'"),
    (["export", "days", "SE-AC", "2025-13"], 2,
     "fel MÅNAD: måste vara en månad ÅÅÅÅ-MM mellan år 1970 och 9998, fick '2025-13'",
     "error MONTH: must be a month YYYY-MM between the years 1970 and 9998, got '2025-13'"),
    (["export", "days", "SE-XX", "2025-10"], 1, "fel: ingen region eller samverkan 'SE-XX'",
     "error: no region or collaboration 'SE-XX'"),
    (["report", "2025-10", "--scope", "SE-XX", "--out", "r.html"], 1, "fel: ingen region eller samverkan 'SE-XX'",
     "error: no region or collaboration 'SE-XX'"),
    (["scorecard", "2025-10", "--format", "nope"], 2, "fel --format: måste vara table, json, csv eller xlsx",
     "error --format: must be table, json, csv or xlsx"),
    (["scorecard", "2025-10", "--out", "x.txt"], 2, "fel --out: skriver json, csv eller xlsx: välj ett med --format",
     "error --out: writes json, csv or xlsx: choose one with --format"),
    (["alerts", "notifications", "--status", "odd"], 1,
     "fel --status: måste vara en av pending, delivered, failed, fick 'odd'",
     "error --status: must be one of pending, delivered, failed, got 'odd'"),
])
def test_a_common_error_is_said_in_the_language_of_the_run(runner: CliRunner, args: list[str], exit_code: int,
                                                           swedish: str, english: str) -> None:
    sv = runner.invoke(app, args)
    en = runner.invoke(app, ["--lang", "en", *args])
    assert (sv.exit_code, en.exit_code) == (exit_code, exit_code), (sv.output, en.output)
    assert sv.stderr.strip() == swedish and en.stderr.strip() == english


def test_a_keyed_error_keeps_its_english_message_and_its_values_are_sanitised() -> None:
    error = UnknownScope("no region '[link=x]a'").keyed("unknown_scope", code="[link=x]a\x1b[31m")
    assert error.message == "no region '[link=x]a'"  # what the API's JSON says, as before
    assert problem_text(error, "sv") == problem_text(error, "sv").replace("\x1b", "")
    assert problem_text(error, "sv").startswith("ingen region eller samverkan '\\[link=x]a")


def test_an_error_without_a_sentence_is_shown_as_its_message() -> None:
    class Odd(VptError):
        code, status_code = "odd", 400

    assert problem_text(Odd("odd [b]thing[/b]"), "sv") == "odd \\[b]thing\\[/b]"
    assert problem_text(Odd("x").keyed("no.such.sentence"), "sv") == "x"
