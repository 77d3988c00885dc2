"""The engine's containers (docs/profiles.md ``[container]``): CSV variants, JSON Lines (also concatenated objects),
a JSON document with a records path, and every read bounded."""

from __future__ import annotations

import pytest

from app.config import Settings
from app.ingest.parsers import ParseOptions
from app.ingest.rows import FileFormatError
from app.kpi.records import Outcome
from tests.ingest.profiles.engine_helpers import OPTIONS, calls, calls_profile, rejections, run, utc

FIELDS = """
[fields]
call_id = "id"
region = "region"
arrived_at = "t"
outcome = "o"
"""


def csv_profile(container: str) -> str:
    return f"[container]\ntype = \"csv\"\n{container}\n{FIELDS}"


def test_csv_header_is_matched_trimmed_and_case_insensitively_after_skipped_lines():
    chosen = calls_profile(csv_profile("skip_lines = 2"))
    content = "Rapport: samtal\n\n ID |REGION| T |O\na1|SE-AC|2025-10-01T08:00:00+02:00|rejected\n"
    chosen = calls_profile(csv_profile('skip_lines = 2\ndelimiter = "|"'))
    [call] = calls(run(chosen, content)[0])
    assert (call.call_id, call.region, call.arrived_at) == ("a1", "SE-AC", utc("2025-10-01T06:00:00"))


def test_csv_without_a_header_names_columns_by_position():
    chosen = calls_profile(csv_profile('header = false\ncolumns = ["id", "region", "t", "o", "phone"]'))
    content = "a1;SE-AC;2025-10-01T08:00:00+02:00;rejected;0701234567\na2;SE-AC;bad\n"
    results, parser = run(chosen, content)
    assert [c.call_id for c in calls(results[:1])] == ["a1"]
    [short] = rejections(results)
    assert (short.position, short.reason) == (2, "row has 3 fields, the header has 5")
    assert "0701234567" not in repr(parser.preview)


def test_csv_a_line_longer_than_the_limit_is_one_rejected_row():
    options = ParseOptions(OPTIONS.known_regions, max_line_length=1024, now=OPTIONS.now)
    content = ("id,region,t,o\n" + "a1,SE-AC," + "x" * 2000 + ",rejected\n"
               + "a2,SE-AC,2025-10-01T08:00:00+02:00,rejected\n")
    too_long, kept = run(calls_profile(csv_profile("")), content, options=options)[0]
    assert (too_long.position, too_long.reason) == (  # type: ignore[union-attr]
        2, "the line is longer than 1024 characters (VPT_MAX_LINE_LENGTH)")
    assert kept.record.call_id == "a2"  # type: ignore[union-attr]


def test_csv_missing_a_required_column_is_refused_whole():
    with pytest.raises(FileFormatError, match=r"missing required column\(s\): o$"):
        run(calls_profile(csv_profile("")), "id,region,t\na1,SE-AC,2025-10-01T08:00:00+02:00\n")


def test_csv_a_row_that_cannot_be_placed_keeps_only_an_unambiguous_key():
    content = ("id,region,t,o\n"
               "a1,0701234567,SE-AC,2025-10-01T08:00:00+02:00,rejected\n"  # a1 or 0701234567: neither is kept
               "a2,a2,SE-AC,2025-10-01T08:00:00+02:00,rejected\n")  # a2 wherever the stray field is
    first, second = run(calls_profile(csv_profile("")), content)[0]
    assert (first.record_key, first.raw, first.reason) == (  # type: ignore[union-attr]
        None, "", "row has 5 fields, the header has 4")
    assert (second.record_key, second.raw) == ("a2", "")  # type: ignore[union-attr]


JSONL = calls_profile('[container]\ntype = "jsonl"\n' + FIELDS)
ROW = '{{"id": "{id}", "region": "SE-AC", "t": "2025-10-01T08:00:00+02:00", "o": "rejected"}}'


def test_jsonl_one_per_line_concatenated_and_spread_over_lines():
    content = (ROW.format(id="j1") + "\n\n"
               + ROW.format(id="j2") + ROW.format(id="j3") + "\n"  # Firehose: }{ on one line
               + ROW.format(id="j4").replace(", ", ",\n  ") + "\n"  # pretty-printed over four lines
               + ROW.format(id="j5") + "\n")
    results, _ = run(JSONL, content)
    assert [c.call_id for c in calls(results)] == ["j1", "j2", "j3", "j4", "j5"]
    # the line a record starts on; a second record on a line takes the next number (positions are distinct)
    assert [r.position for r in results] == [1, 3, 4, 5, 8]


