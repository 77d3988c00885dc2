"""The command line for people: the scorecard readable at 120 columns with no header cut, thousands separators,
"1 hour" / "2 hours", and a progress bar only for an ingest that takes a while on a terminal."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console
from typer.testing import CliRunner

from app.cli import app as cli_app
from app.cli import data as cli_data
from app.cli.progress import IngestProgress
from app.cli.scorecard_table import HYPHENATION, TABLE_HEADERS
from app.cli.wording import counted, run_summary
from tests.scorecard.documents import document as typed

GOLDEN = Path(__file__).parent / "scorecard" / "golden"
runner = CliRunner()


def words_of_headers(lang: str, keys: list[str]) -> list[str]:
    return [word for key in keys for word in TABLE_HEADERS[lang][key].split(" ")]


def assert_whole(out: str, words: list[str], width: int) -> None:
    """Every line fits; no "…"; every header word is there whole or broken only at its Swedish hyphen."""
    assert max(len(line) for line in out.splitlines()) <= width, out
    assert "…" not in out
    for word in words:
        broken = HYPHENATION.get(word.lower())
        if word not in out:
            assert broken is not None, f"{word!r} cut: {out}"
            head = broken.split("-", 1)[0]
            assert f"{word[:len(head)]}-" in out and word[len(head):] in out, (word, out)


def render(document, lang: str, width: int, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    console = Console(file=io.StringIO(), width=width, color_system=None)
    monkeypatch.setattr(cli_data, "console", console)
    cli_data._print_table(document, lang)
    return console.file.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_widest_table_fits_120_columns_with_whole_headers(lang, monkeypatch):
    """A month in progress with a forecast and the needed answer rate: every column shown."""
    document = typed(json.loads((GOLDEN / "rich-in-progress-2025-10.json").read_text()))
    out = render(document, lang, 120, monkeypatch)
    keys = ["name", "offered", "answered", "answer_rate", "mean_wait", "service_level", "abandoned", "rejected",
            "hours", "remaining", "needed"]
    assert_whole(out, words_of_headers(lang, keys), 120)
    assert "Norra sjukvårdsregionen" in out.replace("\n", " ") or "sjukvårdsregionen" in out
    assert ("2\u00a0618" if lang == "sv" else "2,618") in out  # thousands separated (a no-break space in Swedish)
    wide = render(document, lang, 200, monkeypatch)
    assert_whole(wide, words_of_headers(lang, keys), 200)
    assert "-\n" not in wide and all(f"{w[:3]}-" not in wide for w in ("Svars", "Medel"))  # room: no hyphen


def test_vpt_scorecard_in_a_120_column_terminal_has_whole_headers(monkeypatch, database_url, fixtures_dir):
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    for kind, name in (("calls", "calls_october.csv"), ("intervals", "intervals_october.csv")):
        assert runner.invoke(cli_app, ["ingest", kind, str(fixtures_dir / name)]).exit_code == 0
    terminal = Console(file=io.StringIO(), width=120, force_terminal=True, color_system=None)  # a 120-column tty
    monkeypatch.setattr(cli_data, "console", terminal)
    result = runner.invoke(cli_app, ["scorecard", "2025-10"])
    assert result.exit_code == 0, result.output
    keys = ["name", "offered", "answered", "answer_rate", "mean_wait", "service_level", "abandoned", "rejected",
            "hours"]
    out = terminal.file.getvalue()  # type: ignore[attr-defined]
    assert "Västerbotten (SE-AC)" in out
    assert_whole(out, words_of_headers("sv", keys), 120)


def test_hours_refreshed_agree_with_their_number(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    head = ("region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
            "answered_within_sl,sl_seconds,wait_answered_seconds_sum,wait_abandoned_seconds_sum,"
            "longest_wait_seconds,talk_seconds_sum,wrap_seconds_sum")
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    one.write_text(head + "\nSE-AC,vpt,2025-10-01T10:00:00,60,4,3,1,0,0,3,600,300,30,200,600,60\n")
    two.write_text(head + "\nSE-AC,vpt,2025-10-02T10:00:00,60,4,3,1,0,0,3,600,300,30,200,600,60"
                          "\nSE-AC,vpt,2025-10-02T11:00:00,60,4,3,1,0,0,3,600,300,30,200,600,60\n")
    first = runner.invoke(cli_app, ["ingest", "intervals", str(one)])  # Swedish, the default
    assert first.exit_code == 0 and "; 1 timme uppdaterad på" in " ".join(first.stdout.split())
    second = runner.invoke(cli_app, ["--lang", "en", "ingest", "intervals", str(two)])
    assert second.exit_code == 0 and "; 2 hours refreshed in" in " ".join(second.stdout.split())


def test_counts_have_thousands_separators_and_agree():
    assert tuple(counted(n, noun, lang="en") for n, noun in ((1, "hour"), (2, "hour"), (0, "page"), (12480, "row"))
                 ) == ("1 hour", "2 hours", "0 pages", "12,480 rows")
    assert tuple(counted(n, noun, lang="sv") for n, noun in ((1, "hour"), (2, "hour"), (0, "page"), (12480, "row"))
                 ) == ("1 timme", "2 timmar", "0 sidor", "12\u00a0480 rader")
    report = SimpleNamespace(rows_read=12480, rows_stored=12000, rows_updated=0, rows_unchanged=480,
                             rows_rejected=0, warnings=1, hours_refreshed=1, seconds=3.25)
    assert run_summary(report, "en") == ("read 12,480, stored 12,000, updated 0, unchanged 480, rejected 0, "
                                         "warnings 1; 1 hour refreshed in 3.25 s")
    assert run_summary(report, "sv") == ("lästa 12\u00a0480, sparade 12\u00a0000, uppdaterade 0, oförändrade 480, "
                                         "avvisade 0, varningar 1; 1 timme uppdaterad på 3,25 s")


def test_the_progress_bar_waits_a_couple_of_seconds_and_needs_a_terminal():
    now = [0.0]
    terminal = Console(file=io.StringIO(), width=100, force_terminal=True)
    with IngestProgress(terminal, "big.csv", 10_000, clock=lambda: now[0]) as advance:
        advance(1_000)
        assert terminal.file.getvalue() == ""  # type: ignore[attr-defined]  # a quick ingest shows nothing
        now[0] = 2.5
        advance(1_000)
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal.file.getvalue())  # type: ignore[attr-defined]
    assert "big.csv" in shown
    now[0] = 0.0
    piped = Console(file=io.StringIO(), width=100)
    with IngestProgress(piped, "big.csv", 10_000, clock=lambda: now[0]) as advance:
        now[0] = 10.0
        advance(5_000)
    assert piped.file.getvalue() == ""  # type: ignore[attr-defined]
