"""Running and timing one ``ingest_file`` for ``bench/ingest.py``, and the databases it runs in.

The ingest itself (``timed_ingest``, with the pool's first connection opened before the clock starts), the SQL
statement timer, the parse-only floors, the peak-RSS child (``python bench/ingest.py --child-ingest URL FILE``) and
fresh PostgreSQL or SQLite databases. ``bench/profiles.py`` uses the same runner and databases, so that its ratios
are measured the way the ingest benchmark measures.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text

from app.config import Settings
from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory
from app.ingest.loader import RunReport
from app.ingest.parsers import ParseOptions, parse_calls
from app.ingest.rows import Rejection
from app.ingest.service import ingest_file
from app.kpi.reference import REGIONS

ROOT = Path(__file__).resolve().parents[1]
#: The peak-RSS children run the benchmark's own entry point, so they import what it imports.
INGEST_SCRIPT = Path(__file__).resolve().with_name("ingest.py")


# --- one ingest ----------------------------------------------------------------------------------------


@dataclass
class StatementTimes:
    """Wall time per SQL statement issued through SQLAlchemy (COPY through the raw DBAPI is not seen)."""

    totals: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def attach(self, engine: Engine) -> Callable[[], None]:
        def before(conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool) -> None:
            context._bench_started = time.perf_counter()

        def after(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
            key = " ".join(statement.split())[:90]
            self.totals[key] += time.perf_counter() - context._bench_started
            self.counts[key] += 1

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)

        def detach() -> None:
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)

        return detach

    def top(self, n: int = 6) -> list[tuple[str, float, int]]:
        ranked = sorted(self.totals.items(), key=lambda item: item[1], reverse=True)[:n]
        return [(key, seconds, self.counts[key]) for key, seconds in ranked]

    def report(self, total: float, staging: str) -> None:
        seen = sum(self.totals.values())
        print(f"  SQL statements through SQLAlchemy: {seen:.1f} s; the rest ({total - seen:.1f} s) is parsing, "
              f"{staging} and Python overhead. Slowest statements:")
        for key, seconds, count in self.top():
            print(f"    {seconds:7.2f} s  x{count:<5d} {key}")


def settings_for(url: str, fast: bool = True) -> Settings:
    return Settings(database_url=url, ingest_fast_path=fast, _env_file=None)  # type: ignore[call-arg]


def timed_ingest(url: str, path: Path, statements: StatementTimes | None = None,
                 fast: bool = True) -> tuple[RunReport, float]:
    """``fast``: VPT_INGEST_FAST_PATH (app.ingest.fastcsv); off, the reference parser reads every row."""
    settings = settings_for(url, fast)
    engine = make_engine(settings)
    try:
        with engine.connect():
            pass  # the pool's first connection is not part of the ingest
        detach = statements.attach(engine) if statements is not None else None
        started = time.perf_counter()
        report = ingest_file(make_session_factory(engine), settings, "calls", path)
        elapsed = time.perf_counter() - started
        if detach is not None:
            detach()
    finally:
        engine.dispose()
    return report, elapsed


def parse_only(path: Path) -> tuple[int, float]:
    """The Python floor of the ingest: read and validate every row, store nothing."""
    import io

    options = ParseOptions(frozenset(code for code, _n, _i in REGIONS))
    started = time.perf_counter()
    n = 0
    with path.open("rb") as raw:
        stream = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
        for result in parse_calls(stream, "csv", options):
            if isinstance(result, Rejection):
                raise SystemExit(f"generated row rejected: {result.describe()}")
            n += 1
    return n, time.perf_counter() - started


def parse_only_fast(path: Path) -> tuple[int, int, float]:
    """The fast path's floor: pyarrow blocks, vectorised checks and stage columns, store nothing.
    Returns (plain rows, rows read by the reference parser, seconds)."""
    from app.ingest.fastcsv import FastCallReader, PlainBlock

    options = ParseOptions(frozenset(code for code, _n, _i in REGIONS), now=datetime.now(UTC))
    started = time.perf_counter()
    with path.open("rb") as raw:
        reader = FastCallReader(raw, options)
        for item in reader:
            if not isinstance(item, PlainBlock) and isinstance(item, Rejection):
                raise SystemExit(f"generated row rejected: {item.describe()}")
    return reader.stats.plain_rows, reader.stats.reference_rows, time.perf_counter() - started


# --- peak RSS, in a child process ----------------------------------------------------------------------


def peak_rss_kb() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux


def child_ingest(url: str, path: Path) -> None:
    report, elapsed = timed_ingest(url, path)
    print(json.dumps({
        "rows_read": report.rows_read, "rows_stored": report.rows_stored, "rows_rejected": report.rows_rejected,
        "seconds": elapsed, "vmhwm_kb": peak_rss_kb(),
    }))


def run_child(url: str, path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(INGEST_SCRIPT), "--child-ingest", url, str(path)],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    if done.returncode != 0:
        raise SystemExit(f"child ingest failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- databases -----------------------------------------------------------------------------------------


def postgres() -> Any:
    """A throwaway server (tests/pgserver.py), stopped when the ``with`` block ends."""
    from tests.pgserver import PostgresServer

    return PostgresServer.start()


def create_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def fresh_sqlite(directory: Path, name: str) -> str:
    path = directory / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    upgrade(url)
    return url
