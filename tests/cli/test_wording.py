"""Numbers, counts and help texts of the command line in its two languages (issue 16).

Swedish groups thousands with a no-break space and writes a decimal comma (the board report's formatter), English
a comma and a decimal point; a count agrees with its noun, and in Swedish a participle with both ("1 timme
uppdaterad", "2 timmar uppdaterade"). Help texts are Swedish (README "Using it" says why).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from app.cli import app
from app.cli.messages import MESSAGES
from app.cli.wording import NOUNS, count, counted, decimal, say
from app.kpi.glossary import UNITS
from tests.cli.vocabulary import foreign_words

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
NBSP = "\u00a0"


def test_numbers_follow_the_language() -> None:
    assert (count(12480, "sv"), count(12480, "en")) == (f"12{NBSP}480", "12,480")
    assert (decimal(0.42, 2, "sv"), decimal(0.42, 2, "en")) == ("0,42", "0.42")
    assert (decimal(1234.5, 1, "sv"), decimal(1234.5, 1, "en")) == (f"1{NBSP}234,5", "1,234.5")


@pytest.mark.parametrize(("n", "noun", "participle", "sv", "en"), [
    (1, "hour", "refreshed", "1 timme uppdaterad", "1 hour refreshed"),
    (2, "hour", "refreshed", "2 timmar uppdaterade", "2 hours refreshed"),
    (0, "hour", "rebuilt", "0 timmar återskapade", "0 hours rebuilt"),
    (1, "scope", None, "1 område", "1 scope"),
    (1, "call", "deleted", "1 samtal raderat", "1 call deleted"),  # neuter: "ett samtal raderat"
    (12480, "row", None, f"12{NBSP}480 rader", "12,480 rows"),
    (1, "rejected_row", None, "1 avvisad rad", "1 rejected row"),
    (3, "copy", "dropped", "3 kopior bortlagda", "3 copies dropped"),
])
def test_counts_agree_with_their_number(n: int, noun: str, participle: str | None, sv: str, en: str) -> None:
    assert counted(n, noun, participle, "sv") == sv
    assert counted(n, noun, participle, "en") == en


def test_the_nouns_are_the_glossarys_where_it_names_the_same_thing() -> None:
    assert NOUNS["hour"].sv[1] == UNITS["hours"].long["sv"] and NOUNS["hour"].en[1] == UNITS["hours"].long["en"]
    assert NOUNS["call"].sv[1] == UNITS["calls"].long["sv"] and NOUNS["call"].en[1] == UNITS["calls"].long["en"]


def test_every_message_has_the_same_placeholders_in_both_languages() -> None:
    def fields(text: str) -> set[str]:
        return set(re.findall(r"\{(\w+)", text))

    differ = {key: (fields(term.sv), fields(term.en)) for key, term in MESSAGES.items()
              if fields(term.sv) != fields(term.en)}
    assert differ == {}
    assert say("recomputed", "sv", hours="2 timmar") == "återskapade aggregaten för 2 timmar"


def _helps(command: Any, path: str) -> list[tuple[str, str]]:
    """Every help text of ``command`` and below it that is vpt's own (Typer's completion options are not). Typer
    carries its own copy of click, so the tree is walked by what it has, not by click's classes."""
    found = [(path, command.help or "")] if path else []
    for param in command.params:
        if param.name not in ("install_completion", "show_completion"):
            found.append((f"{path} {param.opts[0]}", getattr(param, "help", None) or ""))
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            found += _helps(sub, f"{path} {name}".strip())
    return found


#: What a help text names as it is typed or as Swedish says it too: option values (``--status pending``, ``--scope
#: admin``), a queue_log column, "API", "start", a genitive ("en regions"), Python's "entry points".
TYPED = {"pending", "delivered", "failed", "admin", "queue", "api", "start", "regions", "points"}


def test_help_texts_are_swedish() -> None:
    """One language in the help too: every command's and option's help says nothing only English says (a command
    line in backticks is typed, not read)."""
    helps = _helps(typer.main.get_command(app), "")
    assert len(helps) > 100 and all(text for _, text in helps)  # every command and option has one
    english = {where: found for where, text in helps
               if (found := sorted(foreign_words(re.sub(r"`[^`]*`", " ", text), "sv") - TYPED))}
    assert english == {}


def test_a_dry_run_reports_in_swedish_by_default(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    """The dry run is left out of the scan of tests/cli/test_one_language.py (its sample shows canonical field
    names and values): its own lines and headings are checked here."""
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    result = CliRunner(env={"VPT_LANG": None}).invoke(
        app, ["ingest", "calls", str(SAMPLES / "calls_october.csv"), "--dry-run"])
    assert result.exit_code == 0, result.output
    out = " ".join(re.sub("[┃│]", " ", result.stdout).split())
    assert out.startswith("provkörning calls_october.csv (samtal): inget sparat; skulle spara poster läst med ")
    assert "lästa rader 14: 14 poster, 0 avvisade, 0 varningar på 0 poster; poster från 2025-10-01 08:00 " in out
    assert "Region Månad Inkommande Besvarade Avbrutna Kön full Svarsfrekvens Medelväntetid Servicenivå" in out
    assert "66,7 %" in out and "66.7" not in out
