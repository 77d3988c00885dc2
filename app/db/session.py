"""The one engine and session factory. Created by whoever owns the process (API lifespan, CLI, worker)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import CursorResult, Result, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.errors import VptError


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (API) do not block the writer (ingest)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(settings: Settings, **kwargs: Any) -> Engine:
    url = settings.database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


#: Errors that say "the database cannot be used now" rather than "this statement is wrong": the server is down or
#: restarting, the connection was cut, the pool is exhausted, SQLite's file is locked past its timeout.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError, InterfaceError, PoolTimeout, psycopg.OperationalError, psycopg.InterfaceError,
)


def database_unavailable(exc: BaseException) -> bool:
    """An outage, not a bug: callers answer 503 (API) or report the database down (metrics) for these. A
    DBAPIError of another kind (a constraint, bad SQL) is a bug, unless SQLAlchemy saw the connection die."""
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def rows_matched(result: Result[*tuple[Any, ...]]) -> int:
    """The rows an UPDATE or DELETE matched. ``Session.execute`` is typed to return a plain ``Result`` whatever it
    ran; for these statements it is a ``CursorResult``, the kind that has a ``rowcount``."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"no rowcount: {type(result).__name__} is not the result of an UPDATE or DELETE")
    return result.rowcount


class NoSchema(VptError):
    """The database has no schema (a SQLite file that does not exist yet, or a database never migrated)."""

    code = "no_schema"
    status_code = 503


def require_schema(settings: Settings) -> None:
    """Refuse a database without the schema before anything connects to it: connecting to a SQLite path that does
    not exist creates an empty file, and a command run in the wrong directory (or without VPT_DATABASE_URL) would
    leave a stray ./vpt.db behind and then fail on a missing table. ``vpt db upgrade`` and the demo create it.
    An unreachable server is not judged here: the command meets it and says so as before."""
    url = make_url(settings.database_url)
    where = url.render_as_string(hide_password=True)
    advice = "run `vpt db upgrade` to create it, or set VPT_DATABASE_URL to the database you meant (`vpt demo` " \
             "writes it to .env)"
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        if path in ("", ":memory:") or path.startswith("file:"):
            return
        if not Path(path).exists():
            raise NoSchema(f"no database at {where}: {advice}").keyed("error.no_database", where=where)
        try:  # read-only: the engine's first connection would turn an empty file into a WAL database
            with closing(sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)) as conn:
                migrated = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone()
        except sqlite3.Error:
            return  # not a database, or locked: the command meets it and says so
    else:
        engine = make_engine(settings)
        try:
            with engine.connect() as conn:
                migrated = inspect(conn).has_table("alembic_version")
        except UNAVAILABLE_ERRORS:
            return
        finally:
            engine.dispose()
    if not migrated:
        raise NoSchema(f"{where} has no vpt-monitor schema: {advice}").keyed("error.no_schema", where=where)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """The transaction boundary for CLI commands and jobs: commit on success, roll back on error.

    Service functions only flush; they never commit.
    """
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
