"""The engine's sources of a value (docs/profiles.md "Sources of a value", "Cases", "Fields a profile need not map"),
each with hand-computed records; no database needed."""

from __future__ import annotations

from app.kpi.records import CALL_COLUMNS, INTERVAL_COLUMNS, Outcome
from tests.ingest.profiles.engine_helpers import (
    calls,
    calls_profile,
    intervals,
    intervals_profile,
    rejections,
    run,
    utc,
)

SWEDISH_CALLS = calls_profile("""
[fields]
call_id = "Samtals-ID"
region = { column = "Region", map = { "Västerbotten" = "SE-AC", "Jämtland Härjedalen" = "SE-Z" } }
queue = { value = "1177" }
arrived_at = { columns = ["Datum", "Tid"], timestamp = "%Y-%m-%d %H:%M:%S" }
answered_at = { cases = [ { when = "outcome", in = ["answered"], expr = "arrived_at + wait" } ] }
ended_at = { cases = [
  { when = "outcome", in = ["abandoned"], expr = "arrived_at + wait" },
  { when = "outcome", in = ["answered"], expr = "answered_at + talk_seconds" },
] }
talk_seconds = { column = "Samtalstid", duration = "mm:ss" }

[fields.outcome]
column = "Utfall"
map_case = "insensitive"
map = { "Besvarad" = "answered", "Avbruten" = "abandoned", "Kö full" = "rejected" }

[inputs]
wait = { column = "Väntetid", duration = "s" }
""")

SWEDISH_FILE = (
    "Samtals-ID;Region;Datum;Tid;Utfall;Väntetid;Samtalstid;Telefon\n"
    "a1;Västerbotten;2025-10-01;08:00:00;Besvarad;90;05:00;070-1234567\n"
    "a2;Jämtland Härjedalen;2025-10-01;09:30:00;avbruten;45,5;;070-7654321\n"
    "a3;Västerbotten;2025-10-01;10:00:00;Kö full;;;\n"
)


def test_columns_maps_constants_cases_and_expressions_make_hand_computed_calls():
    results, parser = run(SWEDISH_CALLS, SWEDISH_FILE)
    a1, a2, a3 = calls(results)
    # 08:00 in Stockholm (summer time) is 06:00 UTC; answered 90 s later, talked 5 minutes
    assert (a1.call_id, a1.region, a1.queue, a1.outcome) == ("a1", "SE-AC", "1177", Outcome.ANSWERED)
    assert (a1.arrived_at, a1.answered_at, a1.ended_at) == (
        utc("2025-10-01T06:00:00"), utc("2025-10-01T06:01:30"), utc("2025-10-01T06:06:30"))
    assert a1.talk_seconds == 300 and a1.wait_ms == 90_000
    # "avbruten" matches "Avbruten" without regard to case; the wait "45,5" has a decimal comma (a ";" file)
    assert (a2.region, a2.outcome, a2.ended_at, a2.wait_ms) == (
        "SE-Z", Outcome.ABANDONED, utc("2025-10-01T07:30:45.5"), 45_500)
    assert (a3.outcome, a3.answered_at, a3.ended_at, a3.talk_seconds) == (Outcome.REJECTED, None, None, None)
    assert parser.mapped == 3 and parser.skipped == 0


def test_only_mapped_canonical_fields_enter_a_row_never_other_columns():
    _, parser = run(SWEDISH_CALLS, SWEDISH_FILE)
    assert len(parser.preview) == 3
    for row in parser.preview:
        assert set(row.fields) <= set(CALL_COLUMNS)
        assert not any("123" in (v or "") or "765" in (v or "") for v in row.fields.values())
    # a Stockholm wall time of an hour with one reading goes on with its offset, the reading the canonical parser
    # would give it (docs/profiles.md "zone"); one of the repeated autumn hour stays a wall time
    # (test_engine_fast_paths)
    assert parser.preview[0].fields["arrived_at"] == "2025-10-01T08:00:00+02:00"
    assert parser.preview[0].fields["talk_seconds"] == "300"


