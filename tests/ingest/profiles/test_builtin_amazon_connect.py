"""The built-in profile amazon-connect (issue 14 §2): its sample ingests with the figures worked out by hand below,
on SQLite and PostgreSQL, as JSON Lines and as the concatenated objects Firehose writes; the caller's number
(CustomerEndpoint.Address) reaches no table, rejected rows included.

The built-in cannot know a region's queue names, so the sample is read through a profile of the operator's kind,
written into this test's VPT_PROFILES_DIR: it extends amazon-connect with a map of the sample's queues.

samples/profiles/amazon-connect.jsonl, line by line (times UTC; wait = Queue.DequeueTimestamp − EnqueueTimestamp):
  1  …e501 answered  SE-AC 06:59:10 → 07:03:12  wait 242 s  talk 380 s, wrap 65 s, ended 07:09:35 (Disconnect)
  2  …e502 abandoned SE-AC 08:15:00 → 08:17:30  wait 150 s
  3  …e503 CHAT                                              skipped
  4  …e504 voice without Queue (ended in the flow)           skipped
  5-7 …e703, …e701, …e702: one contact moved Jämtland → Norrbotten → Norra by QUEUE_TRANSFER, the last leg first in
     the file; one call: …e701, SE-Z, queue 1177-Jamtland, 10:00:00 → 10:09:30 (the last leg's dequeue), wait
     570 s, talk 300 s, wrap 40 s (the last leg's)
  8, 11 …e508 delivered twice; the newer copy (LastUpdateTimestamp 12:03:40, line 8) wins over the later line 11:
     answered SE-Z 12:00:00 → 12:01:00, wait 60 s, talk 120 s, wrap 30 s (not 100 s and 0 s)
  9  …e510 Queue.EnqueueTimestamp '2025-10-10T25:61:00Z'   rejected, arrived_at
  10 …e511 answered SE-AC 09:00:00 → 09:00:45, wait 45 s; AgentInteractionDuration "n/a": since issue 14 §4 a
     warning (stored without talk_seconds, wrap 20 s), before it a rejection
  12, 13 …c601 + its CALLBACK leg …c602: one answered call, SE-Z, 13:00:00 → 13:06:00 (the callback's dequeue),
     wait 360 s, talk 240 s, wrap 50 s; not an abandon
  14 …e514 abandoned SE-Z 18:00:00 → 18:00:20  wait 20 s
  15 …e515 OUTBOUND                                          skipped
  16 …e516 answered SE-AC 2025-11-03 07:30 → 07:32  wait 120 s, talk 200 s, wrap 30 s

Per region and month: SE-AC 2025-10 offered 3, answered 2 (242 + 45 s), abandoned 1 — answer rate 2/3, mean wait
143.5 s (before issue 14 §4: offered 2, answered 1, mean wait 242 s); SE-Z 2025-10 offered 4, answered 3 (570, 60,
360 s), abandoned 1 (20 s) — answer rate 3/4, mean wait 330 s, mean wait of all 252.5 s; SE-AC 2025-11 one call
answered in 120 s; SE-BD none (the chain's second leg is not a call of its own).

The sample has no TRANSFER leg (an agent's transfer after answering); how one counts is worked out by hand in
test_a_transfer_by_a_nurse_does_not_join_the_chain_the_wait_ended_at_the_first_answer.
"""

from __future__ import annotations

import io
import json
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app.config import Settings
from app.db.models import Call, RejectedRow
from app.ingest.loader import RunReport
from app.ingest.parsers import Parsed, ParseOptions
from app.ingest.profiles import ProfileParser, detect, load_profiles, profile_parser
from app.ingest.rows import Rejection
from app.ingest.service import ingest_file
from tests.helpers import figures
from tests.ingest.db_dump import database_text, digit_windows

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "samples" / "profiles" / "amazon-connect.jsonl"
#: issue 14 §4 is in the tree: a bad optional field is a warning, not a rejection
WARNINGS = "rows_warned" in {f.name for f in fields(RunReport)}
#: Settings without a database or a profiles directory: the built-ins alone, for tests that store nothing.
BARE = Settings(database_url="sqlite://", profiles_dir=None, _env_file=None)  # type: ignore[call-arg]
#: The operator's profile: the built-in with the region of each of the sample's queues.
OPERATOR_PROFILE = """
[profile]
name = "connect-norra"
title = "Amazon Connect, Norra sjukvårdsregionen"
record = "calls"
extends = "amazon-connect"

[fields.region]
column = "Queue.Name"

[fields.region.map]
"1177-Vasterbotten" = "SE-AC"
"1177-Jamtland" = "SE-Z"
"1177-Norrbotten" = "SE-BD"
# Only a chain's first leg gives the call its region, but each leg is mapped: the queues a call moves on to are
# named too (a leg that cannot be mapped is rejected, and its chain ends before it).
"1177-Norra" = "SE-BD"
"1177-Callback" = "SE-Z"
"""


