"""Reading one value of a row: what a text, number, count or timestamp field may hold, and the reason given when
it does not.

Apart from the line readers (app.ingest.lines) because these rules hold whatever container a row came from (CSV,
JSON Lines, an Asterisk queue_log line, an import profile's mapping): one home for what a value may be, read by every
parser. A reason may quote a bad value only with its digit runs withheld, as a caller's number may sit in any field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from app.kpi.localtime import FallBackResolver, NonexistentLocalTime, resolve_after
from app.sanitize import withhold_digits

#: No duration or sum of durations a platform reports comes near this (31 700 years); a larger value is a
#: broken row, and rejecting it here keeps it from overflowing a 64-bit millisecond column in the database.
MAX_NUMBER = 1e12
#: A call record outside these years is a broken row (a typo, an epoch of 0): rejecting it here also keeps every
#: conversion to UTC and every calendar step after it clear of the limits of Python's datetime (years 1–9999).
EARLIEST_YEAR, LATEST_YEAR = 2000, 2099
#: How far past the time of ingest a record may be (clocks differ, a day report may be dated ahead). A record
#: from 2099 would otherwise move its source's ``delivered_until`` there for good.
FUTURE_TOLERANCE = timedelta(days=1)

#: What no text field may hold: C0 control characters but tab, DEL, the C1 controls (U+009B is a terminal's CSI),
#: lone surrogates (a JSON "\ud800" escape) and U+FFFD, which decoding puts where the bytes were not UTF-8.
#: PostgreSQL refuses NUL in text outright.
_BAD_CHAR = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff\ufffd]")
#: Numbers as platforms write them: ASCII digits only. ``float`` and ``int`` also take "1_000" and other
#: scripts' digits ("٣"), which no export means as a number.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WHOLE = re.compile(r"[+-]?[0-9]+")
#: A decimal comma, as Swedish spreadsheets write in semicolon-separated files: "7,5", "-0,25" (no thousands groups).
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]*,[0-9]+")
_T = TypeVar("_T")


def bad_char_reason(value: str) -> str | None:
    """Why ``value`` cannot be a text field, or None when it can."""
    found = _BAD_CHAR.search(value)
    if found is None:
        return None
    char = found.group()
    if char == "\ufffd":
        return "not valid UTF-8 (the file must be UTF-8: was it saved as Latin-1 or UTF-16?)"
    if "\ud800" <= char <= "\udfff":
        return f"not valid Unicode: a lone surrogate U+{ord(char):04X}"
    return f"contains the control character U+{ord(char):04X}"


def _quoted_time(value: str) -> str:
    """A bad timestamp as a reason may quote it: whole when it has a time of day, else with digit runs withheld (a
    caller's number in the wrong column looks like a date without one)."""
    return repr(value if ":" in value else withhold_digits(value))


class RowError(ValueError):
    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


class FieldReader:
    """Typed access to one row's fields, raising ``RowError`` that names the field; ``optional`` turns the error of
    an optional field into a warning (``warnings``: field, reason) so the record is kept without it."""

    def __init__(
        self, fields: dict[str, str | None], max_length: int, widths: dict[str, int] | None = None,
        not_after: datetime | None = None, decimal_comma: bool = False,
        field_errors: dict[str, str] | None = None,
    ) -> None:
        self.fields = fields
        self.field_errors = field_errors or {}
        self.warnings: list[tuple[str, str]] = []
        self.decimal_comma = decimal_comma  # numbers may be written "7,5" (a semicolon-separated file)
        self.max_length = max_length
        self.widths = widths or {}  # fields stored in narrower columns than max_length
        self.not_after = not_after  # the latest instant a record may have (ingest time + FUTURE_TOLERANCE)

    def optional(self, read: Callable[[], _T]) -> _T | None:
        """``read()`` of an optional field, or None with a warning when its value is bad (SPEC §3: a bad optional
        field drops that field, not the record)."""
        try:
            return read()
        except RowError as exc:
            assert exc.field is not None, "a field's reader names the field"
            self.drop(exc.field, exc.reason)
            return None

    def drop(self, name: str, reason: str) -> None:
        """The optional field ``name`` is left out of the record, and why."""
        self.warnings.append((name, reason))

    def text(self, name: str, *, required: bool) -> str | None:
        if name in self.field_errors:
            raise RowError(name, self.field_errors[name])
        value = self.fields.get(name)
        value = value.strip() if value is not None else None
        if not value:
            if required:
                raise RowError(name, f"{name} is required")
            return None
        limit = min(self.max_length, self.widths.get(name, self.max_length))
        if len(value) > limit:
            setting = "VPT_MAX_FIELD_LENGTH" if limit == self.max_length else "the width of its column"
            raise RowError(name, f"longer than {limit} characters ({setting})")
        bad = bad_char_reason(value)
        if bad is not None:
            raise RowError(name, bad)
        return value

    def timestamp(self, name: str, *, required: bool) -> datetime | None:
        """Parsed as written: aware (converted to UTC) or naive (local wall time, resolved by the caller with
        ``utc`` or ``utc_after``, which check the years and the future on the UTC instant)."""
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise RowError(name, f"invalid timestamp: {_quoted_time(value)} (expected ISO 8601)") from None
        # A first, coarse bound keeps the conversions clear of datetime's limits (years 1–9999); the exact one,
        # on the UTC instant, follows in _checked: "2000-01-01T00:30" in Stockholm is still 1999 in UTC.
        if not EARLIEST_YEAR - 1 <= moment.year <= LATEST_YEAR + 1:
            raise RowError(name, f"outside the years {EARLIEST_YEAR}–{LATEST_YEAR}: {value!r}")
        return self._checked(name, moment.astimezone(UTC)) if moment.tzinfo is not None else moment

    def _checked(self, name: str, moment: datetime) -> datetime:
        if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
            raise RowError(name, f"outside the years {EARLIEST_YEAR}–{LATEST_YEAR}: {moment.isoformat()} in UTC")
        if self.not_after is not None and moment > self.not_after:
            raise RowError(name, f"more than a day in the future: {moment.isoformat()} in UTC")
        return moment

    def utc(self, name: str, moment: datetime, resolver: FallBackResolver, key: object) -> datetime:
        """A timestamp as a UTC instant, a naive one resolved by ``resolver`` (fall-back hour in file order)."""
        if moment.tzinfo is not None:
            return moment
        try:
            return self._checked(name, resolver.to_utc(moment, key))
        except NonexistentLocalTime:
            raise RowError(
                name, f"local time does not exist (spring-forward gap): {moment.isoformat()}"
            ) from None

    def utc_after(self, name: str, moment: datetime, start: datetime) -> datetime:
        """A timestamp as a UTC instant, a naive one taken as the first such wall time at or after ``start``."""
        if moment.tzinfo is not None:
            return moment
        try:
            return self._checked(name, resolve_after(moment, start))
        except NonexistentLocalTime:
            raise RowError(
                name, f"local time does not exist (spring-forward gap): {moment.isoformat()}"
            ) from None

    def number(self, name: str, *, required: bool) -> float | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        if self.decimal_comma and _DECIMAL_COMMA.fullmatch(value) is not None:
            value = value.replace(",", ".")
        if _DECIMAL.fullmatch(value) is None:
            point = "a decimal point or comma" if self.decimal_comma else "a decimal point"
            raise RowError(name, f"not a number: {withhold_digits(value)!r} (digits 0-9 and {point})")
        number = float(value)
        if number in (float("inf"), float("-inf")):
            raise RowError(name, f"not a finite number: {withhold_digits(value)!r}")
        if number < 0:
            raise RowError(name, f"negative: {value!r}")
        if number > MAX_NUMBER:
            raise RowError(name, f"too large: {value!r}")
        return number

    def count(self, name: str, *, required: bool, maximum: int = 2**31 - 1) -> int | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        if _WHOLE.fullmatch(value) is None:
            raise RowError(name, f"not a whole number: {withhold_digits(value)!r} (digits 0-9)")
        try:
            number = int(value)
        except ValueError:  # more than 4300 digits, when VPT_MAX_FIELD_LENGTH allows that many
            raise RowError(name, f"too large: more than {maximum}") from None
        if number < 0:
            raise RowError(name, f"negative: {value!r}")
        if number > maximum:
            raise RowError(name, f"too large: {value!r} (at most {maximum})")
        return number
