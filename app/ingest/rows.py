"""Row-level reading shared by the parsers: tabular sources in, named canonical fields out.

A parser sees each row as ``(position, fields)`` with only canonical columns in it; everything else the
source sent is dropped here, before validation, so caller numbers never travel further. A row whose fields
cannot be placed (a stray delimiter) keeps none of them: its values may sit in the wrong columns.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from app.kpi.localtime import FallBackResolver, NonexistentLocalTime, resolve_after
from app.sanitize import clean, clean_optional, withhold_digits

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
#: The widths of ``rejected_rows``' columns: a rejection is cut to them when it is made.
KEY_WIDTH, FIELD_WIDTH, REASON_WIDTH, RAW_WIDTH = 256, 64, 512, 4096


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


class FileFormatError(ValueError):
    """The file as a whole cannot be read (no header, required columns missing)."""


class LineTooLong(ValueError):
    """One physical line is longer than the limit; it was skipped to its end and reading goes on."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the line is longer than {limit} characters (VPT_MAX_LINE_LENGTH)")


class RowError(ValueError):
    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row that could not be stored. Every text in it may hold what the input held, and goes on to a database,
    a JSON response, a report file and a log: it is made safe here, once, when the rejection is made."""

    position: int  # line number, header = 1
    record_key: str | None
    field: str | None
    reason: str
    raw: str = ""  # the canonical fields that could be read; never free text of a line that did not parse

    def __post_init__(self) -> None:
        object.__setattr__(self, "record_key", clean_optional(self.record_key, KEY_WIDTH))
        object.__setattr__(self, "field", clean_optional(self.field, FIELD_WIDTH))
        object.__setattr__(self, "reason", clean(self.reason, REASON_WIDTH))
        object.__setattr__(self, "raw", clean(self.raw, RAW_WIDTH))

    def describe(self) -> str:
        where = f"line {self.position}"
        if self.record_key:
            where += f" ({self.record_key})"
        return f"{where}, field {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class RawRow:
    position: int
    fields: dict[str, str | None]
    error: str | None = None  # a row that could not even be split into fields
    error_field: str | None = None  # the canonical field the error is about, if any
    key: str | None = None  # the record key of a row whose fields could not be placed, if it is unambiguous
    #: a semicolon-separated file: Swedish spreadsheets write decimals with a comma there ("7,5")
    decimal_comma: bool = False
    #: canonical fields an import profile could not convert, and why (app.ingest.profiles): the canonical parser
    #: treats each like a bad value of that field, so a profile's failure is as strict as the canonical format's
    field_errors: dict[str, str] | None = None

    def raw_text(self, columns: Iterable[str], suspect: str | None = None) -> str:
        """The row as canonical CSV: only known columns, so an auditor sees what we read, nothing more;
        empty when nothing could be read. The value of the ``suspect`` field (the one the row was rejected for)
        may be anything the source put there, a caller's number included: its digit runs are withheld."""
        values = [self.fields.get(c) or "" for c in columns]
        values = [withhold_digits(v) if c == suspect else v for c, v in zip(columns, values, strict=True)]
        if not any(values):
            return ""
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(values)
        return buffer.getvalue()


