"""The engine's conversions (docs/profiles.md): timestamps and zones, durations, decimal commas, scale, encodings
and arithmetic on times, each against hand-computed UTC instants and seconds."""

from __future__ import annotations

import io

import pytest

from app.ingest.parsers import Parsed
from app.ingest.profiles import profile_parser
from app.kpi.records import CallRecord
from tests.ingest.profiles.engine_helpers import (
    OPTIONS,
    SETTINGS,
    calls,
    calls_profile,
    intervals,
    intervals_profile,
    rejections,
    run,
    utc,
)


def arrival_profile(convert: str, delimiter: str = ",") -> str:
    return f"""
[container]
type = "csv"
delimiter = "{delimiter}"
[fields]
call_id = "id"
region = {{ value = "SE-AC" }}
arrived_at = {{ column = "t"{convert} }}
outcome = {{ value = "rejected" }}
"""


@pytest.mark.parametrize(("convert", "text", "expected"), [
    ("", "2025-10-01T08:00:00", "2025-10-01T06:00:00"),  # iso, Stockholm summer time: the defaults
    (', zone = "UTC"', "2025-10-01T08:00:00", "2025-10-01T08:00:00"),
    (', zone = "UTC"', "2025-10-01T08:00:00+02:00", "2025-10-01T06:00:00"),  # an offset wins over the zone
    (', timestamp = "epoch_s"', "1759298400", "2025-10-01T06:00:00"),
    (', timestamp = "epoch_ms"', "1759298400500", "2025-10-01T06:00:00.5"),
    (', timestamp = "%d.%m.%Y %H:%M"', "01.10.2025 08:00", "2025-10-01T06:00:00"),
    (', timestamp = "%Y%m%d %H:%M", zone = "America/New_York"', "20250701 08:00", "2025-07-01T12:00:00"),
    (', timestamp = "%Y-%m-%d %H:%M", zone = "Europe/London"', "2025-01-15 08:00", "2025-01-15T08:00:00"),
])
def test_timestamps_and_zones(convert, text, expected):
    [call] = calls(run(calls_profile(arrival_profile(convert)), f"id,t\nx,{text}\n")[0])
    assert call.arrived_at == utc(expected)


@pytest.mark.parametrize(("convert", "reason"), [
    (', timestamp = "%Y-%m-%d %H:%M"', "invalid timestamp: '[digits removed]' (expected %Y-%m-%d %H:%M)"),
    (', timestamp = "epoch_ms"', "not a time: '[digits removed]' is out of range for epoch_ms"),
])
def test_an_unreadable_timestamp_rejects_naming_the_field_and_withholding_digits(convert, reason):
    chosen = calls_profile(arrival_profile(convert))
    [rejection] = rejections(run(chosen, "id,t\nx,46701234567000000000\n")[0])
    assert (rejection.position, rejection.field, rejection.reason) == (2, "arrived_at", reason)


def test_strptime_in_stockholm_reads_the_repeated_autumn_hour_in_file_order():
    chosen = intervals_profile("""
[fields]
region = { value = "SE-AC" }
interval_start = { column = "Tid", timestamp = "%Y-%m-%d %H:%M" }
interval_minutes = { value = 60 }
offered = "n"
answered = "n"
abandoned = "z"
""")
    content = "Tid,n,z\n" + "".join(f"2025-10-26 {hh},1,0\n" for hh in ("01:00", "02:00", "02:00", "03:00"))
    starts = [i.interval_start for i in intervals(run(chosen, content)[0])]
    # 01:00 and the first 02:00 are summer time (+2), the second 02:00 and 03:00 winter time (+1)
    assert starts == [utc("2025-10-25T23:00:00"), utc("2025-10-26T00:00:00"), utc("2025-10-26T01:00:00"),
                      utc("2025-10-26T02:00:00")]


def test_calls_in_the_repeated_hour_and_arithmetic_across_it():
    chosen = calls_profile("""
[fields]
call_id = "id"
region = { value = "SE-AC" }
arrived_at = { column = "t", timestamp = "%Y-%m-%d %H:%M" }
outcome = { value = "answered" }
answered_at = { expr = "arrived_at + wait" }
[inputs]
wait = { column = "w", duration = "s" }
""")
    content = "id,t,w\nfirst,2025-10-26 02:50,1200\nsecond,2025-10-26 02:10,60\n"
    first, second = calls(run(chosen, content)[0])
    # 02:50 summer time is 00:50 UTC; 20 minutes later it is 02:10 winter time, 01:10 UTC
    assert (first.arrived_at, first.answered_at, first.wait_ms) == (
        utc("2025-10-26T00:50:00"), utc("2025-10-26T01:10:00"), 1_200_000)
    # a call time that goes back inside the repeated hour is winter time
    assert (second.arrived_at, second.answered_at) == (utc("2025-10-26T01:10:00"), utc("2025-10-26T01:11:00"))


TALK = """
[container]
type = "csv"
delimiter = "{delimiter}"
{decimal}
[fields]
call_id = "id"
region = {{ value = "SE-AC" }}
arrived_at = {{ value = "2025-10-01T08:00:00+02:00" }}
outcome = {{ value = "answered" }}
answered_at = {{ value = "2025-10-01T08:01:00+02:00" }}
talk_seconds = {{ column = "talk"{convert} }}
"""


def talk(convert: str, text: str, delimiter: str = ",", decimal: str = "") -> CallRecord:
    chosen = calls_profile(TALK.format(delimiter=delimiter, decimal=decimal, convert=convert))
    [call] = calls(run(chosen, f"id{delimiter}talk\nx{delimiter}{text}\n")[0])
    return call


