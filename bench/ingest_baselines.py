"""The PostgreSQL baselines of ``bench/ingest.py`` (bench/README.md, steps 4, 4a and 4b).

A plain ``COPY`` of the file into one bare table (the goal's baseline), the floor (a binary ``COPY`` of the rows a
finished ingest left in ``calls`` into a migrated ``calls``), and the history database the history ratio ingests
into. The floor with aggregates is ``bench/floors.py``'s.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg

from bench.floors import conninfo

COPY_TABLE = """
CREATE TABLE calls_copy (
    call_id text PRIMARY KEY,
    region text NOT NULL,
    queue text,
    arrived_at timestamptz NOT NULL,
    outcome text NOT NULL,
    answered_at timestamptz,
    ended_at timestamptz,
    answered_by_region text,
    talk_seconds double precision,
    wrap_seconds double precision
)
"""


def copy_file(conn: psycopg.Connection[Any], statement: str, path: Path) -> int:
    """``path``'s bytes into ``COPY … FROM STDIN`` in blocks of 1 MiB; the rows copied."""
    with conn.cursor() as cursor, path.open("rb") as source:
        with cursor.copy(statement) as copy:
            while block := source.read(1 << 20):
                copy.write(block)
        return cursor.rowcount  # known once the COPY has ended, gone once the cursor has closed


def plain_copy(url: str, path: Path) -> tuple[int, float]:
    with psycopg.connect(conninfo(url)) as conn:
        started = time.perf_counter()
        conn.execute(COPY_TABLE)
        copied = copy_file(conn, "COPY calls_copy (call_id, region, queue, arrived_at, outcome, answered_at, ended_at, "
                           "answered_by_region, talk_seconds, wrap_seconds) FROM STDIN WITH (FORMAT csv, HEADER true)",
                           path)
        conn.commit()
        elapsed = time.perf_counter() - started
    return copied, elapsed


#: The columns of ``calls`` a finished ingest writes (all but the identity ``id``).
FINISHED_COLUMNS = ("source_id, call_id, region, queue, arrived_at, outcome, answered_at, ended_at, "
                    "answered_by_region, talk_seconds, wrap_seconds, wait_ms, hour_start, run_id")


def export_finished(url: str, path: Path) -> None:
    """The rows an ingest left in ``calls``, as a binary COPY file: the input of the floor and of the history."""
    query = f"COPY (SELECT {FINISHED_COLUMNS} FROM calls ORDER BY id) TO STDOUT (FORMAT binary)"
    with psycopg.connect(conninfo(url)) as conn, conn.cursor() as cursor, path.open("wb") as out, \
            cursor.copy(query) as copy:
        for block in copy:
            out.write(block)


def floor_copy(url: str, finished: Path) -> tuple[int, float]:
    """The floor: COPY of the finished rows straight into the real, migrated ``calls`` (its PK, unique key and
    indexes), one transaction with its commit. No ingest can write ``calls`` faster than this."""
    with psycopg.connect(conninfo(url)) as conn:
        started = time.perf_counter()
        copied = copy_file(conn, f"COPY calls ({FINISHED_COLUMNS}) FROM STDIN (FORMAT binary)", finished)
        conn.commit()
        elapsed = time.perf_counter() - started
    return copied, elapsed


def build_history(url: str, finished: Path, factor: int) -> tuple[int, float]:
    """``factor`` copies of the finished rows in ``calls``, each shifted back by whole years and given new
    call_ids (same source, so every key lookup of the next ingest sees all of them), then ANALYZE, as
    autovacuum would have done. Only ``calls`` is filled: the hourly aggregates of those years are never
    touched by the measured ingest."""
    started = time.perf_counter()
    with psycopg.connect(conninfo(url)) as conn:
        conn.execute(f"CREATE TEMP TABLE finished AS SELECT {FINISHED_COLUMNS} FROM calls WITH NO DATA")
        copy_file(conn, f"COPY finished ({FINISHED_COLUMNS}) FROM STDIN (FORMAT binary)", finished)
        shifted = FINISHED_COLUMNS.replace("call_id", "call_id || '-h' || k").replace(
            "arrived_at", "arrived_at - make_interval(years => k)").replace(
            "answered_at", "answered_at - make_interval(years => k)").replace(
            "ended_at", "ended_at - make_interval(years => k)").replace(
            "hour_start", "hour_start - make_interval(years => k)")
        for k in range(1, factor + 1):
            conn.execute(f"INSERT INTO calls ({FINISHED_COLUMNS}) SELECT {shifted} FROM finished, "
                         f"(SELECT {k} AS k) AS copy_number")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE calls")
        held = conn.execute("SELECT count(*) FROM calls").fetchone()[0]  # type: ignore[index]
    return int(held), time.perf_counter() - started
