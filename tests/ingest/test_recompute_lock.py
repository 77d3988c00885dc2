"""Ingest and recompute share one lock, and nobody waits for it forever (issue 12, item 4), on both databases.

The lock is held for real from another connection and thread (or another process), as a long recompute or push
would hold it; the waiting side runs through the real API, service or CLI.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.api.app import create_app
from app.cli import app as cli
from app.config import Settings
from app.db.models import Call, HourlyAggregate, IngestRun, RejectedRow, Source
from app.db.session import make_engine, make_session_factory, transaction
from app.ingest.lock import IngestBusy, LockWait, take_ingest_lock
from app.ingest.service import ingest_bytes, recompute
from tests.auth import admin_headers
from tests.helpers import ingest

PROJECT = Path(__file__).resolve().parents[2]
#: The advisory key of the ingest lock, spelled out so the holder does not depend on the code under test.
LOCK_KEY = 1177_0001
CSV = {"Content-Type": "text/csv"}
HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds\n"
CALLS = (HEADER + "x1,SE-AC,,2025-10-01T08:10:00+02:00,rejected,,,,,\n"
         "x2,SE-AC,,2025-10-01T08:20:00+02:00,rejected,,,,,\n")


def with_wait(settings: Settings, seconds: float) -> Settings:
    return settings.model_copy(update={"ingest_lock_wait_seconds": seconds})


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def hold_raw(session: Session, label: str) -> None:
    """Take the ingest lock the way the service does, without its code: an advisory transaction lock with an
    application_name (PostgreSQL), the database's write lock (SQLite)."""
    if is_postgres(str(session.get_bind().url)):
        session.execute(text("SELECT set_config('application_name', :name, true)"), {"name": label})
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    else:
        session.execute(text("UPDATE aggregate_definitions SET id = id WHERE 0 = 1"))


class BusySignal(logging.Handler):
    """Set when a waiter gives up on the lock (the ``ingest.lock.busy`` event)."""

    def __init__(self) -> None:
        super().__init__()
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "ingest.lock.busy":
            self.event.set()


@contextmanager
def busy_signal() -> Iterator[threading.Event]:
    handler = BusySignal()
    logger = logging.getLogger("app.ingest.lock")
    logger.addHandler(handler)
    try:
        yield handler.event
    finally:
        logger.removeHandler(handler)


@contextmanager
def lock_held(
    database_url: str, take: Callable[[Session], None], *, release: threading.Event | None = None,
    hold_at_most: float = 600.0,
) -> Iterator[threading.Event]:
    """Hold the lock in another thread and connection until ``release`` is set (or the block ends); yields the
    release event. ``take`` runs first in the holder's transaction, which is then committed. ``hold_at_most``
    only keeps a waiter that never gives up from hanging the run for good; it must outlast the block on a slow,
    loaded machine, or the lock would go free before the waiters it is meant to stop have started."""
    release = release or threading.Event()
    held = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        engine = make_engine(Settings(database_url=database_url, _env_file=None))  # type: ignore[call-arg]
        try:
            with make_session_factory(engine)() as session:
                take(session)
                held.set()
                release.wait(hold_at_most)
                session.commit()
        except BaseException as exc:  # reported to the test below
            failure.append(exc)
            held.set()
        finally:
            engine.dispose()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert held.wait(60), "the holder never took the lock"
    assert not failure, failure
    try:
        yield release
    finally:
        release.set()
        thread.join(60)
    assert not failure, failure


