"""Test fixtures: every storage test runs on SQLite and on a real PostgreSQL started here.

Each test gets its own freshly migrated database: a copy of a migrated SQLite file, or a PostgreSQL
database cloned from a migrated template. Tests therefore commit for real, exactly like production
code does, and still never see each other's data.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory
from tests.hygiene import ProcessState
from tests.pgserver import PostgresServer, PostgresUnavailable

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
if not FIXTURES.exists():  # a checkout whose sibling folder has another name
    FIXTURES = Path(os.environ.get("VPT_FIXTURES_DIR", "../shared/fixtures")).resolve()

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
_counter = itertools.count()


@pytest.fixture(autouse=True)
def process_state_put_back() -> Iterator[None]:
    """A test that leaves process-wide state changed (loggers, environment, working directory) fails here, not a
    later test in the same worker: see tests/hygiene.py."""
    before = ProcessState.now()
    yield
    leaks = ProcessState.now().leaks_since(before)
    assert not leaks, f"this test left process state changed: {leaks}"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not FIXTURES.exists():
        pytest.fail(f"reference fixtures not found at {FIXTURES}: clone with ../shared beside the repo")
    return FIXTURES


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Admin URL of a PostgreSQL server with a migrated template database ``vpt_template``."""
    external = os.environ.get("VPT_TEST_POSTGRES_URL")
    server = None
    if external:
        admin_url = external
    else:
        server = start_postgres()
        admin_url = server.admin_url
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS vpt_template"))
        conn.execute(text("CREATE DATABASE vpt_template"))
    template_url = admin_url.rsplit("/", 1)[0] + "/vpt_template"
    upgrade(template_url)
    engine.dispose()
    yield admin_url
    if server is not None:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty (reference data only) database of each kind."""
    with fresh_database(request, tmp_path, request.param) as url:
        yield url


def start_postgres() -> PostgresServer:
    """A throwaway server; in CI one that cannot start fails the test, elsewhere the test is skipped."""
    try:
        return PostgresServer.start()
    except PostgresUnavailable as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL could not be started in CI: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")


@contextmanager
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path, kind: str) -> Iterator[str]:
    """A new migrated database of ``kind`` (a copy of the SQLite template, or a clone of the PostgreSQL one),
    dropped afterwards: for a test that needs a second one beside ``database_url``."""
    number = next(_counter)
    if kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / f"test_{number}.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    admin_url: str = request.getfixturevalue("postgres_server")
    name = f"vpt_test_{os.getpid()}_{number}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE vpt_template'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Tests read right after they write: the scorecard sees every ingest at once (the 1 s version TTL of
    # production is tested on its own in tests/scorecard/test_cache.py).
    return Settings(database_url=database_url, scorecard_version_ttl_seconds=0,  # type: ignore[call-arg]
                    _env_file=None)


@pytest.fixture
def session_factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings)
    yield make_session_factory(engine)
    engine.dispose()
