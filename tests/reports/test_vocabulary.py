"""Issue 16, part 2: one vocabulary on every surface, kept in app/kpi/glossary.py and app/kpi/catalog.py.

Before, Grafana said "Målet i fara" where the exports said "i fara", the forecast was "Väntade samtal" (read as
calls that had waited) on a dashboard and "Prognos återstående samtal" in the export, the Ingest health dashboard
and the CLI's tables were English among Swedish ones, metric HELP mixed the languages and the XLSX's data-quality
notes were English in a Swedish file. A surface that says one of the glossary's superseded words fails here:
dashboards, alerting rules, web templates (when app/web/templates exists), the report, export, alert-message
and CLI modules.
"""

from __future__ import annotations

import ast
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook

from app.kpi.counts import Counts
from app.kpi.formulas import data_quality_notes
from app.kpi.glossary import (
    CLI_TITLES,
    NOTES,
    SUPERSEDED,
    TERMS,
    note_in,
    superseded_pattern,
)
from app.reports.columns import COLUMNS, localized_notes
from app.reports.exports import scorecard_csv, scorecard_xlsx
from tests.reports.test_exports import closed_shape, read_csv
from tests.scorecard.documents import document as typed

ROOT = Path(__file__).resolve().parents[2]
PATTERN = superseded_pattern()
#: Modules whose string literals people read: the report, the exports, the terminal, alert texts, the CLI.
MODULES = sorted([
    *(ROOT / "app" / "reports").glob("*.py"),
    ROOT / "app" / "alerts" / "messages.py",
    ROOT / "app" / "alerts" / "message.py",
    *(ROOT / "app" / "cli").glob("*.py"),
    *(ROOT / "app" / "web").rglob("*.py"),
])
TEMPLATES = ROOT / "app" / "web" / "templates"
#: Every possible data-quality note (each condition of app.kpi.formulas.data_quality_notes at once).
ALL_NOTES_COUNTS = Counts(reported_offered=12, interval_counted_offered=10, answered_sl_unknown=3,
                          answered_wait_unknown=4, abandoned_wait_unknown=1, month_records=2, day_records=5,
                          call_records=7, interval_records=9)


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON/YAML value, keys excluded."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def dashboard_texts(board: dict[str, Any]) -> Iterator[str]:
    """What Grafana shows: everything but the queries (a PromQL expression is not read by people)."""
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("expr", "definition", "query", "datasource")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    yield from strings(strip(board))


def rule_texts(rules: dict[str, Any]) -> Iterator[str]:
    for group in rules["groups"]:
        for rule in group["rules"]:
            yield from strings(rule.get("annotations", {}))


