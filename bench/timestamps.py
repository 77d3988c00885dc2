"""Timestamp benchmark: parsing naive local timestamps against the same rows written with their offsets.

Run from the repository root with the virtualenv active::

    python bench/timestamps.py                    # 200 000 rows, best of 3 alternating passes
    python bench/timestamps.py --rows 50000 --profile   # and a cProfile of the naive pass

A naive timestamp is Europe/Stockholm wall time (SPEC §3), so each one needs a zone lookup that an offset
timestamp does not; issue 15's goal is a naive file parsing within 1.2× of the offset file. Both files hold the
same rows (``bench/ingest_data.py``'s ``generate_calls``, the naive one with every offset stripped), are parsed by
``parse_calls`` in this one process, alternately, so machine load hits both alike; the best pass of each counts.
The records of both files are compared too: they differ only where a naive time in the repeated autumn hour reads
otherwise than its offset said (SPEC §3 takes the first occurrence in a file as summer time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.ingest.parsers import Parsed, ParseOptions, parse_calls  # noqa: E402
from app.ingest.rows import Rejection  # noqa: E402
from app.kpi.reference import REGIONS  # noqa: E402
from bench.ingest_data import generate_calls  # noqa: E402

GOAL_RATIO = 1.2
#: "2025-03-30T01:59:59+01:00" → "2025-03-30T01:59:59": the wall time as a naive export writes it.
_OFFSET = re.compile(r"(T\d\d:\d\d:\d\d)[+-]\d\d:\d\d")


def strip_offsets(source: Path, target: Path) -> None:
    with source.open(encoding="utf-8") as src, target.open("w", encoding="utf-8", newline="") as out:
        for line in src:
            out.write(_OFFSET.sub(r"\1", line))


def parse(path: Path) -> tuple[list[object], float]:
    options = ParseOptions(frozenset(code for code, _n, _i in REGIONS))
    started = time.perf_counter()
    records: list[object] = []
    with path.open("rb") as raw:
        stream = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
        for result in parse_calls(stream, "csv", options):
            if isinstance(result, Rejection):
                raise SystemExit(f"generated row rejected: {result.describe()}")
            assert isinstance(result, Parsed)
            records.append(result.record)
    return records, time.perf_counter() - started


def compare(rows: int, passes: int, profile: bool = False, seed: int | None = None) -> tuple[float, float, int]:
    """(best offset seconds, best naive seconds, records that read otherwise) of ``rows`` generated calls."""
    with tempfile.TemporaryDirectory(prefix="vpt-bench-ts-") as tmp:
        offset_file, naive_file = Path(tmp, "offset.csv"), Path(tmp, "naive.csv")
        generate_calls(offset_file, rows) if seed is None else generate_calls(offset_file, rows, seed)
        strip_offsets(offset_file, naive_file)
        best = {"offset": float("inf"), "naive": float("inf")}
        records: dict[str, list[object]] = {}
        for _ in range(passes):
            for name, path in (("offset", offset_file), ("naive", naive_file)):
                records[name], seconds = parse(path)
                best[name] = min(best[name], seconds)
        differing = sum(a != b for a, b in zip(records["offset"], records["naive"], strict=True))
        if profile:
            profiler = cProfile.Profile()
            profiler.runcall(parse, naive_file)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    return best["offset"], best["naive"], differing


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--rows", type=int, default=200_000)
    args.add_argument("--passes", type=int, default=3, help="alternating passes per file; the best counts")
    args.add_argument("--profile", action="store_true", help="cProfile one more pass of the naive file")
    options = args.parse_args(argv)
    rows = options.rows
    offset_s, naive_s, differing = compare(rows, options.passes, options.profile)
    ratio = naive_s / offset_s
    print(f"offset timestamps: {rows} rows parsed in {offset_s:.2f} s ({rows / offset_s:,.0f} rows/s)")
    print(f"naive timestamps:  {rows} rows parsed in {naive_s:.2f} s ({rows / naive_s:,.0f} rows/s)")
    verdict = "met" if ratio <= GOAL_RATIO else "NOT met"
    print(f"naive / offset: {ratio:.2f}x (goal <= {GOAL_RATIO}x: {verdict}); "
          f"records that read otherwise (repeated autumn hour): {differing}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
