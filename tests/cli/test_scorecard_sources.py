"""SPEC §5 in ``vpt scorecard``'s terminal table: under the table, each scope's sources and how far each has
delivered, in the table's language, Swedish time to the minute as the command line writes its instants, within
100 columns; a source's name printed literally (no Rich markup, no escape sequence). Both databases.

Västerbotten (SE-AC) has calls of ``platform-norra`` up to one that arrived at 10:15 on 3 October 2025 and of
``sim-history`` up to 08:30 on the 20th; Norrbotten (SE-BD) only of ``-history`` (12:00 on the 5th).
"""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.cli import app as cli_app
from app.cli import data as cli_data
from app.config import Settings
from app.db.models import Source
from tests.helpers import ingest_text

HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"
runner = CliRunner()


def _deliver(factory: sessionmaker[Session], settings: Settings, source: str, *rows: tuple[str, str, str]) -> None:
    """(call id, region, local arrival) -> calls answered a minute after they arrived, from ``source``."""
    content = HEADER + "".join(f"{key},{region},q,{arrived}+02:00,answered,{arrived[:14]}"
                               f"{int(arrived[14:16]) + 1:02d}:00+02:00,\n" for key, region, arrived in rows)
    assert ingest_text(factory, settings, "calls", content, source=source).rows_rejected == 0


def _table(monkeypatch: pytest.MonkeyPatch, database_url: str, *args: str) -> str:
    """``vpt scorecard 2025-10`` in a 100-column terminal without colour, as the user sees it."""
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    terminal = Console(file=io.StringIO(), width=100, force_terminal=True, color_system=None)
    monkeypatch.setattr(cli_data, "console", terminal)
    result = runner.invoke(cli_app, ["scorecard", "2025-10", *args])
    assert result.exit_code == 0, result.output
    return terminal.file.getvalue()  # type: ignore[attr-defined]


def test_the_table_names_each_scope_s_sources_and_how_far_they_delivered(
    session_factory: sessionmaker[Session], settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _deliver(session_factory, settings, "platform-norra", ("p1", "SE-AC", "2025-10-03T10:15"))
    _deliver(session_factory, settings, "sim-history", ("s1", "SE-AC", "2025-10-01T09:00"),
             ("s2", "SE-AC", "2025-10-20T08:30"))
    _deliver(session_factory, settings, "-history", ("h1", "SE-BD", "2025-10-05T12:00"))
    out = _table(monkeypatch, database_url)
    block = out[out.index("Källor:"):].splitlines()
    assert block == [
        "Källor:",
        "  SE-AC",
        "    platform-norra (fil, levererat till 2025-10-03 10:15)",
        "    sim-history (fil, levererat till 2025-10-20 08:30)",
        "  SE-BD",
        "    -history (fil, levererat till 2025-10-05 12:00)",
        "  norra",  # a collaboration: its members' sources, each once
        "    -history (fil, levererat till 2025-10-05 12:00)",
        "    platform-norra (fil, levererat till 2025-10-03 10:15)",
        "    sim-history (fil, levererat till 2025-10-20 08:30)",
    ]
    english = _table(monkeypatch, database_url, "--lang", "en")
    assert "Sources:\n  SE-AC\n    platform-norra (file, delivered until 2025-10-03 10:15)\n" in english
    assert max(len(line) for line in (out + english).splitlines()) <= 100


def test_a_source_name_cannot_steer_the_terminal(
    session_factory: sessionmaker[Session], settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No new source may take such a name (app.kpi.records.SOURCE_NAME_PATTERN), but a source stored before the
    rule keeps its name and its deliveries, so the table must not trust it: an escape sequence is shown as
    ``\\x1b``, Rich markup as its brackets."""
    name = "x\x1b[2J[bold]y[/bold][link=https://e.x]z"
    with session_factory.begin() as session:
        session.add(Source(name=name, kind="file"))
    _deliver(session_factory, settings, name, ("e1", "SE-AC", "2025-10-03T10:15"))
    out = _table(monkeypatch, database_url)
    assert "\x1b" not in out
    assert "    x\\x1b[2J[bold]y[/bold][link=https://e.x]z (fil, levererat till 2025-10-03 10:15)\n" in out
