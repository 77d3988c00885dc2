"""The ingest lock: one writer of records and aggregates at a time, and nobody waits for it forever (SPEC §5).

Aggregates are refreshed in place (the touched hours are deleted and inserted again), so two ingests, or an ingest
and a recompute, that interleaved would both insert the same hour. PostgreSQL: an advisory transaction lock; the wait
is bounded by ``lock_timeout`` inside a savepoint (waiters keep their place in the queue, unlike a polling loop), and
the holder is named from ``pg_locks`` and ``pg_stat_activity`` by the ``application_name`` every taker sets for its
transaction. SQLite: the database's write lock, taken by a write that matches nothing, the wait bounded by
``busy_timeout``; SQLite cannot say who holds it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.errors import VptError
from app.sanitize import clean

log = logging.getLogger(__name__)

INGEST_LOCK_KEY = 1177_0001  # one ingest at a time per database: aggregates are refreshed in place
DEFAULT_WAIT_SECONDS = 30.0  # the default of VPT_INGEST_LOCK_WAIT_SECONDS, for callers without settings
SQLITE_HOLDER = "another ingest or recompute (or another writer: SQLite cannot say which)"
_PG_LOCK_NOT_AVAILABLE = "55P03"
_SQLITE_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED
_APPLICATION_NAME = re.compile(r"[^A-Za-z0-9 ._=:/-]")


class IngestBusy(VptError):
    """Another ingest or recompute held the lock longer than this caller would wait; nothing was changed.

    503, not 409: the request is sound and the same delivery succeeds once the lock is free (ingest is idempotent),
    so the client should retry, which is what a 503 asks for; a 409 says the request itself conflicts with the
    stored state and is not retried by clients. Not an ``IngestError``: the delivery is not at fault, so the drop
    directory leaves the file in place for its next scan instead of moving it to ``failed/``.
    """

    code = "ingest_busy"
    status_code = 503

    def __init__(self, actor: str, holder: str, waited: float) -> None:
        super().__init__(
            f"{actor}: the ingest lock is held by {holder}; gave up after {waited:g} s "
            "(VPT_INGEST_LOCK_WAIT_SECONDS): nothing was changed, try again later"
        )
        self.holder = holder
        self.waited = waited


@dataclass(frozen=True)
class LockWait:
    """How long a taker waits for the lock, who it is (shown to whoever waits for it), and whom to tell that it
    is waiting (the CLI prints it, so a command that seems to hang says why)."""

    seconds: float = DEFAULT_WAIT_SECONDS
    actor: str = "ingest"
    on_wait: Callable[[str], None] | None = None


def application_name(actor: str) -> str:
    """The label a holder shows in ``pg_stat_activity``: printable ASCII (PostgreSQL's rule), 63 bytes at most."""
    return _APPLICATION_NAME.sub("?", f"vpt {actor}")[:63]


def take_ingest_lock(session: Session, wait: LockWait | None = None) -> None:
    """Take the lock for the rest of the session's transaction, before anything is read; raise ``IngestBusy``
    when it is still held after ``wait.seconds``."""
    wait = wait or LockWait()
    if session.get_bind().dialect.name == "postgresql":
        _take_postgresql(session, wait)
    else:
        _take_sqlite(session, wait)


def _waiting(wait: LockWait, holder: str) -> None:
    """Say that a taker waits and for whom: in the log for every taker (an API push or a worker pull that seems
    slow says why), and to the caller's ``on_wait`` (the CLI prints it)."""
    log.info("ingest.lock.waiting", extra={"actor": wait.actor, "holder": holder, "wait_seconds": wait.seconds})
    if wait.on_wait is not None:
        wait.on_wait(holder)


def _busy(wait: LockWait, holder: str) -> IngestBusy:
    log.warning("ingest.lock.busy", extra={"actor": wait.actor, "holder": holder, "waited": wait.seconds})
    return IngestBusy(wait.actor, holder, wait.seconds)


def _take_postgresql(session: Session, wait: LockWait) -> None:
    session.execute(text("SELECT set_config('application_name', :name, true)"),
                    {"name": application_name(wait.actor)})
    if session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": INGEST_LOCK_KEY}):
        return
    _waiting(wait, lock_holder(session))
    previous = session.scalar(text("SELECT current_setting('lock_timeout')"))
    try:
        # In a savepoint: a timeout aborts only the savepoint, and its SET LOCAL goes with it. A lock taken in a
        # released savepoint belongs to the transaction.
        with session.begin_nested():
            session.execute(text("SELECT set_config('lock_timeout', :ms, true)"),
                            {"ms": f"{max(1, round(wait.seconds * 1000))}ms"})
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INGEST_LOCK_KEY})
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != _PG_LOCK_NOT_AVAILABLE:
            raise
        raise _busy(wait, lock_holder(session)) from None
    session.execute(text("SELECT set_config('lock_timeout', :previous, true)"), {"previous": previous})


def lock_holder(session: Session) -> str:
    """Who holds the lock now, as its ``application_name`` says, with its process id and how long its
    transaction has run. PostgreSQL only; on SQLite the best that can be said."""
    if session.get_bind().dialect.name != "postgresql":
        return SQLITE_HOLDER
    session.execute(text("SELECT pg_stat_clear_snapshot()"))  # activity is otherwise frozen per transaction
    row = session.execute(text(
        "SELECT a.pid, a.application_name, EXTRACT(EPOCH FROM clock_timestamp() - a.xact_start) "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = CAST(:key AS bigint)::oid "
        "AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ), {"key": INGEST_LOCK_KEY}).first()
    if row is None:
        return "nobody any more (it was released as the wait ended)"
    pid, name, seconds = row
    name = clean(name or "", 63)
    who = name if name.startswith("vpt ") else f"another session ({name or 'no application_name'})"
    age = f", in its transaction for {float(seconds):.0f} s" if seconds is not None else ""
    return f"{who} (pid {pid}{age})"


def _take_sqlite(session: Session, wait: LockWait) -> None:
    """A failed attempt keeps no snapshot, so the second one sees whatever the holder committed."""
    previous = session.scalar(text("PRAGMA busy_timeout"))
    try:
        session.execute(text("PRAGMA busy_timeout = 0"))
        if _try_sqlite_write_lock(session):
            return
        _waiting(wait, SQLITE_HOLDER)
        session.execute(text(f"PRAGMA busy_timeout = {max(1, round(wait.seconds * 1000))}"))
        if not _try_sqlite_write_lock(session):
            raise _busy(wait, SQLITE_HOLDER)
    finally:
        session.execute(text(f"PRAGMA busy_timeout = {int(previous or 0)}"))


def _try_sqlite_write_lock(session: Session) -> bool:
    try:
        session.execute(text("UPDATE aggregate_definitions SET id = id WHERE 0 = 1"))
    except DBAPIError as exc:
        code = getattr(exc.orig, "sqlite_errorcode", None)  # extended codes: the primary one is the low byte
        if (code is not None and code & 0xFF in _SQLITE_BUSY_CODES) or (code is None and "locked" in str(exc.orig)):
            return False
        raise
    return True
