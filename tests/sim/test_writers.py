"""Writers of simulated traffic: every file parses back, with the project's own parsers, to what was simulated."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from app.ingest.parsers import Parsed, ParseOptions, parse_calls, parse_intervals
from app.kpi.localtime import STOCKHOLM
from app.kpi.records import CallRecord, IntervalRecord, Outcome
from app.kpi.reference import REGIONS
from app.sim.model import SimConfig, simulate
from app.sim.writers import (
    caller_number,
    interval_records,
    write_calls_csv,
    write_intervals_csv,
    write_queue_log,
    write_queue_map,
    write_simulation,
)

CONFIG = SimConfig()
OPTIONS = ParseOptions(frozenset(code for code, _, _ in REGIONS))
PHONE = re.compile(r"(?<![0-9.])07[0-9]{8}(?![0-9])")


@pytest.fixture(scope="module")
def calls() -> list[CallRecord]:
    """A busy flu-season week plus the autumn DST change: every outcome, overflow, rejections."""
    return [*simulate(CONFIG, date(2025, 1, 13), date(2025, 1, 19)), *simulate(CONFIG, date(2025, 10, 25),
                                                                              date(2025, 10, 27))]


@pytest.fixture(scope="module")
def queue_log(calls: list[CallRecord]) -> list[list[str]]:
    buffer = io.StringIO()
    lines = write_queue_log(calls, buffer)
    rows = [line.split("|") for line in buffer.getvalue().splitlines()]
    assert len(rows) == lines
    return rows


def parsed(results: list) -> list:
    assert all(isinstance(r, Parsed) for r in results), [r for r in results if not isinstance(r, Parsed)][:3]
    return [r.record for r in results]


def test_the_fixture_has_every_kind_of_call(calls: list[CallRecord]):
    assert {c.outcome for c in calls} == set(Outcome)
    assert any(c.answered_by_region for c in calls)


# --- call CSV --------------------------------------------------------------------------------------------


def test_the_call_csv_parses_back_to_the_simulated_calls(calls: list[CallRecord]):
    buffer = io.StringIO()
    assert write_calls_csv(calls, buffer) == len(calls)
    text = buffer.getvalue()
    assert text.splitlines()[0] == ("call_id,region,queue,arrived_at,outcome,answered_at,ended_at,"
                                    "answered_by_region,talk_seconds,wrap_seconds")
    assert "+00:00" in text and ".0," not in text
    assert parsed(list(parse_calls(io.StringIO(text), "csv", OPTIONS))) == calls


# --- interval CSV -----------------------------------------------------------------------------------------


def expected_intervals(calls: list[CallRecord], minutes: int, sl: int, short: int) -> dict[tuple, dict]:
    """The interval figures computed independently, straight from the calls."""
    out: dict[tuple, dict] = defaultdict(Counter)
    for c in calls:
        epoch = int(c.arrived_at.timestamp())
        key = (c.region, c.queue, datetime.fromtimestamp(epoch - epoch % (minutes * 60), UTC))
        row = out[key]
        row["offered"] += 1
        wait = (c.wait_ms or 0) / 1000
        if c.outcome is Outcome.ANSWERED:
            row["answered"] += 1
            row["answered_within_sl"] += wait <= sl
            row["wait_answered_seconds_sum"] += wait
            row["longest_wait_seconds"] = max(row["longest_wait_seconds"], wait)
            row["talk_seconds_sum"] += c.talk_seconds or 0
            row["wrap_seconds_sum"] += c.wrap_seconds or 0
        elif c.outcome is Outcome.ABANDONED:
            row["abandoned"] += 1
            row["abandoned_short"] += wait < short
            row["wait_abandoned_seconds_sum"] += wait
        else:
            row["rejected"] += 1
    return out


@pytest.mark.parametrize(("minutes", "sl", "short"), [(15, 600, 5), (60, 20, 0)])
def test_the_interval_csv_parses_and_agrees_with_the_calls(calls: list[CallRecord], minutes, sl, short):
    buffer = io.StringIO()
    rows = write_intervals_csv(calls, buffer, interval_minutes=minutes, sl_seconds=sl, short_abandon_seconds=short)
    intervals: list[IntervalRecord] = parsed(list(parse_intervals(io.StringIO(buffer.getvalue()), "csv", OPTIONS)))
    assert len(intervals) == rows
    expected = expected_intervals(calls, minutes, sl, short)
    assert {(i.region, i.queue, i.interval_start) for i in intervals} == set(expected)
    fields = ("offered", "answered", "abandoned", "abandoned_short", "rejected", "answered_within_sl",
              "wait_answered_seconds_sum", "wait_abandoned_seconds_sum", "talk_seconds_sum", "wrap_seconds_sum")
    for interval in intervals:
        want = expected[(interval.region, interval.queue, interval.interval_start)]
        assert interval.interval_minutes == minutes and interval.sl_seconds == sl
        assert interval.offered == interval.answered + interval.abandoned + interval.rejected
        for name in fields:
            assert getattr(interval, name) == want[name], (interval, name)
        if interval.answered:
            assert interval.longest_wait_seconds == want["longest_wait_seconds"]
        else:
            assert interval.longest_wait_seconds is None
    totals = Counter(c.outcome for c in calls)
    assert sum(i.answered for i in intervals) == totals[Outcome.ANSWERED]
    assert sum(i.rejected for i in intervals) == totals[Outcome.REJECTED]
    assert sum(i.abandoned_short for i in intervals) > 0 or short == 0


def test_intervals_are_yielded_in_time_order_and_need_ordered_calls(calls: list[CallRecord]):
    starts = [i.interval_start for i in interval_records(calls)]
    assert starts == sorted(starts)
    with pytest.raises(ValueError, match="arrival order"):
        list(interval_records(list(reversed(calls[:50]))))


# --- queue_log --------------------------------------------------------------------------------------------


def test_the_queue_log_is_sorted_and_every_call_is_in_it(calls: list[CallRecord], queue_log: list[list[str]]):
    epochs = [int(row[0]) for row in queue_log]
    assert epochs == sorted(epochs)
    uniqueids = {row[1] for row in queue_log if row[4] in {"ENTERQUEUE", "FULL"}}
    assert len(uniqueids) == len(calls)
    assert all(re.fullmatch(r"[0-9]+\.[0-9]+", uid) for uid in uniqueids)
    events = Counter(row[4] for row in queue_log)
    outcomes = Counter(c.outcome for c in calls)
    assert events["FULL"] == outcomes[Outcome.REJECTED]
    assert events["CONNECT"] == events["COMPLETEAGENT"] + events["COMPLETECALLER"] == outcomes[Outcome.ANSWERED]
    assert events["ABANDON"] > events["EXITWITHTIMEOUT"] > 0


def test_queue_log_fields_follow_asterisk(queue_log: list[list[str]]):
    arity = {"ENTERQUEUE": 3, "CONNECT": 3, "COMPLETEAGENT": 3, "COMPLETECALLER": 3, "ABANDON": 3,
             "EXITWITHTIMEOUT": 3, "FULL": 1}
    entered: set[str] = set()
    for row in queue_log:
        event, data = row[4], row[5:]
        assert len(data) == arity[event], row
        assert row[2].startswith("vpt-se-")
        if event in {"ENTERQUEUE", "ABANDON", "EXITWITHTIMEOUT", "FULL"}:
            assert row[3] == "NONE"
        else:
            assert re.fullmatch(r"PJSIP/nurse-se-[a-z]+-[0-9]{3}", row[3])
        if event == "ENTERQUEUE":
            assert data[0] == "" and int(data[2]) >= 1
            entered.add(row[1])
        elif event == "FULL":
            assert row[1] not in entered and data == [""]  # refused at the door, never queued
        else:
            assert row[1] in entered
        if event in {"ABANDON", "EXITWITHTIMEOUT"}:
            assert 1 <= int(data[0]) <= int(data[1])  # nobody moves back in a FIFO queue


def test_multi_queue_calls_keep_their_canonical_wait(calls: list[CallRecord], queue_log: list[list[str]]):
    by_uid: dict[str, list[list[str]]] = defaultdict(list)
    for row in queue_log:
        by_uid[row[1]].append(row)
    answered = [c for c in calls if c.outcome is Outcome.ANSWERED]
    waits = Counter((int(c.arrived_at.timestamp()), int(c.answered_at.timestamp())) for c in answered
                    if c.answered_at is not None)
    moved = 0
    for rows in by_uid.values():
        kinds = [row[4] for row in rows]
        if kinds[:3] != ["ENTERQUEUE", "EXITWITHTIMEOUT", "ENTERQUEUE"]:
            continue
        moved += 1
        first, exit_, second, connect = rows[:4]
        assert second[2] == first[2] + "-overflow" and connect[2] == second[2] and connect[4] == "CONNECT"
        assert exit_[0] == second[0]  # re-queued in the same second
        assert int(connect[5]) == int(connect[0]) - int(second[0])  # holdtime from the second ENTERQUEUE
        assert int(exit_[7]) + int(connect[5]) == int(connect[0]) - int(first[0])
        assert waits[(int(first[0]), int(connect[0]))] > 0  # counted from the first entry: canonical wait
    assert 0.015 < moved / len(answered) < 0.05


def test_fake_caller_numbers_appear_only_in_enterqueue(calls: list[CallRecord], queue_log: list[list[str]]):
    queued = [c for c in calls if c.outcome is not Outcome.REJECTED]
    numbers = {caller_number(c.call_id) for c in queued}
    assert len(numbers) > 0.99 * len(queued) and all(PHONE.fullmatch(n) for n in numbers)
    seen: set[str] = set()
    for row in queue_log:
        found = set(PHONE.findall("|".join(row)))
        if row[4] == "ENTERQUEUE":
            assert found == {row[6]}
            seen |= found
        else:
            assert not found, row
    assert seen == numbers


def test_the_queue_map_covers_every_queue_in_the_log(queue_log: list[list[str]]):
    buffer = io.StringIO()
    assert write_queue_map(CONFIG.regions, buffer) == 2 * len(CONFIG.regions)
    mapping = {row["queue"]: row["region"] for row in csv.DictReader(io.StringIO(buffer.getvalue()))}
    assert {row[2] for row in queue_log} <= set(mapping)
    assert mapping["vpt-se-ac-overflow"] == mapping["vpt-se-ac"] == "SE-AC"


def test_the_queue_log_parser_reproduces_the_call_figures(calls: list[CallRecord]):
    """The docstring's mapping, checked with the project's own queue_log parser (SPEC §3)."""
    queue_log_parser = pytest.importorskip("app.ingest.queue_log")
    log, queue_map = io.StringIO(), io.StringIO()
    write_queue_log(calls, log)
    write_queue_map(CONFIG.regions, queue_map)
    mapping = {row["queue"]: row["region"] for row in csv.DictReader(io.StringIO(queue_map.getvalue()))}
    options = queue_log_parser.QueueLogOptions(
        queue_map=mapping, known_regions=frozenset(code for code, _, _ in REGIONS)
    )
    records = parsed(list(queue_log_parser.parse_queue_log(io.StringIO(log.getvalue()), options)))

    def figures(call: CallRecord) -> tuple:
        return (call.region, call.queue, call.arrived_at, call.outcome, call.answered_at, call.ended_at,
                call.talk_seconds)

    assert Counter(map(figures, records)) == Counter(map(figures, calls))


def test_writers_refuse_calls_out_of_arrival_order(calls: list[CallRecord]):
    with pytest.raises(ValueError, match="arrival order"):
        write_queue_log([calls[10], calls[0]], io.StringIO())


# --- files ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "name"), [("calls", "calls_{}.csv"), ("intervals", "intervals_{}.csv"),
                                            ("queue-log", "queue_log_{}.log")])
def test_write_simulation_writes_one_file_per_local_month(tmp_path: Path, fmt, name):
    config = SimConfig(regions=("SE-Z", "SE-AC"))
    out = tmp_path / "nested" / "out"
    paths = write_simulation(config, date(2025, 1, 31), date(2025, 3, 1), out, fmt)
    months = [name.format(m) for m in ("2025-01", "2025-02", "2025-03")]
    assert [p.name for p in paths] == months + (["queue_map.csv"] if fmt == "queue-log" else [])
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)  # no temporary files left
    if fmt == "calls":
        january = parsed(list(parse_calls(paths[0].open(encoding="utf-8"), "csv", OPTIONS)))
        assert january == list(simulate(config, date(2025, 1, 31), date(2025, 1, 31)))
        march = parsed(list(parse_calls(paths[2].open(encoding="utf-8"), "csv", OPTIONS)))
        assert {c.arrived_at.astimezone(STOCKHOLM).date() for c in march} == {date(2025, 3, 1)}
