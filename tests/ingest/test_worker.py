"""The worker's jobs against real servers: leases, a failing source beside a healthy one, the drop
directory, the heartbeat, and a graceful stop on SIGTERM of a real `vpt worker` process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.leases import acquire_lease, release_lease
from app.db.models import Call, IngestRun, JobLease, Source, WorkerHeartbeat
from app.db.session import transaction
from app.ingest.sources import PullSourceConfig, save_source
from app.ingest.worker import Worker
from tests.feeds import ScriptedFeed, call
from tests.servers import free_port, running_server

CSV_HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"


def add_source(factory: sessionmaker[Session], name: str, url: str, **extra: object) -> None:
    with transaction(factory) as session:
        save_source(session, PullSourceConfig.from_mapping(
            {"name": name, "kind": "calls", "base_url": url, "cadence_seconds": 1, "max_retries": 1,
             "backoff_seconds": 0.01, "backoff_max_seconds": 0.02, "timeout_seconds": 1.0} | dict(extra)
        ))


def count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_lease_is_held_by_one_worker_until_released_or_expired(session_factory: sessionmaker[Session]) -> None:
    assert acquire_lease(session_factory, "pull:x", "worker-a", 60)
    assert not acquire_lease(session_factory, "pull:x", "worker-b", 60)
    assert acquire_lease(session_factory, "pull:x", "worker-a", 60)  # renewal by the holder
    release_lease(session_factory, "pull:x", "worker-a")
    assert acquire_lease(session_factory, "pull:x", "worker-b", 60)
    with transaction(session_factory) as session:  # worker-b dies: its lease runs out
        lease = session.get(JobLease, "pull:x")
        assert lease is not None
        lease.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert acquire_lease(session_factory, "pull:x", "worker-a", 60)


def test_a_failing_source_does_not_stop_the_others(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    feed = ScriptedFeed([call(n) for n in range(20)])
    with running_server(feed.app()) as url:
        add_source(session_factory, "healthy", url)
        add_source(session_factory, "broken", f"http://127.0.0.1:{free_port()}")  # nothing listens there
        worker = Worker(settings, session_factory, worker_id="w1")
        worker.start()
        try:
            deadline = time.monotonic() + 120  # ends as soon as both happened; generous for a loaded CI machine
            while time.monotonic() < deadline:
                with session_factory() as session:
                    broken = session.scalar(select(Source).where(Source.name == "broken"))
                    if count(session_factory, Call) == 20 and broken is not None and broken.last_error:
                        break
                time.sleep(0.1)
        finally:
            worker.stop()
    assert count(session_factory, Call) == 20
    with session_factory() as session:
        sources = {s.name: s for s in session.scalars(select(Source))}
        heartbeat = session.get(WorkerHeartbeat, "w1")
    assert sources["healthy"].last_success_at is not None and sources["healthy"].last_error is None
    assert "ConnectError" in (sources["broken"].last_error or "")
    assert heartbeat is not None and heartbeat.state == "stopped"


def test_a_source_leased_by_another_worker_is_skipped(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    feed = ScriptedFeed([call(0)])
    with running_server(feed.app()) as url:
        add_source(session_factory, "shared", url)
        assert acquire_lease(session_factory, "pull:shared", "other-worker", 60)
        worker = Worker(settings, session_factory, worker_id="w2")
        worker.refresh_sources()
        assert worker.pull("shared") is None
        assert feed.requests == []
        release_lease(session_factory, "pull:shared", "other-worker")
        report = worker.pull("shared")
        worker.client.close()
    assert report is not None and report.stored == 1


def test_drop_directory_files_are_ingested_once_and_moved(
    session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    worker = Worker(settings.model_copy(update={"drop_dir": str(drop)}), session_factory, worker_id="w3")
    (drop / "calls").mkdir(parents=True)
    good = drop / "calls" / "good.csv"
    good.write_text(CSV_HEADER + "a1,SE-AC,q,2025-03-10T08:00:00Z,answered,2025-03-10T08:02:00Z,\n"
                                 "a2,SE-AC,q,2025-03-10T08:01:00Z,rejected,,\n")
    bad = drop / "calls" / "bad.csv"
    bad.write_text("this,is,not\na,call,file\n")
    settled = time.time() - 10
    for path in (good, bad):
        os.utime(path, (settled, settled))
    fresh = drop / "calls" / "still-copying.csv"
    fresh.write_text(CSV_HEADER)

    assert worker.scan_drop_dir() == []  # first sighting: size and mtime must hold until the next scan
    with fresh.open("a") as handle:  # still being copied in: it grew since the first scan
        handle.write("a3,SE-AC,q,2025-03-10T08:03:00Z,answered,2025-03-10T08:04:00Z,\n")
    results = worker.scan_drop_dir()
    assert {r.path.name: r.ok for r in results} == {"good.csv": True, "bad.csv": False}
    processed = sorted(p.name for p in (drop / "processed").iterdir())
    failed = sorted(p.name for p in (drop / "failed").iterdir())
    assert any(n.endswith("_good.csv") for n in processed) and any(n.endswith(".report.json") for n in processed)
    assert any(n.endswith("_bad.csv") for n in failed)
    reason = next((drop / "failed").glob("*.reason.json")).read_text()
    assert "missing required column" in reason or "required" in reason
    assert fresh.exists()  # written a moment ago: left for the next scan
    assert count(session_factory, Call) == 2
    # Still being copied: it grows between scans, so however slow the machine it is never stable yet.
    with fresh.open("a") as handle:
        handle.write("a4,SE-AC,q,2025-03-10T08:05:00Z,answered,2025-03-10T08:06:00Z,\n")
    assert worker.scan_drop_dir() == []  # nothing is ingested twice, and the growing file waits
    assert count(session_factory, IngestRun) == 2  # the good run and the failed run
    worker.client.close()


def test_sigterm_lets_the_worker_finish_and_say_goodbye(settings: Settings, tmp_path: Path) -> None:
    feed = ScriptedFeed([call(n) for n in range(10)])
    with running_server(feed.app()) as url:
        sources = tmp_path / "sources.toml"
        sources.write_text(f'[[source]]\nname = "platform"\nkind = "calls"\nbase_url = "{url}"\ncadence_seconds = 1\n')
        env = os.environ | {"VPT_DATABASE_URL": settings.database_url, "VPT_SOURCES_FILE": str(sources),
                            "VPT_WORKER_HEARTBEAT_SECONDS": "1"}
        log = tmp_path / "worker.log"  # a file, not a pipe nobody reads until the end: a full pipe would stall it
        with log.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "app", "worker"], env=env, stdout=out,
                                       stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120  # the process imports the app first: seconds, more under load
            factory = sessionmaker_for(settings)
            while time.monotonic() < deadline and count(factory, Call) < 10:
                time.sleep(0.2)
            assert count(factory, Call) == 10
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0
        finally:
            if process.poll() is None:
                process.kill()
    output = log.read_text(errors="replace")
    assert "worker.stopped" in output
    with factory() as session:
        beats = list(session.scalars(select(WorkerHeartbeat)))
    assert [b.state for b in beats] == ["stopped"]


def sessionmaker_for(settings: Settings) -> sessionmaker[Session]:
    from app.db.session import make_engine, make_session_factory

    return make_session_factory(make_engine(settings))


def test_a_lease_of_a_dead_process_on_this_host_is_taken_at_once(session_factory: sessionmaker[Session]) -> None:
    import socket

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    assert acquire_lease(session_factory, "pull:y", f"{host}:{os.getppid()}", 600)  # a live process
    assert not acquire_lease(session_factory, "pull:y", f"{host}:{os.getpid()}", 600)
    assert acquire_lease(session_factory, "pull:z", "another-host:4242", 600)  # liveness unknowable: wait
    assert not acquire_lease(session_factory, "pull:z", f"{host}:{os.getpid()}", 600)
    release_lease(session_factory, "pull:y", f"{host}:{os.getppid()}")
    assert acquire_lease(session_factory, "pull:y", f"{host}:{dead.pid}", 600)  # then it crashes
    assert acquire_lease(session_factory, "pull:y", f"{host}:{os.getpid()}", 600)


def test_a_queue_log_waits_in_the_drop_folder_until_the_service_has_a_queue_map(
    session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    from app.ingest import dropdir

    drop = tmp_path / "drop"
    dropdir.prepare(drop)
    log = drop / "queue-log" / "queue_log"
    log.write_text((Path(__file__).resolve().parents[2] / "samples" / "queue_log_sample.log").read_text())
    os.utime(log, (time.time() - 10, time.time() - 10))
    assert dropdir.scan(session_factory, settings, drop) == []
    broken = settings.model_copy(update={"queue_map_file": str(tmp_path / "missing.csv")})
    assert dropdir.scan(session_factory, broken, drop) == []  # an unreadable map is not the file's fault
    assert log.exists() and not any((drop / "failed").iterdir())
    samples = Path(__file__).resolve().parents[2] / "samples"
    mapped = settings.model_copy(update={"queue_map_file": str(samples / "queue_map.csv")})
    results = dropdir.scan(session_factory, mapped, drop)
    assert [r.ok for r in results] == [True] and not log.exists()
    assert count(session_factory, Call) > 0


def test_a_source_with_broken_settings_does_not_keep_the_others_from_running(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    add_source(session_factory, "good", "http://127.0.0.1:9")
    with transaction(session_factory) as session:
        session.add(Source(name="broken", kind="http", config={"name": "broken", "kind": "faxes"}))
    worker = Worker(settings, session_factory, worker_id="w4")
    worker.refresh_sources()
    worker.client.close()
    assert set(worker._sources) == {"good"}
    with session_factory() as session:
        broken = session.scalar(select(Source).where(Source.name == "broken"))
    assert broken is not None and "invalid configuration" in (broken.last_error or "")
