"""No command creates an empty database by connecting to one that is not there (issue 16 part 4): it says "run `vpt
db upgrade`" and exits 1; `vpt db upgrade` itself still creates it. And `vpt` reads VPT_DATABASE_URL from a .env in
the working directory, which is how the demo's database is found."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from app.cli import app

runner = CliRunner()
#: The loggers app.logs.setup_logging turns down besides the root.
QUIETED = ("apscheduler.executors", "apscheduler.scheduler", "httpx", "httpcore")


@pytest.fixture
def newcomer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """An empty working directory and no VPT_ variable: what a newcomer's shell has.

    The process's logging is put back afterwards: ``vpt serve`` sets it up (a root handler on stderr, INFO)
    before it finds no database, and left in place every later in-process run of this test process printed
    English log events on its stderr (tests/cli/test_one_language.py's Swedish run failed after this file)."""
    import os

    for name in [n for n in os.environ if n.startswith("VPT_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers = root.handlers[:]
    levels = {logger: logger.level for logger in map(logging.getLogger, ("", *QUIETED))}
    try:
        yield tmp_path
    finally:
        root.handlers[:] = handlers
        for logger, level in levels.items():
            logger.setLevel(level)


@pytest.mark.parametrize("command", [
    ["scorecard", "2025-10"], ["report", "2025-10", "--out", "r.html"],
    ["keys", "create", "--name", "x", "--scope", "read"], ["keys", "list"], ["targets", "list"], ["alerts", "list"],
    ["sources", "list"],
    ["serve", "--host", "256.0.0.0"],  # a bind that cannot work: the old code failed there instead of hanging
])
def test_a_command_without_a_database_says_run_vpt_db_upgrade_and_creates_no_file(newcomer: Path,
                                                                                   command: list[str]) -> None:
    result = runner.invoke(app, command)
    assert result.exit_code == 1, result.output
    assert "ingen databas på sqlite:///./vpt.db: kör `vpt db upgrade`" in result.stderr
    assert not (newcomer / "vpt.db").exists()
    english = runner.invoke(app, ["--lang", "en", *command])
    assert english.exit_code == 1 and "no database at sqlite:///./vpt.db: run `vpt db upgrade`" in english.stderr
    assert not (newcomer / "vpt.db").exists()


def test_an_empty_sqlite_file_is_refused_too_and_left_as_it_was(newcomer: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (newcomer / "empty.db").write_bytes(b"")
    monkeypatch.setenv("VPT_DATABASE_URL", "sqlite:///empty.db")
    result = runner.invoke(app, ["scorecard", "2025-10"])
    assert result.exit_code == 1 and "saknar vpt-monitors schema: kör `vpt db upgrade`" in result.stderr
    assert (newcomer / "empty.db").read_bytes() == b""


@pytest.fixture
def empty_postgres(postgres_server: str) -> Iterator[str]:
    """A PostgreSQL database that exists but was never migrated."""
    engine = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS vpt_no_schema"))
        conn.execute(text("CREATE DATABASE vpt_no_schema"))
    try:
        yield postgres_server.rsplit("/", 1)[0] + "/vpt_no_schema"
    finally:
        with engine.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS vpt_no_schema WITH (FORCE)"))
        engine.dispose()


@pytest.mark.postgres
def test_a_postgres_database_never_migrated_is_refused(newcomer: Path, monkeypatch: pytest.MonkeyPatch,
                                                       empty_postgres: str) -> None:
    monkeypatch.setenv("VPT_DATABASE_URL", empty_postgres)
    result = runner.invoke(app, ["--lang", "en", "keys", "list"])
    assert result.exit_code == 1 and "has no vpt-monitor schema: run `vpt db upgrade`" in result.stderr
    assert "vpt_no_schema" in result.stderr


def test_vpt_db_upgrade_still_creates_it_and_a_dot_env_names_it(newcomer: Path) -> None:
    (newcomer / ".env").write_text("VPT_DATABASE_URL=sqlite:///mine.db\n")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert (newcomer / "mine.db").exists() and not (newcomer / "vpt.db").exists()
    listed = runner.invoke(app, ["targets", "list"])
    assert listed.exit_code == 0, listed.stderr


def test_the_demo_writes_its_dot_env_but_leaves_someone_elses_alone(newcomer: Path) -> None:
    from app.cli.demo import write_env
    from app.cli.wording import use_lang

    use_lang(None)  # a run's language is a module global: an earlier test's `--lang en` must not carry over
    said = write_env("sqlite:////somewhere/vpt-demo.db")
    assert "skrev" in said and "VPT_DATABASE_URL=sqlite:////somewhere/vpt-demo.db" in (newcomer / ".env").read_text()
    assert "skrev" in write_env("sqlite:////elsewhere/vpt-demo.db")  # its own file: rewritten for this run
    assert "elsewhere" in (newcomer / ".env").read_text()
    (newcomer / ".env").write_text("VPT_DATABASE_URL=postgresql+psycopg://prod/vpt\n")
    said = write_env("sqlite:////somewhere/vpt-demo.db")
    assert "orörd" in said and "lägg till VPT_DATABASE_URL=sqlite:////somewhere/vpt-demo.db" in said
    assert (newcomer / ".env").read_text() == "VPT_DATABASE_URL=postgresql+psycopg://prod/vpt\n"
