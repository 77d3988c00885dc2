"""Merge benchmark: the SQL side of a calls ingest (merge + refresh of the touched hours), new code against old.

Run from the repository root with the virtualenv active::

    python bench/merge.py                          # 200 000 rows, 400 000 of history, both databases
    python bench/merge.py --rows 50000 --history 0 --only sqlite

Parsing and staging are left out: the N staged rows are generated as tuples (what ``stage_row`` makes) and
written with ``StageWriter``, untimed. Each database is filled twice, once by the code of ``--baseline`` (a git
revision; its merge and refresh modules, ``BASELINE_MODULES``, are loaded from git as modules beside the
working tree's) and once by the working tree, the same deliveries in the same order:

1. ``history``: ``--history`` rows of earlier days, in deliveries of ``--rows`` (``ANALYZE calls`` after each, untimed,
   as autovacuum would);
2. ``new``: N new calls of later days (the common delivery);
3. ``again``: the same N rows re-delivered (a no-op);
4. ``corrections``: the same N keys with 10 % changed (outcome, region or hour) and 90 % as stored.

Each step runs on the baseline's database, then on the new code's (alternating, so load drifts hit both alike), and
prints merge and refresh seconds for both; the two databases' stored calls and aggregates are compared at the end
(they must be equal; floats to 1e-6). ``--statements`` prints each step's slowest statements.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, event, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app.config import Settings  # noqa: E402
from app.db import aggregates as new_aggregates  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.db.session import make_engine, make_session_factory  # noqa: E402
from app.ingest import staging as new_staging  # noqa: E402
from app.ingest.loader import ensure_definitions  # noqa: E402
from app.ingest.runs import get_or_create_source, start_run  # noqa: E402
from app.kpi.counts import Definitions  # noqa: E402
from app.kpi.reference import REGIONS  # noqa: E402
from tests.pgserver import PostgresServer  # noqa: E402

#: The revision before issue 15's merge rework: the default baseline.
BASELINE = "78e8554"
SEED = 1177
START = datetime(2025, 1, 6, tzinfo=UTC)
CODES = [code for code, _, _ in REGIONS]
Row = tuple[Any, ...]


#: The modules of the merge and refresh, in import order: the baseline's are loaded from git as ``baseline_<name>``,
#: each importing the baseline's others (a module the revision does not have is today's).
BASELINE_MODULES = ("app/db/contributions.py", "app/db/touched.py", "app/db/totals.py", "app/db/hour_deltas.py",
                    "app/db/aggregates.py", "app/ingest/stage_tables.py", "app/ingest/merge_steps.py",
                    "app/ingest/staging.py")


def load_baseline(revision: str, directory: Path) -> tuple[ModuleType, ModuleType]:
    """The staging and aggregates modules of ``revision`` (with the merge's and refresh's other modules of that
    revision), importable beside today's."""
    loaded: dict[str, str] = {}  # dotted name -> baseline module name
    for path in BASELINE_MODULES:
        shown = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=ROOT, capture_output=True, text=True,
                               check=False)
        if shown.returncode != 0:
            continue
        source = shown.stdout
        for dotted, alias in loaded.items():
            source = source.replace(f"from {dotted} import", f"from {alias} import")
        name = "baseline_" + Path(path).stem
        file = directory / f"{name}.py"
        file.write_text(source)
        spec = importlib.util.spec_from_file_location(name, file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        loaded[path[:-3].replace("/", ".")] = name
    return sys.modules["baseline_staging"], sys.modules["baseline_aggregates"]


def call_row(seq: int, call_id: str, region: str, arrived: datetime, outcome: str, wait: int) -> Row:
    answered = outcome == "answered"
    answered_at = arrived + timedelta(seconds=wait) if answered else None
    ended_at = arrived + timedelta(seconds=wait + (300 if answered else 0))
    by = (CODES[(CODES.index(region) + 1) % len(CODES)] if seq % 7 == 0 else region) if answered else None
    hour = arrived.replace(minute=0, second=0, microsecond=0)
    return (seq, call_id, region, "vpt", arrived, outcome, answered_at, ended_at, by,
            300.0 if answered else None, 30.0 if answered else None, wait * 1000 if outcome != "rejected" else None,
            hour)


def deliveries(rows: int, history: int) -> tuple[list[list[Row]], list[Row], list[Row]]:
    """History deliveries, the new delivery and its corrected re-delivery (deterministic)."""
    rng = random.Random(SEED)

    def calls(prefix: str, n: int, first_day: int) -> list[Row]:
        days = max(1, n // 6_000)  # national volume: ~6 000 calls a day over 21 regions
        out = []
        for i in range(n):
            arrived = START + timedelta(days=first_day + rng.randrange(days), seconds=rng.randrange(86_400))
            outcome = rng.choices(["answered", "abandoned", "rejected"], [80, 15, 5])[0]
            out.append(call_row(i + 2, f"{prefix}{i}", rng.choice(CODES), arrived, outcome, rng.randrange(1, 2_400)))
        return out

    past: list[list[Row]] = []
    day = 0
    for part in range(0, history, rows):
        n = min(rows, history - part)
        past.append(calls(f"h{part}-", n, day))
        day += max(1, n // 6_000)
    new = calls("n-", rows, day)
    corrected = []
    for row in new:
        if rng.random() < 0.1:
            seq, call_id, region, _queue, arrived, outcome, *_ = row
            change = rng.randrange(3)
            if change == 0:
                outcome = "abandoned" if outcome == "answered" else "answered"
            elif change == 1:
                region = CODES[(CODES.index(region) + 3) % len(CODES)]
            else:
                arrived = arrived + timedelta(hours=rng.choice([-2, 1, 5]))
            row = call_row(seq, call_id, region, arrived, outcome, rng.randrange(1, 2_400))
        corrected.append(row)
    return past, new, corrected


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(conn: Any) -> float:
    """CPU seconds of this process and, on PostgreSQL, of the connection's server process (/proc): on a shared
    machine, wall times swing 2-3x with other load, the work done far less."""
    used = time.process_time()
    if conn.dialect.name == "postgresql":
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used += (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
        except OSError:
            pass
    return used


#: CPU seconds of each delivery's merge and refresh, by the last ``timed_delivery``
LAST_CPU: list[float] = [0.0, 0.0]


def timed_delivery(factory: Any, staging: ModuleType, aggregates: ModuleType, rows: list[Row]) -> tuple[float, float]:
    """One delivery's staged rows merged and refreshed in one transaction: (merge s, refresh s); their CPU seconds
    in ``LAST_CPU``."""
    definitions = Definitions()
    with factory() as session, session.begin():
        assert isinstance(session, Session)
        ensure_definitions(session, definitions)
        source = get_or_create_source(session, "bench", "file")
        run, _ = start_run(session, source, "calls", "bench")
        conn = session.connection()
        writer = staging.StageWriter(conn, staging.CALLS)
        aggregates.create_touched_table(conn)
        for part in range(0, len(rows), 50_000):
            writer.write(rows[part:part + 50_000])
        cpu_started = cpu_seconds(conn)
        started = time.perf_counter()
        staging.merge(conn, staging.CALLS, source.id, run.id)
        merged = time.perf_counter()
        cpu_merged = cpu_seconds(conn)
        aggregates.refresh_touched_hours(conn, definitions)
        refreshed = time.perf_counter()
        LAST_CPU[:] = [cpu_merged - cpu_started, cpu_seconds(conn) - cpu_merged]
        writer.drop()
        aggregates.drop_touched_table(conn)
    return merged - started, refreshed - merged


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    out = {}
    with engine.connect() as conn:
        out["calls"] = [tuple(r) for r in conn.execute(text(
            "SELECT call_id, region, arrived_at, outcome, answered_by_region, wait_ms, hour_start FROM calls "
            "ORDER BY call_id"))]
        for table, key in (("hourly_aggregates", "region, hour_start"),
                           ("hourly_answered_by", "region, answered_by_region, hour_start"),
                           ("monthly_aggregates", "region, month"),
                           ("monthly_answered_by", "region, answered_by_region, month"),
                           ("region_totals", "region, key")):
            out[table] = [tuple(round(v, 6) if isinstance(v, float) else v for v in r)
                          for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY {key}"))]
    engine.dispose()
    return out


class StatementTimes:
    """Seconds per statement text (its first 90 characters) while attached, for ``--statements``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._started: dict[int, float] = {}

    def attach(self, engine: Engine) -> None:
        def before(_conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool) -> None:
            self._started[id(context)] = time.perf_counter()

        def after(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
            key = " ".join(statement.split())[:90]
            self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - self._started.pop(id(context))

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)

    def take(self, n: int = 8) -> list[tuple[str, float]]:
        top = sorted(self.seconds.items(), key=lambda kv: -kv[1])[:n]
        self.seconds = {}
        return top


class FilledDatabase:
    """One database filled by one code path, step by step (so the two paths' steps alternate under the same load)."""

    def __init__(self, url: str, staging: ModuleType, aggregates: ModuleType, statements: bool) -> None:
        self.url, self.staging, self.aggregates = url, staging, aggregates
        self.engine = make_engine(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
        self.factory = make_session_factory(self.engine)
        self.timer = StatementTimes() if statements else None
        if self.timer is not None:
            self.timer.attach(self.engine)

    def step(self, name: str, deliveries: list[list[Row]]) -> tuple[float, float, float, float]:
        total = [0.0, 0.0, 0.0, 0.0]  # wall merge, wall refresh, CPU merge, CPU refresh
        for rows in deliveries:
            merge, refresh = timed_delivery(self.factory, self.staging, self.aggregates, rows)
            total[0] += merge
            total[1] += refresh
            total[2] += LAST_CPU[0]
            total[3] += LAST_CPU[1]
            if self.url.startswith("postgresql"):  # as autovacuum would, untimed: the baseline's lookups need it
                with self.engine.begin() as conn:
                    conn.execute(text("ANALYZE calls"))
        if self.timer is not None:
            print(f"  {self.url.split(':')[0]} {self.staging.__name__} {name}:")
            for statement, seconds in self.timer.take():
                print(f"    {seconds:7.3f}  {statement}")
        return total[0], total[1], total[2], total[3]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--history", type=int, default=400_000)
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the old code path")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--statements", action="store_true", help="print each step's slowest statements")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="vpt-bench-merge-"))
    old_staging, old_aggregates = load_baseline(args.baseline, workdir)
    past, new, corrected = deliveries(args.rows, args.history)
    print(f"rows {args.rows:,}, history {args.history:,}, baseline {args.baseline}")
    server: PostgresServer | None = None
    paths: list[tuple[str, Callable[[str], str]]] = []
    try:
        if args.only != "postgresql":
            template = workdir / "template.db"
            upgrade(f"sqlite:///{template}")

            def sqlite_db(name: str) -> str:
                shutil.copyfile(template, workdir / f"{name}.db")
                return f"sqlite:///{workdir / name}.db"
            paths.append(("sqlite", sqlite_db))
        if args.only != "sqlite":
            server = PostgresServer.start()
            admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text("CREATE DATABASE bench_template"))
            upgrade(server.url("bench_template"))

            def postgres_db(name: str) -> str:
                with admin.connect() as conn:
                    conn.execute(text(f"CREATE DATABASE {name} TEMPLATE bench_template"))
                assert server is not None
                return server.url(name)
            paths.append(("postgresql", postgres_db))
        failed = False
        for kind, make in paths:
            results: dict[str, dict[str, tuple[float, float, float, float]]] = {"old": {}, "new": {}}
            filled = {label: FilledDatabase(make(f"bench_{label}"), staging, aggregates, args.statements)
                      for label, staging, aggregates in (("old", old_staging, old_aggregates),
                                                         ("new", new_staging, new_aggregates))}
            steps = [("history", past), ("new", [new]), ("again", [new]), ("corrections", [corrected])]
            for step, step_deliveries in steps:
                if not step_deliveries:
                    continue
                for label in ("old", "new"):
                    results[label][step] = filled[label].step(step, step_deliveries)
            urls = {label: path.url for label, path in filled.items()}
            for path in filled.values():
                path.engine.dispose()
            print(f"\n{kind}: seconds (merge + refresh = total), old vs new, same run, steps alternating")
            print(f"{'step':<12} {'old merge':>9} {'old refr':>9} {'old tot':>8} | {'new merge':>9} {'new refr':>9} "
                  f"{'new tot':>8} | {'new/old':>7}")
            for columns, title in (((0, 1), "wall"), ((2, 3), "CPU (client + server process)")):
                if columns[0]:
                    print(f"{kind}: {title} seconds, the same deliveries")
                for step in results["old"]:
                    om, orf = (results["old"][step][i] for i in columns)
                    nm, nrf = (results["new"][step][i] for i in columns)
                    print(f"{step:<12} {om:9.2f} {orf:9.2f} {om + orf:8.2f} | {nm:9.2f} {nrf:9.2f} {nm + nrf:8.2f} | "
                          f"{(nm + nrf) / max(om + orf, 1e-9):7.2f}")
            same = snapshot(urls["old"]) == snapshot(urls["new"])
            print(f"stored calls and aggregates equal between old and new: {same}")
            failed = failed or not same
        return 1 if failed else 0
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
