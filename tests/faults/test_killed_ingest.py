"""`vpt ingest calls BIGFILE` killed with SIGKILL in the middle of its one transaction, then run again.

A delivery is one transaction: the run row, the records, the rejected rows, the refreshed hourly and monthly
aggregates and the running totals commit together. So a process killed half-way through leaves nothing at
all behind (every table holds exactly what it held before, not even a ``running`` run: the run row is
written inside the same transaction), and a second run of the same command ends with the figures of an
uninterrupted ingest. The pull counterpart (a `vpt worker` killed mid-pull) is in tests/sim/test_platform.py.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import Call, IngestRun, Source
from app.db.session import make_engine, make_session_factory
from app.ingest.loader import INGEST_LOCK_KEY
from app.sim.model import SimConfig, simulate
from app.sim.writers import write_calls_csv
from tests.conftest import fresh_database
from tests.helpers import ingest, scorecard

pytestmark = pytest.mark.slow

MONTHS = ["2025-07", "2025-08", "2025-09"]
KILL_AT_SHARE = 0.4  # of the file read: parsing and staging are under way, the run row is flushed


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """Three months of the four Norra regions from the simulator: ~90 000 calls, ~12 MB, a few seconds."""
    path = tmp_path_factory.mktemp("big") / "calls_q3.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        rows = write_calls_csv(simulate(SimConfig(), date(2025, 7, 1), date(2025, 10, 1)), stream)
    return path, rows


@pytest.fixture
def reference_url(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second fresh database of the same kind, for the uninterrupted ingest."""
    with fresh_database(request, tmp_path, "sqlite" if database_url.startswith("sqlite") else "postgresql") as url:
        yield url


def row_counts(factory: sessionmaker[Session]) -> dict[str, int]:
    """Rows of every table of the schema, read from the database itself."""
    with factory() as session:
        metadata = MetaData()
        metadata.reflect(bind=session.connection())
        return {name: session.scalar(select(func.count()).select_from(table)) or 0
                for name, table in sorted(metadata.tables.items())}


def file_position(pid: int, path: Path) -> int | None:
    """How far process ``pid`` has read ``path`` (Linux /proc), or None while it has not opened it."""
    fds = Path(f"/proc/{pid}/fd")
    try:
        for fd in fds.iterdir():
            try:
                if Path(os.readlink(fd)) == path:
                    info = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
                    return int(next(line.split()[1] for line in info.splitlines() if line.startswith("pos:")))
            except (FileNotFoundError, ProcessLookupError):
                continue
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def transaction_open(settings: Settings) -> bool:
    """Whether an ingest holds its transaction open now: PostgreSQL shows its advisory lock, SQLite refuses a
    second writer."""
    if settings.is_sqlite:
        conn = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"), timeout=0)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.rollback()
            return False
        except sqlite3.OperationalError as exc:
            return "locked" in str(exc)
        finally:
            conn.close()
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return bool(conn.scalar(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = :key"
            ), {"key": INGEST_LOCK_KEY}))
    finally:
        engine.dispose()


def vpt_ingest(settings: Settings, path: Path, cwd: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {"VPT_DATABASE_URL": settings.database_url, "VPT_INGEST_BATCH_ROWS": "5000"}
    return subprocess.Popen([sys.executable, "-m", "app", "ingest", "calls", str(path)], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def documents(factory: sessionmaker[Session], settings: Settings) -> dict[str, Any]:
    return {month: scorecard(factory, settings, month) for month in MONTHS}


@pytest.mark.skipif(not Path("/proc/self/fdinfo").exists(), reason="needs Linux /proc to see the read position")
def test_an_ingest_killed_mid_transaction_leaves_nothing_and_a_rerun_gives_the_uninterrupted_figures(
    big_file: tuple[Path, int], settings: Settings, session_factory: sessionmaker[Session], reference_url: str,
    tmp_path: Path,
) -> None:
    path, rows = big_file
    before = row_counts(session_factory)
    size = path.stat().st_size

    killed = vpt_ingest(settings, path, tmp_path)
    try:
        deadline = time.monotonic() + 300  # the process imports the app first: seconds, more under load
        position = None
        while time.monotonic() < deadline and killed.poll() is None:
            position = file_position(killed.pid, path)
            if position is not None and position >= size * KILL_AT_SHARE:
                # Frozen while it is judged, so it cannot commit between the check and the kill (however long a
                # loaded machine takes over the check); let go again if its transaction is not open yet.
                killed.send_signal(signal.SIGSTOP)
                if transaction_open(settings):
                    break
                killed.send_signal(signal.SIGCONT)
            time.sleep(0.005)
        assert killed.poll() is None, "the ingest ended before it could be killed: make the file bigger"
        position = file_position(killed.pid, path)
        assert position is not None and position < size, f"read {position} of {size} bytes"
        assert transaction_open(settings)
        killed.send_signal(signal.SIGKILL)
        assert killed.wait(timeout=10) == -signal.SIGKILL
    finally:
        if killed.poll() is None:
            killed.kill()
            killed.wait()

    # Nothing of the killed delivery is visible: no calls, no aggregates, no totals, no run of any status.
    assert row_counts(session_factory) == before

    rerun = vpt_ingest(settings, path, tmp_path)
    output = rerun.communicate(timeout=600)[0].decode(errors="replace")  # a minute or so when the machine is busy
    assert rerun.returncode == 0, output

    reference = make_session_factory(make_engine(Settings(database_url=reference_url,
                                                          _env_file=None)))  # type: ignore[call-arg]
    report = ingest(reference, settings, "calls", path)
    assert report.rows_stored == rows and report.rows_rejected == 0

    with session_factory() as session:
        runs = list(session.scalars(select(IngestRun)))
        assert [(r.status, r.rows_read, r.rows_stored) for r in runs] == [("succeeded", rows, rows)]
        assert session.scalar(select(func.count()).select_from(Call)) == rows
        source = session.scalar(select(Source).where(Source.name == settings.default_source))
        assert source is not None and source.rows_read_total == rows and source.runs_succeeded_total == 1
    assert documents(session_factory, settings) == documents(reference, settings)
    counts, expected = row_counts(session_factory), row_counts(reference)
    assert counts == expected
    assert counts["monthly_aggregates"] > 0 and counts["hourly_aggregates"] > 0
