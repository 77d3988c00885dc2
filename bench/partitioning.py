"""Would monthly partitioning of ``calls`` pay? Measured at sizes this machine holds (issue 15's scale note).

Run from the repository root with the virtualenv active::

    python bench/partitioning.py                      # 1 000 000 new calls; history 0, 5 and 15 times that
    python bench/partitioning.py --rows 200000 --history 0,2

The same calls go into the migrated ``calls`` and into a copy of it partitioned by month of ``hour_start``
(``calls_by_month``: a partitioned table's unique keys must hold the partition key, so its key is (source_id,
call_id, hour_start) and its primary key (id, hour_start)). The app does not write such a table: this prices the
change before anyone makes it. At each history size (earlier years, shifted copies of the same calls under new
call_ids, in the same source, as ``bench/ingest.py``'s history), in a transaction rolled back after, per table:

1. **key lookups**: ``--lookup-keys`` of the delivery's keys (100 000) looked up by (source_id, call_id), nested loops
   over the unique index, as the merge finds re-deliveries and corrections of every staged row
   (app.ingest.merge_steps.match_stored). A key holds no month, so on the partitioned table each key probes every
   month's index: a sample, or the partitioned runs would take minutes;
2. **write**: a binary COPY of the delivery's finished rows (the write floor of ``bench/ingest.py``);
3. **a month's rebuild**: what ``vpt recompute`` of one month in the middle of the history reads, its calls of every
   region grouped by region and hour (by ``ix_calls_region_hour``, as the app's rebuild of touched hours reads them),
   where partitioning prunes to one partition.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from app.db.migrate import upgrade  # noqa: E402
from app.kpi.reference import REGIONS  # noqa: E402
from bench.floors import conninfo  # noqa: E402
from bench.ingest_baselines import FINISHED_COLUMNS, copy_file, export_finished  # noqa: E402
from bench.ingest_data import generate_calls  # noqa: E402
from bench.ingest_timing import create_database, postgres, timed_ingest  # noqa: E402

TABLES = ("calls", "calls_by_month")
_SHIFTED = FINISHED_COLUMNS.replace("call_id", "call_id || '-h' || %(k)s").replace(
    "arrived_at", "arrived_at - make_interval(years => %(k)s)").replace(
    "answered_at", "answered_at - make_interval(years => %(k)s)").replace(
    "ended_at", "ended_at - make_interval(years => %(k)s)").replace(
    "hour_start", "hour_start - make_interval(years => %(k)s)")


def partitioned_copy(conn: psycopg.Connection, first: datetime, end: datetime) -> int:
    """``calls_by_month``: ``calls``'s columns, defaults and checks, one partition per UTC month in [first, end)."""
    conn.execute("CREATE TABLE calls_by_month (LIKE calls INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
                 "PARTITION BY RANGE (hour_start)")
    conn.execute("ALTER TABLE calls_by_month ADD PRIMARY KEY (id, hour_start)")
    conn.execute("ALTER TABLE calls_by_month ADD UNIQUE (source_id, call_id, hour_start)")
    conn.execute("CREATE INDEX ON calls_by_month (region, hour_start)")
    month, made = datetime(first.year, first.month, 1, tzinfo=UTC), 0
    while month < end:
        following = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
        conn.execute(f"CREATE TABLE calls_{month:%Y%m} PARTITION OF calls_by_month "
                     f"FOR VALUES FROM ('{month.isoformat()}') TO ('{following.isoformat()}')")
        month, made = following, made + 1
    return made


def grow(conn: psycopg.Connection, copies: range) -> None:
    """Each table gets the delivery's rows once more per ``k`` of ``copies``, ``k`` years earlier, new call_ids."""
    for k in copies:
        for table in TABLES:
            conn.execute(f"INSERT INTO {table} ({FINISHED_COLUMNS}) SELECT {_SHIFTED} FROM finished",
                         {"k": k})
    conn.commit()


def timed(conn: psycopg.Connection, work: str, *params: object) -> float:
    started = time.perf_counter()
    conn.execute(work, params or None)
    return time.perf_counter() - started


def measure(conn: psycopg.Connection, table: str, finished: Path, month: datetime) -> tuple[float, float, float]:
    """(lookups s, write s, a month's rebuild read s) on ``table``, rolled back."""
    following = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    conn.commit()  # so the transaction below is the whole of the measurement, and all of it is rolled back
    with conn.transaction(force_rollback=True):
        for method in ("enable_hashjoin", "enable_mergejoin", "enable_bitmapscan", "enable_seqscan", "jit"):
            conn.execute(f"SET LOCAL {method} = off")  # as app.ingest.merge_steps.lookups_by_index
        lookups = timed(conn, f"SELECT count(*) FROM staged_keys s JOIN {table} t "
                              "ON t.source_id = s.source_id AND t.call_id = s.call_id")
        conn.execute("RESET enable_seqscan")
        conn.execute("RESET enable_bitmapscan")
        started = time.perf_counter()
        copy_file(conn, f"COPY {table} ({FINISHED_COLUMNS}) FROM STDIN (FORMAT binary)", finished)
        write = time.perf_counter() - started
        rebuild = timed(conn, f"SELECT region, hour_start, count(*), sum(wait_ms) FROM {table} WHERE region = ANY(%s)"
                              " AND hour_start >= %s AND hour_start < %s GROUP BY region, hour_start",
                        [code for code, *_ in REGIONS], month, following)
    return lookups, write, rebuild