def counts(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as session:
        return {model.__name__: int(session.scalar(select(func.count()).select_from(model)) or 0)
                for model in (Call, HourlyAggregate, RejectedRow)}


def snapshot(factory: sessionmaker[Session]) -> list[tuple[object, ...]]:
    with factory() as session:
        rows = session.execute(select(HourlyAggregate.__table__).order_by("region", "hour_start")).all()
    return [tuple(row) for row in rows]


def test_a_push_that_waits_too_long_is_a_503_naming_the_holder_with_a_failed_run(
    database_url, settings, session_factory,
):
    """Before: a push waited forever (and during a recompute got a 500 with no run recorded)."""
    settings = with_wait(settings, 0.3)
    headers = {**admin_headers(settings), **CSV}
    postgres = is_postgres(database_url)
    # SQLite writes nothing, not even the failed run, while the holder keeps its lock: it lets go once the push
    # has given up. PostgreSQL records the failed run while the lock is still held.
    # A push that waited for the holder (held 30 s at most) takes longer than the bound on ``elapsed`` below.
    with (busy_signal() as gave_up, TestClient(create_app(settings), headers=headers) as client,
          lock_held(database_url, lambda s: hold_raw(s, "vpt recompute"), release=None if postgres else gave_up,
                    hold_at_most=30)):
        started = time.monotonic()
        response = client.post("/api/v1/ingest/calls", content=CALLS, params={"origin": "late.csv"})
        elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    body = response.json()
    assert set(body) == {"error", "detail"} and body["error"] == "ingest_busy"
    assert "VPT_INGEST_LOCK_WAIT_SECONDS" in body["detail"] and "nothing was changed" in body["detail"]
    if postgres:
        assert "held by vpt recompute (pid " in body["detail"]
    else:
        assert "held by another ingest or recompute" in body["detail"]
    assert elapsed < 20  # it gave up after 0.3 s; the margin is for a slow, loaded machine
    assert counts(session_factory) == {"Call": 0, "HourlyAggregate": 0, "RejectedRow": 0}  # nothing half-written
    with session_factory() as session:
        runs = session.scalars(select(IngestRun)).all()
        source = session.scalar(select(Source).where(Source.name == "push"))
    assert [(run.status, run.origin, run.rows_read) for run in runs] == [("failed", "late.csv", 0)]
    assert runs[0].error is not None and "the ingest lock is held by" in runs[0].error
    assert source is not None and (source.consecutive_failures, source.runs_failed_total) == (1, 1)
    assert source.last_success_at is None


def test_an_ingest_and_a_recompute_that_wait_too_long_name_the_holder_and_change_nothing(
    database_url, settings, session_factory, fixtures_dir,
):
    ingest(session_factory, settings, "calls", fixtures_dir / "calls_october.csv")
    before = snapshot(session_factory)
    waiting: list[str] = []
    holder_lock = LockWait(actor="api push source=push")
    with lock_held(database_url, lambda s: take_ingest_lock(s, holder_lock)):
        with pytest.raises(IngestBusy) as recomputing, transaction(session_factory) as session:
            recompute(session, settings.definitions, lock=LockWait(0.3, "recompute", waiting.append))
        with pytest.raises(IngestBusy) as ingesting:
            ingest_bytes(session_factory, with_wait(settings, 0.3), record_kind="calls", raw=io.BytesIO(CALLS.encode()),
                         fmt="csv", origin="more.csv", on_lock_wait=waiting.append)
    expected = "vpt api push source=push (pid " if is_postgres(database_url) else "another ingest or recompute"
    assert expected in str(recomputing.value) and str(recomputing.value).startswith("recompute: ")
    assert expected in str(ingesting.value) and str(ingesting.value).startswith("file ingest source=files: ")
    assert len(waiting) == 2 and all(expected in holder for holder in waiting)  # told before the wait began
    assert snapshot(session_factory) == before
    assert counts(session_factory)["Call"] == 14


def test_a_taker_without_a_listener_says_in_the_log_that_it_waits_and_for_whom(
    database_url, settings, session_factory, caplog,
):
    """Before, only a caller that passed ``on_wait`` (the CLI) learnt of the wait: an API push or a worker pull
    stuck behind a recompute left no trace until it gave up."""
    with lock_held(database_url, lambda s: take_ingest_lock(s, LockWait(actor="recompute"))), \
            caplog.at_level(logging.INFO, logger="app.ingest.lock"), pytest.raises(IngestBusy):
        ingest_bytes(session_factory, with_wait(settings, 0.3), record_kind="calls", actor="api push source=push",
                     raw=io.BytesIO(CALLS.encode()), fmt="csv", origin="push.csv")
    waiting = [r for r in caplog.records if r.getMessage() == "ingest.lock.waiting"]
    expected = "vpt recompute (pid " if is_postgres(database_url) else "another ingest or recompute"
    # the wait is said before it begins; recording the failed run afterwards waits (and is said) once more
    events = [r.getMessage() for r in caplog.records if r.name == "app.ingest.lock"]
    assert events[:2] == ["ingest.lock.waiting", "ingest.lock.busy"] and 1 <= len(waiting) <= 2
    for record in waiting:
        assert record.actor.startswith("api push source=push")  # type: ignore[attr-defined]
        assert expected in record.holder and record.wait_seconds == 0.3  # type: ignore[attr-defined]


def test_a_push_during_a_recompute_waits_for_it_and_the_figures_equal_a_recompute(
    database_url, settings, session_factory, fixtures_dir,
):
    """Before (PostgreSQL): the push refreshed an hour the open recompute had re-inserted: 500 UniqueViolation
    pk_hourly_aggregates, and no run recorded."""
    ingest(session_factory, settings, "calls", fixtures_dir / "calls_october.csv")
    recomputed = threading.Event()

    def long_recompute(session: Session) -> None:
        recompute(session, settings.definitions)
        recomputed.set()

    release, waited = threading.Event(), threading.Event()
    headers = {**admin_headers(settings), **CSV}
    with (sqlite_lock_missed() as missed,
          TestClient(create_app(with_wait(settings, 60)), headers=headers, raise_server_exceptions=False) as client,
          lock_held(database_url, long_recompute, release=release)):
        assert recomputed.wait(60)
        threading.Thread(target=release_once_waited_for, args=(database_url, release, missed, waited),
                         daemon=True).start()
        response = client.post("/api/v1/ingest/calls", params={"origin": "same-hours.csv"},
                               content=(fixtures_dir / "calls_october.csv").read_bytes())
    assert waited.is_set(), "the push never waited for the recompute: the test proved nothing"
    assert response.status_code == 200, response.text
    assert response.json()["rows_stored"] == 14  # a second source: the same hours, every call new
    with session_factory() as session:
        assert [run.status for run in session.scalars(select(IngestRun).order_by(IngestRun.id))] == [
            "succeeded", "succeeded"]
    pushed = snapshot(session_factory)
    with transaction(session_factory) as session:
        recompute(session, settings.definitions)
    assert snapshot(session_factory) == pushed


@contextmanager
def sqlite_lock_missed() -> Iterator[threading.Event]:
    """Set when a session of this process finds SQLite's write lock taken on the ingest lock's first attempt
    (which does not wait): from then on that session waits for the holder. Read from SQLAlchemy's error event,
    so the code under test is not touched."""
    missed = threading.Event()

    def on_error(context: ExceptionContext) -> None:
        if "aggregate_definitions" in (context.statement or "") and "locked" in str(context.original_exception):
            missed.set()

    event.listen(Engine, "handle_error", on_error)
    try:
        yield missed
    finally:
        event.remove(Engine, "handle_error", on_error)


def release_once_waited_for(
    database_url: str, release: threading.Event, sqlite_missed: threading.Event, waited: threading.Event,
) -> None:
    """Let the holder go once another session waits for the ingest lock (and set ``waited``), or after a minute.

    PostgreSQL shows the waiter as an ungranted advisory lock on the key in this database (other databases of the
    cluster, e.g. a parallel test worker's, do not count); SQLite only shows the waiter's first, failed attempt.
    """
    try:
        if not is_postgres(database_url):
            if sqlite_missed.wait(60):
                waited.set()
            return
        engine = make_engine(Settings(database_url=database_url, _env_file=None))  # type: ignore[call-arg]
        deadline = time.monotonic() + 60
        try:
            with engine.connect() as conn:
                while time.monotonic() < deadline:
                    if conn.execute(text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                        "AND objid = CAST(:key AS bigint)::oid AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database())"
                    ), {"key": LOCK_KEY}).scalar_one():
                        waited.set()
                        break
                    conn.rollback()
                    time.sleep(0.02)
        finally:
            engine.dispose()
    finally:
        release.set()


