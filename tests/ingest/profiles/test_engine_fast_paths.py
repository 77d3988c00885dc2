"""The engine's fast paths equal their references (app.ingest.profiles.fastpaths, convert.compiled): a fast path is
proven equal to the reference path by property tests, never assumed.

- ``fastpaths.strptime(p)(text)`` is ``datetime.strptime(text, p)`` for every text: the same moment or ValueError;
- ``fastpaths.stockholm_reader(p)(text)``, when it answers, is ``stockholm_text(datetime.strptime(text, p))``;
- ``stockholm_text(wall)`` is the wall time with its offset exactly when the hour has one reading (then the instant
  is ``app.kpi.localtime``'s), else the wall time alone;
- ``compiled(convert)(value)`` is ``apply(value, convert)``: the same value or the same ConversionError;
- end to end, the canonical parser makes of a profile's rows exactly what it makes of the same rows with every
  time written as the wall time the export showed (what the engine handed on before its fast paths).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ingest.parsers import Parsed, parse_call_rows
from app.ingest.profiles.convert import apply, compiled
from app.ingest.profiles.fastpaths import stockholm_reader, stockholm_text, strptime
from app.ingest.profiles.model import Convert
from app.ingest.profiles.values import ConversionError, Stamp, Value, value_text
from app.ingest.rows import EARLIEST_YEAR, LATEST_YEAR, RawRow, Rejection
from app.kpi.localtime import is_ambiguous, is_nonexistent, local_to_utc
from tests.ingest.profiles.engine_helpers import OPTIONS, calls_profile, run

PROPERTY = settings(
    max_examples=int(os.environ.get("VPT_FUZZ_EXAMPLES", "300")),
    deadline=None,
    derandomize=os.environ.get("CI", "").lower() in {"1", "true", "yes"},
    suppress_health_check=[HealthCheck.too_slow],
)

#: patterns with a fast path (the first four are the exports' common ones) and some without
FAST = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y%m%d %H:%M", "%Y-%m-%d", "%d/%m/%Y %H:%M", "%Y%m%d%H%M%S",
        "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y", "%m/%d/%Y %H:%M:%S"]
SLOW = ["%Y-%m-%d %H:%M:%S.%f", "%H:%M", "%Y-%m-%d %H", "%Y-%m-%d %H:%S", "%y%m%d", "%Y-%m-%d %I:%M %p",
        "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d%%"]
PATTERNS = st.sampled_from(FAST + SLOW)
WALL_TIMES = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59))


def _last_sunday(year: int, month: int) -> datetime:
    last = datetime(year, month, 31)
    return last - timedelta(days=(last.weekday() + 1) % 7)


#: the two days a year Stockholm's clocks change (the last Sundays of March and October), and their neighbours
CHANGE_DAYS = st.builds(
    lambda year, month, shift, minutes: _last_sunday(year, month) + timedelta(days=shift, minutes=minutes),
    st.integers(EARLIEST_YEAR - 2, LATEST_YEAR + 2), st.sampled_from([3, 10]), st.integers(-1, 1),
    st.integers(0, 24 * 60 - 1))


def _texts(pattern: str) -> st.SearchStrategy[str]:
    """Texts of the pattern: written from a moment, with any number in any field, changed in one character, or
    anything at all from digits, separators and a few non-ASCII digits and spaces."""
    written = WALL_TIMES.map(lambda moment: moment.strftime(pattern))
    numbers = st.tuples(*(st.integers(0, 99) for _ in range(5)), st.integers(0, 9999)).map(
        lambda n: pattern.replace("%Y", f"{n[5]:04d}").replace("%m", f"{n[0]:02d}").replace("%d", f"{n[1]:02d}")
        .replace("%H", f"{n[2]:02d}").replace("%M", f"{n[3]:02d}").replace("%S", f"{n[4]:02d}"))
    alphabet = st.sampled_from(list("0123456789") * 4 + list("-:/. T,_xZ+") + ["\u0663", "\u00b2", "\u2003", "t"])
    changed = st.tuples(written, st.integers(0, 40), alphabet, st.booleans()).map(
        lambda t: t[0][:t[1]] + t[2] + t[0][t[1] + (1 if t[3] else 0):])
    return st.one_of(written, numbers, changed, st.text(alphabet, max_size=22))


def _outcome(parse, text: str) -> object:
    try:
        return parse(text)
    except ValueError:
        return ValueError


@PROPERTY
@given(st.data())
def test_fast_strptime_equals_datetime_strptime_for_every_text(data):
    pattern = data.draw(PATTERNS)
    text = data.draw(_texts(pattern))
    assert _outcome(strptime(pattern), text) == _outcome(lambda t: datetime.strptime(t, pattern), text)


@pytest.mark.parametrize(("pattern", "text"), [
    *[("%Y-%m-%d %H:%M:%S", t) for t in ("2025-02-29 10:00:00", "2024-02-29 10:00:00", "0000-01-01 00:00:00",
                                         "2025-01-01 24:00:00", "2025-01-01 23:59:60", "2025-13-01 00:00:00",
                                         "2025-00-10 00:00:00", "2025-1-01 00:00:00", "2025-01-01t00:00:00",
                                         "2025-01-01  00:00:00", "\u0662025-01-01 00:00:00")],
    *[("%Y%m%d %H:%M", t) for t in ("20251305 08:00", "20250230 08:00", "20251231 23:59", "2025131 08:00")],
])
def test_fast_strptime_equals_datetime_strptime_at_the_edges(pattern, text):
    assert _outcome(strptime(pattern), text) == _outcome(lambda t: datetime.strptime(t, pattern), text)


@PROPERTY
@given(st.data())
def test_the_stockholm_reader_gives_what_strptime_and_stockholm_text_give(data):
    pattern = data.draw(st.sampled_from([p for p in FAST if stockholm_reader(p) is not None]))
    text = data.draw(st.one_of(_texts(pattern), CHANGE_DAYS.map(lambda m: m.strftime(pattern))))
    read = stockholm_reader(pattern)
    assert read is not None
    fast = read(text)
    reference = _outcome(lambda t: datetime.strptime(t, pattern), text)
    if reference is ValueError:
        assert fast is None, (pattern, text)
    elif fast is not None:
        assert isinstance(reference, datetime)
        assert fast == stockholm_text(reference), (pattern, text)


def test_only_patterns_with_a_date_hours_and_minutes_have_a_stockholm_reader():
    assert all(stockholm_reader(p) is not None for p in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y%m%d %H:%M"))
    assert all(stockholm_reader(p) is None for p in ("%Y-%m-%d", "%d.%m.%Y", *SLOW))


@PROPERTY
@given(st.one_of(WALL_TIMES, CHANGE_DAYS, CHANGE_DAYS.map(lambda m: m.replace(second=59, microsecond=999_999)),
                 CHANGE_DAYS.map(lambda m: m.replace(fold=1))))
def test_stockholm_text_gives_the_offset_exactly_when_the_wall_time_has_one_reading(wall):
    text = stockholm_text(wall)
    one_reading = (EARLIEST_YEAR <= wall.year <= LATEST_YEAR and not is_ambiguous(wall)
                   and not is_nonexistent(wall))
    if not one_reading:
        assert text == wall.isoformat()
        return
    read = datetime.fromisoformat(text)
    assert text.startswith(wall.isoformat()) and read.tzinfo is not None
    assert read.replace(tzinfo=None) == wall.replace(fold=0)
    assert read.astimezone(UTC) == local_to_utc(wall)


def test_the_hours_around_the_clock_changes_of_2025():
    assert stockholm_text(datetime(2025, 3, 30, 1, 59, 59)) == "2025-03-30T01:59:59+01:00"
    assert stockholm_text(datetime(2025, 3, 30, 2, 30)) == "2025-03-30T02:30:00"  # the gap: the canonical error
    assert stockholm_text(datetime(2025, 3, 30, 3, 0)) == "2025-03-30T03:00:00+02:00"
    assert stockholm_text(datetime(2025, 10, 26, 1, 59, 59)) == "2025-10-26T01:59:59+02:00"
    assert stockholm_text(datetime(2025, 10, 26, 2, 30)) == "2025-10-26T02:30:00"  # repeated: in file order
    assert stockholm_text(datetime(2025, 10, 26, 3, 0)) == "2025-10-26T03:00:00+01:00"
    assert stockholm_text(datetime(1999, 6, 1, 12, 0)) == "1999-06-01T12:00:00"  # out of the years: as written


# --- compiled conversions equal apply ---------------------------------------------------------------------------

CONVERTS = st.builds(
    lambda mapping, default, insensitive, timestamp, zone, duration, scale: Convert(
        None if mapping is None else MappingProxyType(
            {(k.lower() if insensitive else k): v for k, v in mapping.items()}),
        default if mapping is not None else None, insensitive and mapping is not None, timestamp, zone, duration,
        scale),
    st.one_of(st.none(), st.just({"Besvarad": "answered", "Avbruten": "abandoned", "1": "2025-10-26 02:30:00",
                                  "x": "12:30", "": "answered"})),
    st.sampled_from([None, "keep", "rejected"]),
    st.booleans(),
    st.sampled_from([None, "iso", "epoch_s", "epoch_ms", "%Y-%m-%d %H:%M:%S", "%Y%m%d %H:%M", "%d.%m.%Y",
                     "%H:%M"]),
    st.sampled_from(["Europe/Stockholm", "UTC", "America/New_York"]),
    st.sampled_from([None, "s", "ms", "min", "hh:mm:ss", "h:mm:ss", "mm:ss"]),
    st.sampled_from([None, 1000.0, 0.5]),
)
VALUE_TEXTS = st.one_of(
    st.sampled_from(["Besvarad", " avbruten ", "1", "x", "", " ", "12:30", "1:02:03", "100:59", "1:60", "7,5",
                     "7.5", "-3", "1e3", "inf", "nan", "1,5e3", "00:00,5", "12:30:15,25", "1740000000",
                     "1740000000000", "2025-10-26 02:30:00", "2025-10-26T02:30:00+01:00", "20251026 02:30",
                     "26.10.2025", "2025-02-30 10:00:00", "99999999999999999999", "\u0663:00"]),
    st.text(st.sampled_from(list("0123456789:,.- ")), max_size=12),
)
VALUES = st.one_of(VALUE_TEXTS, st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
                   st.builds(Stamp, st.one_of(WALL_TIMES, WALL_TIMES.map(lambda m: m.replace(tzinfo=UTC)))))


def _result(step, value: Value) -> tuple[str, object]:
    try:
        out = step(value)
    except ConversionError as exc:
        return ("error", str(exc))
    return (type(out).__name__, value_text(out) if not isinstance(out, float) else out)


def _same(convert: Convert, decimal_comma: bool, value: Value) -> None:
    fast = compiled(convert, decimal_comma)
    assert _result(fast, value) == _result(lambda v: apply(v, convert, decimal_comma), value), (convert, value)


@PROPERTY
@given(CONVERTS, st.booleans(), VALUES)
def test_compiled_conversions_equal_apply(convert, decimal_comma, value):
    _same(convert, decimal_comma, value)


DURATION_TEXTS = st.builds(
    lambda parts, sep, fraction, pad: sep.join(f"{p:0{pad}d}" for p in parts) + fraction,
    st.lists(st.integers(0, 120), min_size=1, max_size=4), st.sampled_from([":", ".", ","]),
    st.sampled_from(["", ",5", ".25", ",", "5"]), st.integers(1, 3))


@PROPERTY
@given(st.sampled_from(["s", "ms", "min", "hh:mm:ss", "h:mm:ss", "mm:ss"]), st.sampled_from([None, 1000.0]),
       st.booleans(), st.one_of(DURATION_TEXTS, VALUE_TEXTS, st.floats(0, 1e9)))
def test_compiled_durations_equal_apply(unit, scale, decimal_comma, value):
    _same(Convert(duration=unit, scale=scale), decimal_comma, value)


@PROPERTY
@given(st.data())
def test_compiled_timestamps_equal_apply(data):
    pattern = data.draw(st.sampled_from([*FAST, *SLOW, "iso", "epoch_s", "epoch_ms"]))
    zone = data.draw(st.sampled_from(["Europe/Stockholm", "UTC", "America/New_York"]))
    texts = _texts(pattern) if "%" in pattern else VALUE_TEXTS
    value = data.draw(st.one_of(texts, CHANGE_DAYS.map(lambda m: m.strftime(pattern)) if "%" in pattern else texts,
                                VALUES))
    _same(Convert(timestamp=pattern, zone=zone), False, value)


@PROPERTY
@given(st.booleans(), st.sampled_from([None, "keep", "abandoned"]),
       st.one_of(st.sampled_from(["Besvarad", " besvarad", "BESVARAD ", "Avbruten", "", " ", "x"]), VALUE_TEXTS))
def test_compiled_maps_equal_apply(insensitive, default, value):
    table = {"Besvarad": "answered", "Avbruten": "abandoned", " ": "rejected"}
    mapping = MappingProxyType({(k.strip().lower() if insensitive else k.strip()): v for k, v in table.items()})
    _same(Convert(mapping, default, insensitive), True, value)


# --- end to end: the canonical parser judges the engine's rows as it judges the wall times written out ------------

PROFILE = calls_profile("""
[container]
delimiter = ";"
[fields]
call_id = "Id"
region = "Region"
arrived_at = { column = "Ankomst", timestamp = "%Y-%m-%d %H:%M:%S" }
outcome = { column = "Utfall", map = { "Besvarad" = "answered", "Avbruten" = "abandoned", "Avvisad" = "rejected" } }
answered_at = { column = "Svar", timestamp = "%Y-%m-%d %H:%M" }
ended_at = { column = "Slut", timestamp = "%Y%m%d %H:%M" }
talk_seconds = { column = "Samtal", duration = "mm:ss" }
""")
WORDS = {"Besvarad": "answered", "Avbruten": "abandoned", "Avvisad": "rejected"}
AUTUMN = datetime(2025, 10, 26, 1, 0)  # the repeated hour, 02:00–03:00, is the second hour after this
SPRING = datetime(2025, 3, 30, 1, 0)  # the gap, 02:00–03:00


def _call(n: int) -> st.SearchStrategy[tuple[str, ...]]:
    start = st.sampled_from([AUTUMN, SPRING, datetime(2025, 6, 1, 9, 0)]).flatmap(
        lambda day: st.integers(0, 4 * 3600).map(lambda s: day + timedelta(seconds=s)))
    return st.tuples(
        st.sampled_from(["SE-AC", "SE-Z", "XX"]), start, st.sampled_from([*WORDS, "Okänd"]),
        st.integers(-120, 7200), st.integers(0, 7200), st.sampled_from(["05:00", "61:30", "5:60", "", "x"]),
    ).map(lambda t: (f"c{n}", t[0], t[1].strftime("%Y-%m-%d %H:%M:%S"), t[2],
                     (t[1] + timedelta(seconds=t[3])).strftime("%Y-%m-%d %H:%M") if t[2] == "Besvarad" else "",
                     (t[1] + timedelta(seconds=t[3] + t[4])).strftime("%Y%m%d %H:%M"), t[5]))


def _reference_row(position: int, row: tuple[str, ...]) -> RawRow:
    """The row as the engine handed it on before: every time the wall time written out, every error its own."""
    call_id, region, arrived, word, answered, ended, talk = row
    fields: dict[str, str | None] = {"call_id": call_id, "region": region}
    errors: dict[str, str] = {}
    for name, text, pattern in (("arrived_at", arrived, "%Y-%m-%d %H:%M:%S"), ("answered_at", answered,
                                                                           "%Y-%m-%d %H:%M"),
                                ("ended_at", ended, "%Y%m%d %H:%M")):
        fields[name] = datetime.strptime(text, pattern).isoformat() if text else None
    fields["outcome"] = WORDS.get(word)
    if word not in WORDS:
        errors["outcome"] = f"'{word}' is not in the profile's map"
    minutes, _, seconds = talk.partition(":")
    if talk and minutes.isdigit() and len(seconds) == 2 and seconds.isdigit() and seconds < "60":
        fields["talk_seconds"] = str(int(minutes) * 60 + int(seconds))
    else:
        fields["talk_seconds"] = None
        if talk:
            errors["talk_seconds"] = f"not a duration: '{talk}' (expected mm:ss)"
    return RawRow(position, fields, decimal_comma=True, field_errors=errors or None)


def _judged(results: list) -> list[tuple[object, ...]]:
    return [(r.position, r.record, r.warnings) if isinstance(r, Parsed) else (r.position, r.record_key, r.field,
                                                                             r.reason) for r in results]


@PROPERTY
@given(st.integers(1, 12).flatmap(lambda n: st.tuples(*(_call(i) for i in range(n)))))
def test_the_canonical_parser_judges_the_engines_rows_as_the_wall_times_written_out(rows):
    text = "Id;Region;Ankomst;Utfall;Svar;Slut;Samtal\n" + "".join(";".join(r) + "\n" for r in rows)
    results, _ = run(PROFILE, text)
    reference = list(parse_call_rows(iter(_reference_row(i + 2, r) for i, r in enumerate(rows)), OPTIONS))
    assert _judged(results) == _judged(reference)


def test_a_wall_time_of_the_repeated_hour_stays_a_wall_time_and_is_read_in_file_order():
    text = ("Id;Region;Ankomst;Utfall;Svar;Slut;Samtal\n"
            "a;SE-AC;2025-10-26 02:50:00;Avbruten;;20251026 02:55;\n"
            "b;SE-AC;2025-10-26 02:10:00;Avbruten;;20251026 02:15;\n")
    results, parser = run(PROFILE, text)
    assert [row.fields["arrived_at"] for row in parser.preview] == ["2025-10-26T02:50:00", "2025-10-26T02:10:00"]
    first, second = (r.record for r in results if isinstance(r, Parsed))
    # the first 02:50 is summer time (00:50 UTC); 02:10 after it went back: winter time (01:10 UTC)
    assert (first.arrived_at, second.arrived_at) == (datetime(2025, 10, 26, 0, 50, tzinfo=UTC),
                                                     datetime(2025, 10, 26, 1, 10, tzinfo=UTC))


def test_a_wall_time_in_the_spring_gap_is_the_canonical_parsers_error():
    text = "Id;Region;Ankomst;Utfall;Svar;Slut;Samtal\na;SE-AC;2025-03-30 02:30:00;Avvisad;;;\n"
    [rejected], _ = run(PROFILE, text)
    assert isinstance(rejected, Rejection)
    assert (rejected.field, rejected.reason) == ("arrived_at",
                                                 "local time does not exist (spring-forward gap): 2025-03-30T02:30:00")


@pytest.mark.parametrize("pattern", FAST)
def test_every_fast_pattern_reads_what_it_writes(pattern):
    moment = datetime(2025, 10, 7, 8, 5, 9)
    assert strptime(pattern)(moment.strftime(pattern)) == datetime.strptime(moment.strftime(pattern), pattern)