def literals(path: Path) -> Iterator[tuple[int, str]]:
    """String literals of a module (f-string parts included), docstrings left out: they explain, even history."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def offenders(texts: Iterator[tuple[str, str]]) -> list[str]:
    return [f"{where}: {match.group(0)!r} (say the glossary's {SUPERSEDED[match.group(0).lower()]})"
            for where, text in texts for match in PATTERN.finditer(text)]


def surfaces() -> Iterator[tuple[str, str]]:
    for path in sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json")):
        yield from ((path.name, text) for text in dashboard_texts(json.loads(path.read_text(encoding="utf-8"))))
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "rules.yml").read_text(encoding="utf-8"))
    yield from (("rules.yml", text) for text in rule_texts(rules))
    if TEMPLATES.is_dir():
        for path in sorted(p for p in TEMPLATES.rglob("*") if p.is_file()):
            yield (str(path.relative_to(ROOT)), path.read_text(encoding="utf-8", errors="replace"))
    for path in MODULES:
        yield from ((f"{path.relative_to(ROOT)}:{line}", text) for line, text in literals(path))


def test_no_surface_says_a_superseded_word() -> None:
    assert offenders(surfaces()) == []


def test_the_scan_finds_the_old_words_and_leaves_the_decided_ones() -> None:
    """The scan would have failed on the dashboards and the exports of before (their words, verbatim)."""
    before = [("tillganglighet.json", "Väntade samtal resten av månaden"), ("tillganglighet.json", "Målet i fara"),
              ("columns.py", "Prognos återstående samtal"), ("board_text.py", "av de återstående samtalen"),
              ("messages.py", "Krävs resten av månaden (svarsfrekvens)"), ("intraday.json", "Besvarade idag"),
              ("rules.yml", "missades förra månaden"), ("terminal", "på väg"), ("export", "ouppnåeligt"),
              ("ingest-health.json", "Ingest health"), ("collector.py", "Calls forecast for the rest of the month")]
    assert len(offenders(iter(before))) == len(before)
    decided = [capitalised_long("expected_calls"), "I fara", "Behövd svarsfrekvens", "Besvarade i dag",
               "missades föregående månad", "i fas", "kan inte nås", "Inläsning och drift", "väntetid",
               "Medelväntetid för besvarade samtal"]
    assert offenders(("decided", text) for text in decided) == []


def capitalised_long(key: str) -> str:
    text = TERMS[key].long.sv
    return text[:1].upper() + text[1:]


def test_a_web_template_is_scanned_markup_and_all(tmp_path: Path) -> None:
    """app/web/templates/** (the web view, another part of issue 16) is scanned whenever it exists, as text."""
    page = tmp_path / "page.html"
    page.write_text("<th>Väntade samtal</th><td>Förväntade samtal</td>", encoding="utf-8")
    assert len(offenders(iter([(page.name, page.read_text(encoding="utf-8"))]))) == 1


def test_every_glossary_word_has_both_languages_and_no_two_concepts_share_one() -> None:
    for table in (TERMS,):
        for key, words in table.items():
            for term in (words.short, words.long):
                assert term.sv.strip() and term.en.strip(), key
    shorts = [words.short.sv.lower() for words in TERMS.values()]
    assert len(shorts) == len(set(shorts))
    for word, concept in SUPERSEDED.items():
        assert word == word.lower() and concept, word
        assert not PATTERN.fullmatch(TERMS.get(concept, TERMS["target"]).short.sv)  # a decided word is no synonym
    assert TERMS["expected_calls"].short.sv == "förväntade samtal"
    assert {title.sv for title in CLI_TITLES.values()}.isdisjoint({title.en for title in CLI_TITLES.values()} -
                                                                    {"Status"})


def test_every_data_quality_note_has_a_swedish_wording() -> None:
    notes = data_quality_notes(ALL_NOTES_COUNTS)
    assert len(notes) == len(NOTES) == 6  # one per condition: the glossary knows them all
    swedish = [note_in(note, "sv") for note in notes]
    assert swedish == [NOTES[key].sv.format(reported=12, counted=10, count=n) for key, n in (
        ("offered_mismatch", 0), ("sl_unknown", 3), ("wait_unknown", 5), ("month_records", 2), ("day_records", 5),
        ("mixed_sources", 0))]
    assert [note_in(note, "en") for note in notes] == notes
    assert note_in("a note from a newer server", "sv") == "a note from a newer server"


def with_notes() -> Any:
    shape = closed_shape()
    shape["scopes"][0]["data_quality"] = data_quality_notes(ALL_NOTES_COUNTS)
    return typed(shape)


def test_the_swedish_xlsx_and_csv_say_the_data_quality_notes_in_swedish() -> None:
    document = with_notes()
    sheet = load_workbook(io.BytesIO(scorecard_xlsx(document, "sv"))).worksheets[0]
    cells = [str(cell.value) for row in sheet.iter_rows() for cell in row if cell.value]
    notes = next(text for text in cells if "intervallrapporterna anger 12 inkommande samtal" in text)
    assert "interval reports" not in notes and "percentiler för väntetid beräknas inte" in notes
    row = read_csv(scorecard_csv(document, "sv"), ";")[0]
    assert row["Datakvalitet"].startswith("intervallrapporterna anger 12 inkommande samtal")
    english = read_csv(scorecard_csv(document, "en"), ",")[0]
    assert english["Data quality"].startswith("interval reports state 12 offered calls")
    scope = document.scopes[0]
    assert localized_notes((list(scope.data_quality), scope.completeness, "2025-10"), "sv")[0].startswith(
        "intervallrapporterna")
    column = next(c for c in COLUMNS if c.key == "data_quality")
    assert "engelska" not in column.explanation("sv")


def test_the_forecast_is_expected_calls_in_every_language() -> None:
    column = next(c for c in COLUMNS if c.key == "forecast_remaining_offered")
    assert column.label("sv") == "Förväntade samtal resten av månaden"
    assert column.label("en") == "Expected calls in the rest of the month"


def test_cli_tables_take_their_titles_from_the_glossary() -> None:
    """A `Table(title="...")` with a literal English title (was "Audit log", "Alerts") bypasses the glossary."""
    literal_titles = []
    for path in (ROOT / "app" / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Table":
                for keyword in node.keywords:
                    if keyword.arg == "title" and isinstance(keyword.value, ast.Constant):
                        literal_titles.append(f"{path.name}:{node.lineno} {keyword.value.value!r}")
    english = [title for title in literal_titles if not re.search(r"[åäöÅÄÖ]", title)
               and title.split(" ", 1)[0].split(":")[0] not in ("dry_run.py", "demo.py", "staffing.py")]
    assert english == []


@pytest.mark.parametrize("module", ["collector.py", "alerts.py"])
def test_metric_help_is_english_only(module: str) -> None:
    """HELP texts are for engineers reading /metrics: English, never half Swedish ("Answer rate (Svarsfrekvens)")."""
    path = ROOT / "app" / "metrics" / module
    swedish = [(line, text) for line, text in literals(path) if re.search(r"[åäöÅÄÖ]", text)]
    assert swedish == []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    mixed = [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
             and ".sv" in ast.unparse(node)]
    assert mixed == []