def contact(suffix: str) -> str:
    return f"6a1f0c2e-7b3d-4e5f-8a9b-{suffix}"


def caller_numbers() -> set[str]:
    return {json.loads(line)["CustomerEndpoint"]["Address"] for line in SAMPLE.read_text().splitlines()}


@pytest.fixture
def connect_settings(settings: Settings, tmp_path: Path) -> Settings:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "connect-norra.toml").write_text(OPERATOR_PROFILE, encoding="utf-8")
    return settings.model_copy(update={"profiles_dir": str(profiles)})


def ingest_sample(factory, settings: Settings, path: Path = SAMPLE, parser: ProfileParser | None = None) -> RunReport:
    profile = load_profiles(settings).get("connect-norra")
    parser = parser or profile_parser(profile, settings)
    return ingest_file(factory, settings, profile.record_kind, path, parser=parser)


def stored(factory) -> dict[str, tuple[object, ...]]:
    with factory() as session:
        return {c.call_id: (c.region, c.queue, c.outcome, c.arrived_at, c.wait_ms, c.talk_seconds, c.wrap_seconds)
                for c in session.scalars(select(Call))}


def at(day: int, hour: int, minute: int, second: int = 0, month: int = 10) -> datetime:
    return datetime(2025, month, day, hour, minute, second, tzinfo=UTC)


EXPECTED = {
    contact("a1b2c3d4e501"): ("SE-AC", "1177-Vasterbotten", "answered", at(7, 6, 59, 10), 242_000, 380, 65),
    contact("a1b2c3d4e502"): ("SE-AC", "1177-Vasterbotten", "abandoned", at(7, 8, 15), 150_000, None, None),
    contact("b1b2c3d4e701"): ("SE-Z", "1177-Jamtland", "answered", at(8, 10, 0), 570_000, 300, 40),
    contact("a1b2c3d4e508"): ("SE-Z", "1177-Jamtland", "answered", at(9, 12, 0), 60_000, 120, 30),
    contact("c1b2c3d4e601"): ("SE-Z", "1177-Jamtland", "answered", at(14, 13, 0), 360_000, 240, 50),
    contact("a1b2c3d4e514"): ("SE-Z", "1177-Jamtland", "abandoned", at(15, 18, 0), 20_000, None, None),
    contact("a1b2c3d4e516"): ("SE-AC", "1177-Vasterbotten", "answered", at(3, 7, 30, month=11), 120_000, 200, 30),
}
if WARNINGS:
    EXPECTED[contact("a1b2c3d4e511")] = ("SE-AC", "1177-Vasterbotten", "answered", at(10, 9, 0), 45_000, None, 20)