class _LineSource:
    """``readline(size)`` over an iterable of lines, such as a generator feeding a parser line by line."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self._rest = ""

    def readline(self, size: int) -> str:
        text = self._rest or next(self._lines, "")
        self._rest = text[size:]
        return text[:size]


class BoundedLines:
    """The physical lines of a text stream opened with ``newline=""`` (LF, CRLF or CR), each at most ``limit``
    characters long without its line break, read in constant memory however long a line is.

    A longer line is read to its end and dropped: ``__next__`` raises ``LineTooLong`` in its place, and the
    iteration goes on with the next line (``csv.reader`` over this iterator does too). ``position`` is the
    number of the line last read or dropped, the first line being 1.
    """

    _SKIP_CHUNK = 1 << 16

    def __init__(self, stream: IO[str] | Iterable[str], limit: int) -> None:
        self._stream = stream if hasattr(stream, "readline") else _LineSource(stream)
        self.limit = limit
        self.position = 0
        self._cut_after_cr = False  # a read stopped right after a CR: a LF that follows belongs to that line

    def __iter__(self) -> BoundedLines:
        return self

    def _read(self, size: int) -> str:
        text = self._stream.readline(size)
        if self._cut_after_cr:
            self._cut_after_cr = False
            if text == "\n":
                text = self._stream.readline(size)
        if len(text) == size and text.endswith("\r"):
            self._cut_after_cr = True
        return text

    def __next__(self) -> str:
        line = self._read(self.limit + 2)  # room for the line and its CRLF
        if not line:
            raise StopIteration
        self.position += 1
        end = 2 if line.endswith("\r\n") else 1 if line.endswith(("\r", "\n")) else 0
        if len(line) - end <= self.limit:
            return line
        while end == 0:  # drop the rest of the line
            rest = self._read(self._SKIP_CHUNK)
            if not rest:
                break
            end = 1 if rest.endswith(("\r", "\n")) else 0
        raise LineTooLong(self.limit)


def _detect_delimiter(header_line: str) -> str:
    # Swedish spreadsheet exports use semicolons.
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _read_header(lines: BoundedLines, required: frozenset[str]) -> tuple[str, list[str]]:
    try:
        first = next(lines, "")
    except LineTooLong as exc:
        raise FileFormatError(f"line 1, the header: {exc}") from None
    if not first.strip():
        raise FileFormatError(
            "the file is empty: expected a header line" if not first else "line 1 is blank: it must be the header"
        )
    delimiter = _detect_delimiter(first)
    try:
        header = [h.strip().lower() for h in next(csv.reader([first], delimiter=delimiter, strict=True))]
    except csv.Error as exc:
        raise FileFormatError(f"line 1, the header, is malformed CSV: {exc}") from None
    missing = sorted(required - set(header))
    if missing:
        hint = (
            " (the header is not valid UTF-8 text: files must be UTF-8, not UTF-16 or Latin-1)"
            if _BAD_CHAR.search(first.rstrip("\r\n")) else ""
        )
        raise FileFormatError(f"header is missing required column(s): {', '.join(missing)}{hint}")
    return delimiter, header


def _unambiguous(row: list[str], width: int, index: int | None) -> str | None:
    """The value of column ``index`` of a row with a stray or missing delimiter, if it is the same whether the
    surplus or missing fields are taken to lie after this column or before it; None otherwise."""
    if index is None:
        return None
    shifted = index + len(row) - width
    if not (index < len(row) and 0 <= shifted < len(row)):
        return None
    value = row[index].strip()
    return value if value and value == row[shifted].strip() else None


def read_csv_rows(
    stream: IO[str], columns: tuple[str, ...], required: frozenset[str], max_line_length: int = 65_536,
    key_column: str | None = None,
) -> Iterator[RawRow]:
    """Yield canonical fields of each CSV row, streaming; blank lines are skipped.

    A row with more or fewer fields than the header keeps none: an unquoted comma shifts every value after it,
    so a caller's number in a dropped column would land in a kept one. Only ``key_column`` is read from such a
    row, and only when it is unambiguous."""
    lines = BoundedLines(stream, max_line_length)
    delimiter, header = _read_header(lines, required)
    wanted = [(i, name) for i, name in enumerate(header) if name in columns]
    width = len(header)
    key_index = header.index(key_column) if key_column in header else None
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    decimal_comma = delimiter == ";"  # a comma cannot then be the delimiter, so "7,5" is unambiguous
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except LineTooLong as exc:
            yield RawRow(lines.position, {}, str(exc))
            continue
        except csv.Error as exc:
            yield RawRow(lines.position, {}, f"malformed CSV: {exc}")
            continue
        line = lines.position  # a quoted field may span lines: the row's last line
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != width:
            reason = f"row has {len(row)} fields, the header has {width}"
            yield RawRow(line, {}, reason, key=_unambiguous(row, width, key_index))
            continue
        yield RawRow(line, {name: row[i] for i, name in wanted}, decimal_comma=decimal_comma)


def _scalar_text(value: object) -> str | None:
    return None if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _json_type(value: object) -> str:
    if isinstance(value, dict | list):
        return "an object" if isinstance(value, dict) else "an array"
    if isinstance(value, bool) or value is None:
        return "null" if value is None else "a boolean"
    return "a string" if isinstance(value, str) else "a number"


def _json_row(position: int, line: str, columns: tuple[str, ...]) -> RawRow:
    try:
        obj: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        return RawRow(position, {}, f"invalid JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:  # e.g. 100 000 nested "[": the parser gives up cleanly, and so does this row
        return RawRow(position, {}, "invalid JSON: nested too deeply (a row must be a flat object)")
    except ValueError as exc:  # an integer of more than 4300 digits
        return RawRow(position, {}, f"invalid JSON: {str(exc).split(';')[0][:120]}")
    if not isinstance(obj, dict):
        return RawRow(position, {}, f"not a JSON object but {_json_type(obj)}: a row must be a flat object")
    fields = {name: _scalar_text(value) for name in columns if not isinstance(value := obj.get(name), dict | list)}
    nested = next((key for key, value in obj.items() if isinstance(value, dict | list)), None)
    if nested is not None:
        kind = _json_type(obj[nested])
        known = nested if nested in columns else None
        shown = nested if known else repr(withhold_digits(nested[:64]))
        return RawRow(position, fields, f"field {shown} is not a scalar but {kind}: a row must be a flat object", known)
    return RawRow(position, fields)


def read_jsonl_rows(stream: IO[str], columns: tuple[str, ...], max_line_length: int = 65_536) -> Iterator[RawRow]:
    """Yield canonical fields of each JSON Lines row (a flat object per line), streaming; blank lines are skipped."""
    lines = BoundedLines(stream, max_line_length)
    while True:
        try:
            line = next(lines)
        except StopIteration:
            return
        except LineTooLong as exc:
            yield RawRow(lines.position, {}, str(exc))
            continue
        if line.strip():
            yield _json_row(lines.position, line, columns)


# --- field helpers -----------------------------------------------------------------------------------


class FieldReader:
    """Typed access to one row's fields, raising ``RowError`` that names the field."""

    def __init__(
        self, fields: dict[str, str | None], max_length: int, widths: dict[str, int] | None = None,
        not_after: datetime | None = None, decimal_comma: bool = False,
        field_errors: dict[str, str] | None = None,
    ) -> None:
        self.fields = fields
        self.field_errors = field_errors or {}
        self.decimal_comma = decimal_comma  # numbers may be written "7,5" (a semicolon-separated file)
        self.max_length = max_length
        self.widths = widths or {}  # fields stored in narrower columns than max_length
        self.not_after = not_after  # the latest instant a record may have (ingest time + FUTURE_TOLERANCE)

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
