"""Detection (docs/profiles.md "Detection"): the share of a profile's columns the head of a file has; a tie or no
share above half chooses none."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from app.cli import app
from app.config import Settings
from app.ingest.profiles import detect, load_profiles
from app.ingest.profiles.detect import HEAD_BYTES
from app.ingest.profiles.validate import build_profile
from tests.ingest.profiles.engine_helpers import CALLS_HEAD, INTERVALS_HEAD, profile

CSV_CALLS = profile(CALLS_HEAD + """
[fields]
call_id = "Id"
region = "Region"
arrived_at = { columns = ["Datum", "Tid"], timestamp = "%Y-%m-%d %H:%M" }
outcome = { cases = [
  { when = "Status", in = ["OK"], value = "answered" }, { present = "Avbrott", value = "abandoned" },
] }
[inputs]
wait = "Väntetid"
[[filter]]
column = "Kanal"
in = ["Tel"]
""")
JSON_CALLS = build_profile({
    "profile": {"name": "json-calls", "title": "JSON calls", "record": "calls"},
    "container": {"type": "jsonl"},
    "fields": {"call_id": "ContactId", "region": {"value": "SE-AC"}, "arrived_at": "Queue.EnqueueTimestamp",
               "outcome": {"value": "rejected"}, "queue": "Queues.0.Name"},
    "detect": {"columns": ["AWSAccountId"]},
}, origin="json-calls.toml", builtin=False)


def test_every_referenced_column_counts_fields_inputs_cases_filters():
    assert CSV_CALLS.referenced_columns() == ["Id", "Region", "Datum", "Tid", "Status", "Avbrott", "Väntetid", "Kanal"]
    head = "ID;region;Datum;Tid;Status;Väntetid;Kanal;Telefon\n1;SE-AC;2025-10-01;08:00;OK;10;Tel;070\n".encode()
    found = detect(head, [CSV_CALLS, JSON_CALLS])
    assert found.chosen is not None and found.chosen.profile is CSV_CALLS
    assert found.chosen.missed == ("Avbrott",) and len(found.chosen.matched) == 7  # matched case-insensitively
    assert [m.profile.name for m in found.candidates] == ["test-calls"]  # the JSON profile cannot read a CSV


def test_json_lines_paths_and_detect_columns():
    record = {"ContactId": "c1", "AWSAccountId": "1", "Queue": {"EnqueueTimestamp": "2025-10-01T06:00:00Z"},
              "Queues": [{"Name": "vpt"}]}
    found = detect((json.dumps(record) + "\n").encode(), [CSV_CALLS, JSON_CALLS])
    assert found.chosen is not None and found.chosen.profile is JSON_CALLS
    assert set(found.chosen.matched) == {"ContactId", "AWSAccountId", "Queue.EnqueueTimestamp", "Queues.0.Name"}
    del record["AWSAccountId"], record["Queues"]
    half = detect(json.dumps(record).encode(), [JSON_CALLS])  # 2 of 4: not above half
    assert half.chosen is None and "more than half" in half.reason and half.candidates[0].share == 0.5


def test_a_json_document_longer_than_the_head_is_recognised_by_its_quoted_names():
    as_document = build_profile(
        {**JSON_CALLS.document, "profile": {**JSON_CALLS.document["profile"], "name": "doc"},
         "container": {"type": "json", "records": "items"}}, origin="doc.toml", builtin=False)
    item = {"ContactId": "c1", "AWSAccountId": "1", "Queue": {"EnqueueTimestamp": "x"}, "Queues": [{"Name": "q"}]}
    document = json.dumps({"items": [item] * (HEAD_BYTES // 100)}).encode()
    assert len(document) > HEAD_BYTES
    found = detect(document[:HEAD_BYTES], [as_document, JSON_CALLS])
    assert found.chosen is not None and found.chosen.profile.name == "doc"
    whole = detect(json.dumps({"items": [item]}).encode(), [as_document])  # read whole: by its paths
    assert whole.chosen is not None and whole.chosen.share == 1


def test_a_tie_a_kind_and_a_headerless_profile():
    twin = build_profile({**CSV_CALLS.document, "profile": {**CSV_CALLS.document["profile"], "name": "twin"}},
                         origin="twin.toml", builtin=False)
    head = b"Id;Region;Datum;Tid;Status;Avbrott;V\xc3\xa4ntetid;Kanal\n"
    tie = detect(head, [CSV_CALLS, twin])
    assert tie.chosen is None and tie.reason == "a tie between test-calls, twin: choose one with --profile"
    assert detect(head, [CSV_CALLS, twin], kind="intervals").chosen is None
    headerless = profile(INTERVALS_HEAD + """
