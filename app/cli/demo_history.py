"""Loading the demo's history (``app.sim.history``) with a progress bar, simulating while it stores.

Each month is one ingest run through the ordinary loader (one transaction, aggregates refreshed, re-runnable),
but its records come straight from the simulator instead of being written to CSV and parsed again: parsing was
two thirds of the time. A second process simulates the next month while this one stores the current one, so on
two cores the load takes about as long as storing alone.
"""

from __future__ import annotations

import io
import multiprocessing
import signal
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session, sessionmaker

from app.cli.base import console, session_factory
from app.cli.wording import counted, say
from app.config import Settings
from app.ingest.parsers import Parsed, ParseOptions
from app.ingest.rows import Rejection
from app.ingest.service import ingest_bytes
from app.kpi.records import CallRecord, IntervalRecord
from app.sim.history import HistoryMonth, month_records
from app.sim.model import SimConfig

HISTORY_SOURCE = "sim-history"  # the call-by-call months
HOURLY_SOURCE = "sim-history-hourly"  # the older months, as the platform's hourly queue report
_AHEAD = 2  # months simulated ahead of the one being stored (memory: a month of calls is ~40 000 records)

Records = list[CallRecord] | list[IntervalRecord]


@dataclass
class HistoryLoaded:
    calls: int = 0
    intervals: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process's and the simulating one's: what the load costs on an idle machine


def _records_in_order(config: SimConfig, plan: Sequence[HistoryMonth]) -> Iterator[tuple[HistoryMonth, Records]]:
    """The plan's months with their records, simulated one or two ahead in a forked process where there is one
    (a spawned one would re-run the ``vpt`` entry point); in this process otherwise."""
    if len(plan) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for month in plan:
            yield month, month_records(config, month)
        return
    # Forked before any thread of this process starts (the progress bar's, the servers'): a fork copies only the
    # calling thread, and the child must not inherit a lock another thread held.
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"),
                               initializer=_leave_ctrl_c_to_the_parent)
    try:
        queued: deque[tuple[HistoryMonth, Future[Records]]] = deque()
        upcoming = iter(plan)
        for month in upcoming:
            queued.append((month, pool.submit(month_records, config, month)))
            if len(queued) > _AHEAD:
                break
        while queued:
            month, future = queued.popleft()
            following = next(upcoming, None)
            if following is not None:
                queued.append((following, pool.submit(month_records, config, following)))
            yield month, future.result()
    finally:  # stopped early (Ctrl-C, a failed ingest): the months simulated ahead are not waited for
        pool.shutdown(wait=True, cancel_futures=True)


def _leave_ctrl_c_to_the_parent() -> None:
    """Ctrl-C reaches the whole process group: the parent stops the pool, the child need not print a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def load_history(settings: Settings, config: SimConfig, plan: Sequence[HistoryMonth]) -> HistoryLoaded:
    """Simulate and store every month of ``plan``; a bar shows the months done and the records stored."""
    loaded = HistoryLoaded()
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    months = _records_in_order(config, plan)
    first = next(months, None)  # starts the second process before the bar's thread exists
    factory = session_factory(settings)
    progress = history_bar(console)
    with progress:
        task = progress.add_task("", total=len(plan), counts=bar_counts(0, 0))
        current = first
        while current is not None:
            month, records = current
            progress.update(task, description=say("demo.bar_month", month=month.label))
            _store(factory, settings, month, records)
            if month.kind == "calls":
                loaded.calls += len(records)
            else:
                loaded.intervals += len(records)
            progress.update(task, advance=1, counts=bar_counts(loaded.calls, loaded.intervals))
            current = next(months, None)
    loaded.seconds = time.perf_counter() - started
    loaded.cpu_seconds = _cpu_seconds() - cpu_started
    return loaded


def history_bar(on: Console) -> Progress:
    """The bar's words are the run's language, so its counts arrive formatted (``bar_counts``), not as numbers."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), console=on, transient=False)


def bar_counts(calls: int, intervals: int) -> str:
    return say("demo.bar_counts", calls=counted(calls, "call"), rows=counted(intervals, "hourly_row"))


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the simulating process is one once the pool closed)."""
    try:
        import resource
    except ImportError:  # not on Unix
        return time.process_time()
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _store(factory: sessionmaker[Session], settings: Settings, month: HistoryMonth, records: Records) -> None:
    def parser(_stream: IO[str], _options: ParseOptions) -> Iterator[Parsed | Rejection]:
        rows: list[CallRecord | IntervalRecord] = list(records)
        return (Parsed(position, record) for position, record in enumerate(rows, start=1))

    ingest_bytes(
        factory, settings, record_kind="calls" if month.kind == "calls" else "intervals", raw=io.BytesIO(b""),
        parser=parser,
        origin=f"{month.kind}_{month.label} (simulated)",
        source_name=HISTORY_SOURCE if month.kind == "calls" else HOURLY_SOURCE, source_kind="file",
    )