def cli_env(database_url: str, wait: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VPT_")}
    return {**env, "VPT_DATABASE_URL": database_url, "VPT_INGEST_LOCK_WAIT_SECONDS": str(wait),
            "PYTHONPATH": str(PROJECT), "COLUMNS": "200", "VPT_LANG": "en"}  # the English wording


def start_recompute(database_url: str, wait: float, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app", "recompute", "--from", "2025-10", "--to", "2025-10"],
        cwd=cwd, env=cli_env(database_url, wait), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_two_cli_recomputes_of_one_span_wait_for_the_lock_and_both_succeed_in_turn(
    database_url, settings, session_factory, fixtures_dir, tmp_path,
):
    """Before: two concurrent `recompute --from/--to` printed a raw IntegrityError (PostgreSQL)."""
    ingest(session_factory, settings, "calls", fixtures_dir / "calls_october.csv")
    before = snapshot(session_factory)
    with lock_held(database_url, lambda s: hold_raw(s, "vpt api push source=push")) as release:
        # The lock wait outlasts waiting for both to say they wait (2 × 120 s) on a slow, loaded machine.
        processes = [start_recompute(database_url, 300, tmp_path) for _ in range(2)]
        waiting = [wait_for_line(process, "waiting for the ingest lock", 120) for process in processes]
        release.set()  # both wait at once: from here they run one after the other
        outputs = [process.communicate(timeout=300) for process in processes]
    for said, (out, err), process in zip(waiting, outputs, processes, strict=True):
        assert said is not None and "held by" in said, said
        assert process.returncode == 0, (out, err)
        assert "rebuilt 9 hours" in out and "Traceback" not in err and "Error" not in err
    assert snapshot(session_factory) == before


def wait_for_line(process: subprocess.Popen[str], needle: str, seconds: float) -> str | None:
    """The first stderr line holding ``needle``, read in a thread so a silent process cannot block the test."""
    found: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in iter(process.stderr.readline, ""):
            if needle in line:
                found.append(line)
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(seconds)
    return found[0] if found else None


def test_cli_recompute_and_ingest_that_wait_too_long_exit_1_with_a_clean_message(
    database_url, session_factory, fixtures_dir, monkeypatch,
):
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    monkeypatch.setenv("VPT_INGEST_LOCK_WAIT_SECONDS", "0.3")
    runner = CliRunner(env={"VPT_LANG": "en"})
    expected = "vpt recompute (pid" if is_postgres(database_url) else "another ingest or recompute"
    with lock_held(database_url, lambda s: hold_raw(s, "vpt recompute")):
        recomputing = runner.invoke(cli, ["recompute", "--from", "2025-10", "--to", "2025-10"])
    assert recomputing.exit_code == 1, recomputing.output
    assert recomputing.exception is None or isinstance(recomputing.exception, SystemExit)
    err = " ".join(recomputing.stderr.split())
    assert "waiting for the ingest lock" in err and f"the ingest lock is held by {expected}" in err
    assert "Traceback" not in recomputing.output

    with busy_signal() as gave_up, lock_held(database_url, lambda s: hold_raw(s, "vpt recompute"),
                                             release=None if is_postgres(database_url) else gave_up):
        ingesting = runner.invoke(cli, ["ingest", "calls", str(fixtures_dir / "calls_october.csv")])
    assert ingesting.exit_code == 1, ingesting.output
    err = " ".join(ingesting.stderr.split())
    assert "failed cli ingest source=files: the ingest lock is held by" in err and "Traceback" not in err
    assert counts(session_factory) == {"Call": 0, "HourlyAggregate": 0, "RejectedRow": 0}
    with session_factory() as session:
        assert [(run.status, run.origin) for run in session.scalars(select(IngestRun))] == [
            ("failed", "calls_october.csv")]
