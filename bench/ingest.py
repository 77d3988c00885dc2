"""Ingest benchmark: the real ``ingest_file`` path against a plain ``COPY`` of the same CSV.

Run from the repository root with the virtualenv active::

    python bench/ingest.py                 # 1 000 000 rows
    python bench/ingest.py --rows 200000   # smaller, quicker

What it does (see bench/README.md for the goals):

1. writes N canonical call rows (deterministic seed) to a temporary CSV;
2. starts a throwaway PostgreSQL (tests/pgserver.py) with two databases: ``ingest_file`` into the
   migrated one, a bare ``COPY ... FROM STDIN (FORMAT csv, HEADER true)`` into a one-table one;
3. times ``ingest_file`` into a migrated SQLite file;
4. runs ingests of N/4 and N rows (and of a header-only file, for the interpreter's own footprint) in
   child processes and reads each child's peak RSS (VmHWM);
5. re-ingests the same file into PostgreSQL (an idempotent re-run: every row unchanged);
6. prints a summary table.

``--child-ingest URL FILE`` is the helper mode used by step 4: one ingest, one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

# This module holds the options, the steps in their order, the SQLite steps and the summary table. Beside it:
# ingest_data.py (the generated calls), ingest_timing.py (running and timing one ingest, the peak-RSS child, fresh
# databases) and ingest_baselines.py (plain COPY, the floor of ``calls``, the history).
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.db.migrate import upgrade  # noqa: E402
from bench.floors import export_aggregates, floor_with_aggregates  # noqa: E402
from bench.ingest_baselines import (  # noqa: E402
    FINISHED_COLUMNS,
    build_history,
    export_finished,
    floor_copy,
    plain_copy,
)
from bench.ingest_data import HEADER, SEED, generate_calls  # noqa: E402
from bench.ingest_timing import (  # noqa: E402
    StatementTimes,
    child_ingest,
    create_database,
    fresh_sqlite,
    parse_only,
    parse_only_fast,
    postgres,
    run_child,
    timed_ingest,
)
from bench.sqlite_floor import measure as measure_sqlite_floors  # noqa: E402

GOAL_RATIO = 1.5
GOAL_SQLITE_ROWS_PER_S = 100_000
GOAL_RSS_MB = 300
GOAL_HISTORY_RATIO = 1.2


# --- main ----------------------------------------------------------------------------------------------


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "-"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="call rows to generate (default 1 000 000)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary CSV and SQLite files")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--rss-backend", choices=["sqlite", "postgresql", "both"], default="both",
        help="backend of the child ingests that measure peak RSS (default both)",
    )
    parser.add_argument("--no-parse-only", action="store_true", help="skip the parse-only (no database) timing")
    parser.add_argument("--history-factor", type=int, default=5,
                        help="calls already stored before the history ingest, in multiples of N (default 5; 0 skips)")
    parser.add_argument("--sqlite-only", action="store_true",
                        help="only the SQLite ingest (rows/s and the process's CPU seconds) and its peak RSS: no "
                             "PostgreSQL, no parse-only or reference-parser timing")
    parser.add_argument("--child-ingest", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING)
    if args.child_ingest:
        child_ingest(args.child_ingest[0], Path(args.child_ingest[1]))
        return 0

    n = args.rows
    quarter = max(n // 4, 1)
    work = Path(tempfile.mkdtemp(prefix="vpt-bench-ingest-"))
    summary: list[tuple[str, str, str, str]] = []  # (measure, value, goal, verdict)
    print(f"vpt-monitor ingest benchmark: {n:,} rows, seed {args.seed}, {os.cpu_count()} CPUs, work dir {work}")
    try:
        csv_path = work / f"calls_{n}.csv"
        started = time.perf_counter()
        mix = generate_calls(csv_path, n, args.seed)
        size_mb = csv_path.stat().st_size / 1e6
        print(f"generated {csv_path.name}: {size_mb:,.1f} MB in {time.perf_counter() - started:.1f} s; "
              + ", ".join(f"{k} {v / n:.1%}" for k, v in mix.items()))
        quarter_path = work / f"calls_{quarter}.csv"
        generate_calls(quarter_path, quarter, args.seed)
        empty_path = work / "calls_0.csv"
        empty_path.write_text(HEADER, encoding="utf-8")

        if args.sqlite_only:
            summary.extend(sqlite_only(work, csv_path, quarter_path, empty_path, n, quarter))
            return _print_summary(n, summary)
        if not args.no_parse_only:
            parsed, parse_s = parse_only(csv_path)
            print(f"parse only (no database): {parse_s:.1f} s, {rate(parsed, parse_s)} rows/s")
            summary.append(("parse only, no database", f"{parse_s:.1f} s ({rate(parsed, parse_s)} rows/s)", "", ""))
            plain, referred, fast_s = parse_only_fast(csv_path)
            print(f"parse only, fast path (no database): {fast_s:.2f} s, {rate(plain + referred, fast_s)} rows/s "
                  f"({plain:,} plain, {referred:,} through the reference parser); {parse_s / fast_s:.1f}x faster")
            summary.append(("parse only, fast path, no database",
                            f"{fast_s:.2f} s ({rate(plain + referred, fast_s)} rows/s)", "", ""))
            summary.append(naive_timestamps(min(n, 200_000), args.seed))

        with postgres() as server:
            create_database(server.admin_url, "bench_ingest")
            create_database(server.admin_url, "bench_copy")
            ingest_url, copy_url = server.url("bench_ingest"), server.url("bench_copy")
            upgrade(ingest_url)

            statements = StatementTimes()
            report, ingest_s = timed_ingest(ingest_url, csv_path, statements)
            print(f"PostgreSQL ingest_file: {ingest_s:.1f} s, {rate(n, ingest_s)} rows/s "
                  f"(read {report.rows_read:,}, stored {report.rows_stored:,}, rejected {report.rows_rejected:,}, "
                  f"hours refreshed {report.hours_refreshed:,})")
            if report.rows_stored != n:
                print(f"  WARNING: expected {n:,} rows stored, got {report.rows_stored:,}")
            statements.report(ingest_s, "staging by COPY")

            copied, copy_s = plain_copy(copy_url, csv_path)
            print(f"PostgreSQL plain COPY into a bare table: {copy_s:.1f} s, {rate(copied, copy_s)} rows/s "
                  f"({copied:,} rows)")
            ratio = ingest_s / copy_s
            print(f"ratio ingest_file / COPY: {ratio:.2f} (goal <= {GOAL_RATIO})")
            summary.append(("PG ingest_file", f"{ingest_s:.1f} s ({rate(n, ingest_s)} rows/s)", "", ""))
            summary.append(("PG plain COPY (baseline)", f"{copy_s:.1f} s ({rate(copied, copy_s)} rows/s)", "", ""))
            summary.append(("PG ratio ingest/COPY", f"{ratio:.2f}", f"<= {GOAL_RATIO}", verdict(ratio <= GOAL_RATIO)))

            create_database(server.admin_url, "bench_reference")
            reference_url = server.url("bench_reference")
            upgrade(reference_url)
            _reference_report, reference_s = timed_ingest(reference_url, csv_path, fast=False)
            print(f"PostgreSQL ingest_file, reference parser (VPT_INGEST_FAST_PATH=false): {reference_s:.1f} s, "
                  f"{rate(n, reference_s)} rows/s; / COPY {reference_s / copy_s:.2f}; fast path / reference "
                  f"{ingest_s / reference_s:.2f}")
            summary.append(("PG ingest_file, reference parser", f"{reference_s:.1f} s ({rate(n, reference_s)} "
                            f"rows/s), / COPY {reference_s / copy_s:.2f}", "", ""))

            finished = work / "finished.copy"
            export_finished(ingest_url, finished)
            create_database(server.admin_url, "bench_floor")
            floor_url = server.url("bench_floor")
            upgrade(floor_url)
            floored, floor_s = floor_copy(floor_url, finished)
            floor_ratio = ingest_s / floor_s
            print(f"PostgreSQL floor, COPY of the finished rows into the migrated calls table: {floor_s:.1f} s, "
                  f"{rate(floored, floor_s)} rows/s ({floored:,} rows); floor / plain COPY {floor_s / copy_s:.2f}, "
                  f"ingest_file / floor {floor_ratio:.2f}")
            summary.append(("PG floor: COPY finished rows into calls", f"{floor_s:.1f} s ({rate(floored, floor_s)} "
                            f"rows/s)", "", ""))
            summary.append(("PG ratio floor/COPY, ingest/floor", f"{floor_s / copy_s:.2f}, {floor_ratio:.2f}", "", ""))

            aggregates = export_aggregates(ingest_url, work)
            create_database(server.admin_url, "bench_floor_all")
            floor_all_url = server.url("bench_floor_all")
            upgrade(floor_all_url)
            written, floor_all_s = floor_with_aggregates(floor_all_url, FINISHED_COLUMNS, finished, aggregates)
            held = ", ".join(f"{table} {rows:,}" for table, _columns, _path, rows in aggregates)
            print(f"PostgreSQL floor with aggregates, COPY of the finished calls and aggregate rows ({held}): "
                  f"{floor_all_s:.1f} s ({written:,} rows); / plain COPY {floor_all_s / copy_s:.2f}, "
                  f"ingest_file / it {ingest_s / floor_all_s:.2f}")
            summary.append(("PG ratio floor with aggregates/COPY, ingest/it",
                            f"{floor_all_s / copy_s:.2f}, {ingest_s / floor_all_s:.2f}", "", ""))

            if args.history_factor > 0:
                create_database(server.admin_url, "bench_history")
                history_url = server.url("bench_history")
                upgrade(history_url)
                timed_ingest(history_url, empty_path)  # the source and a run, as the first database has them
                held, build_s = build_history(history_url, finished, args.history_factor)
                print(f"history: {held:,} calls stored in {build_s:.1f} s ({args.history_factor} x N, earlier years)")
                # The same-run baseline is taken right before, into a fresh empty database: on a shared machine
                # the load drifts between the first ingest and this one.
                create_database(server.admin_url, "bench_empty")
                empty_url = server.url("bench_empty")
                upgrade(empty_url)
                empty_statements = StatementTimes()
                _empty_report, empty_s = timed_ingest(empty_url, csv_path, empty_statements)
                history_statements = StatementTimes()
                history_report, history_s = timed_ingest(history_url, csv_path, history_statements)
                history_ratio = history_s / empty_s
                print(f"PostgreSQL ingest_file into an empty database, just before: {empty_s:.1f} s, "
                      f"{rate(n, empty_s)} rows/s")
                print(f"PostgreSQL ingest_file into {held:,} stored calls: {history_s:.1f} s, "
                      f"{rate(n, history_s)} rows/s (stored {history_report.rows_stored:,}); "
                      f"vs into an empty database {history_ratio:.2f} (goal <= {GOAL_HISTORY_RATIO})")
                history_statements.report(history_s, "staging by COPY")
                empty_sql, history_sql = sum(empty_statements.totals.values()), sum(history_statements.totals.values())
                print(f"  SQL statements alone, history / empty: {history_sql:.1f} s / {empty_sql:.1f} s = "
                      f"{history_sql / empty_sql:.2f} (less exposed to the machine's load than the whole ingest)")
                summary.append((f"PG ingest into {args.history_factor} N history", f"{history_s:.1f} s "
                                f"({rate(n, history_s)} rows/s)", "", ""))
                summary.append(("PG ratio history/empty", f"{history_ratio:.2f}", f"<= {GOAL_HISTORY_RATIO}",
                                verdict(history_ratio <= GOAL_HISTORY_RATIO and history_report.rows_stored == n)))

            rerun, rerun_s = timed_ingest(ingest_url, csv_path)
            print(f"PostgreSQL re-ingest of the same file: {rerun_s:.1f} s, {rate(n, rerun_s)} rows/s "
                  f"(unchanged {rerun.rows_unchanged:,}, stored {rerun.rows_stored:,}, updated {rerun.rows_updated:,},"
                  f" hours refreshed {rerun.hours_refreshed:,})")
            summary.append(("PG re-ingest (idempotent)", f"{rerun_s:.1f} s ({rate(n, rerun_s)} rows/s)",
                            f"unchanged = {n:,}", verdict(rerun.rows_unchanged == n)))

            summary.extend(sqlite_ingest(work, csv_path, n))
            _sqlite_reference, sqlite_reference_s = timed_ingest(fresh_sqlite(work, "reference.db"), csv_path,
                                                                 fast=False)
            print(f"SQLite ingest_file, reference parser: {sqlite_reference_s:.1f} s, "
                  f"{rate(n, sqlite_reference_s)} rows/s")
            summary.append(("SQLite ingest_file, reference parser", f"{sqlite_reference_s:.1f} s "
                            f"({rate(n, sqlite_reference_s)} rows/s)", "", ""))

            backends = ["sqlite", "postgresql"] if args.rss_backend == "both" else [args.rss_backend]
            for backend in backends:
                peaks = []
                for label, path, rows in (("0", empty_path, 0), ("N/4", quarter_path, quarter), ("N", csv_path, n)):
                    if backend == "sqlite":
                        url = fresh_sqlite(work, f"rss_{label.replace('/', '_')}.db")
                    else:
                        name = f"bench_rss_{label.replace('/', '_').lower()}"
                        create_database(server.admin_url, name)
                        url = server.url(name)
                        upgrade(url)
                    result = run_child(url, path)
                    peak_mb = result["vmhwm_kb"] / 1024
                    peaks.append(peak_mb)
                    print(f"{backend} child ingest of {rows:,} rows ({label}): peak RSS {peak_mb:.0f} MB, "
                          f"{result['seconds']:.1f} s")
                growth = peaks[2] - peaks[1]
                ok = peaks[2] <= GOAL_RSS_MB and growth <= 0.25 * peaks[1]
                summary.append((
                    f"{backend} peak RSS 0 / N/4 / N rows",
                    " / ".join(f"{p:.0f}" for p in peaks) + " MB",
                    f"<= {GOAL_RSS_MB} MB, flat", verdict(ok),
                ))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    return _print_summary(n, summary)


def sqlite_only(work: Path, csv_path: Path, quarter_path: Path, empty_path: Path, n: int,
                quarter: int) -> list[tuple[str, str, str, str]]:
    """``--sqlite-only``: the SQLite ingest with the CPU seconds it took (on a shared machine the wall time says how
    busy the machine was as much as what the ingest cost), and the peak RSS of child ingests of 0, N/4 and N rows."""
    summary = sqlite_ingest(work, csv_path, n)
    peaks = []
    for label, path, rows in (("0", empty_path, 0), ("N/4", quarter_path, quarter), ("N", csv_path, n)):
        result = run_child(fresh_sqlite(work, f"rss_{label.replace('/', '_')}.db"), path)
        peaks.append(result["vmhwm_kb"] / 1024)
        print(f"sqlite child ingest of {rows:,} rows ({label}): peak RSS {peaks[-1]:.0f} MB, "
              f"{result['seconds']:.1f} s")
    ok = peaks[2] <= GOAL_RSS_MB and peaks[2] - peaks[1] <= 0.25 * peaks[1]
    summary.append(("sqlite peak RSS 0 / N/4 / N rows", " / ".join(f"{p:.0f}" for p in peaks) + " MB",
                    f"<= {GOAL_RSS_MB} MB, flat", verdict(ok)))
    return summary


def naive_timestamps(rows: int, seed: int) -> tuple[str, str, str, str]:
    """bench/timestamps.py's comparison (naive local times against the same rows with offsets, the reference parser,
    two alternating passes, the best of each), as a summary row: issue 15's table has it."""
    from bench.timestamps import GOAL_RATIO as GOAL_NAIVE_RATIO
    from bench.timestamps import compare  # not at the top: the peak-RSS children import this module

    offset_s, naive_s, _differing = compare(rows, passes=2, seed=seed)
    ratio = naive_s / offset_s
    print(f"naive local timestamps vs offsets, {rows:,} rows through the reference parser: {naive_s:.2f} s / "
          f"{offset_s:.2f} s = {ratio:.2f}")
    return (f"naive / offset timestamps, parse ({rows:,} rows)", f"{ratio:.2f} ({naive_s:.2f} s / {offset_s:.2f} s)",
            f"<= {GOAL_NAIVE_RATIO}", verdict(ratio <= GOAL_NAIVE_RATIO))