[container]
header = false
columns = ["Id", "Region", "Datum", "Tid"]
[fields]
region = "Region"
interval_start = "Datum"
interval_minutes = { value = 15 }
offered = "Id"
answered = "Id"
abandoned = "Id"
""")
    assert detect(head, [headerless]).candidates == ()  # 8 fields, not its 4: it cannot read the file


# --- a CSV profile without a header: by its first rows (teleopti-queue-file: 21 fields) ------------------------------

TELEOPTI = Path(__file__).resolve().parents[3] / "samples" / "profiles" / "teleopti-queue-file.csv"
BUILT_INS = load_profiles(Settings(database_url="sqlite://", profiles_dir=None, _env_file=None))  # type: ignore[call-arg]
#: the sample's timestamp and number columns, in the profile's order of fields (sl_seconds is a constant)
TELEOPTI_TYPED = ("Date", "Time", "Interval", "OfferedDirectCallCount", "AnsweredCallCount", "AbandonCallCount",
                  "AbandonShortCallCount", "AnsweredServiceLevelCount", "QueuedAndAnsweredCallDuration",
                  "QueuedAndAbandonCallDuration", "QueuedAnsweredLongestQueueDuration", "TalkingCallDuration",
                  "WrapUpDuration")


def test_a_headerless_profile_is_detected_by_its_field_count_and_converting_columns():
    found = detect(TELEOPTI, BUILT_INS)
    assert found.chosen is not None and found.chosen.profile.name == "teleopti-queue-file"
    rows = len([line for line in TELEOPTI.read_text(encoding="utf-8").splitlines() if line.strip()])
    assert (found.chosen.matched, found.chosen.missed, found.chosen.rows) == (TELEOPTI_TYPED, (), rows)
    assert found.reason == (f"13 of 13 timestamp and number columns convert in the first {rows} rows "
                            "(21 fields, no header)")
    assert [m.profile.name for m in found.candidates] == ["teleopti-queue-file"]  # no header profile reads it


def test_vpt_profiles_detect_names_the_headerless_profile_and_what_matched(monkeypatch, tmp_path):
    monkeypatch.setenv("VPT_PROFILES_DIR", str(tmp_path))  # the built-ins alone
    result = CliRunner(env={"VPT_LANG": "en"}).invoke(app, ["profiles", "detect", str(TELEOPTI)])
    assert result.exit_code == 0, result.output
    assert "chosen teleopti-queue-file (intervals): 13 of 13 columns" in result.output
    assert "matched: Date, Time, Interval, OfferedDirectCallCount" in result.output


def test_a_headerless_profile_is_not_chosen_for_another_field_count_a_header_or_columns_that_do_not_convert():
    sample = TELEOPTI.read_text(encoding="utf-8")
    first = sample.splitlines()[0]
    short = "\n".join(";".join(line.split(";")[:20]) for line in sample.splitlines()) + "\n"
    assert detect(short.encode(), BUILT_INS).candidates == ()  # 20 fields: every row would be rejected
    header = ";".join(["Interval", "Date", "Time", *(f"c{i}" for i in range(18))])
    with_header = detect((header + "\n" + sample).encode(), BUILT_INS)
    assert with_header.chosen is None  # the header row's "Date" is no date: every typed column missed
    assert [m.missed for m in with_header.candidates] == []
    fields = first.split(";")
    fields[1], fields[5], fields[9], fields[10] = "2025-10-07", "41 st", "35,5", "n/a"  # date, count, count, duration
    odd = detect((";".join(fields) + "\n").encode(), BUILT_INS)
    assert odd.chosen is not None and odd.chosen.rows == 1
    assert odd.chosen.missed == ("Date", "Time", "OfferedDirectCallCount", "AnsweredCallCount",
                                 "QueuedAndAnsweredCallDuration")
    assert odd.chosen.share == 8 / 13  # still above half: named, with what it missed


def test_a_head_that_ends_inside_a_row_is_judged_by_its_whole_rows():
    sample = TELEOPTI.read_bytes()
    head = (sample * (HEAD_BYTES // len(sample) + 2))[:HEAD_BYTES]  # the head ends inside a line
    found = detect(head, BUILT_INS)
    assert found.chosen is not None and found.chosen.profile.name == "teleopti-queue-file"
    assert found.chosen.rows == 50 and found.chosen.missed == ()