def test_jsonl_a_bad_record_is_rejected_and_reading_goes_on_at_the_next_line():
    content = (ROW.format(id="j1") + "\n"
               + '{"id": "j2", "region": oops}\n'
               + '["not", "an", "object"]\n'
               + ROW.format(id="j3") + "\n")
    results, _ = run(JSONL, content)
    assert [c.call_id for c in calls([results[0], results[3]])] == ["j1", "j3"]
    bad, not_object = rejections(results)
    assert bad.position == 2 and bad.reason.startswith("invalid JSON")
    assert not_object.position == 3 and "not a JSON object" in not_object.reason


def test_jsonl_a_record_longer_than_the_limit_is_rejected_even_without_line_breaks():
    options = ParseOptions(OPTIONS.known_regions, max_line_length=1024, now=OPTIONS.now)
    long = '{"id": "long", "pad": "' + "x" * 5000 + '"}'  # read whole: the record after it on its line is kept
    huge = '{"id": "huge", "pad": "' + "x" * 200_000 + '"}'  # not read whole: reading resumes at the next line
    content = (ROW.format(id="j1") + "\n" + long + ROW.format(id="kept") + "\n"
               + huge + ROW.format(id="lost") + "\n" + ROW.format(id="j2") + "\n")
    results, _ = run(JSONL, content, options=options)
    assert [getattr(r, "record", None) and r.record.call_id for r in results] == [  # type: ignore[union-attr]
        "j1", None, "kept", None, "j2"]
    assert [(r.position, r.reason) for r in rejections(results)] == [
        (2, "the record is longer than 1024 characters (VPT_MAX_LINE_LENGTH)"),
        (4, "the record is longer than 1024 characters (VPT_MAX_LINE_LENGTH)")]  # line 3, after "kept" at 3


def test_jsonl_nesting_is_bounded():
    deep = '{"id": "d", "x": ' + "[" * 100 + "]" * 100 + "}"
    [rejection] = run(JSONL, deep + "\n")[0]
    assert "nested more than 64 levels" in rejection.reason  # type: ignore[union-attr]


JSON = calls_profile("""
[container]
type = "json"
records = "data.items"
[fields]
call_id = "Id"
region = { value = "SE-Z" }
queue = "Queues.0.Name"
arrived_at = { column = "Times.Start", timestamp = "epoch_ms" }
outcome = { column = "Answered", map = { "true" = "answered", "false" = "abandoned" } }
answered_at = { cases = [ { when = "outcome", in = ["answered"], column = "Times.Answer", timestamp = "epoch_ms" } ] }
ended_at = { column = "Times.End", timestamp = "epoch_ms" }
""")


def test_json_records_at_a_dotted_path_with_list_indexes_and_json_types():
    content = ('{"data": {"count": 2, "items": ['
               '{"Id": "g1", "Queues": [{"Name": "vpt"}], "Answered": true, '
               '"Times": {"Start": 1759298400000, "Answer": 1759298430000, "End": 1759298700000}},'
               '{"Id": "g2", "Queues": [], "Answered": false, "Times": {"Start": 1759298400000, "End": 1759298460000}}'
               ']}}')
    g1, g2 = calls(run(JSON, content)[0])
    assert (g1.queue, g1.outcome, g1.wait_ms, g1.ended_at) == (
        "vpt", Outcome.ANSWERED, 30_000, utc("2025-10-01T06:05:00"))
    assert (g2.queue, g2.outcome, g2.wait_ms) == (None, Outcome.ABANDONED, 60_000)


@pytest.mark.parametrize(("content", "message"), [
    ('{"data": {"items": {}}}', "not an array of records"),
    ('{"other": []}', "has no 'data.items'"),
    ('{"data": ', "invalid JSON"),
    ("", "empty"),
])
def test_json_a_document_without_its_records_is_refused_whole(content, message):
    with pytest.raises(FileFormatError, match=message):
        run(JSON, content)


def test_json_a_document_is_bounded_by_max_upload_bytes():
    small = Settings(_env_file=None, max_upload_bytes=200)  # type: ignore[call-arg]
    content = '{"data": {"items": [' + ",".join(['{"Id": "x"}'] * 30) + "]}}"
    with pytest.raises(FileFormatError, match="longer than 200 characters"):
        run(JSON, content, settings=small)


def test_a_path_to_an_object_is_an_error_of_the_field_not_of_the_file():
    content = '{"data": {"items": [{"Id": {"nested": 1}, "Answered": false, "Times": {"Start": 1759298400000}}]}}'
    [rejection] = run(JSON, content)[0]
    assert rejection.field == "call_id" and "is an object, not a value" in rejection.reason  # type: ignore[union-attr]
