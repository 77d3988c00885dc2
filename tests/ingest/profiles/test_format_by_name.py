"""A format no profile can describe (Genesys conversation details) is reached where a profile is named: the CLI's
``--profile`` and the push API's ``?profile=`` (app.ingest.profile_choice)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.api.app import create_app
from app.cli import app
from app.config import Settings
from app.db.models import Call
from app.db.session import make_engine, make_session_factory
from app.ingest.profile_choice import choose
from app.ingest.profiles import UnknownProfile
from tests.auth import admin_headers

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "profiles"
SAMPLE = SAMPLES / "genesys-conversations.json"
runner = CliRunner(env={"VPT_LANG": "en"})  # these tests read the English wording (tests/cli: both)


@pytest.fixture
def queue_map(tmp_path: Path) -> Path:
    target = tmp_path / "queue_map.csv"
    shutil.copyfile(SAMPLES / "genesys-queue-map.csv", target)
    return target


def stored_calls(database_url: str) -> int:
    engine = make_engine(Settings(_env_file=None, database_url=database_url))  # type: ignore[call-arg]
    try:
        with make_session_factory(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(Call)) or 0)
    finally:
        engine.dispose()


def test_choose_names_the_format_and_keeps_the_record_kind(settings: Settings, queue_map: Path) -> None:
    settings = settings.model_copy(update={"queue_map_file": str(queue_map)})
    assert choose(settings, "calls", "genesys-conversations", b"").reader == "format genesys-conversations"  # type: ignore[union-attr]
    with pytest.raises(UnknownProfile, match="genesys-conversations"):  # the known names of calls list it
        choose(settings, "calls", "genesys", b"")
    with pytest.raises(UnknownProfile):  # a format of calls is no reader of intervals
        choose(settings, "intervals", "genesys-conversations", b"")


def test_the_cli_ingests_through_a_format_named_as_a_profile(monkeypatch, database_url, queue_map) -> None:
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    monkeypatch.setenv("VPT_QUEUE_MAP_FILE", str(queue_map))
    done = runner.invoke(app, ["ingest", "calls", str(SAMPLE), "--profile", "genesys-conversations",
                               "--source", "genesys"])
    assert done.exit_code in (0, 3), done.output  # 3: some rows of the sample are rejected on purpose
    assert "stored 6" in " ".join(done.stdout.split())
    assert stored_calls(database_url) == 6


def test_a_push_names_the_format_as_its_profile(settings: Settings, queue_map: Path, database_url: str) -> None:
    settings = settings.model_copy(update={"queue_map_file": str(queue_map)})
    with TestClient(create_app(settings), headers=admin_headers(settings)) as client:
        answer = client.post("/api/v1/ingest/calls", content=SAMPLE.read_bytes(),
                             headers={"Content-Type": "application/json"}, params={"profile": "genesys-conversations"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows_stored"] == 6
    assert stored_calls(database_url) == 6