def test_the_sample_gives_the_hand_computed_calls_and_figures(session_factory, connect_settings):
    parser = profile_parser(load_profiles(connect_settings).get("connect-norra"), connect_settings)
    report = ingest_sample(session_factory, connect_settings, parser=parser)
    warned = 1 if WARNINGS else 0
    # 16 lines: 3 skipped (chat, no queue, outbound), 1 older copy, 3 legs folded into their calls (2 + 1): 9 rows
    assert (parser.skipped, parser.duplicates, parser.chained_legs) == (3, 1, 3)
    assert (report.rows_read, report.rows_stored, report.rows_rejected) == (9, 7 + warned, 2 - warned)
    if WARNINGS:
        assert (report.rows_warned, report.warning_sample[0].field) == (1, "talk_seconds")
    assert stored(session_factory) == EXPECTED

    with session_factory() as session:
        chain = session.scalars(select(Call).where(Call.call_id == contact("b1b2c3d4e701"))).one()
        callback = session.scalars(select(Call).where(Call.call_id == contact("c1b2c3d4e601"))).one()
        first = session.scalars(select(Call).where(Call.call_id == contact("a1b2c3d4e501"))).one()
        abandoned = session.scalars(select(Call).where(Call.call_id == contact("a1b2c3d4e502"))).one()
        rejected = {r.record_key: (r.position, r.field) for r in session.scalars(select(RejectedRow))}
    assert (chain.answered_at, chain.ended_at) == (at(8, 10, 9, 30), at(8, 10, 14, 40))  # the last leg's
    assert callback.answered_at == at(14, 13, 6)  # the callback's dequeue, not its ConnectedToAgentTimestamp
    assert (first.answered_at, first.ended_at) == (at(7, 7, 3, 12), at(7, 7, 9, 35))
    assert abandoned.ended_at == at(7, 8, 17, 30)
    want_rejected = {contact("a1b2c3d4e510"): (9, "arrived_at")}
    if not WARNINGS:
        want_rejected[contact("a1b2c3d4e511")] = (10, "talk_seconds")
    assert rejected == want_rejected

    got = figures(session_factory, connect_settings, ["2025-10", "2025-11"])
    assert sorted(got) == ["SE-AC/2025-10", "SE-AC/2025-11", "SE-Z/2025-10", "norra/2025-10", "norra/2025-11"]
    ac, z, ac_nov = got["SE-AC/2025-10"], got["SE-Z/2025-10"], got["SE-AC/2025-11"]
    if WARNINGS:
        assert (ac["offered"], ac["answered"], ac["abandoned"]) == (3, 2, 1)
        assert ac["answer_rate"] == pytest.approx(2 / 3) and ac["mean_wait"] == pytest.approx(143.5)
    else:
        assert (ac["offered"], ac["answered"], ac["abandoned"]) == (2, 1, 1)
        assert ac["answer_rate"] == pytest.approx(1 / 2) and ac["mean_wait"] == pytest.approx(242)
    assert (z["offered"], z["answered"], z["abandoned"], z["answer_rate"]) == (4, 3, 1, 0.75)
    assert (z["mean_wait"], z["mean_wait_all"]) == (pytest.approx(330), pytest.approx(252.5))
    assert (ac_nov["offered"], ac_nov["answered"], ac_nov["mean_wait"]) == (1, 1, 120)

    again = ingest_sample(session_factory, connect_settings)  # re-running is a no-op
    assert (again.rows_stored, again.rows_updated, again.rows_unchanged) == (0, 0, 7 + warned)


def test_concatenated_objects_as_firehose_writes_them_give_the_same_calls(session_factory, connect_settings,
                                                                           tmp_path):
    concatenated = tmp_path / "firehose-object"
    concatenated.write_text("".join(SAMPLE.read_text(encoding="utf-8").splitlines()), encoding="utf-8")
    assert "}{" in concatenated.read_text() and "\n" not in concatenated.read_text()
    report = ingest_sample(session_factory, connect_settings, concatenated)
    assert report.rows_stored == len(EXPECTED)
    assert stored(session_factory) == EXPECTED


def test_no_digits_of_a_callers_number_reach_any_table(session_factory, connect_settings):
    ingest_sample(session_factory, connect_settings)
    everything = database_text(session_factory)
    assert contact("a1b2c3d4e501") in everything and "rejected_rows: " in everything  # the dump holds both
    numbers = caller_numbers()
    assert len(numbers) == 12  # the legs of one call, and the copies of one record, share theirs
    assert [w for number in numbers for w in digit_windows(number) if w in everything] == []


def test_the_rejected_rows_keep_no_digits_of_the_callers_number(session_factory, connect_settings):
    ingest_sample(session_factory, connect_settings)
    with session_factory() as session:
        kept = " ".join(f"{r.record_key} {r.field} {r.reason} {r.raw}" for r in session.scalars(select(RejectedRow)))
    assert "25:61" in kept  # the bad time is quoted, the row is there
    number = "+46708467766"  # CustomerEndpoint.Address of the rejected …e510
    assert [w for w in digit_windows(number) if w in kept] == []


