"""The write floor of an ingest that keeps its aggregates (issue 15), beside ``bench/ingest.py``'s floor of ``calls``.

The issue's goal sets the ingest against a plain COPY of the file into one bare table. An ingest also writes what the
scorecard reads: the hourly and monthly aggregates and the answered-by pairs. This floor is a binary COPY of everything
a finished ingest left in those tables and in ``calls``, straight into a freshly migrated database with all its keys and
indexes, in one transaction with its commit. No ingest that keeps the same tables can write them faster: it does the
same writes, and must also compute what it writes.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg

#: The tables an ingest of calls fills besides ``calls`` (``region_totals`` is 21 rows: left out).
AGGREGATE_TABLES = ("hourly_aggregates", "hourly_answered_by", "monthly_aggregates", "monthly_answered_by")


def conninfo(url: str) -> str:
    """psycopg's connection string of an SQLAlchemy URL (the benches connect through both)."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def _columns(conn: psycopg.Connection, table: str) -> str:
    names = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = %s ORDER BY ordinal_position", (table,)).fetchall()
    return ", ".join(f'"{name}"' for (name,) in names)


def export_aggregates(url: str, directory: Path) -> list[tuple[str, str, Path, int]]:
    """(table, its columns, binary COPY file, rows) of each aggregate table the ingest left in ``url``."""
    exported = []
    with psycopg.connect(conninfo(url)) as conn:
        for table in AGGREGATE_TABLES:
            columns = _columns(conn, table)
            path = directory / f"{table}.copy"
            with conn.cursor() as cursor, path.open("wb") as out, \
                    cursor.copy(f"COPY (SELECT {columns} FROM {table}) TO STDOUT (FORMAT binary)") as copy:
                for block in copy:
                    out.write(block)
            rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            exported.append((table, columns, path, int(rows[0]) if rows else 0))
    return exported


def floor_with_aggregates(url: str, calls_columns: str, finished: Path,
                          aggregates: list[tuple[str, str, Path, int]]) -> tuple[int, float]:
    """(rows written, seconds): the finished calls and every aggregate row COPYed into the migrated, empty database
    at ``url`` in one transaction, with the commit."""
    written = 0
    with psycopg.connect(conninfo(url)) as conn:
        started = time.perf_counter()
        for table, columns, path, _rows in [("calls", calls_columns, finished, 0), *aggregates]:
            with conn.cursor() as cursor, path.open("rb") as source:
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT binary)") as copy:
                    while block := source.read(1 << 20):
                        copy.write(block)
                written += cursor.rowcount
        conn.commit()
        elapsed = time.perf_counter() - started
    return written, elapsed


__all__ = ["AGGREGATE_TABLES", "conninfo", "export_aggregates", "floor_with_aggregates"]
