"""Asterisk queue_log: events of interleaved calls become one record per call, or a rejection naming line and field.

Every expectation below is worked out by hand from the log text; no database is needed.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ingest.parsers import Parsed
from app.ingest.queue_log import QueueLogOptions, QueueLogParser, parse_queue_log
from app.ingest.queue_log_lines import parse_epoch
from app.ingest.queue_map import QueueMapError, read_queue_map
from app.ingest.rows import Rejection
from app.kpi.records import CallRecord, Outcome
from app.kpi.reference import REGIONS

KNOWN = frozenset(code for code, _, _ in REGIONS)
QUEUES = {"vpt_ac": "SE-AC", "vpt_ac_barn": "SE-AC", "vpt_bd": "SE-BD", "vpt_bd_barn": "SE-BD", "vpt_test": "SE-QQ"}
OPTIONS = QueueLogOptions(QUEUES, KNOWN)
SAMPLES = Path(__file__).resolve().parents[2] / "samples"

T0 = 1_762_153_200  # 2025-11-03 07:00:00 UTC, 08:00 in Stockholm
START = datetime(2025, 11, 3, 7, 0, tzinfo=UTC)


def at(offset: float) -> datetime:
    return START + timedelta(seconds=offset)


def line(offset: float, call: str, queue: str, event: str, *data: str, agent: str = "NONE") -> str:
    epoch = f"{T0 + offset}" if isinstance(offset, int) else f"{T0 + offset:.6f}"
    return "|".join([epoch, call, queue, agent, event, *data])


def enter(offset: float, call: str, queue: str, number: str = "0701234567") -> str:
    return line(offset, call, queue, "ENTERQUEUE", "", number, "1")


def run(*lines: str, options: QueueLogOptions = OPTIONS) -> tuple[list[Parsed | Rejection], QueueLogParser]:
    parser = QueueLogParser(options)
    results = list(parser.parse(io.StringIO("".join(text + "\n" for text in lines))))
    return results, parser


def records(*lines: str) -> dict[str, CallRecord]:
    results, _ = run(*lines)
    assert all(isinstance(r, Parsed) for r in results), results
    by_id = {r.record.call_id: r.record for r in results if isinstance(r, Parsed) and isinstance(r.record, CallRecord)}
    assert len(by_id) == len(results), "a call was yielded twice"
    return by_id


def only(*lines: str) -> tuple[int, CallRecord]:
    results, _ = run(*lines)
    assert len(results) == 1 and isinstance(results[0], Parsed), results
    record = results[0].record
    assert isinstance(record, CallRecord)
    return results[0].position, record


def rejection(*lines: str) -> Rejection:
    results, _ = run(*lines)
    rejected = [r for r in results if isinstance(r, Rejection)]
    assert len(rejected) == 1, results
    return rejected[0]


def yielded_after(parser: QueueLogParser, lines: list[str]) -> list[tuple[int, Parsed | Rejection]]:
    """Each result with the number of lines the parser had read when it came: shows when a call is settled."""
    consumed = 0

    def feed() -> Iterator[str]:
        nonlocal consumed
        for text in lines:
            consumed += 1
            yield text + "\n"

    return [(consumed, result) for result in parser.parse(feed())]  # type: ignore[arg-type]


def wait_seconds(record: CallRecord) -> float | None:
    return None if record.wait_ms is None else record.wait_ms / 1000


# --- outcomes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("event", ["COMPLETEAGENT", "COMPLETECALLER"])
def test_answered_call_is_yielded_when_it_completes(event):
    position, record = only(
        enter(0, "1762153200.1", "vpt_ac"),
        line(14, "1762153200.1", "vpt_ac", "RINGNOANSWER", "15000", agent="PJSIP/ssk-ac-14"),
        line(95, "1762153200.1", "vpt_ac", "CONNECT", "95", "1762153295.7", "6", agent="PJSIP/ssk-ac-12"),
        line(507, "1762153200.1", "vpt_ac", event, "95", "412", "1", agent="PJSIP/ssk-ac-12"),
    )
    assert position == 4
    assert record == CallRecord(
        call_id="1762153200.1", region="SE-AC", queue="vpt_ac", arrived_at=at(0), outcome=Outcome.ANSWERED,
        answered_at=at(95), ended_at=at(507), answered_by_region=None, talk_seconds=412.0, wrap_seconds=None,
    )
    assert wait_seconds(record) == 95


@pytest.mark.parametrize(
    "data",
    [
        ("1177900", "from-internal", "30", "240", "1"),  # TRANSFER and BLINDTRANSFER: exten|context|hold|talk|pos
        ("LINK", "PJSIP/a-0001", "PJSIP/b-0002", "30", "240", "1"),  # ATTENDEDTRANSFER's method has 1 or 2 fields
    ],
)
@pytest.mark.parametrize("event", ["TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER"])
def test_a_transfer_ends_the_answered_call_with_its_talk_time(event, data):
    position, record = only(
        enter(0, "c1", "vpt_bd"),
        line(30, "c1", "vpt_bd", "CONNECT", "30", "c9", "4"),
        line(270, "c1", "vpt_bd", event, *data),
    )
    assert position == 3 and record.outcome is Outcome.ANSWERED
    assert (record.answered_at, record.ended_at, record.talk_seconds) == (at(30), at(270), 240.0)


def test_a_transferred_call_entering_the_next_queue_is_not_counted_again():
    results, parser = run(
        enter(0, "c1", "vpt_bd"),
        line(30, "c1", "vpt_bd", "CONNECT", "30", "c9", "4"),
        line(270, "c1", "vpt_bd", "TRANSFER", "1177900", "from-internal", "30", "240", "1"),
        enter(271, "c1", "vpt_bd_barn"),
        line(400, "c1", "vpt_bd_barn", "ABANDON", "1", "1", "129"),
    )
    assert len(results) == 1 and isinstance(results[0], Parsed)
    assert results[0].record.outcome is Outcome.ANSWERED and results[0].record.queue == "vpt_bd"
    assert (parser.used, parser.ignored) == (3, 2)


def test_an_abandon_is_final_and_yielded_at_once():
    text = [enter(0, "a", "vpt_ac"), line(185, "a", "vpt_ac", "ABANDON", "1", "2", "185"), enter(200, "b", "vpt_ac")]
    parser = QueueLogParser(OPTIONS)
    [(when, result)] = yielded_after(parser, text)
    assert when == 2 and isinstance(result, Parsed) and result.position == 2
    assert result.record.outcome is Outcome.ABANDONED
    assert (result.record.arrived_at, result.record.ended_at) == (at(0), at(185))
    assert parser.pending == 1


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("EXITWITHTIMEOUT", ("1", "1", "600")),
        ("EXITEMPTY", ("2", "3", "600")),
        ("EXITWITHKEY", ("1", "1", "1", "600")),
    ],
)
def test_leaving_a_queue_unanswered_is_abandoned_at_the_event_time(event, data):
    position, record = only(
        enter(0, "c1", "vpt_ac_barn"),
        line(600, "c1", "vpt_ac_barn", event, *data),
        line(700, "NONE", "NONE", "CONFIGRELOAD", ""),
    )
    assert position == 2
    assert record.outcome is Outcome.ABANDONED and record.answered_at is None
    assert (record.arrived_at, record.ended_at, wait_seconds(record)) == (at(0), at(600), 600)


def test_old_exitwithkey_without_waittime_still_ends_a_call_whose_entry_was_seen():
    _, record = only(enter(0, "c1", "vpt_ac"), line(42, "c1", "vpt_ac", "EXITWITHKEY", "1", "1"))
    assert record.outcome is Outcome.ABANDONED and record.ended_at == at(42)


@pytest.mark.parametrize("event", ["FULL", "JOINEMPTY", "JOINUNAVAIL"])
def test_turned_away_without_queueing_is_rejected(event):
    position, record = only(line(10, "c1", "vpt_bd_barn", event, ""))
    assert position == 1
    assert record == CallRecord(
        call_id="c1", region="SE-BD", queue="vpt_bd_barn", arrived_at=at(10), outcome=Outcome.REJECTED,
    )
    assert record.wait_ms is None


def test_a_call_visiting_three_queues_is_counted_once_in_its_first_queue_with_the_wait_from_its_first_entry():
    # Queued in Norrbotten, overflowed to Norrbotten's second queue, then to Västerbotten's (night cover in Norra).
    position, record = only(
        enter(0, "c1", "vpt_bd"),
        line(300, "c1", "vpt_bd", "EXITWITHTIMEOUT", "1", "1", "300"),
        enter(301, "c1", "vpt_bd_barn"),
        line(600, "c1", "vpt_bd_barn", "EXITWITHTIMEOUT", "1", "1", "299"),
        enter(601, "c1", "vpt_ac"),
        line(700, "c1", "vpt_ac", "CONNECT", "99", "c2", "5", agent="PJSIP/ssk-ac-12"),
        line(1000, "c1", "vpt_ac", "COMPLETEAGENT", "99", "300", "1", agent="PJSIP/ssk-ac-12"),
    )
    assert position == 7
    assert (record.region, record.queue, record.outcome) == ("SE-BD", "vpt_bd", Outcome.ANSWERED)
    assert (record.arrived_at, record.answered_at, record.ended_at) == (at(0), at(700), at(1000))
    assert wait_seconds(record) == 700 and record.talk_seconds == 300 and record.answered_by_region is None


def test_queued_then_turned_away_by_the_next_queue_is_abandoned_at_that_moment():
    position, record = only(
        enter(0, "c1", "vpt_ac"),
        line(600, "c1", "vpt_ac", "EXITWITHTIMEOUT", "1", "1", "600"),
        line(601, "c1", "vpt_ac_barn", "FULL", ""),
    )
    assert position == 3
    assert (record.queue, record.outcome, record.ended_at, wait_seconds(record)) == (
        "vpt_ac", Outcome.ABANDONED, at(601), 601,
    )


def test_turned_away_then_queued_elsewhere_counts_in_the_first_queue_from_the_first_attempt():
    _, record = only(
        line(0, "c1", "vpt_ac", "FULL", ""),
        enter(1, "c1", "vpt_ac_barn"),
        line(121, "c1", "vpt_ac_barn", "CONNECT", "120", "c2", "1"),
        line(421, "c1", "vpt_ac_barn", "COMPLETECALLER", "120", "300", "1"),
    )
    assert (record.queue, record.outcome, record.arrived_at, wait_seconds(record)) == (
        "vpt_ac", Outcome.ANSWERED, at(0), 121,
    )


def test_a_call_still_queued_at_the_end_is_pending_and_not_yielded():
    results, parser = run(
        line(-60, "NONE", "NONE", "QUEUESTART", ""),
        enter(0, "c1", "vpt_ac"),
        line(15, "c1", "vpt_ac", "RINGNOANSWER", "15000", agent="PJSIP/ssk-ac-14"),
        enter(20, "c1", "vpt_ac"),  # the same entry logged twice
    )
    assert results == []
    assert (parser.pending, parser.lines, parser.used, parser.ignored, parser.rejected) == (1, 4, 1, 3, 0)


def test_a_call_left_and_requeued_at_the_end_is_pending():
    results, parser = run(
        enter(0, "c1", "vpt_ac"), line(60, "c1", "vpt_ac", "EXITWITHTIMEOUT", "1", "1", "60"), enter(61, "c1", "vpt_ac")
    )
    assert results == [] and parser.pending == 1


def test_a_call_still_talking_at_the_end_is_answered_without_talk_time():
    position, record = only(enter(0, "c1", "vpt_bd"), line(45, "c1", "vpt_bd", "CONNECT", "45", "c2", "3"))
    assert position == 2
    assert (record.outcome, record.answered_at, record.ended_at, record.talk_seconds) == (
        Outcome.ANSWERED, at(45), None, None,
    )


# --- logs that begin mid-call (rotation) ------------------------------------------------------------


def test_outcome_lines_without_their_entry_derive_the_arrival_from_the_line():
    found = records(
        line(100, "con", "vpt_ac", "CONNECT", "40", "x", "2"),
        line(100, "end", "vpt_bd", "COMPLETEAGENT", "30", "200", "1"),
        line(100, "aba", "vpt_ac_barn", "ABANDON", "3", "3", "75"),
        line(100, "exi", "vpt_bd_barn", "EXITWITHKEY", "5", "1", "1", "90"),
        line(100, "tra", "vpt_bd", "TRANSFER", "200", "internal", "10", "20", "1"),
    )
    con, end, aba, exi, tra = (found[k] for k in ("con", "end", "aba", "exi", "tra"))
    assert (con.queue, con.region, con.arrived_at, con.answered_at, con.ended_at) == (
        "vpt_ac", "SE-AC", at(60), at(100), None,
    )
    assert (end.arrived_at, end.answered_at, end.ended_at, end.talk_seconds) == (at(-130), at(-100), at(100), 200)
    assert (aba.outcome, aba.arrived_at, aba.ended_at) == (Outcome.ABANDONED, at(25), at(100))
    assert (exi.outcome, exi.arrived_at, exi.ended_at) == (Outcome.ABANDONED, at(10), at(100))
    assert (tra.arrived_at, tra.answered_at, tra.talk_seconds) == (at(70), at(80), 20)


def test_a_completion_whose_connect_is_missing_is_answered_at_the_start_of_the_talk():
    _, record = only(enter(0, "c1", "vpt_ac"), line(400, "c1", "vpt_ac", "COMPLETEAGENT", "", "300", "1"))
    assert (record.outcome, record.answered_at, record.ended_at) == (Outcome.ANSWERED, at(100), at(400))


# --- time -----------------------------------------------------------------------------------------------


def test_fractional_epochs_keep_the_exact_instant():
    assert parse_epoch("1730419200.123456") == datetime(2024, 11, 1, 0, 0, 0, 123456, tzinfo=UTC)
    assert parse_epoch("1730419200.") == datetime(2024, 11, 1, tzinfo=UTC)
    assert parse_epoch("1730419200.9999996") == datetime(2024, 11, 1, 0, 0, 1, tzinfo=UTC)
    assert parse_epoch("1730419200,5") is None and parse_epoch("-1730419200") is None
    _, record = only(
        enter(0.25, "c1", "vpt_ac"),
        line(60.75, "c1", "vpt_ac", "CONNECT", "60", "c2", "1"),
    )
    assert record.arrived_at == at(0.25) and record.wait_ms == 60_500


def test_epochs_across_the_autumn_fall_back_are_exact_utc_instants():
    # 2025-10-26: Stockholm goes from 03:00 CEST back to 02:00 CET at 01:00 UTC. Epochs are UTC: no ambiguity,
    # and a wait across the change is its real length (naive local times would show 02:50 → 02:10).
    base = 1_761_436_800  # 2025-10-26 00:00:00 UTC

    def utc(h: int, m: int) -> datetime:
        return datetime(2025, 10, 26, h, m, tzinfo=UTC)

    text = "".join(f"{base + s}|{c}|vpt_ac|NONE|{e}\n" for s, c, e in [
        (50 * 60, "a", "ENTERQUEUE||0701234567|1"),
        (70 * 60, "a", "CONNECT|1200|x|1"),
        (59 * 60 + 59, "b", "ENTERQUEUE||0701234567|2"),
        (90 * 60, "b", "ABANDON|1|2|1801"),
        (150 * 60, "c", "FULL|"),
    ])
    found = {r.record.call_id: r.record for r in parse_queue_log(io.StringIO(text), OPTIONS) if isinstance(r, Parsed)}
    assert (found["a"].arrived_at, found["a"].answered_at, found["a"].wait_ms) == (utc(0, 50), utc(1, 10), 1_200_000)
    assert found["b"].arrived_at == datetime(2025, 10, 26, 0, 59, 59, tzinfo=UTC) and found["b"].wait_ms == 1_801_000
    assert found["c"].arrived_at == utc(2, 30)
    assert all(r.arrived_at.tzinfo is UTC for r in found.values())


# --- interleaving, file shape -------------------------------------------------------------------------


def test_interleaved_calls_keep_their_own_events():
    found = records(
        enter(0, "a", "vpt_ac"),
        enter(5, "b", "vpt_ac"),
        enter(7, "c", "vpt_bd"),
        line(20, "b", "vpt_ac", "CONNECT", "15", "x", "2"),
        line(30, "a", "vpt_ac", "ABANDON", "1", "1", "30"),
        line(31, "c", "vpt_bd", "CONNECT", "24", "y", "1"),
        line(200, "c", "vpt_bd", "COMPLETECALLER", "24", "169", "1"),
        line(320, "b", "vpt_ac", "COMPLETEAGENT", "15", "300", "2"),
    )
    assert found["a"].outcome is Outcome.ABANDONED and found["a"].ended_at == at(30)
    assert (found["b"].answered_at, found["b"].talk_seconds) == (at(20), 300)
    assert (found["c"].region, found["c"].answered_at, found["c"].talk_seconds) == ("SE-BD", at(31), 169)


def test_crlf_blank_lines_and_a_last_line_without_newline():
    text = (
        enter(0, "c1", "vpt_ac") + "\r\n"
        + "\r\n   \n"
        + line(60, "c1", "vpt_ac", "CONNECT", "60", "x", "1") + "\r\n"
        + line(90, "c1", "vpt_ac", "COMPLETEAGENT", "60", "30", "1")
    )
    parser = QueueLogParser(OPTIONS)
    [result] = list(parser.parse(io.StringIO(text, newline="")))
    assert isinstance(result, Parsed) and result.position == 5 and result.record.talk_seconds == 30
    assert parser.lines == 3


def test_queue_wide_and_unknown_events_are_ignored():
    results, parser = run(
        line(0, "NONE", "NONE", "QUEUESTART", ""),
        line(1, "NONE", "vpt_ac", "ADDMEMBER", "", agent="PJSIP/ssk-ac-12"),
        line(2, "NONE", "vpt_ac", "AGENTLOGIN", "PJSIP/ssk-ac-12", agent="ssk-ac-12"),
        line(3, "NONE", "NONE", "CONFIGRELOAD", ""),
        line(4, "c1", "vpt_ac", "SOMETHINGNEW", "1", "2"),
        line(5, "c1", "nowhere", "DID", "0901234567"),
    )
    assert results == [] and (parser.lines, parser.ignored, parser.used) == (6, 6, 0)


def test_a_call_is_settled_once_the_log_is_a_day_past_it_so_memory_holds_only_open_calls():
    text = [enter(0, "a", "vpt_ac"), line(60, "a", "vpt_ac", "EXITWITHTIMEOUT", "1", "1", "60")]
    text += [line(3600 * h, "NONE", "NONE", "QUEUESTART", "") for h in range(1, 28)]
    [(when, result)] = yielded_after(QueueLogParser(OPTIONS), text)
    assert isinstance(result, Parsed) and result.position == 2 and result.record.outcome is Outcome.ABANDONED
    assert when == 2 + 25  # yielded on reading the first line more than 24 h after its last event


# --- rejections -------------------------------------------------------------------------------------


def test_an_unknown_queue_is_rejected_naming_the_queue():
    bad = rejection(enter(0, "c1", "vpt_ac_nat"), line(9, "NONE", "NONE", "QUEUESTART", ""))
    assert (bad.position, bad.record_key, bad.field) == (1, "c1", "queue")
    assert "'vpt_ac_nat' is not in the queue map" in bad.reason
    assert "line 1 (c1), field queue" in bad.describe()


def test_a_queue_mapped_to_an_unknown_region_is_rejected():
    bad = rejection(line(0, "c1", "vpt_test", "FULL", ""))
    assert bad.field == "region" and "SE-QQ" in bad.reason and "vpt_test" in bad.reason


def test_only_the_line_that_opens_a_call_needs_a_mapped_queue():
    _, record = only(enter(0, "c1", "vpt_ac"), enter(61, "c1", "elsewhere"), line(90, "c1", "elsewhere", "ABANDON",
                                                                                   "1", "1", "29"))
    assert (record.queue, record.outcome, record.ended_at) == ("vpt_ac", Outcome.ABANDONED, at(90))


def test_uniqueids_with_a_system_name_are_accepted():
    _, record = only(line(0, "pbx1.regionvasterbotten.se-1762153200.17", "vpt_ac", "FULL", ""))
    assert record.call_id == "pbx1.regionvasterbotten.se-1762153200.17"


def test_queue_names_match_case_insensitively_as_in_asterisk():
    _, record = only(line(0, "c1", "VPT_AC", "JOINEMPTY", ""))
    assert (record.region, record.queue) == ("SE-AC", "VPT_AC")


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        (f"{T0}|c1|vpt_ac", "agent", "has 3 field(s)"),
        (f"{T0}", "uniqueid", "has 1 field(s)"),
        ("yesterday|c1|vpt_ac|NONE|ENTERQUEUE||0701234567|1", "epoch", "not an epoch"),
        ("12|c1|vpt_ac|NONE|FULL|", "epoch", "between 2000 and 2100"),
        (f"{T0}|c1|vpt_ac|NONE||1|2", "event", "empty"),
        (f"{T0}||vpt_ac|NONE|FULL|", "uniqueid", "without the call's uniqueid"),
        (f"{T0}|NONE|vpt_ac|NONE|CONNECT|3|x|1", "uniqueid", "without the call's uniqueid"),
        (f"{T0}|c1|NONE|NONE|FULL|", "queue", "without a queue name"),
        (f"{T0}|c1|vpt_ac|NONE|CONNECT|soon|x|1", "holdtime", "not a whole number"),
        (f"{T0}|c1|vpt_ac|NONE|CONNECT||x|1", "holdtime", "CONNECT without holdtime"),
        (f"{T0}|c1|vpt_ac|NONE|ABANDON|1|1|-5", "waittime", "negative"),
        (f"{T0}|c1|vpt_ac|NONE|ABANDON|1|1|90000", "waittime", "longer than 24 hours"),
        (f"{T0}|c1|vpt_ac|NONE|EXITWITHKEY|1|1", "waittime", "EXITWITHKEY without waittime"),
        (f"{T0}|c1|vpt_ac|NONE|COMPLETEAGENT|30", "calltime", "without calltime"),
        (f"{T0}|c1|vpt_ac|NONE|COMPLETEAGENT|30|1.5|1", "calltime", "not a whole number"),
        (f"{T0}|c1|vpt_ac|NONE|TRANSFER|200|internal|30", "calltime", "without calltime"),
        (f"{T0}|{'u' * 300}|vpt_ac|NONE|FULL|", "uniqueid", "longer than 128"),  # the width of calls.call_id
        (f"{T0}|46701234567|vpt_ac|NONE|FULL|", "uniqueid", "not an Asterisk uniqueid"),
    ],
)
def test_malformed_lines_are_rejected_naming_line_and_field(text, field, reason):
    results, parser = run(line(-5, "NONE", "NONE", "QUEUESTART", ""), text)
    assert len(results) == 1 and isinstance(results[0], Rejection), results
    bad = results[0]
    assert (bad.position, bad.field) == (2, field) and reason in bad.reason, bad
    assert "line 2" in bad.describe() and field in bad.describe()
    assert (parser.lines, parser.ignored, parser.rejected, parser.used) == (2, 1, 1, 0)
    assert len(bad.raw) < 400


@pytest.mark.parametrize(
    ("lines", "field", "reason"),
    [
        ([enter(100, "c1", "vpt_ac"), line(50, "c1", "vpt_ac", "CONNECT", "0", "x", "1")], "epoch", "before the call"),
        ([enter(0, "c1", "vpt_ac"), line(90_000, "c1", "vpt_ac", "CONNECT", "0", "x", "1")], "epoch", "24 hours"),
        ([enter(0, "c1", "vpt_ac"), line(9, "c1", "vpt_ac", "CONNECT", "9", "x", "1"),
          line(20, "c1", "vpt_ac", "ABANDON", "1", "1", "20")], "event", "already answered"),
        ([enter(0, "c1", "vpt_ac"), line(9, "c1", "vpt_ac", "CONNECT", "9", "x", "1"),
          line(20, "c1", "vpt_ac", "EXITEMPTY", "1", "1", "20")], "event", "already answered"),
    ],
)
def test_lines_that_contradict_the_call_so_far_are_rejected_and_the_call_goes_on(lines, field, reason):
    bad = rejection(*lines)
    assert bad.field == field and reason in bad.reason and bad.record_key == "c1"


def test_a_rejection_keeps_the_line_structure_and_counters_but_never_a_caller_number():
    results, _ = run(
        "1762153200|1762153200.5|vpt_ac_nat|NONE|ENTERQUEUE|http://x|0701234567|1",
        "1762153260|1762153200.5|vpt_ac|NONE|ABANDON|1|1|abc",
    )
    first, second = results
    assert isinstance(first, Rejection) and first.raw == "1762153200|1762153200.5|vpt_ac_nat|NONE|ENTERQUEUE"
    assert isinstance(second, Rejection) and second.raw == "1762153260|1762153200.5|vpt_ac|NONE|ABANDON|1|1|abc"


CALLER_NUMBERS = ("0701234567", "+46702345678", "0920-12 34 56", "0046761234567", "090123456")


def test_caller_numbers_reach_no_record_and_no_rejection():
    numbers = iter(CALLER_NUMBERS)
    text = [
        enter(0, "ok", "vpt_ac", next(numbers)),
        line(30, "ok", "vpt_ac", "CONNECT", "30", "x", "1"),
        enter(1, "unmapped", "vpt_nowhere", next(numbers)),
        "garbage|" + enter(2, "shifted", "vpt_ac", next(numbers)),  # every field shifted right by one
        f"{T0}|broken|vpt_ac|NONE|ABANDON|1|1|{next(numbers)}",  # a number in a counter's place
        f"{next(numbers)}|1",  # the tail of an ENTERQUEUE line broken in two
        "0701234567",
        "+46702345678|c|vpt_ac|NONE|FULL|",
        f"{T0}|0701234567|vpt_ac|NONE|CONNECT|x|y|z",
        f"{T0}|0701234567|vpt_ac|NONE|FULL|",  # well-formed but for a number where the uniqueid belongs
        f"{T0}|c|0701234567|NONE|FULL|",
    ]
    results, parser = run(*text)
    assert parser.rejected == 9 and len(results) == 10
    digits = [re.sub(r"\D", "", n).lstrip("0") for n in CALLER_NUMBERS] + ["70123456"]
    for result in results:
        shown = re.sub(r"\D", "", repr(result))
        assert not any(d in shown for d in digits), result


# --- property: any text at all ------------------------------------------------------------------------

EVENTS = st.sampled_from([
    "ENTERQUEUE", "CONNECT", "COMPLETEAGENT", "COMPLETECALLER", "TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER",
    "ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY", "FULL", "JOINEMPTY", "JOINUNAVAIL", "QUEUESTART",
    "RINGNOANSWER", "CONFIGRELOAD", "ADDMEMBER", "", "connect", "X",
])
SECONDS = st.integers(0, 2000).map(str)
NUMBERISH = st.one_of(SECONDS, SECONDS, SECONDS, st.integers(-10, 100_000).map(str), st.text(max_size=6), st.just(""))
EPOCHS = st.one_of(
    *[st.integers(T0 - 3000, T0 + 3000).map(str)] * 4,  # mostly one busy hour, so lines form calls
    st.integers(T0 - 200_000, T0 + 200_000).map(str),  # some days apart, so calls settle
    st.floats(0, 5e9).map(str),
    st.text(max_size=5),
)
STRUCTURED = st.builds(
    lambda epoch, call, queue, event, data: "|".join([epoch, call, queue, "NONE", event, *data]),
    EPOCHS,
    st.sampled_from(["a", "b", "c", "d", "NONE", ""]),
    st.sampled_from([*QUEUES, "nowhere", "NONE"]),
    EVENTS,
    st.lists(NUMBERISH, max_size=7),
)
GARBAGE = st.lists(st.one_of(STRUCTURED, STRUCTURED, STRUCTURED, st.text(max_size=60)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(GARBAGE)
def test_any_text_is_read_without_raising_and_every_line_is_accounted_for(lines):
    text = "\n".join(lines)
    parser = QueueLogParser(OPTIONS)
    results = list(parser.parse(io.StringIO(text, newline="")))
    rejected = [r for r in results if isinstance(r, Rejection)]
    assert parser.lines == parser.used + parser.ignored + parser.rejected
    assert parser.rejected == len(rejected)
    for result in results:
        if isinstance(result, Parsed):
            assert_sound(result.record)


def assert_sound(record: object) -> None:
    """What the loader and the KPIs rely on, whatever the log said."""
    assert isinstance(record, CallRecord) and record.region in KNOWN and record.arrived_at.tzinfo is UTC
    assert (record.answered_at is not None) == (record.outcome is Outcome.ANSWERED)
    assert (record.ended_at is not None) or record.outcome is not Outcome.ABANDONED
    assert record.wait_ms is None or 0 <= record.wait_ms <= 24 * 3600 * 1000
    if record.ended_at is not None:
        assert record.ended_at >= (record.answered_at or record.arrived_at)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3000), st.sampled_from("abcdef"), st.sampled_from(list(QUEUES)[:4]), EVENTS,
                          st.lists(st.integers(0, 4000).map(str), min_size=3, max_size=5)), max_size=40))
def test_within_a_day_a_call_is_yielded_at_most_once_and_every_record_is_sound(events):
    text = "".join(f"{T0 + s}|{c}|{q}|NONE|{e}|{'|'.join(d)}\n" for s, c, q, e, d in sorted(events))
    parsed = [r.record for r in parse_queue_log(io.StringIO(text), OPTIONS) if isinstance(r, Parsed)]
    for record in parsed:
        assert_sound(record)
    ids = [record.call_id for record in parsed if isinstance(record, CallRecord)]
    assert len(ids) == len(set(ids))


# --- the sample shipped in the repo --------------------------------------------------------------------


def test_the_sample_log_with_the_sample_map():
    with (SAMPLES / "queue_map.csv").open(encoding="utf-8") as stream:
        queue_map = read_queue_map(stream, KNOWN)
    assert queue_map == {"vpt_ac": "SE-AC", "vpt_ac_barn": "SE-AC", "vpt_bd": "SE-BD", "vpt_bd_barn": "SE-BD"}
    parser = QueueLogParser(QueueLogOptions(queue_map, KNOWN))
    with (SAMPLES / "queue_log_sample.log").open(encoding="utf-8", newline="") as stream:
        results = list(parser.parse(stream))
    assert all(isinstance(r, Parsed) for r in results)
    found = [(r.position, r.record.call_id, r.record.region, r.record.outcome.value, wait_seconds(r.record))
             for r in results if isinstance(r, Parsed) and isinstance(r.record, CallRecord)]
    assert found == [
        (17, "1762153260.112", "SE-AC", "abandoned", 185),  # ABANDON: yielded at once
        (19, "1762153320.205", "SE-BD", "answered", 50),  # TRANSFER; its next leg (lines 20, 22, 31) is ignored
        (23, "1762153200.101", "SE-AC", "answered", 62),
        (27, "1762153231.110", "SE-AC", "answered", 97),
        (40, "1762153290.201", "SE-BD", "answered", 662),  # vpt_bd → EXITWITHTIMEOUT → vpt_ac: counted in vpt_bd
        (18, "1762153500.220", "SE-BD", "rejected", None),  # FULL, settled at the end of the log
        (26, "1762153800.230", "SE-BD", "abandoned", 10),  # EXITEMPTY
        (33, "1762153900.240", "SE-AC", "abandoned", 60),  # EXITWITHKEY
        (34, "1762154000.250", "SE-AC", "rejected", None),  # JOINUNAVAIL
        (37, "1762154100.260", "SE-BD", "answered", 110),  # still talking when the log ends
    ]
    assert (parser.lines, parser.used, parser.ignored, parser.rejected, parser.pending) == (41, 25, 16, 0, 1)
    sample = (SAMPLES / "queue_log_sample.log").read_text(encoding="utf-8")
    numbers = set(re.findall(r"\|(0\d{8,9})\|", sample))
    assert len(numbers) >= 5 and not any(n in repr(results) for n in numbers)


# --- queue map -------------------------------------------------------------------------------------------


def test_queue_map_tolerates_bom_whitespace_blank_lines_comments_and_semicolons():
    text = "\ufeff# kömappning\n\n Queue ; Region \n vpt_ac ; se-ac \n\nvpt_bd;SE-BD;\nVPT_AC;SE-AC\n"
    assert read_queue_map(io.StringIO(text), KNOWN) == {"vpt_ac": "SE-AC", "vpt_bd": "SE-BD"}
    assert read_queue_map(io.StringIO("region,queue,comment\nSE-Z,vpt_z,Jämtland\n")) == {"vpt_z": "SE-Z"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("\n# only a comment\n", "empty"),
        ("queue,region\n", "names no queues"),
        ("queue,regions\nvpt_ac,SE-AC\n", "line 1: the header must name the columns queue and region; missing region"),
        ("queue,region\nvpt_ac,SE-AC\n\nvpt_ac,SE-BD\n",
         "line 4: queue 'vpt_ac' is mapped to SE-BD here but to SE-AC on line 2"),
        ("queue,region\nvpt_ac,SE-AC\nVpt_Ac,SE-BD\n", "line 3: queue 'Vpt_Ac'"),
        ("queue,region\nvpt_ac,SE-XX\n", "line 2: unknown region 'SE-XX' for queue 'vpt_ac'"),
        ("queue,region\nvpt_ac\n", "line 2: expected a queue and a region, found 1 value"),
        ("queue;region\nvpt_ac,SE-AC\n", "line 2: expected a queue and a region"),
        ("queue,region\n,SE-AC\n", "line 2: the queue name is empty"),
        ("queue,region\nvpt_ac, \n", "line 2: the region of queue 'vpt_ac' is empty"),
    ],
)
def test_queue_map_errors_name_the_line(text, message):
    with pytest.raises(QueueMapError) as error:
        read_queue_map(io.StringIO(text), KNOWN)
    assert message in str(error.value)


def test_queue_map_without_known_regions_accepts_any_code():
    assert read_queue_map(io.StringIO("queue,region\nvpt_ac,se-xx\n")) == {"vpt_ac": "SE-XX"}
