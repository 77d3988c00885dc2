"""The worker: the only process that runs scheduled jobs (SPEC §9).

APScheduler 3.x keeps its jobs in memory, one scheduler per process, so jobs live here and never in the
API (which may run many processes). Every job is still safe to run twice: pulls take a database lease per
source, ingest is idempotent, and the drop directory moves a file only after its commit.

On SIGTERM or SIGINT the worker stops scheduling, lets a running pull finish the batch it holds (the pull
checks the stop flag after each commit), writes a last heartbeat and exits.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import httpx
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.leases import beat, leased, renew_lease, worker_identity
from app.db.session import transaction
from app.ingest import dropdir
from app.ingest.pull import PullError, PullReport, SourceRemoved, pull_source, source_lease
from app.ingest.sources import PullSourceConfig, load_sources_file, pull_sources, save_source

log = logging.getLogger(__name__)

MISFIRE_GRACE_SECONDS = 300  # APScheduler's default of 1 s would drop runs after any pause
SOURCE_REFRESH_SECONDS = 30


class Worker:
    def __init__(self, settings: Settings, factory: sessionmaker[Session], *, worker_id: str | None = None) -> None:
        self.settings = settings
        self.factory = factory
        self.worker_id = worker_id or worker_identity()
        self.started_at = datetime.now(UTC)
        self.stopping = threading.Event()
        self.client = httpx.Client(follow_redirects=False, headers={"User-Agent": "vpt-monitor"})
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            # Housekeeping (heartbeat, lease renewal, source list) has its own threads: eight slow pulls must
            # not make a live worker look dead and lose its leases.
            executors={"default": ThreadPoolExecutor(8), "housekeeping": ThreadPoolExecutor(2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
        )
        self._sources: dict[str, PullSourceConfig] = {}
        self._current: set[str] = set()
        self._drop_seen: dict[Path, tuple[int, float]] = {}  # size and mtime at the previous scan
        self._lock = threading.Lock()
        self.after_ingest: list[Callable[[], object]] = []  # e.g. alert evaluation (app.alerts.service)
        self._extra_jobs: list[tuple[Callable[[], object], float, str]] = []

    # -- lifecycle ---------------------------------------------------------------------------------------

    def schedule(self, job: Callable[[], object], seconds: float, job_id: str) -> None:
        """A job of another part of the app (alerts) that runs on this worker's schedule, from its start."""
        self._extra_jobs.append((job, seconds, job_id))

    def start(self) -> None:
        if self.settings.sources_file:
            configs = load_sources_file(Path(self.settings.sources_file))
            with transaction(self.factory) as session:
                for config in configs:
                    save_source(session, config)
        self._heartbeat("running")
        now = datetime.now(UTC)
        self.scheduler.add_job(self._heartbeat_job, "interval", seconds=self.settings.worker_heartbeat_seconds,
                               id="heartbeat", next_run_time=now, executor="housekeeping")
        self.scheduler.add_job(self.refresh_sources, "interval", seconds=SOURCE_REFRESH_SECONDS,
                               id="sources", next_run_time=now, executor="housekeeping")
        if self.settings.drop_dir:
            dropdir.prepare(Path(self.settings.drop_dir))
            self.scheduler.add_job(self.scan_drop_dir, "interval", seconds=self.settings.drop_scan_seconds,
                                   id="drop", next_run_time=now)
        for job, seconds, job_id in self._extra_jobs:
            self.scheduler.add_job(self._guarded(job, job_id), "interval", seconds=seconds, id=job_id,
                                   next_run_time=now)
        self.scheduler.start()
        log.info("worker.started", extra={"worker": self.worker_id})

    def stop(self) -> None:
        """Stop taking new runs, wait for the running ones (each finishes its current batch), say goodbye."""
        self.stopping.set()
        self._heartbeat("stopping")
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.client.close()
        self._heartbeat("stopped")
        log.info("worker.stopped", extra={"worker": self.worker_id})

    def run_forever(self) -> None:
        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("worker.signal", extra={"signal": signal.Signals(signum).name})
            self.stopping.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        try:
            while not self.stopping.wait(0.5):
                pass
        finally:
            self.stop()

    # -- jobs --------------------------------------------------------------------------------------------

    def refresh_sources(self) -> None:
        """Follow the sources in the database: new ones get a job, changed cadences are rescheduled."""
        with transaction(self.factory) as session:
            configs = {config.name: config for config in pull_sources(session)}
        with self._lock:
            for name in set(self._sources) - set(configs):
                if self.scheduler.get_job(f"pull:{name}"):
                    self.scheduler.remove_job(f"pull:{name}")
            for name, config in configs.items():
                known = self._sources.get(name)
                job_id = f"pull:{name}"
                if known is None or known.cadence_seconds != config.cadence_seconds:
                    if self.scheduler.get_job(job_id):
                        self.scheduler.remove_job(job_id)
                    self.scheduler.add_job(self.pull, "interval", args=[name], id=job_id,
                                           seconds=config.cadence_seconds, next_run_time=datetime.now(UTC))
            self._sources = configs

    def pull(self, name: str) -> PullReport | None:
        """Pull one source under its lease; a failure is recorded on the source and touches no other source."""
        if self.stopping.is_set():
            return None
        config = self._sources.get(name)
        if config is None:
            return None
        lease = source_lease(name, self.worker_id, self.settings.lease_seconds)
        with leased(self.factory, lease.name, lease.holder, lease.seconds) as taken:
            if not taken:
                log.info("pull.skipped", extra={"source": name, "reason": "another worker holds the lease"})
                return None
            self._current.add(lease.name)
            try:
                # create=False: the configuration came from the source's row, so a missing row is a removal
                report = pull_source(self.factory, self.settings, config, self.client, stop=self.stopping,
                                     lease=lease, create=False)
            except SourceRemoved:
                self._forget(name, config)
                return None
            except PullError:
                return None  # recorded on the source and logged by pull_source
            finally:
                self._current.discard(lease.name)
        if report.stored or report.updated:
            self._after_ingest()
        return report

    def _forget(self, name: str, config: PullSourceConfig) -> None:
        """A removed source is not pulled again until it is added again (``refresh_sources`` then finds it)."""
        with self._lock:
            if self._sources.get(name) is config:
                del self._sources[name]
                if self.scheduler.get_job(f"pull:{name}"):
                    self.scheduler.remove_job(f"pull:{name}")

    def scan_drop_dir(self) -> list[dropdir.DropResult]:
        if self.stopping.is_set() or not self.settings.drop_dir:
            return []
        with leased(self.factory, "drop", self.worker_id, self.settings.lease_seconds) as taken:
            if not taken:
                return []
            self._current.add("drop")
            try:
                results = dropdir.scan(self.factory, self.settings, Path(self.settings.drop_dir),
                                       seen=self._drop_seen, stop=self.stopping)
            finally:
                self._current.discard("drop")
        if any(result.ok for result in results):
            self._after_ingest()
        return results

    def _guarded(self, job: Callable[[], object], job_id: str) -> Callable[[], None]:
        def run() -> None:
            if self.stopping.is_set():
                return
            try:
                job()
            except Exception:  # logged; the next run tries again
                log.exception("worker.job.failed", extra={"job": job_id})

        return run

    def _after_ingest(self) -> None:
        for hook in self.after_ingest:
            try:
                hook()
            except Exception:
                log.exception("worker.hook.failed")

    def _heartbeat_job(self) -> None:
        self._heartbeat("stopping" if self.stopping.is_set() else "running")
        for lease in list(self._current):  # a long pull (slow platform, retries) keeps its lease while alive
            try:
                renew_lease(self.factory, lease, self.worker_id, self.settings.lease_seconds)
            except Exception:
                log.exception("worker.lease.renew_failed")

    def _heartbeat(self, state: str) -> None:
        try:
            beat(self.factory, self.worker_id, self.started_at, state, ",".join(sorted(self._current)) or None)
        except Exception:  # a missed beat is visible as staleness; it must not kill the worker
            log.exception("worker.heartbeat.failed")