def size_mb(conn: psycopg.Connection, table: str) -> float:
    """Tables and indexes, every partition's included."""
    row = conn.execute("SELECT coalesce((SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree(%s::regclass)"
                       " WHERE isleaf), pg_total_relation_size(%s::regclass))", (table, table)).fetchone()
    return float(row[0] if row and row[0] is not None else 0) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="calls per delivery (default 1 000 000)")
    parser.add_argument("--lookup-keys", type=int, default=100_000, help="keys looked up per measurement")
    parser.add_argument("--history", default="0,5,15",
                        help="history sizes to measure at, in deliveries (ascending; default 0,5,15)")
    args = parser.parse_args(argv)
    sizes = sorted({int(part) for part in args.history.split(",")})
    n = args.rows
    print(f"vpt-monitor partitioning benchmark: deliveries of {n:,} calls, history {sizes} deliveries")
    results: list[tuple[int, str, float, float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="vpt-bench-part-") as tmp, postgres() as server:
        work = Path(tmp)
        create_database(server.admin_url, "bench_part")
        url = server.url("bench_part")
        upgrade(url)
        csv_path, finished = work / "calls.csv", work / "finished.copy"
        generate_calls(csv_path, n)
        report, ingest_s = timed_ingest(url, csv_path)
        print(f"ingested {report.rows_stored:,} calls in {ingest_s:.1f} s; their finished rows are the delivery")
        export_finished(url, finished)
        with psycopg.connect(conninfo(url)) as conn:
            conn.execute("TRUNCATE calls")
            conn.execute(f"CREATE TABLE finished AS SELECT {FINISHED_COLUMNS} FROM calls WITH NO DATA")
            copy_file(conn, f"COPY finished ({FINISHED_COLUMNS}) FROM STDIN (FORMAT binary)", finished)
            conn.execute("CREATE TABLE staged_keys AS SELECT source_id, call_id FROM finished LIMIT %s",
                         (args.lookup_keys,))
            first, last = conn.execute("SELECT min(hour_start), max(hour_start) FROM finished").fetchone()
            earliest = first.replace(year=first.year - max(sizes) - 1)
            months = partitioned_copy(conn, earliest, last.replace(year=last.year + 1))
            conn.commit()
            print(f"calls_by_month: {months} monthly partitions")
            held = 0
            for size in sizes:
                started = time.perf_counter()
                grow(conn, range(held + 1, size + 1))
                held = size
                conn.autocommit = True
                conn.execute("VACUUM ANALYZE calls")
                conn.execute("VACUUM ANALYZE calls_by_month")
                conn.execute("ANALYZE staged_keys")
                conn.autocommit = False
                print(f"history of {size * n:,} calls in each table ({time.perf_counter() - started:.1f} s to add)")
                middle = first.replace(year=first.year - max(size // 2, 1), day=1, hour=0)
                for table in TABLES:
                    mb = size_mb(conn, table)  # before the measurement, whose rows are rolled back but take space
                    lookups, write, rebuild = measure(conn, table, finished, middle)
                    results.append((size * n, table, lookups, write, rebuild, mb))
                    print(f"  {table}: {args.lookup_keys:,} key lookups {lookups:.2f} s, write {write:.2f} s, "
                          f"a month's rebuild read {rebuild * 1000:.0f} ms, {results[-1][5]:,.0f} MB")
    print()
    print(f"Summary (a delivery of {n:,} calls, {args.lookup_keys:,} of its keys looked up; partitioned against plain "
          "at the same size)")
    print(f"{'history':>12}  {'table':<15} {'lookups s':>9}  {'write s':>8}  {'month ms':>8}  {'MB':>8}")
    for held, table, lookups, write, rebuild, mb in results:
        print(f"{held:>12,}  {table:<15} {lookups:>9.2f}  {write:>8.2f}  {rebuild * 1000:>8.0f}  {mb:>8,.0f}")
    by_size: dict[int, dict[str, tuple[float, float, float]]] = {}
    for held, table, lookups, write, rebuild, _mb in results:
        by_size.setdefault(held, {})[table] = (lookups, write, rebuild)
    for held, pair in by_size.items():
        plain, part = pair["calls"], pair["calls_by_month"]
        print(f"{held:>12,}  partitioned / plain: lookups {part[0] / plain[0]:.2f}, write {part[1] / plain[1]:.2f}, "
              f"a month's rebuild read {part[2] / plain[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
