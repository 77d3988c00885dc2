"""The demo speaks the run's language too (issue 16, "no mixing"): its own lines were English among the Swedish
lines of the helpers it shares with the rest of ``vpt``.

The demo itself takes seconds to start and never ends on its own (tests/test_demo.py runs it), so here the
functions that word what it prints are called, in each language, and their lines scanned as
tests/cli/test_one_language.py scans a command's output. Its help is checked with every other help in
tests/cli/test_wording.py.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from app.cli import demo as demo_cli
from app.cli.demo import history_plan_line, history_ready_line, ready_lines, write_env
from app.cli.demo_history import HistoryLoaded, bar_counts, history_bar
from app.cli.wording import DEFAULT_LANG, say, use_lang
from app.kpi.glossary import Lang
from app.sim.history import plan_history
from tests.cli.vocabulary import foreign_words

REGIONS = ("SE-BD", "SE-AC", "SE-Z", "SE-Y")


@pytest.fixture
def in_lang(request: pytest.FixtureRequest) -> Iterator[Lang]:
    lang: Lang = request.param
    use_lang(lang)
    yield lang
    use_lang(DEFAULT_LANG)


def _bar(calls: int, intervals: int) -> str:
    out = io.StringIO()
    progress = history_bar(Console(file=out, width=160, force_terminal=False))
    with progress:
        task = progress.add_task(say("demo.bar_month", month="2025-10"), total=3, counts=bar_counts(calls, intervals))
        progress.update(task, advance=1)
    return out.getvalue()


def _lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo_cli, "ENV_FILE", tmp_path / ".env")
    lines = [
        history_plan_line(plan_history(date(2026, 12, 7), 24, 13), REGIONS),
        history_ready_line(HistoryLoaded(calls=412_345, intervals=26_208, seconds=41.25, cpu_seconds=70.4)),
        write_env("sqlite:///vpt-demo.db"),  # the demo's own .env: (re)written
        _bar(12_480, 1_000),
        *ready_lines(base="http://127.0.0.1:8000", hook="http://127.0.0.1:8182", month="2026-12",
                     rules=Path("vpt-demo-alerts.toml"), platform_port=8181, speed=1.0, drop_dir="vpt-demo-drop",
                     database=Path("vpt-demo.db"), regions=REGIONS, seconds=52.4),
        say("demo.interrupted"), say("demo.stopping"), say("demo.stopped"),
    ]
    (tmp_path / ".env").write_text("VPT_DATABASE_URL=postgresql://mine\n", encoding="utf-8")
    lines.append(write_env("sqlite:///vpt-demo.db"))  # someone else's .env: left alone, and said so
    return lines


@pytest.mark.parametrize("in_lang", ["sv", "en"], indirect=True)
def test_the_demos_lines_speak_only_the_language_of_the_run(in_lang: Lang, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    said = "\n".join(_lines(tmp_path, monkeypatch))
    assert foreign_words(said, in_lang) == set(), said


@pytest.mark.parametrize("in_lang", ["sv"], indirect=True)
def test_the_demo_says_its_swedish_with_swedish_numbers(in_lang: Lang, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan passes on silence too: the Swedish lines are the catalogue's, numbers grouped the Swedish way."""
    lines = _lines(tmp_path, monkeypatch)
    assert lines[0] == ("simulerar 2024-12-01 … 2026-12-06 för SE-BD, SE-AC, SE-Z, SE-Y (14 månader samtal för "
                        "samtal, 11 äldre som köstatistik per timme)")
    assert lines[1] == ("historiken klar på 41,2 s (70 s processortid i två processer): 412\u00a0345 samtal, "
                        "26\u00a0208 timrader")
    assert lines[2].startswith(f"skrev {tmp_path / '.env'}: ")
    assert "historik 2025-10" in lines[3] and "månader · 12\u00a0480 samtal, 1\u00a0000 timrader" in lines[3]
    assert "  webbvy:" in "\n".join(lines) and lines[-1].startswith(f"{tmp_path / '.env'} är någon annans")
    assert (tmp_path / ".env").read_text(encoding="utf-8") == "VPT_DATABASE_URL=postgresql://mine\n"
