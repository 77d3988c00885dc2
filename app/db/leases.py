"""Job leases and the worker heartbeat, both plain rows so they work the same on SQLite and PostgreSQL.

A lease is taken by one conditional UPDATE (free, expired, or already ours): both databases apply it
atomically, so of two workers racing for a source exactly one gets it. A worker that dies keeps its
lease only until it expires; a live worker renews it between batches.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import JobLease, WorkerHeartbeat
from app.db.session import rows_matched, transaction


def _dead_on_this_host(holder: str | None) -> bool:
    """A holder ``host:pid`` on this very host whose process is gone: a worker restarted after a crash need
    not wait for the lease to expire. (Across hosts or containers only expiry tells.)"""
    if not holder:
        return False
    host, _, rest = holder.partition(":")
    pid, _, _nonce = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire_lease(factory: sessionmaker[Session], name: str, holder: str, seconds: int) -> bool:
    now = datetime.now(UTC)
    with transaction(factory) as session:
        current = session.get(JobLease, name)
        if current is None:
            try:
                with session.begin_nested():
                    session.add(JobLease(name=name))
            except IntegrityError:
                pass  # another worker created it a moment ago: compete for it below
        free = [JobLease.holder.is_(None), JobLease.holder == holder, JobLease.expires_at < now]
        if current is not None and _dead_on_this_host(current.holder):
            free.append(JobLease.holder == current.holder)
        taken = session.execute(
            update(JobLease)
            .where(JobLease.name == name)
            .where(or_(*free))
            .values(holder=holder, acquired_at=now, expires_at=now + timedelta(seconds=seconds))
            .execution_options(synchronize_session=False)
        )
        return rows_matched(taken) == 1


def renew_lease(factory: sessionmaker[Session], name: str, holder: str, seconds: int) -> bool:
    now = datetime.now(UTC)
    with transaction(factory) as session:
        renewed = session.execute(
            update(JobLease).where(JobLease.name == name, JobLease.holder == holder)
            .values(expires_at=now + timedelta(seconds=seconds)).execution_options(synchronize_session=False)
        )
        return rows_matched(renewed) == 1


def release_lease(factory: sessionmaker[Session], name: str, holder: str) -> None:
    with transaction(factory) as session:
        session.execute(
            update(JobLease).where(JobLease.name == name, JobLease.holder == holder)
            .values(holder=None, expires_at=None).execution_options(synchronize_session=False)
        )


@contextmanager
def leased(factory: sessionmaker[Session], name: str, holder: str, seconds: int) -> Iterator[bool]:
    """Hold lease ``name`` for the block if it can be taken (yields whether it was); released after."""
    taken = acquire_lease(factory, name, holder, seconds)
    try:
        yield taken
    finally:
        if taken:
            release_lease(factory, name, holder)


def worker_identity() -> str:
    """``host:pid:nonce``. The nonce keeps two containers that share a hostname and both run as pid 1 from
    being one holder; host and pid let a restarted worker see that a lease's holder died on this host."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def beat(
    factory: sessionmaker[Session], worker_id: str, started_at: datetime, state: str, current_job: str | None = None
) -> None:
    now = datetime.now(UTC)
    with transaction(factory) as session:
        row = session.get(WorkerHeartbeat, worker_id)
        if row is None:
            row = WorkerHeartbeat(
                worker_id=worker_id, hostname=socket.gethostname(), pid=os.getpid(), started_at=started_at,
                beat_at=now, state=state,
            )
            session.add(row)
        row.beat_at = now
        row.state = state
        row.current_job = current_job


def latest_heartbeat(session: Session) -> WorkerHeartbeat | None:
    return session.scalar(select(WorkerHeartbeat).order_by(WorkerHeartbeat.beat_at.desc()).limit(1))


def heartbeat_is_stale(beat_at: datetime, now: datetime, heartbeat_seconds: int) -> bool:
    """Three missed beats (plus slack for a slow commit) mean the worker is gone or stuck."""
    return now - beat_at > timedelta(seconds=3 * heartbeat_seconds + 5)
