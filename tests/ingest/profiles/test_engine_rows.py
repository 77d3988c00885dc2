"""Across rows (docs/profiles.md "Filters", "Chains", ``[dedupe]``): skipped rows counted, the newest copy kept,
legs of a transferred contact joined into one call; hand-computed."""

from __future__ import annotations

from app.config import Settings
from app.ingest.rows import FileFormatError
from app.kpi.records import Outcome
from tests.ingest.profiles.engine_helpers import calls, calls_profile, rejections, run, utc

FILTERED = calls_profile("""
[fields]
call_id = "id"
region = { value = "SE-AC" }
arrived_at = "t"
outcome = { value = "rejected" }
[[filter]]
column = "channel"
in = ["VOICE"]
[[filter]]
column = "queue"
matches = "(?!intern).*"
[[filter]]
present = "t"
[[filter]]
absent = "test"
""")


def test_every_filter_must_hold_and_a_skipped_row_is_neither_a_record_nor_a_rejection():
    content = ("id,t,channel,queue,test\n"
               "f1,2025-10-01T08:00:00+02:00,VOICE,vpt,\n"
               "f2,2025-10-01T08:00:00+02:00,CHAT,vpt,\n"        # not voice
               "f3,2025-10-01T08:00:00+02:00,VOICE,intern-1,\n"  # an internal queue
               "f4,,VOICE,vpt,\n"                                # no time
               "f5,2025-10-01T08:00:00+02:00,VOICE,vpt,yes\n"    # a test call
               "f6,2025-10-01T08:00:00+02:00, VOICE ,vpt,\n")    # texts are compared trimmed
    results, parser = run(FILTERED, content)
    assert [c.call_id for c in calls(results)] == ["f1", "f6"]
    assert (parser.skipped, parser.mapped) == (4, 2)


def test_a_filter_may_test_an_input_as_converted():
    chosen = calls_profile("""
[fields]
call_id = "id"
region = { value = "SE-AC" }
arrived_at = "t"
outcome = { value = "rejected" }
[inputs]
kind = { column = "Typ", map = { "Samtal" = "voice", "Röst" = "voice" }, map_default = "other" }
[[filter]]
column = "kind"
in = ["voice"]
""")
    content = "id,t,Typ\nv1,2025-10-01T08:00:00+02:00,Samtal\nc1,2025-10-01T08:00:00+02:00,Chatt\n" \
              "v2,2025-10-01T08:00:00+02:00,Röst\n"
    results, parser = run(chosen, content)
    assert [c.call_id for c in calls(results)] == ["v1", "v2"] and parser.skipped == 1


DEDUPED = calls_profile("""
[container]
type = "jsonl"
[fields]
call_id = "ContactId"
region = { value = "SE-AC" }
arrived_at = "Start"
outcome = "Outcome"
ended_at = "End"
[dedupe]
key = "ContactId"
newest = "LastUpdateTimestamp"
""")


def test_dedupe_keeps_the_newest_copy_of_a_record():
    line = ('{{"ContactId": "{id}", "Start": "2025-10-01T06:00:00Z", "Outcome": "{o}", "End": "{end}", '
            '"LastUpdateTimestamp": "{updated}"}}\n')
    content = (line.format(id="d1", o="abandoned", end="2025-10-01T06:01:00Z", updated="2025-10-01T06:05:00Z")
               + line.format(id="d2", o="rejected", end="", updated="2025-10-01T06:05:00Z")
               + line.format(id="d1", o="abandoned", end="2025-10-01T06:03:00Z", updated="2025-10-01T06:20:00Z")
               + line.format(id="d1", o="abandoned", end="2025-10-01T06:02:00Z", updated="2025-10-01T06:10:00Z"))
    results, parser = run(DEDUPED, content)
    d1, d2 = calls(results)
    assert (d1.call_id, d1.ended_at, d2.call_id) == ("d1", utc("2025-10-01T06:03:00"), "d2")
    assert parser.duplicates == 2


def test_a_delivery_read_whole_is_bounded_by_max_upload_rows():
    line = '{"ContactId": "x%d", "Start": "2025-10-01T06:00:00Z", "Outcome": "rejected"}\n'
    few = Settings(_env_file=None, max_upload_rows=3)  # type: ignore[call-arg]
    try:
        run(DEDUPED, "".join(line % i for i in range(4)), settings=few)
    except FileFormatError as exc:
        assert "VPT_MAX_UPLOAD_ROWS" in str(exc)
    else:
        raise AssertionError("four rows passed a limit of three")
    assert len(run(DEDUPED, "".join(line % i for i in range(3)), settings=few)[0]) == 3


CHAIN = """
[fields]
call_id = "id"
region = "region"
queue = "queue"
arrived_at = "arrived"
outcome = "outcome"
answered_at = "answered"
ended_at = "ended"
answered_by_region = "by"
talk_seconds = "talk"
[chain]
{link}
"""
HEADER = "id,link,region,queue,arrived,outcome,answered,ended,by,talk\n"


