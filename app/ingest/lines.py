"""Tabular sources in, one ``RawRow`` of named canonical fields per row out: the physical lines of a stream, read in
bounded memory, and the CSV and JSON Lines row readers over them.

A parser sees each row as ``(position, fields)`` with only canonical columns in it; everything else the
source sent is dropped here, before validation, so caller numbers never travel further. A row whose fields
cannot be placed (a stray delimiter) keeps none of them: its values may sit in the wrong columns.

Apart from the field checks (app.ingest.fields) and what a bad row becomes (app.ingest.rows): splitting a stream
into rows is the one part that knows about containers, and import profiles read their own containers with
``BoundedLines`` too.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from app.ingest.fields import bad_char_reason
from app.sanitize import withhold_digits


class FileFormatError(ValueError):
    """The file as a whole cannot be read (no header, required columns missing)."""


class LineTooLong(ValueError):
    """One physical line is longer than the limit; it was skipped to its end and reading goes on."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the line is longer than {limit} characters (VPT_MAX_LINE_LENGTH)")


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
            if bad_char_reason(first.rstrip("\r\n")) is not None else ""
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
    decimal_comma = delimiter == ";"  # a comma cannot then be the delimiter, so "7,5" is unambiguous
    for item in split_csv_rows(lines, lines, delimiter, width, key_index):
        if isinstance(item, RawRow):
            yield item
        else:
            line, row = item
            yield RawRow(line, {name: row[i] for i, name in wanted}, decimal_comma=decimal_comma)


def split_csv_rows(
    lines: BoundedLines, source: Iterable[str], delimiter: str, width: int, key_index: int | None,
) -> Iterator[RawRow | tuple[int, list[str]]]:
    """Each CSV row of ``source`` (the lines of ``lines``, or those with one put back) as its line and fields, or as
    a ``RawRow`` naming why it cannot be read; blank rows are skipped. A row with more or fewer fields than
    ``width`` keeps none of them: only column ``key_index`` is read from it, when it is unambiguous. The one reader
    of CSV rows, for the canonical formats and the import profiles alike."""
    reader = csv.reader(source, delimiter=delimiter, strict=True)
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
        yield line, row


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