FIRST_OF = calls_profile("""
[container]
type = "csv"
delimiter = ","
[fields]
call_id = { first_of = ["ContactId", "Id"] }
region = { value = "SE-AC" }
arrived_at = { column = "Start", timestamp = "epoch_s" }
outcome = { column = "Status", map = { "A" = "answered", "X" = "abandoned" }, map_default = "rejected" }
[inputs]
channel = { column = "Channel", required = true }
""")


def test_first_of_value_map_default_and_a_required_input():
    content = ("ContactId,Id,Start,Status,Channel\n"
               ",b1,1759298400,Q,VOICE\n"        # call_id from Id; Q is not in the map: the default
               "c2,b2,1759298460,Q,\n"           # the required input is empty: rejected naming it
               ",,1759298520,Q,VOICE\n")         # no call_id at all: the canonical parser's "required"
    results, _ = run(FIRST_OF, content)
    b1 = calls(results[:1])[0]
    assert (b1.call_id, b1.region, b1.outcome, b1.arrived_at) == (
        "b1", "SE-AC", Outcome.REJECTED, utc("2025-10-01T06:00:00"))
    channel, call_id = rejections(results)
    assert (channel.position, channel.record_key, channel.field) == (3, "c2", "channel")
    assert "channel is required" in channel.reason
    assert (call_id.position, call_id.field, call_id.reason) == (4, "call_id", "call_id is required")


def test_a_text_the_map_lacks_is_an_error_of_its_field_unless_map_default_keep():
    strict = calls_profile("""
[fields]
call_id = "id"
region = { column = "r", map = { "Västerbotten" = "SE-AC" } }
arrived_at = "t"
outcome = { value = "rejected" }
""")
    keep = calls_profile("""
[fields]
call_id = "id"
region = { column = "r", map = { "Västerbotten" = "SE-AC" }, map_default = "keep" }
arrived_at = "t"
outcome = { value = "rejected" }
""")
    content = ("id,r,t\n"
               "k1,Västerbotten,2025-10-01T08:00:00+02:00\n"
               "k2,SE-Z,2025-10-01T08:00:00+02:00\n"
               "k3,Riket 0701234567,2025-10-01T08:00:00+02:00\n")
    results, _ = run(strict, content)
    assert [c.region for c in calls(results[:1])] == ["SE-AC"]
    not_mapped = rejections(results)
    assert [(r.position, r.field) for r in not_mapped] == [(3, "region"), (4, "region")]
    assert "'SE-Z' is not in the profile's map" in not_mapped[0].reason
    assert "0701234567" not in not_mapped[1].reason and "[digits removed]" in not_mapped[1].reason
    results, _ = run(keep, content)
    assert [c.region for c in calls(results[:2])] == ["SE-AC", "SE-Z"]
    [unknown] = rejections(results)
    assert unknown.field == "region" and "unknown region" in unknown.reason


CONNECT_LIKE = calls_profile("""
[container]
type = "jsonl"
[fields]
call_id = "ContactId"
region = { value = "SE-BD" }
queue = "Queue.Name"
arrived_at = "InitiationTimestamp"
outcome = { cases = [
  { present = "Agent.ConnectedToAgentTimestamp", value = "answered" },
  { present = "Queue.EnqueueTimestamp", value = "abandoned" },
  { absent = "Queue.EnqueueTimestamp", value = "rejected" },
] }
answered_at = { cases = [ { when = "outcome", in = ["answered"], column = "Agent.ConnectedToAgentTimestamp" } ] }
ended_at = { cases = [ { when = "outcome", not_in = ["rejected"], column = "DisconnectTimestamp" } ] }
answered_by_region = { cases = [ { when = "Agent.RoutingProfile", in = ["Norr"], value = "SE-AC" } ] }
""")


