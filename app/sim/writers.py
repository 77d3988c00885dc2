"""Simulated traffic written in the formats vpt-monitor ingests (SPEC §3), so every ingest path can be
exercised end to end with data whose true figures are known.

All writers stream: they take calls in arrival order (as ``simulate`` yields them) and keep in memory
only what is still open (an interval, a call whose queue_log events are not yet due).
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Literal, get_args

from app.kpi.localtime import next_month
from app.kpi.records import CALL_COLUMNS, INTERVAL_COLUMNS, CallRecord, IntervalRecord, Outcome
from app.sim.model import SimConfig, queue_name, simulate

OutputFormat = Literal["calls", "intervals", "queue-log"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = get_args(OutputFormat)
OVERFLOW_SUFFIX = "-overflow"
MULTI_QUEUE_SHARE = 0.03  # answered calls that time out of their first queue and are answered in the overflow queue
TIMEOUT_EXIT_SHARE = 0.05  # abandons logged as EXITWITHTIMEOUT rather than ABANDON
QUEUE_TIMEOUT_SECONDS = 3600  # a wait this long is the platform's timeout, always EXITWITHTIMEOUT


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _number(value: float | None) -> str:
    """Whole numbers without a decimal point, so the files look like a platform's and round-trip exactly."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _in_arrival_order(records: Iterable[CallRecord]) -> Iterator[CallRecord]:
    """Streaming writers rely on arrival order to know when an interval or a queue_log line is final."""
    latest: datetime | None = None
    for record in records:
        if latest is not None and record.arrived_at < latest:
            raise ValueError(f"calls must come in arrival order: {record.call_id} arrives before its predecessor")
        latest = record.arrived_at
        yield record


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _hash_unit(text: str, salt: str) -> float:
    """A stable number in [0, 1) per call: which calls get which variant must not depend on the run."""
    digest = hashlib.blake2b(f"{salt}|{text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


# --- canonical call CSV --------------------------------------------------------------------------------


def write_calls_csv(records: Iterable[CallRecord], stream: IO[str]) -> int:
    """Canonical call-level CSV (SPEC §3): UTC timestamps with offset, empty cells for absent values."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CALL_COLUMNS)
    count = 0
    for r in records:
        writer.writerow((
            r.call_id, r.region, r.queue or "", _iso(r.arrived_at), r.outcome.value,
            _iso(r.answered_at) if r.answered_at else "", _iso(r.ended_at) if r.ended_at else "",
            r.answered_by_region or "", _number(r.talk_seconds), _number(r.wrap_seconds),
        ))
        count += 1
    return count


# --- canonical interval CSV ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Interval:
    answered: int = 0
    abandoned: int = 0
    abandoned_short: int = 0
    rejected: int = 0
    within_sl: int = 0
    wait_answered_ms: int = 0
    wait_abandoned_ms: int = 0
    longest_ms: int | None = None
    talk: float = 0.0
    wrap: float = 0.0

    def add(self, record: CallRecord, sl_ms: int, short_ms: int) -> None:
        wait = record.wait_ms
        if record.outcome is Outcome.ANSWERED:
            assert wait is not None
            self.answered += 1
            self.wait_answered_ms += wait
            self.within_sl += wait <= sl_ms
            self.longest_ms = wait if self.longest_ms is None else max(self.longest_ms, wait)
            self.talk += record.talk_seconds or 0.0
            self.wrap += record.wrap_seconds or 0.0
        elif record.outcome is Outcome.ABANDONED:
            assert wait is not None
            self.abandoned += 1
            self.abandoned_short += wait < short_ms
            self.wait_abandoned_ms += wait
        else:
            self.rejected += 1


def interval_records(
    records: Iterable[CallRecord],
    *,
    interval_minutes: int = 15,
    sl_seconds: int = 600,
    short_abandon_seconds: int = 5,
) -> Iterator[IntervalRecord]:
    """What a platform's queue report says about these calls: per region, queue and UTC interval,
    counted in the interval a call arrived in. ``offered`` is exactly answered + abandoned + rejected
    (every abandon included), so the report agrees with the calls it came from; ``abandoned_short`` are
    the abandons that waited less than ``short_abandon_seconds``. Only intervals with calls appear.

    Calls must come with non-decreasing arrival intervals (arrival order will do): an interval is
    yielded as soon as a call of a later one shows up.
    """
    if interval_minutes not in (15, 30, 60):
        raise ValueError("interval_minutes must be 15, 30 or 60")
    span = interval_minutes * 60
    sl_ms, short_ms = sl_seconds * 1000, short_abandon_seconds * 1000
    open_intervals: dict[tuple[str, str], _Interval] = {}
    current: int | None = None

    def close(start: int) -> Iterator[IntervalRecord]:
        moment = datetime.fromtimestamp(start, UTC)
        for (region, queue), b in sorted(open_intervals.items()):
            yield IntervalRecord(
                region=region, queue=queue, interval_start=moment, interval_minutes=interval_minutes,
                offered=b.answered + b.abandoned + b.rejected, answered=b.answered, abandoned=b.abandoned,
                abandoned_short=b.abandoned_short, rejected=b.rejected, answered_within_sl=b.within_sl,
                sl_seconds=sl_seconds, wait_answered_seconds_sum=b.wait_answered_ms / 1000,
                wait_abandoned_seconds_sum=b.wait_abandoned_ms / 1000,
                longest_wait_seconds=None if b.longest_ms is None else b.longest_ms / 1000,
                talk_seconds_sum=b.talk, wrap_seconds_sum=b.wrap,
            )
        open_intervals.clear()

    for record in records:
        start = _epoch(record.arrived_at) // span * span
        if current is not None and start < current:
            raise ValueError(f"calls must come in arrival order: {record.call_id} belongs to an earlier interval")
        if start != current:
            if current is not None:
                yield from close(current)
            current = start
        key = (record.region, record.queue or "")
        bucket = open_intervals.get(key)
        if bucket is None:
            bucket = open_intervals[key] = _Interval()
        bucket.add(record, sl_ms, short_ms)
    if current is not None:
        yield from close(current)


def write_intervals_csv(
    records: Iterable[CallRecord],
    stream: IO[str],
    *,
    interval_minutes: int = 15,
    sl_seconds: int = 600,
    short_abandon_seconds: int = 5,
) -> int:
    """Canonical interval CSV of ``interval_records``; returns the number of interval rows."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(INTERVAL_COLUMNS)
    rows = 0
    for r in interval_records(
        records, interval_minutes=interval_minutes, sl_seconds=sl_seconds,
        short_abandon_seconds=short_abandon_seconds,
    ):
        writer.writerow((
            r.region, r.queue, _iso(r.interval_start), r.interval_minutes, r.offered, r.answered, r.abandoned,
            r.abandoned_short, r.rejected, r.answered_within_sl, r.sl_seconds,
            _number(r.wait_answered_seconds_sum), _number(r.wait_abandoned_seconds_sum),
            _number(r.longest_wait_seconds), _number(r.talk_seconds_sum), _number(r.wrap_seconds_sum),
            _number(r.agents_staffed),
        ))
        rows += 1
    return rows


# --- Asterisk queue_log --------------------------------------------------------------------------------


def caller_number(call_id: str) -> str:
    """A fake but plausible Swedish mobile number per call. It exists so tests can prove that caller
    numbers, which real queue_logs carry, never reach the database (SPEC §3)."""
    value = int.from_bytes(hashlib.blake2b(call_id.encode(), digest_size=8).digest(), "big")
    prefix = ("070", "072", "073", "076", "079")[value % 5]
    return f"{prefix}{value // 5 % 10**7:07d}"


def _agent(record: CallRecord) -> str:
    region = record.answered_by_region or record.region
    return f"PJSIP/nurse-{region.lower()}-{1 + int(_hash_unit(record.call_id, 'agent') * 40):03d}"


class _QueueLog:
    """Lines buffered in a heap until no later call can write an earlier one, then written in epoch
    order; ties keep the order the events were produced in (per call: enter, connect, complete)."""

    #: Stands for the agent channel's uniqueid in a pending CONNECT line. Asterisk numbers channels as
    #: they are created, so the agent's channel gets its number when the line is written, in time order.
    NEW_CHANNEL = "\x00"

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.pending: list[tuple[int, int, str]] = []
        self.sequence = 0
        self.channel = 0
        self.lines = 0
        self.waiting: dict[str, list[int]] = {}  # per queue: when each caller in it leaves it

    def new_channel(self, epoch: int) -> str:
        """Asterisk's uniqueid: creation time and a running channel number."""
        self.channel += 1
        return f"{epoch}.{self.channel}"

    def emit(self, epoch: int, uniqueid: str, queue: str, agent: str, event: str, *data: object) -> None:
        line = "|".join((str(epoch), uniqueid, queue, agent, event, *(str(d) for d in data)))
        heapq.heappush(self.pending, (epoch, self.sequence, line))
        self.sequence += 1

    def flush_until(self, epoch: int | None) -> None:
        while self.pending and (epoch is None or self.pending[0][0] <= epoch):
            at, _, line = heapq.heappop(self.pending)
            if self.NEW_CHANNEL in line:
                line = line.replace(self.NEW_CHANNEL, self.new_channel(at))
            self.stream.write(line + "\n")
            self.lines += 1

    def enter(self, queue: str, at: int, leaves: int | None) -> tuple[int, list[int]]:
        """Join a queue: the caller's position, and when those ahead of her leave the queue."""
        ahead = self.waiting.setdefault(queue, [])
        while ahead and ahead[0] <= at:
            heapq.heappop(ahead)
        snapshot = list(ahead)
        if leaves is not None and leaves > at:
            heapq.heappush(ahead, leaves)
        return len(snapshot) + 1, snapshot

    @staticmethod
    def position_at(ahead: list[int], at: int) -> int:
        return sum(1 for leaves in ahead if leaves > at) + 1


def _log_call(log: _QueueLog, record: CallRecord) -> None:
    queue = record.queue or queue_name(record.region)
    arrival = _epoch(record.arrived_at)
    uid = log.new_channel(arrival)
    if record.outcome is Outcome.REJECTED:
        log.emit(arrival, uid, queue, "NONE", "FULL", "")
        return
    number = caller_number(record.call_id)
    if record.outcome is Outcome.ABANDONED:
        assert record.ended_at is not None
        gone = _epoch(record.ended_at)
        position, ahead = log.enter(queue, arrival, gone)
        log.emit(arrival, uid, queue, "NONE", "ENTERQUEUE", "", number, position)
        timed_out = gone - arrival >= QUEUE_TIMEOUT_SECONDS or _hash_unit(record.call_id, "exit") < TIMEOUT_EXIT_SHARE
        event = "EXITWITHTIMEOUT" if timed_out else "ABANDON"
        log.emit(gone, uid, queue, "NONE", event, log.position_at(ahead, gone), position, gone - arrival)
        return
    assert record.answered_at is not None
    answered = _epoch(record.answered_at)
    hold = answered - arrival
    connect_queue, entered = queue, arrival
    if hold >= 2 and _hash_unit(record.call_id, "multi") < MULTI_QUEUE_SHARE:
        moved = arrival + max(1, int(hold * (0.3 + 0.4 * _hash_unit(record.call_id, "split"))))
        position, ahead = log.enter(queue, arrival, moved)
        log.emit(arrival, uid, queue, "NONE", "ENTERQUEUE", "", number, position)
        log.emit(moved, uid, queue, "NONE", "EXITWITHTIMEOUT", log.position_at(ahead, moved), position, moved - arrival)
        connect_queue, entered = queue + OVERFLOW_SUFFIX, moved
        arrival_position, _ = log.enter(connect_queue, moved, answered)
        log.emit(moved, uid, connect_queue, "NONE", "ENTERQUEUE", "", number, arrival_position)
    else:
        arrival_position, _ = log.enter(queue, arrival, answered)
        log.emit(arrival, uid, queue, "NONE", "ENTERQUEUE", "", number, arrival_position)
    agent = _agent(record)
    held = answered - entered
    ring = min(held, 1 + int(_hash_unit(record.call_id, "ring") * 6))
    log.emit(answered, uid, connect_queue, agent, "CONNECT", held, log.NEW_CHANNEL, ring)
    if record.ended_at is not None:
        ended = _epoch(record.ended_at)
        talk = int(record.talk_seconds) if record.talk_seconds is not None else ended - answered
        event = "COMPLETECALLER" if _hash_unit(record.call_id, "hangup") < 0.55 else "COMPLETEAGENT"
        log.emit(ended, uid, connect_queue, agent, event, held, talk, arrival_position)


def write_queue_log(records: Iterable[CallRecord], stream: IO[str]) -> int:
    """Asterisk ``queue_log`` lines (``epoch|uniqueid|queuename|agent|event|data...``) in epoch order.

    How the calls map, so that a queue_log parser reproduces the call CSV's figures:

    - answered: ``ENTERQUEUE|url|callerid|position`` at arrived_at, ``CONNECT|holdtime|bridgeduniqueid|ringtime``
      at answered_at (holdtime = the canonical wait), ``COMPLETECALLER`` or ``COMPLETEAGENT``
      ``|holdtime|calltime|origposition`` at ended_at, calltime = talk_seconds;
    - abandoned: ENTERQUEUE, then ``ABANDON|position|origposition|waittime`` at ended_at (a few are
      ``EXITWITHTIMEOUT`` with the same fields, and every wait reaching the 60-minute queue timeout is);
    - rejected: a lone ``FULL`` at arrived_at (never an ENTERQUEUE: the caller was never queued);
    - multi-queue (about 3 % of answered calls): ENTERQUEUE in ``vpt-xx``, EXITWITHTIMEOUT after part of
      the wait, ENTERQUEUE in ``vpt-xx-overflow`` in the same second with the same uniqueid, then CONNECT
      and COMPLETE* there, their holdtime counted from that second ENTERQUEUE. A parser that treats an
      EXITWITHTIMEOUT followed by an ENTERQUEUE of the same uniqueid as one call, counted in its first
      queue with the wait from the first ENTERQUEUE to CONNECT, gets exactly the canonical wait.

    Not carried: call_id (the uniqueid stands in), wrap_seconds and answered_by_region (the agent
    channel names the answering region's nurse, but a parser cannot rely on agent names). The caller
    number in ENTERQUEUE is fake (``caller_number``) and appears in no other line.
    Calls must come in arrival order. Returns the number of lines.
    """
    log = _QueueLog(stream)
    for record in _in_arrival_order(records):
        log.flush_until(_epoch(record.arrived_at))
        _log_call(log, record)
    log.flush_until(None)
    return log.lines


def write_queue_map(regions: Iterable[str], stream: IO[str]) -> int:
    """CSV ``queue,region`` for every queue the queue_log uses: each region's queue and its overflow."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(("queue", "region"))
    rows = 0
    for region in regions:
        for queue in (queue_name(region), queue_name(region) + OVERFLOW_SUFFIX):
            writer.writerow((queue, region))
            rows += 1
    return rows


# --- files ---------------------------------------------------------------------------------------------

_FILE_NAMES: dict[str, tuple[str, str]] = {
    "calls": ("calls_", ".csv"),
    "intervals": ("intervals_", ".csv"),
    "queue-log": ("queue_log_", ".log"),
}


def _write_atomically(path: Path, write: Callable[[IO[str]], object]) -> Path:
    """Write under a temporary name and rename, so a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("w", encoding="utf-8", newline="") as stream:
            write(stream)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def as_output_format(text: str) -> OutputFormat | None:
    """The format a command line names, or None: a word checked against the list, not cast to its type."""
    return next((known for known in OUTPUT_FORMATS if known == text), None)


def write_simulation(config: SimConfig, start: date, end: date, out_dir: Path, fmt: OutputFormat) -> list[Path]:
    """Simulate local days ``start``..``end`` into one file per local month (calls attributed by arrival,
    as SPEC §4 attributes them), plus ``queue_map.csv`` for the queue_log format. Returns the paths."""
    if fmt not in _FILE_NAMES:
        raise ValueError(f"unknown format: {fmt}")
    if end < start:
        raise ValueError("end is before start")
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix, suffix = _FILE_NAMES[fmt]
    paths: list[Path] = []
    month = start.replace(day=1)
    while month <= end:
        first, last = max(start, month), min(end, next_month(month) - timedelta(days=1))
        records = simulate(config, first, last)
        path = out_dir / f"{prefix}{month:%Y-%m}{suffix}"

        def write(stream: IO[str], records: Iterator[CallRecord] = records) -> None:
            if fmt == "calls":
                write_calls_csv(records, stream)
            elif fmt == "intervals":
                write_intervals_csv(records, stream)
            else:
                write_queue_log(records, stream)

        paths.append(_write_atomically(path, write))
        month = next_month(month)
    if fmt == "queue-log":
        paths.append(_write_atomically(out_dir / "queue_map.csv", lambda s: write_queue_map(config.regions, s)))
    return paths