def test_the_built_in_alone_takes_a_queue_named_by_its_region_code_and_rejects_another():
    settings = BARE
    queue = {"EnqueueTimestamp": "2025-10-07T06:59:10Z", "DequeueTimestamp": "2025-10-07T07:00:00Z"}
    head = {"Channel": "VOICE", "InitiationMethod": "INBOUND", "LastUpdateTimestamp": "2025-10-07T07:00:00Z"}
    lines = [
        {"ContactId": "k1", **head, "Queue": {"Name": "SE-AC", **queue},
         "CustomerEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+46739517246"}},
        {"ContactId": "k2", **head, "Queue": {"Name": "1177-Vasterbotten", **queue}},
    ]
    parser = profile_parser(load_profiles(settings).get("amazon-connect"), settings)
    text = "\n".join(json.dumps(line) for line in lines) + "\n"
    found = list(parser(io.StringIO(text), ParseOptions(frozenset({"SE-AC"}), now=at(8, 0, 0))))
    parsed = [r.record for r in found if isinstance(r, Parsed)]
    assert [(c.call_id, c.region, c.outcome.value, c.ended_at) for c in parsed] == [
        ("k1", "SE-AC", "abandoned", at(7, 7, 0))]
    [bad] = [r for r in found if isinstance(r, Rejection)]
    assert (bad.record_key, bad.field) == ("k2", "region") and "unknown region" in bad.reason


def test_detection_names_amazon_connect_for_the_sample():
    found = detect(SAMPLE, load_profiles(BARE), "calls")
    assert found.chosen is not None and found.chosen.profile.name == "amazon-connect"
    assert found.chosen.missed == ()


def _leg(contact_id: str, method: str, queue: str, enqueued: str, dequeued: str, *, previous: str | None = None,
         agent: tuple[str, int, int] | None = None, disconnected: str) -> dict[str, object]:
    """A voice contact record of the fields [A1] documents (times on 2025-12-02, UTC)."""
    def day(time: str) -> str:
        return f"2025-12-02T{time}Z"

    return {
        "ContactId": contact_id, "InitialContactId": previous and contact_id.split("-")[0] + "-1",
        "PreviousContactId": previous, "Channel": "VOICE", "InitiationMethod": method,
        "Queue": {"Name": queue, "EnqueueTimestamp": day(enqueued), "DequeueTimestamp": day(dequeued)},
        "Agent": None if agent is None else {"ConnectedToAgentTimestamp": day(agent[0]),
                                             "AgentInteractionDuration": agent[1],
                                             "AfterContactWorkDuration": agent[2]},
        "DisconnectTimestamp": day(disconnected), "LastUpdateTimestamp": day(disconnected),
    }


#: Two callers a nurse answered and then transferred by quick connect to a queue of another region (TRANSFER [A1]):
#:  t-1 SE-AC queued 09:00:00, answered 09:01:00 (wait 60 s), talk 120 s, wrap 30 s; its TRANSFER leg t-2 waits in
#:      1177-Norrbotten 09:03:10 → 09:06:30 and is answered there (talk 300 s, wrap 40 s).
#:  u-1 SE-Z queued 10:00:00, answered 10:00:40 (wait 40 s), talk 90 s, wrap 10 s; its TRANSFER leg u-2 waits in
#:      1177-Norrbotten 10:02:15 → 10:05:15 and the caller hangs up there.
#: Chained (before): t one answered call of wait 390 s (09:00:00 → 09:06:30: the first conversation counted as wait)
#: with talk 300 s and wrap 40 s; u an ABANDONED call of wait 315 s (10:00:00 → 10:05:15) — an answered caller
#: counted as lost. SE-AC 2025-12 mean wait 390 s; SE-Z answer rate 0, mean wait of all 315 s.
#: Now the TRANSFER legs are skipped: t answered, wait 60 s, talk 120 s, wrap 30 s; u answered, wait 40 s, talk 90 s,
#: wrap 10 s. SE-AC 2025-12: offered 1, answered 1, mean wait 60 s; SE-Z: offered 1, answered 1, abandoned 0, answer
#: rate 1, mean wait 40 s; SE-BD (the transfers' queue): no call.
TRANSFERS = [
    _leg("t-1", "INBOUND", "1177-Vasterbotten", "09:00:00", "09:01:00", agent=("09:01:02", 120, 30),
         disconnected="09:03:10"),
    _leg("t-2", "TRANSFER", "1177-Norrbotten", "09:03:10", "09:06:30", previous="t-1", agent=("09:06:33", 300, 40),
         disconnected="09:11:33"),
    _leg("u-1", "INBOUND", "1177-Jamtland", "10:00:00", "10:00:40", agent=("10:00:42", 90, 10),
         disconnected="10:02:15"),
    _leg("u-2", "TRANSFER", "1177-Norrbotten", "10:02:15", "10:05:15", previous="u-1", disconnected="10:05:15"),
]