@pytest.mark.parametrize(("convert", "text", "seconds"), [
    ("", "400", 400),
    (', duration = "s"', "7.5", 7.5),
    (', duration = "ms"', "1500", 1.5),
    (', duration = "min"', "2.5", 150),
    (', duration = "hh:mm:ss"', "1:02:03", 3723),
    (', duration = "h:mm:ss"', "9:00:00", 32_400),
    (', duration = "mm:ss"', "75:30", 4530),  # minutes may exceed 59
    (', duration = "mm:ss"', "00:07.5", 7.5),
    (", scale = 0.1", "75", 7.5),
    (', duration = "min", scale = 2', "1", 120),
])
def test_durations_become_seconds(convert, text, seconds):
    assert talk(convert, text).talk_seconds == pytest.approx(seconds)


def test_hours_of_a_duration_may_exceed_24():
    """The conversion reads 25:00:00 as 90 000 s; a talk time that long is then left out by the canonical check
    (no call talks 25 hours), so the engine's value is seen in the row it hands on."""
    chosen = calls_profile(TALK.format(delimiter=",", decimal="", convert=', duration = "h:mm:ss"'))
    results, parser = run(chosen, "id,talk\nx,25:00:00\n")
    assert parser.preview[0].fields["talk_seconds"] in ("90000", "90000.0")
    [call] = calls(results)
    assert call.talk_seconds is None


def test_decimal_commas():
    assert talk("", "7,5", delimiter=";").talk_seconds == 7.5  # a ";" file: decimal "auto" is ","
    assert talk(', duration = "min"', "1,5", delimiter=";").talk_seconds == 90
    assert talk(', duration = "mm:ss"', "01:07,5", delimiter=";").talk_seconds == 67.5
    assert talk("", '"7,5"', decimal='decimal = ","').talk_seconds == 7.5  # quoted in a "," file


def test_a_bad_optional_duration_is_an_error_of_that_field_only():
    chosen = calls_profile(TALK.format(delimiter=",", decimal="", convert=', duration = "mm:ss"'))
    results, parser = run(chosen, "id,talk\nx,abc\n")
    assert parser.preview[0].field_errors == {"talk_seconds": "not a duration: 'abc' (expected mm:ss)"}
    [result] = results
    # the call stays (issue 14 §4): stored without its talk time, with a warning naming the field
    assert isinstance(result, Parsed) and result.record.talk_seconds is None  # type: ignore[union-attr]
    assert [(w.field, w.reason) for w in result.warnings] == [
        ("talk_seconds", "not a duration: 'abc' (expected mm:ss)")]


EXPR = calls_profile("""
[fields]
call_id = "id"
region = { value = "SE-AC" }
arrived_at = "arrived"
outcome = { value = "answered" }
answered_at = "answered"
ended_at = "ended"
talk_seconds = { expr = "ended_at - answered_at - hold" }
wrap_seconds = { expr = "work / parts" }
[inputs]
hold = { column = "hold", duration = "min" }
work = "work"
parts = "parts"
""")


def test_expressions_subtract_times_and_say_why_they_cannot_compute():
    content = ("id,arrived,answered,ended,hold,work,parts\n"
               "e1,2025-10-01T08:00:00+02:00,2025-10-01T08:01:00+02:00,2025-10-01T08:11:00+02:00,0.5,60,4\n"
               "e2,2025-10-01T09:00:00+02:00,2025-10-01T09:01:00+02:00,2025-10-01T09:02:00+02:00,,60,0\n")
    results, parser = run(EXPR, content)
    e1, e2 = calls(results)
    assert (e1.talk_seconds, e1.wrap_seconds) == (600 - 30, 15)  # 10 minutes less half a minute on hold; 60 / 4
    assert e2.talk_seconds is None  # hold has no value: neither has the expression (not an error)
    assert parser.preview[1].field_errors == {"wrap_seconds": "division by zero"}


def test_a_timestamp_in_an_expression_must_be_added_to_or_subtracted_from():
    chosen = calls_profile("""
[fields]
call_id = "id"
region = { value = "SE-AC" }
arrived_at = "t"
outcome = { value = "rejected" }
talk_seconds = { expr = "arrived_at * 2" }
""")
    _, parser = run(chosen, "id,t\nx,2025-10-01T08:00:00+02:00\n")
    assert "with a timestamp" in (parser.preview[0].field_errors or {})["talk_seconds"]


ENCODED = """
[container]
type = "csv"
encoding = "{encoding}"
[fields]
call_id = "id"
region = {{ column = "Region", map = {{ "Västerbotten" = "SE-AC" }} }}
arrived_at = "t"
outcome = {{ value = "rejected" }}
"""
LATIN = "id;Region;t\nx;Västerbotten;2025-10-01T08:00:00+02:00\n"


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_single_byte_encodings_are_decoded_from_the_bytes(encoding):
    [call] = calls(run(calls_profile(ENCODED.format(encoding=encoding)), LATIN.encode(encoding))[0])
    assert call.region == "SE-AC"
    # read as UTF-8 the same bytes hold no "Västerbotten": the map says so
    [rejection] = rejections(run(calls_profile(ENCODED.format(encoding="utf-8")), LATIN.encode(encoding))[0])
    assert rejection.field == "region" and "not in the profile's map" in rejection.reason


def test_utf16_is_decoded_from_the_bytes_of_the_stream():
    data = LATIN.encode("utf-16")  # with its byte-order mark, as Excel writes "Unicode text"
    stream = io.TextIOWrapper(io.BufferedReader(io.BytesIO(data)), encoding="utf-8-sig", errors="replace", newline="")
    parser = profile_parser(calls_profile(ENCODED.format(encoding="utf-16")), SETTINGS)
    [result] = list(parser(stream, OPTIONS))
    assert isinstance(result, Parsed) and result.record.region == "SE-AC"
