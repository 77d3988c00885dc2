"""A source's name is held to one rule wherever one is named (app.kpi.records.SOURCE_NAME_PATTERN): the API, a
pull source's config, a key bound to sources, ``VPT_DEFAULT_SOURCE`` and, as the last guard, the making of a new
source by a file ingest (``vpt ingest … --source``). A name is stored once and shown in URLs, logs, exports and
terminals. Python's ``re.match`` lets ``$`` match before a final newline: every check takes the whole name."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.cli import app as cli_app
from app.config import Settings
from app.db.models import Call, IngestRun, Source
from app.ingest.runs import InvalidSourceName
from app.ingest.sources import PullSourceConfig, SourceConfigError
from app.scorecard.breakdowns import parse_date
from app.scorecard.service import InvalidMonth, parse_month
from tests.helpers import ingest_text

CALLS = ("call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"
         "c1,SE-AC,q,2025-10-03T10:15:00+02:00,answered,2025-10-03T10:16:00+02:00,\n")
REFUSED = ["two words", "a/b", "files\n", "x\x1b[2J", "é", "a" * 129]


def _count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("name", REFUSED)
def test_a_file_ingest_cannot_make_a_source_outside_the_rule(
    session_factory: sessionmaker[Session], settings: Settings, name: str
) -> None:
    with pytest.raises(InvalidSourceName, match="a source name is 1–128 characters") as refused:
        ingest_text(session_factory, settings, "calls", CALLS, source=name)
    assert "\x1b" not in str(refused.value) and "\n" not in str(refused.value)
    assert (_count(session_factory, Source), _count(session_factory, Call), _count(session_factory, IngestRun)) \
        == (0, 0, 0)


def test_a_source_stored_before_the_rule_keeps_its_deliveries(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with session_factory.begin() as session:
        session.add(Source(name="old name", kind="file"))
    assert ingest_text(session_factory, settings, "calls", CALLS, source="old name").rows_stored == 1
    assert ingest_text(session_factory, settings, "calls", CALLS, source="norra-export.v2_1").rows_stored == 1


def test_the_default_source_is_held_to_the_rule() -> None:
    with pytest.raises(ValidationError, match="default_source"):
        Settings(default_source="two words", _env_file=None)  # type: ignore[call-arg]
    assert Settings(default_source="files.2", _env_file=None).default_source == "files.2"  # type: ignore[call-arg]


def test_the_command_line_says_why_and_stores_nothing(
    database_url: str, settings: Settings, session_factory: sessionmaker[Session], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    delivery = tmp_path / "calls.csv"
    delivery.write_text(CALLS)
    result = CliRunner().invoke(cli_app, ["ingest", "calls", str(delivery), "--source", "region x/2025"])
    assert result.exit_code != 0
    assert "a source name is 1–128 characters" in result.output and "Traceback" not in result.output
    assert _count(session_factory, Source) == 0


def test_a_name_with_a_final_newline_is_refused_everywhere() -> None:
    """(A key's names are stripped before they are checked.)"""
    with pytest.raises(SourceConfigError, match="name must be"):
        PullSourceConfig.from_mapping({"name": "platform\n", "kind": "calls", "base_url": "http://127.0.0.1:1"})
    with pytest.raises(InvalidMonth):
        parse_month("2025-10\n")
    with pytest.raises(InvalidMonth):
        parse_date("2025-10-01\n")