def sqlite_ingest(work: Path, csv_path: Path, n: int) -> list[tuple[str, str, str, str]]:
    """The SQLite ingest, with the CPU seconds it took (on a shared machine the wall time says how busy the machine
    was as much as what the ingest cost), against SQLite's write floors of the same rows (bench/sqlite_floor.py)."""
    statements = StatementTimes()
    cpu = time.process_time()
    ingested = fresh_sqlite(work, "ingest.db")
    report, seconds = timed_ingest(ingested, csv_path, statements)
    cpu = time.process_time() - cpu
    print(f"SQLite ingest_file: {seconds:.1f} s, {rate(n, seconds)} rows/s, {cpu:.1f} CPU s "
          f"({rate(n, cpu)} rows per CPU second; stored {report.rows_stored:,}, hours refreshed "
          f"{report.hours_refreshed:,})")
    statements.report(seconds, "staging by executemany")
    floors = measure_sqlite_floors(ingested, (fresh_sqlite(work, "floor_python.db"),
                                              fresh_sqlite(work, "floor_engine.db")))
    held = ", ".join(f"{table} {rows:,} in {spent:.1f} s" for table, (rows, spent) in floors.tables.items())
    print(f"SQLite floor from Python, executemany of the finished rows ({held}): {floors.from_python:.1f} s, "
          f"{rate(floors.calls, floors.from_python)} calls/s; ingest_file / it {seconds / floors.from_python:.2f}")
    print(f"SQLite floor inside the engine, INSERT ... SELECT from the finished database: {floors.in_engine:.1f} s, "
          f"{rate(floors.calls, floors.in_engine)} calls/s; ingest_file / it {seconds / floors.in_engine:.2f}")
    return [
        ("SQLite ingest_file", f"{seconds:.1f} s ({rate(n, seconds)} rows/s), {cpu:.1f} CPU s",
         f">= {GOAL_SQLITE_ROWS_PER_S:,} rows/s", verdict(n / seconds >= GOAL_SQLITE_ROWS_PER_S)),
        ("SQLite floor from Python (executemany)", f"{floors.from_python:.1f} s "
         f"({rate(floors.calls, floors.from_python)} calls/s), ingest/it {seconds / floors.from_python:.2f}", "", ""),
        ("SQLite floor inside the engine", f"{floors.in_engine:.1f} s ({rate(floors.calls, floors.in_engine)} "
         f"calls/s), ingest/it {seconds / floors.in_engine:.2f}", "", ""),
    ]


def _print_summary(n: int, summary: list[tuple[str, str, str, str]]) -> int:
    print()
    print(f"Summary ({n:,} rows, {os.cpu_count()} CPUs)")
    widths = [max(len(row[i]) for row in [("measure", "value", "goal", ""), *summary]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print("  ".join(h.ljust(w) for h, w in zip(("measure", "value", "goal", ""), widths, strict=True)).rstrip())
    print(line)
    for row in summary:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
