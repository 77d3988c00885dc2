"""Profile-mapped ingest against canonical ingest of the same calls (issue 14: goal within 1.3×).

Run from the repository root with the virtualenv active::

    python bench/profiles.py                  # 200 000 rows, SQLite and PostgreSQL
    python bench/profiles.py --rows 50000 --sqlite-only

What it does:

1. writes N canonical call rows (``bench/ingest_data.py``'s generator, deterministic seed) to a CSV, and the same calls
   as a Swedish spreadsheet export: ``;``, Swedish headers, outcome words in Swedish, local times without an offset,
   talk time as ``mm:ss`` and wrap time with a decimal comma;
2. ingests, each into a fresh database: the canonical CSV through the canonical parser (the baseline), the same CSV
   through the built-in identity profile ``canonical-calls``, and the Swedish file through a profile written for it;
3. checks that all three stored the same calls (a digest of every stored call's fields) and prints each time, its
   ratio to the baseline measured in the same process, and the parse-only times (no database) beside them.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from app.config import Settings  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.db.models import Call  # noqa: E402
from app.db.session import make_engine, make_session_factory  # noqa: E402
from app.ingest.loader import Parser  # noqa: E402
from app.ingest.parsers import ParseOptions, parse_calls  # noqa: E402
from app.ingest.profiles import load_profiles, profile_parser  # noqa: E402
from app.ingest.rows import Rejection  # noqa: E402
from app.ingest.service import ingest_file  # noqa: E402
from app.kpi.reference import REGIONS  # noqa: E402
from bench.ingest_data import generate_calls  # noqa: E402
from bench.ingest_timing import create_database, fresh_sqlite, postgres, settings_for  # noqa: E402

GOAL_RATIO = 1.3
OUTCOME_WORDS = {"answered": "Besvarad", "abandoned": "Avbruten", "rejected": "Avvisad"}
SWEDISH_PROFILE = """
[profile]
name = "bench-svensk-samtalslista"
title = "Samtalslista (bench)"
record = "calls"

[container]
type = "csv"
delimiter = ";"
decimal = ","