def test_a_transfer_by_a_nurse_does_not_join_the_chain_the_wait_ended_at_the_first_answer(
        session_factory, connect_settings, tmp_path):
    path = tmp_path / "transfers.jsonl"
    path.write_text("".join(json.dumps(leg) + "\n" for leg in TRANSFERS), encoding="utf-8")
    parser = profile_parser(load_profiles(connect_settings).get("connect-norra"), connect_settings)
    report = ingest_sample(session_factory, connect_settings, path, parser=parser)
    assert (parser.skipped, parser.chained_legs) == (2, 0)
    assert (report.rows_read, report.rows_stored, report.rows_rejected) == (2, 2, 0)
    assert stored(session_factory) == {
        "t-1": ("SE-AC", "1177-Vasterbotten", "answered", at(2, 9, 0, month=12), 60_000, 120, 30),
        "u-1": ("SE-Z", "1177-Jamtland", "answered", at(2, 10, 0, month=12), 40_000, 90, 10),
    }
    got = figures(session_factory, connect_settings, ["2025-12"])
    ac, z = got["SE-AC/2025-12"], got["SE-Z/2025-12"]
    assert (ac["offered"], ac["answered"], ac["mean_wait"]) == (1, 1, 60)
    assert (z["offered"], z["answered"], z["abandoned"], z["answer_rate"], z["mean_wait"]) == (1, 1, 0, 1, 40)
    assert "SE-BD/2025-12" not in got


def test_a_queue_transfer_and_a_callback_still_join_their_chains():
    """Legs of a caller still waiting for the first answer count once (the sample's …e701-…e703 and …c601-…c602)."""
    profile = load_profiles(BARE).get("amazon-connect")
    assert [f.values for f in profile.filters if f.name == "InitiationMethod"] == [
        frozenset({"INBOUND", "QUEUE_TRANSFER", "CALLBACK"})]


def test_a_rejected_record_keeps_its_contact_id_when_it_could_be_read(session_factory, connect_settings, tmp_path):
    """The ContactId names a rejected record whether a field could not be mapped (a queue the operator's map lacks)
    or the record was refused whole after it was read (longer than VPT_MAX_LINE_LENGTH, nested too deeply)."""
    lines = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    unmapped, long, deep = (dict(lines[0], ContactId=f"key-{n}") for n in ("unmapped", "long", "deep"))
    unmapped["Queue"] = dict(unmapped["Queue"], Name="1177-Okand")  # not in the operator's map
    long["Attributes"] = {"note": "x" * 5000}
    nested: dict[str, object] = {}
    deep["Attributes"] = nested
    for _ in range(70):
        nested["a"] = nested = {}
    path = tmp_path / "rejected.jsonl"
    path.write_text("".join(json.dumps(obj) + "\n" for obj in (unmapped, long, deep)), encoding="utf-8")
    settings = connect_settings.model_copy(update={"max_line_length": 4096})
    report = ingest_sample(session_factory, settings, path)
    assert (report.rows_read, report.rows_stored, report.rows_rejected) == (3, 0, 3)
    with session_factory() as session:
        kept = {r.position: (r.record_key, r.field, r.reason) for r in session.scalars(select(RejectedRow))}
    assert kept == {
        1: ("key-unmapped", "region", "'1177-Okand' is not in the profile's map"),
        2: ("key-long", None, "the record is longer than 4096 characters (VPT_MAX_LINE_LENGTH)"),
        3: ("key-deep", None, "invalid JSON: nested more than 64 levels deep"),
    }