def test_cases_choose_by_present_absent_and_when_on_fields_and_paths():
    content = (
        '{"ContactId": "c1", "InitiationTimestamp": "2025-10-01T06:00:00Z", "Queue": {"Name": "vpt", '
        '"EnqueueTimestamp": "2025-10-01T06:00:05Z"}, "Agent": {"ConnectedToAgentTimestamp": "2025-10-01T06:02:00Z", '
        '"RoutingProfile": "Norr"}, "DisconnectTimestamp": "2025-10-01T06:10:00Z"}\n'
        '{"ContactId": "c2", "InitiationTimestamp": "2025-10-01T07:00:00Z", "Queue": {"Name": "vpt", '
        '"EnqueueTimestamp": "2025-10-01T07:00:05Z"}, "Agent": null, "DisconnectTimestamp": "2025-10-01T07:03:00Z"}\n'
        '{"ContactId": "c3", "InitiationTimestamp": "2025-10-01T08:00:00Z", "Queue": null, '
        '"DisconnectTimestamp": "2025-10-01T08:00:10Z"}\n'
    )
    c1, c2, c3 = calls(run(CONNECT_LIKE, content)[0])
    assert (c1.outcome, c1.answered_at, c1.ended_at, c1.answered_by_region, c1.queue) == (
        Outcome.ANSWERED, utc("2025-10-01T06:02:00"), utc("2025-10-01T06:10:00"), "SE-AC", "vpt")
    assert (c2.outcome, c2.answered_at, c2.ended_at, c2.wait_ms) == (
        Outcome.ABANDONED, None, utc("2025-10-01T07:03:00"), 180_000)
    assert (c3.outcome, c3.ended_at, c3.queue) == (Outcome.REJECTED, None, None)


DAILY = intervals_profile("""
[container]
type = "csv"
delimiter = ";"
decimal = ","
[fields]
region = { column = "Region", map = { "Västerbotten" = "SE-AC" } }
interval_start = { column = "Datum", timestamp = "%Y-%m-%d", zone = "Europe/Stockholm" }
interval_minutes = { value = "day" }
offered = "Inkommande samtal"
answered = "Besvarade"
abandoned = "Avbrutna"
wait_answered_seconds_sum = { expr = "mean_wait * answered" }
[inputs]
mean_wait = { column = "Medelväntetid (mm:ss)", duration = "mm:ss" }
[[filter]]
column = "Region"
not_in = ["Riket", "Totalt"]
""")


def test_intervals_take_the_documented_defaults_and_a_day():
    content = ("Datum;Region;Inkommande samtal;Besvarade;Avbrutna;Medelväntetid (mm:ss)\n"
               "2025-10-01;Västerbotten;120;100;20;02:30\n"
               "2025-10-01;Riket;5000;4000;1000;03:00\n")
    results, parser = run(DAILY, content)
    [day] = intervals(results)
    assert (day.region, day.queue, day.interval_start, day.interval_minutes) == (
        "SE-AC", "", utc("2025-09-30T22:00:00"), 1440)  # local midnight of 1 October, summer time
    assert (day.offered, day.answered, day.abandoned) == (120, 100, 20)
    assert (day.abandoned_short, day.rejected, day.answered_within_sl, day.sl_seconds) == (0, 0, 0, 0)
    assert day.wait_answered_seconds_sum == 150 * 100  # 2:30 on average, 100 answered
    assert parser.skipped == 1 and parser.mapped == 1
    fields = parser.preview[0].fields
    assert set(fields) <= set(INTERVAL_COLUMNS)
    assert (fields["interval_minutes"], fields["abandoned_short"], fields["sl_seconds"]) == ("1440", "0", "0")


def test_a_month_of_statistics_emits_month():
    monthly = intervals_profile("""
[fields]
region = { value = "SE-Z" }
interval_start = { column = "Månad", timestamp = "%Y-%m" }
interval_minutes = { value = "month" }
offered = "Inkommande"
answered = "Besvarade"
abandoned = "Avbrutna"
""")
    results, parser = run(monthly, "Månad,Inkommande,Besvarade,Avbrutna\n2025-10,3100,2900,200\n")
    assert parser.preview[0].fields["interval_minutes"] == "month"
    [month] = intervals(results)
    assert (month.interval_start, month.offered, month.answered, month.abandoned) == (
        utc("2025-09-30T22:00:00"), 3100, 2900, 200)
    assert month.interval_minutes == 31 * 1440  # stored as the month's days (app.kpi.records)