[fields]
call_id = "Samtals-id"
region = "Region"
queue = "Kö"
arrived_at = { column = "Ankomst", timestamp = "%Y-%m-%d %H:%M:%S" }
outcome = { column = "Utfall", map = { "Besvarad" = "answered", "Avbruten" = "abandoned", "Avvisad" = "rejected" } }
answered_at = { column = "Besvarad tid", timestamp = "%Y-%m-%d %H:%M:%S" }
ended_at = { column = "Avslutad", timestamp = "%Y-%m-%d %H:%M:%S" }
answered_by_region = "Besvarad av region"
talk_seconds = { column = "Samtalstid (mm:ss)", duration = "mm:ss" }
wrap_seconds = { column = "Efterarbete (s)", duration = "s" }
"""
SWEDISH_HEADER = ["Samtals-id", "Region", "Kö", "Ankomst", "Utfall", "Besvarad tid", "Avslutad", "Besvarad av region",
                  "Samtalstid (mm:ss)", "Efterarbete (s)"]


def _local(text: str) -> str:
    """``2025-03-01T08:00:00+01:00`` → ``2025-03-01 08:00:00``: the wall time a spreadsheet shows."""
    return text[:19].replace("T", " ") if text else ""


def write_swedish(canonical: Path, target: Path) -> None:
    with canonical.open(encoding="utf-8", newline="") as source, target.open("w", encoding="utf-8",
                                                                            newline="") as out:
        rows = csv.DictReader(source)
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(SWEDISH_HEADER)
        for row in rows:
            talk = row["talk_seconds"]
            wrap = row["wrap_seconds"]
            writer.writerow([
                row["call_id"], row["region"], row["queue"], _local(row["arrived_at"]),
                OUTCOME_WORDS[row["outcome"]], _local(row["answered_at"]), _local(row["ended_at"]),
                row["answered_by_region"],
                f"{int(talk) // 60:02d}:{int(talk) % 60:02d}" if talk else "",
                f"{wrap},0" if wrap else "",
            ])


#: The repeated autumn hour of the bench's year in UTC: a wall time in it is ambiguous without an offset, which the
#: Swedish export drops, so its calls are read by SPEC §3's file-order rule and may differ from the offset-exact ones.
REPEATED_HOUR = (datetime(2025, 10, 26, 0, tzinfo=UTC), datetime(2025, 10, 26, 2, tzinfo=UTC))


def stored_digests(url: str) -> tuple[int, str, str]:
    """Every stored call's fields, in call_id order, hashed: equal digests mean equal stored calls. The second digest
    leaves out calls that arrived in the repeated autumn hour."""
    engine = make_engine(settings_for(url))
    every, outside = hashlib.sha256(), hashlib.sha256()
    n = 0
    try:
        with engine.connect() as conn:
            columns = (Call.call_id, Call.region, Call.queue, Call.arrived_at, Call.outcome,
                       Call.answered_at, Call.ended_at, Call.answered_by_region, Call.talk_seconds,
                       Call.wrap_seconds)
            for row in conn.execute(select(*columns).order_by(Call.call_id)):
                text = repr(tuple(row)).encode()
                every.update(text)
                if not REPEATED_HOUR[0] <= row.arrived_at < REPEATED_HOUR[1]:
                    outside.update(text)
                n += 1
    finally:
        engine.dispose()
    return n, every.hexdigest()[:16], outside.hexdigest()[:16]


def timed(url: str, path: Path, parser: Parser | None, settings: Settings) -> float:
    settings = settings.model_copy(update={"database_url": url})
    engine = make_engine(settings)
    try:
        with engine.connect():
            pass
        started = time.perf_counter()
        report = ingest_file(make_session_factory(engine), settings, "calls", path, parser=parser)
        elapsed = time.perf_counter() - started
    finally:
        engine.dispose()
    if report.rows_rejected:
        raise SystemExit(f"{path.name}: {report.rows_rejected} rows rejected, e.g. "
                         f"{report.rejections[0].describe()}")
    return elapsed


def parse_only(path: Path, parser: Parser | None) -> float:
    options = ParseOptions(frozenset(code for code, _n, _i in REGIONS))
    started = time.perf_counter()
    with path.open("rb") as raw:
        stream: IO[str] = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
        results: Iterator[object] = parse_calls(stream, "csv", options) if parser is None else parser(stream, options)
        for result in results:
            if isinstance(result, Rejection):
                raise SystemExit(f"{path.name}: {result.describe()}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1177)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="vpt-bench-profiles-") as tmp:
        directory = Path(tmp)
        profiles_dir = directory / "profiles"
        profiles_dir.mkdir()
        (profiles_dir / "bench.toml").write_text(SWEDISH_PROFILE, encoding="utf-8")
        settings = Settings(_env_file=None, profiles_dir=str(profiles_dir))  # type: ignore[call-arg]
        registry = load_profiles(settings)
        identity = profile_parser(registry.get("canonical-calls"), settings)
        swedish = profile_parser(registry.get("bench-svensk-samtalslista"), settings)

        canonical = directory / "calls.csv"
        print(f"writing {args.rows:,} calls ...", flush=True)
        generate_calls(canonical, args.rows, args.seed)
        spreadsheet = directory / "samtal.csv"
        write_swedish(canonical, spreadsheet)
        runs: list[tuple[str, Path, Parser | None]] = [
            ("canonical parser", canonical, None),
            ("identity profile", canonical, identity),
            ("Swedish export profile", spreadsheet, swedish),
        ]
        table: list[tuple[str, str, float, float]] = []
        for label, path, chosen in runs:
            seconds = parse_only(path, chosen)
            print(f"parse only, {label}: {seconds:.2f} s", flush=True)
            table.append(("parse only", label, seconds, 0.0))

        backends = [("SQLite", None)] if args.sqlite_only else [("SQLite", None), ("PostgreSQL", "pg")]
        digests: dict[str, tuple[int, str, str]] = {}
        server = None
        try:
            for backend, kind in backends:
                for i, (label, path, chosen) in enumerate(runs):
                    if kind is None:
                        url = fresh_sqlite(directory, f"db{i}.sqlite")
                    else:
                        if server is None:
                            server = postgres().__enter__()
                        name = f"bench_profiles_{i}"
                        create_database(server.admin_url, name)
                        url = server.url(name)
                        upgrade(url)
                    seconds = timed(url, path, chosen, settings)
                    digests[f"{backend} {label}"] = stored_digests(url)
                    print(f"{backend} ingest, {label}: {seconds:.2f} s", flush=True)
                    table.append((f"{backend} ingest", label, seconds, 0.0))
        finally:
            if server is not None:
                server.__exit__(None, None, None)

    baselines = {stage: seconds for stage, label, seconds, _ in table if label == "canonical parser"}
    print(f"\n{'stage':<20} {'input':<24} {'seconds':>8} {'× canonical':>12}  goal ≤ {GOAL_RATIO}×")
    worst = 0.0
    for stage, label, seconds, _ in table:
        ratio = seconds / baselines[stage] if baselines[stage] else float("nan")
        if stage != "parse only":
            worst = max(worst, ratio)
        print(f"{stage:<20} {label:<24} {seconds:8.2f} {ratio:11.2f}×")
    exact = {d[:2] for key, d in digests.items() if "Swedish" not in key}
    outside = {(d[0], d[2]) for d in digests.values()}
    same = len(exact) == 1 and len(outside) == 1
    print(f"\nstored calls identical (canonical parser and identity profile, every call; the Swedish export too "
          f"outside the repeated autumn hour, whose wall times it writes without an offset): "
          f"{'yes' if same else 'NO'}")
    for key, d in digests.items():
        print(f"  {key:<40} {d[0]:>8} calls  all {d[1]}  outside the repeated hour {d[2]}")
    print(f"worst ingest ratio: {worst:.2f}× — {'ok' if worst <= GOAL_RATIO else 'MISSED'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
