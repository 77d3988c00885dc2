"""Row-level reading shared by the parsers: tabular sources in, named canonical fields out.

A parser sees each row as ``(position, fields)`` with only canonical columns in it; everything else the
source sent is dropped here, before validation, so caller numbers never travel further.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from app.kpi.localtime import FallBackResolver, NonexistentLocalTime, resolve_after

#: No duration or sum of durations a platform reports comes near this (31 700 years); a larger value is a
#: broken row, and rejecting it here keeps it from overflowing a 64-bit millisecond column in the database.
MAX_NUMBER = 1e12


class FileFormatError(ValueError):
    """The file as a whole cannot be read (no header, required columns missing)."""


class RowError(ValueError):
    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Rejection:
    position: int  # line number, header = 1
    record_key: str | None
    field: str | None
    reason: str
    raw: str

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

    def raw_text(self, columns: Iterable[str]) -> str:
        """The row as canonical CSV: only known columns, so an auditor sees what we read, nothing more."""
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(
            [self.fields.get(c) or "" for c in columns]
        )
        return buffer.getvalue()


def _detect_delimiter(header_line: str) -> str:
    # Swedish spreadsheet exports use semicolons.
    return ";" if header_line.count(";") > header_line.count(",") else ","


def read_csv_rows(
    stream: IO[str], columns: tuple[str, ...], required: frozenset[str]
) -> Iterator[RawRow]:
    """Yield canonical fields of each CSV row, streaming; blank lines are skipped."""
    first = stream.readline()
    if not first.strip():
        raise FileFormatError("the file is empty: expected a header line")
    delimiter = _detect_delimiter(first)
    header = [h.strip().lower() for h in next(csv.reader([first], delimiter=delimiter))]
    missing = sorted(required - set(header))
    if missing:
        raise FileFormatError(f"header is missing required column(s): {', '.join(missing)}")
    wanted = [(i, name) for i, name in enumerate(header) if name in columns]
    width = len(header)
    reader = csv.reader(stream, delimiter=delimiter, strict=True)
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = reader.line_num + 1
            yield RawRow(line, {}, f"malformed CSV: {exc}")
            continue
        line = reader.line_num + 1  # the header was read before the reader started
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        fields = {name: (row[i] if i < len(row) else None) for i, name in wanted}
        if len(row) != width:
            yield RawRow(line, fields, f"row has {len(row)} fields, the header has {width}")
            continue
        yield RawRow(line, fields)


def read_jsonl_rows(stream: IO[str], columns: tuple[str, ...]) -> Iterator[RawRow]:
    for line_number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            obj: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RawRow(line_number, {}, f"invalid JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(obj, dict):
            yield RawRow(line_number, {}, "not a JSON object")
            continue
        fields: dict[str, str | None] = {}
        for name in columns:
            value = obj.get(name)
            if isinstance(value, dict | list):
                yield RawRow(line_number, {}, f"field {name} is not a scalar")
                break
            fields[name] = (
                None if value is None else str(value).lower() if isinstance(value, bool) else str(value)
            )
        else:
            yield RawRow(line_number, fields)


# --- field helpers -----------------------------------------------------------------------------------


class FieldReader:
    """Typed access to one row's fields, raising ``RowError`` that names the field."""

    def __init__(self, fields: dict[str, str | None], max_length: int) -> None:
        self.fields = fields
        self.max_length = max_length

    def text(self, name: str, *, required: bool) -> str | None:
        value = self.fields.get(name)
        value = value.strip() if value is not None else None
        if not value:
            if required:
                raise RowError(name, f"{name} is required")
            return None
        if len(value) > self.max_length:
            raise RowError(name, f"longer than {self.max_length} characters")
        if "\ufffd" in value:
            raise RowError(name, "not valid UTF-8")
        return value

    def timestamp(self, name: str, *, required: bool) -> datetime | None:
        """Parsed as written: aware (converted to UTC) or naive (local wall time, resolved by the caller)."""
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise RowError(name, f"invalid timestamp: {value!r} (expected ISO 8601)") from None
        return moment.astimezone(UTC) if moment.tzinfo is not None else moment

    def number(self, name: str, *, required: bool) -> float | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            raise RowError(name, f"not a number: {value!r}") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise RowError(name, f"not a finite number: {value!r}")
        if number < 0:
            raise RowError(name, f"negative: {value!r}")
        if number > MAX_NUMBER:
            raise RowError(name, f"too large: {value!r}")
        return number

    def count(self, name: str, *, required: bool) -> int | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            raise RowError(name, f"not a whole number: {value!r}") from None
        if number < 0:
            raise RowError(name, f"negative: {value!r}")
        if number > 2**31 - 1:
            raise RowError(name, f"too large: {value!r}")
        return number


def to_utc(name: str, moment: datetime, resolver: FallBackResolver, key: object) -> datetime:
    if moment.tzinfo is not None:
        return moment
    try:
        return resolver.to_utc(moment, key)
    except NonexistentLocalTime:
        raise RowError(
            name, f"local time does not exist (spring-forward gap): {moment.isoformat()}"
        ) from None


def to_utc_after(name: str, moment: datetime, start: datetime) -> datetime:
    if moment.tzinfo is not None:
        return moment
    try:
        return resolve_after(moment, start)
    except NonexistentLocalTime:
        raise RowError(
            name, f"local time does not exist (spring-forward gap): {moment.isoformat()}"
        ) from None
