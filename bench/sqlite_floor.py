"""SQLite's write floor (issue 15), the counterpart of ``bench/floors.py``'s for PostgreSQL.

The SQLite goal is absolute (rows per second), so it needs a floor of its own to say how close an ingest can come.
Two are measured, each over everything a finished ingest left in ``calls`` and the four aggregate tables, written
into a freshly migrated database (every key and index) in one transaction with its commit, with the service's
pragmas (WAL, ``synchronous=NORMAL``, foreign keys):

- **from Python**: the stored rows, already in SQLite's own representation and held in memory as tuples before the
  clock starts, by ``executemany``. An ingest in Python that writes these tables through ``sqlite3`` does at least
  this, and must also read the file and compute what it writes.
- **inside the engine**: ``INSERT … SELECT`` from the finished database, attached: no Python binding at all. No
  ingest through ``sqlite3`` can reach it; it shows what SQLite's B-trees and journal cost on this machine.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from bench.floors import AGGREGATE_TABLES

#: Rows these tables reference (foreign keys), copied before the clock starts.
_REFERENCED = ("sources", "ingest_runs")


@dataclass(frozen=True)
class SqliteFloors:
    rows: int  # every row written: calls and aggregates
    calls: int
    from_python: float  # seconds, executemany
    in_engine: float  # seconds, INSERT … SELECT from the attached database
    tables: dict[str, tuple[int, float]]  # table: (rows, seconds) of the executemany floor


def _path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def _connect(url: str) -> sqlite3.Connection:
    conn = sqlite3.connect(_path(url), isolation_level=None)
    for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def _copy_referenced(conn: sqlite3.Connection) -> None:
    for table in _REFERENCED:
        conn.execute(f"INSERT OR IGNORE INTO main.{table} SELECT * FROM finished.{table}")


def measure(finished_url: str, fresh_urls: tuple[str, str]) -> SqliteFloors:
    """Both floors of what the ingest left at ``finished_url``, each into one of two migrated, empty databases."""
    tables = ("calls", *AGGREGATE_TABLES)
    python_url, engine_url = fresh_urls
    source = _connect(finished_url)
    held = {table: (_columns(source, table), source.execute(
        f"SELECT {', '.join(_columns(source, table))} FROM {table}").fetchall()) for table in tables}
    source.close()

    target = _connect(python_url)
    target.execute(f"ATTACH DATABASE '{_path(finished_url)}' AS finished")
    _copy_referenced(target)
    target.execute("DETACH DATABASE finished")
    per_table: dict[str, tuple[int, float]] = {}
    started = time.perf_counter()
    target.execute("BEGIN")
    for table, (columns, rows) in held.items():
        began = time.perf_counter()
        target.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                           rows)
        per_table[table] = (len(rows), time.perf_counter() - began)
    target.execute("COMMIT")
    from_python = time.perf_counter() - started
    target.close()
    del held

    target = _connect(engine_url)
    target.execute(f"ATTACH DATABASE '{_path(finished_url)}' AS finished")
    _copy_referenced(target)
    started = time.perf_counter()
    target.execute("BEGIN")
    for table in tables:
        columns = ", ".join(_columns(target, table))
        target.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM finished.{table}")
    target.execute("COMMIT")
    in_engine = time.perf_counter() - started
    target.close()
    return SqliteFloors(sum(rows for rows, _ in per_table.values()), per_table["calls"][0], from_python, in_engine,
                        per_table)


__all__ = ["SqliteFloors", "measure"]
