"""Conversions of one value (docs/profiles.md): map, timestamp and zone, duration, scale, in this order.

A conversion that would not change the text (``timestamp = "iso"`` read in Stockholm time, ``duration = "s"``)
passes the text on untouched, so the canonical parser sees what the source held and judges it as it judges a
canonical file. ``typed`` reads such a text when an expression needs its number or moment.

``apply`` is the reference; ``compiled`` is what the mapping runs on every row: the same conversions chosen once per
profile (a map's dictionary, a pattern's fast reader, a no-op dropped), handing every value its fast path cannot
take to the reference steps, and proven equal to ``apply`` by property tests.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from app.ingest.profiles import fastpaths
from app.ingest.profiles.model import STOCKHOLM_ZONE, Convert
from app.ingest.profiles.values import ConversionError, Stamp, Value, number_text, parse_number, quoted
from app.kpi.localtime import is_nonexistent

_HMS = re.compile(r"([0-9]+):([0-5][0-9]):([0-5][0-9](?:[.,][0-9]+)?)")
_MS = re.compile(r"([0-9]+):([0-5][0-9](?:[.,][0-9]+)?)")
_UNITS = {"s": 1.0, "ms": 0.001, "min": 60.0}

Step = Callable[[Value], Value]


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def apply(value: Value, convert: Convert, decimal_comma: bool) -> Value:
    """``value`` converted; ``ConversionError`` says why it cannot be."""
    if convert.map is not None:
        value = _mapped(value, convert)
    if convert.timestamp is not None:
        value = _timestamp(value, convert)
    if convert.duration is not None:
        value = _duration(value, convert.duration, decimal_comma, keep_seconds=convert.scale is None)
    if convert.scale is not None:
        number = value if isinstance(value, float) else _number(value, decimal_comma)
        value = number * convert.scale
    return value


def typed(value: Value, convert: Convert, decimal_comma: bool) -> Value:
    """A value as an expression computes with it: a timestamp's text as a moment, a duration's as seconds."""
    if isinstance(value, str) and value.strip():
        if convert.timestamp is not None:
            return _iso(value, convert.zone)
        if convert.duration is not None:
            return _number(value, decimal_comma)
    return value


def _number(value: Value, decimal_comma: bool) -> float:
    if isinstance(value, Stamp):
        raise ConversionError("a timestamp, not a number")
    return value if isinstance(value, float) else parse_number(value, decimal_comma)


def _mapped(value: Value, convert: Convert) -> Value:
    assert convert.map is not None
    text = number_text(value) if isinstance(value, float) else value.text() if isinstance(value, Stamp) else value
    key = text.strip().lower() if convert.map_insensitive else text.strip()
    found = convert.map.get(key)
    if found is not None:
        return found
    if convert.map_default == "keep":
        return text
    if convert.map_default is not None:
        return convert.map_default
    raise ConversionError(f"{quoted(text)} is not in the profile's map")


def _timestamp(value: Value, convert: Convert) -> Value:
    pattern = convert.timestamp
    if isinstance(value, Stamp):
        return value
    if pattern in ("epoch_s", "epoch_ms"):
        seconds = value if isinstance(value, float) else parse_number(value, decimal_comma=False)
        if pattern == "epoch_ms":
            seconds /= 1000
        try:
            return Stamp(datetime.fromtimestamp(seconds, UTC))
        except (OverflowError, OSError, ValueError):
            shown = quoted(value if isinstance(value, str) else number_text(value))
            raise ConversionError(f"not a time: {shown} is out of range for {pattern}") from None
    if isinstance(value, float):
        raise ConversionError(f"a number where a timestamp ({pattern}) is expected")
    if pattern == "iso":
        if convert.zone == STOCKHOLM_ZONE:
            return value  # the canonical parser reads ISO 8601 and applies SPEC §3's local-time rules itself
        try:
            return _in_zone(datetime.fromisoformat(value.strip()), convert.zone)
        except ValueError:
            return value  # not ISO 8601: the canonical parser says so, as it says for a canonical file
    assert pattern is not None
    try:
        moment = datetime.strptime(value.strip(), pattern)  # noqa: DTZ007  # the zone decides, below
    except ValueError:
        raise ConversionError(f"invalid timestamp: {quoted(value)} (expected {pattern})") from None
    return _in_zone(moment, convert.zone)


def _in_zone(moment: datetime, zone: str) -> Stamp:
    """A time as read: with its offset it is that instant; without, Stockholm wall time stays naive (the canonical
    parser resolves it), other zones give their first reading of a repeated hour."""
    if moment.tzinfo is not None or zone == STOCKHOLM_ZONE:
        return Stamp(moment)
    if zone == "UTC":
        return Stamp(moment.replace(tzinfo=UTC))
    tz = _zone(zone)
    aware = moment.replace(tzinfo=tz, fold=0)
    if is_nonexistent_in(moment, tz):
        raise ConversionError(f"local time does not exist in {zone} (spring-forward gap): {moment.isoformat()}")
    return Stamp(aware.astimezone(UTC))


def is_nonexistent_in(moment: datetime, tz: ZoneInfo) -> bool:
    if tz.key == STOCKHOLM_ZONE:
        return is_nonexistent(moment)
    aware = moment.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != moment.replace(fold=0)


def _iso(value: str, zone: str) -> Stamp:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConversionError(f"invalid timestamp: {quoted(value)} (expected ISO 8601)") from None
    return _in_zone(moment, zone)


def _duration(value: Value, unit: str, decimal_comma: bool, *, keep_seconds: bool) -> Value:
    if isinstance(value, Stamp):
        raise ConversionError("a timestamp where a duration is expected")
    if unit in _UNITS:
        if unit == "s" and keep_seconds and isinstance(value, str):
            return value  # seconds already: the canonical parser reads the number (a decimal comma too)
        number = value if isinstance(value, float) else parse_number(value, decimal_comma)
        return number * _UNITS[unit]
    if isinstance(value, float):
        raise ConversionError(f"a number where a duration ({unit}) is expected")
    text = value.strip()
    found = _HMS.fullmatch(text) if unit in ("hh:mm:ss", "h:mm:ss") else _MS.fullmatch(text)
    if found is None:
        raise ConversionError(f"not a duration: {quoted(value)} (expected {unit})")
    parts = [float(p.replace(",", ".")) for p in found.groups()]
    if len(parts) == 3:
        return parts[0] * 3600 + parts[1] * 60 + parts[2]
    return parts[0] * 60 + parts[1]


# --- compiled: the same conversions, chosen once --------------------------------------------------------------


def _unchanged(value: Value) -> Value:
    return value


def compiled(convert: Convert, decimal_comma: bool) -> Step:
    """A function equal to ``apply(value, convert, decimal_comma)`` for every value: the same result or the same
    ``ConversionError``."""
    steps: list[Step] = []
    if convert.map is not None:
        steps.append(_map_step(convert))
    if convert.timestamp is not None:
        steps.append(_timestamp_step(convert))
    if convert.duration is not None:
        steps.append(_duration_step(convert.duration, decimal_comma, keep_seconds=convert.scale is None))
    if convert.scale is not None:
        scale = convert.scale

        def scaled(value: Value) -> Value:
            return (value if isinstance(value, float) else _number(value, decimal_comma)) * scale

        steps.append(scaled)
    if not steps:
        return _unchanged
    if len(steps) == 1:
        return steps[0]
    first, *rest = steps

    def chained(value: Value) -> Value:
        value = first(value)
        for step in rest:
            value = step(value)
        return value

    return chained


def _map_step(convert: Convert) -> Step:
    assert convert.map is not None
    table = dict(convert.map)
    insensitive = convert.map_insensitive

    def mapped(value: Value) -> Value:
        if isinstance(value, str):
            found = table.get(value.strip().lower() if insensitive else value.strip())
            if found is not None:
                return found
        return _mapped(value, convert)  # a number, a moment, or a text the map lacks: the reference says what

    return mapped


def _timestamp_step(convert: Convert) -> Step:
    pattern = convert.timestamp
    assert pattern is not None
    if pattern == "iso" and convert.zone == STOCKHOLM_ZONE:
        def as_written(value: Value) -> Value:
            return value if isinstance(value, str) else _timestamp(value, convert)

        return as_written
    if pattern in ("iso", "epoch_s", "epoch_ms"):
        return functools.partial(_timestamp, convert=convert)
    parse = fastpaths.strptime(pattern)
    zone = convert.zone

    def read(value: Value) -> Value:
        if not isinstance(value, str):
            return _timestamp(value, convert)
        try:
            moment = parse(value.strip())
        except ValueError:
            raise ConversionError(f"invalid timestamp: {quoted(value)} (expected {pattern})") from None
        return _in_zone(moment, zone)

    return read


def _duration_step(unit: str, decimal_comma: bool, *, keep_seconds: bool) -> Step:
    reference = functools.partial(_duration, unit=unit, decimal_comma=decimal_comma, keep_seconds=keep_seconds)
    if unit == "s" and keep_seconds:
        def seconds(value: Value) -> Value:
            return value if isinstance(value, str) else reference(value)

        return seconds
    if unit in _UNITS:
        return reference
    if unit in ("hh:mm:ss", "h:mm:ss"):
        def clock(value: Value) -> Value:
            found = _HMS.fullmatch(value.strip()) if isinstance(value, str) else None
            if found is None:
                return reference(value)
            hours, minutes, secs = found.groups()  # only the seconds may have a fraction, with "," or "."
            return float(hours) * 3600 + float(minutes) * 60 + float(secs.replace(",", "."))

        return clock

    def minutes_seconds(value: Value) -> Value:
        found = _MS.fullmatch(value.strip()) if isinstance(value, str) else None
        if found is None:
            return reference(value)
        minutes, secs = found.groups()
        return float(minutes) * 60 + float(secs.replace(",", "."))

    return minutes_seconds