def leg(call_id: str, link: str, region: str, queue: str, arrived: str, outcome: str, answered: str, ended: str,
        by: str = "", talk: str = "") -> str:
    times = [f"2025-10-01T{t}:00+02:00" if t else "" for t in (arrived, answered, ended)]
    return ",".join([call_id, link, region, queue, times[0], outcome, times[1], times[2], by, talk]) + "\n"


def test_chains_by_previous_leg_join_first_arrival_and_last_outcome():
    chosen = calls_profile(CHAIN.format(link='previous = "link"'))
    content = (HEADER
               + leg("L1", "", "SE-AC", "vpt", "08:00", "answered", "08:01", "08:03", "SE-AC", "120")
               + leg("L2", "L1", "SE-Z", "overflow", "08:03", "answered", "08:05", "08:10", "SE-Z", "300")
               + leg("L3", "", "SE-BD", "vpt", "09:00", "answered", "09:01", "09:02", "SE-BD", "60")
               + leg("L4", "L3", "SE-XX", "vpt", "09:02", "answered", "09:03", "09:04", "SE-BD", "60")  # rejected
               + leg("L5", "L4", "SE-BD", "vpt", "09:04", "abandoned", "", "09:06")
               + leg("L6", "gone", "SE-AC", "vpt", "10:00", "rejected", "", ""))  # its first leg: another delivery
    results, parser = run(chosen, content)
    [bad] = rejections(results)
    assert (bad.position, bad.record_key, bad.field) == (5, "L4", "region")
    l1, l3, l6 = calls([r for r in results if r is not bad])
    # L1 + L2: L1's identity, region, queue and arrival; L2's outcome, times, answering region and talk
    assert (l1.call_id, l1.region, l1.queue, l1.arrived_at) == ("L1", "SE-AC", "vpt", utc("2025-10-01T06:00:00"))
    assert (l1.outcome, l1.answered_at, l1.ended_at, l1.answered_by_region, l1.talk_seconds) == (
        Outcome.ANSWERED, utc("2025-10-01T06:05:00"), utc("2025-10-01T06:10:00"), "SE-Z", 300)
    assert l1.wait_ms == 5 * 60_000  # the whole contact's wait: arrival in the first queue to the last answer
    # L3 + L5, though the leg between them (L4) was rejected: abandoned 6 minutes after arriving
    assert (l3.call_id, l3.outcome, l3.answered_at, l3.answered_by_region, l3.wait_ms) == (
        "L3", Outcome.ABANDONED, None, None, 6 * 60_000)
    assert l6.call_id == "L6"
    assert parser.chained_legs == 2


def test_chains_by_group_order_legs_by_arrival_not_by_file_order():
    chosen = calls_profile(CHAIN.format(link='group = "link"'))
    content = (HEADER
               + leg("G3", "G1", "SE-Z", "q3", "08:06", "abandoned", "", "08:09")
               + leg("G1", "", "SE-AC", "q1", "08:00", "answered", "08:01", "08:02", "SE-AC")
               + leg("G2", "G1", "SE-Z", "q2", "08:02", "answered", "08:03", "08:06", "SE-Z")
               + leg("H2", "H1", "SE-BD", "q2", "09:10", "answered", "09:11", "09:20", "SE-BD")  # H1: not here
               + leg("H3", "H1", "SE-BD", "q3", "09:20", "answered", "09:21", "09:30", "SE-BD"))
    results, parser = run(chosen, content)
    g1, h2 = calls(results)
    assert (g1.call_id, g1.queue, g1.arrived_at, g1.outcome, g1.ended_at, g1.wait_ms) == (
        "G1", "q1", utc("2025-10-01T06:00:00"), Outcome.ABANDONED, utc("2025-10-01T06:09:00"), 9 * 60_000)
    assert (h2.call_id, h2.answered_at) == ("H2", utc("2025-10-01T07:21:00"))
    assert results[0].position == 3 and parser.chained_legs == 3  # the call stands where its first leg did


def test_a_joined_call_is_checked_again_as_a_whole():
    chosen = calls_profile(CHAIN.format(link='previous = "link"'))
    content = (HEADER
               + leg("W1", "", "SE-AC", "vpt", "08:00", "answered", "08:01", "20:00")
               + "W2,W1,SE-AC,vpt,2025-10-01T20:00:00+02:00,answered,2025-10-02T08:30:00+02:00,,,\n")
    [rejection] = run(chosen, content)[0]
    # each leg waited under 24 hours, the contact 24.5 hours: the call is rejected where its first leg stood
    assert (rejection.position, rejection.record_key, rejection.field) == (2, "W1", "answered_at")  # type: ignore[union-attr]
    assert "longer than 24 hours" in rejection.reason  # type: ignore[union-attr]
