"""Reading a profile's container: CSV, JSON Lines (also concatenated objects, ``}{``) and a JSON document.

Every read is bounded: a CSV line or a JSON Lines record by ``VPT_MAX_LINE_LENGTH`` characters (a longer one is
one rejected row and reading goes on), a JSON document by ``VPT_MAX_UPLOAD_BYTES`` characters (a longer one is
refused whole: it cannot be read in part), and JSON nesting by ``MAX_DEPTH`` levels. A row is handed on as a
``Record`` that reads a column or dotted path; a row that cannot be read is a ``RawRow`` carrying the error.
"""

from __future__ import annotations

import csv
import functools
import json
from collections.abc import Iterator
from typing import IO, Any

from app.ingest.lines import split_csv_rows
from app.ingest.profiles.model import Container
from app.ingest.profiles.values import ConversionError
from app.ingest.rows import BoundedLines, FileFormatError, LineTooLong, RawRow, bad_char_reason

#: Deeper JSON is no export's: contact records nest four or five levels.
MAX_DEPTH = 64
_CHUNK = 1 << 16
_WHITESPACE = " \t\r\n"


class Record:
    """One row's values by column name (csv: the header's, matched trimmed and case-insensitively) or dotted
    path (json: ``A.B.C``, ``A.0.B`` indexes a list)."""

    __slots__ = ()

    def get(self, name: str) -> str | None:
        raise NotImplementedError

    def present(self, name: str) -> bool:
        value = self.get(name)
        return value is not None and bool(value.strip())


class CsvRecord(Record):
    __slots__ = ("index", "values")

    def __init__(self, values: list[str], index: dict[str, int]) -> None:
        self.values = values
        self.index = index

    def get(self, name: str) -> str | None:
        i = self.index.get(name)
        if i is None:
            i = self.index.get(name.strip().lower())
        return None if i is None else self.values[i]


class JsonRecord(Record):
    __slots__ = ("obj",)

    def __init__(self, obj: dict[str, Any]) -> None:
        self.obj = obj

    def _find(self, name: str) -> object:
        if name in self.obj:
            return self.obj[name]
        node: object = self.obj
        for part in _path(name):
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        return node

    def get(self, name: str) -> str | None:
        value = self._find(name)
        if isinstance(value, dict | list):
            raise ConversionError(f"{name} is {'an object' if isinstance(value, dict) else 'a list'}, not a value")
        if isinstance(value, bool):
            return "true" if value else "false"
        return None if value is None else str(value)

    def present(self, name: str) -> bool:
        value = self._find(name)
        if isinstance(value, dict | list):
            return bool(value)
        return value is not None and bool(str(value).strip())


@functools.lru_cache(maxsize=1024)
def _path(name: str) -> tuple[str, ...]:
    return tuple(name.split("."))


Row = tuple[int, Record] | RawRow


def decimal_comma(container: Container, delimiter: str) -> bool:
    if container.decimal == "auto":
        return delimiter == ";"
    return container.decimal == ","


# --- csv -------------------------------------------------------------------------------------------------


class _PushBack:
    """Lines with one line put back in front (a headerless file's first row, read to choose the delimiter)."""

    def __init__(self, lines: BoundedLines, first: str | None) -> None:
        self.lines = lines
        self.first = first

    def __iter__(self) -> _PushBack:
        return self

    def __next__(self) -> str:
        if self.first is not None:
            first, self.first = self.first, None
            return first
        return next(self.lines)


def _delimiter(container: Container, line: str) -> str:
    if container.delimiter != "auto":
        return container.delimiter
    return ";" if line.count(";") > line.count(",") else ","


def open_csv(stream: IO[str], container: Container, limit: int, names: list[str], required: list[str],
             key_column: str | None) -> tuple[str, Iterator[Row]]:
    """The delimiter and the rows of a CSV file; ``FileFormatError`` when its header cannot be read or lacks a
    column of ``required``. A row with more or fewer fields than the header keeps none (its values may sit in the
    wrong columns): only ``key_column`` is read from it, and only when it is unambiguous."""
    lines = BoundedLines(stream, limit)
    for _ in range(container.skip_lines):
        try:
            if not next(lines, ""):
                break
        except LineTooLong:
            continue
    try:
        first = next(lines, "")
    except LineTooLong as exc:
        raise FileFormatError(f"line {lines.position}, the header: {exc}") from None
    if not first.strip():  # worded as the canonical CSV reader words it
        what = ("a header line", "the header") if container.header else ("a first row", "the first row")
        raise FileFormatError(f"the file is empty: expected {what[0]}" if not first
                              else f"line {lines.position} is blank: it must be {what[1]}")
    delimiter = _delimiter(container, first)
    if container.header:
        try:
            header = [h.strip().lower() for h in next(csv.reader([first], delimiter=delimiter, strict=True))]
        except csv.Error as exc:
            raise FileFormatError(f"line {lines.position}, the header, is malformed CSV: {exc}") from None
        source: BoundedLines | _PushBack = lines
    else:
        header = [c.strip().lower() for c in container.columns]
        source = _PushBack(lines, first)
    index = {name: i for i, name in enumerate(header)}
    missing = sorted({name for name in required if name.strip().lower() not in index})
    if missing:
        hint = ""
        if bad_char_reason(first.rstrip("\r\n")) is not None:
            hint = (" (the header is not valid UTF-8 text: files must be UTF-8, not UTF-16 or Latin-1)"
                    if container.encoding == "utf-8" else
                    f" (the header is not valid {container.encoding} text: is container.encoding right?)")
        raise FileFormatError(f"header is missing required column(s): {', '.join(missing)}{hint}")
    for name in names:
        found = index.get(name.strip().lower())
        if found is not None:
            index[name] = found
    key_index = index.get(key_column.strip().lower()) if key_column else None
    return delimiter, _csv_rows(lines, source, delimiter, len(header), index, key_index)


def _csv_rows(lines: BoundedLines, source: BoundedLines | _PushBack, delimiter: str, width: int,
              index: dict[str, int], key_index: int | None) -> Iterator[Row]:
    for item in split_csv_rows(lines, source, delimiter, width, key_index):
        yield item if isinstance(item, RawRow) else (item[0], CsvRecord(item[1], index))


# --- json --------------------------------------------------------------------------------------------------


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _loads(text: str) -> object:
    """JSON with numbers kept as written (no float rounding, no 4300-digit limit) and NaN refused."""
    return json.loads(text, parse_int=str, parse_float=str, parse_constant=_refuse_constant)


def _too_deep(value: object) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(node, dict):
            stack += [(v, depth + 1) for v in node.values() if isinstance(v, dict | list)]
        elif isinstance(node, list):
            stack += [(v, depth + 1) for v in node if isinstance(v, dict | list)]
    return False


def _record(position: int, obj: object, key_path: str | None) -> Row:
    if not isinstance(obj, dict):
        return RawRow(position, {}, f"not a JSON object but {_json_kind(obj)}: a record must be an object")
    if _too_deep(obj):
        return RawRow(position, {}, f"invalid JSON: nested more than {MAX_DEPTH} levels deep",
                      key=_key(obj, key_path))
    return position, JsonRecord(obj)


def _key(obj: dict[str, Any], key_path: str | None) -> str | None:
    """The record key (the call_id's path) of a record refused whole, when it holds a plain value there: a
    rejection names the record it was, as a rejected field's does."""
    if key_path is None:
        return None
    try:
        return JsonRecord(obj).get(key_path)
    except (ConversionError, RecursionError):
        return None


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool) or value is None:
        return "null" if value is None else "a boolean"
    return "a string" if isinstance(value, str) else "a value"


def jsonl_rows(stream: IO[str], limit: int, key_path: str | None = None) -> Iterator[Row]:
    """JSON objects one after another: one per line, or concatenated (``}{``, as Amazon Data Firehose writes
    them), each at most ``limit`` characters. A record that is too long or not JSON is a rejected row, and reading
    resumes at the next line. Its position is the line it starts on, or, where several start on one line, one more
    than the record's before it: every record has its own, rising (in a file of ``}{`` alone, its number). A record
    refused whole that could be decoded keeps its key (``key_path``: the call_id's path)."""
    decoder = json.JSONDecoder(parse_int=str, parse_float=str, parse_constant=_refuse_constant)
    buffer, at, line, eof = "", 0, 1, False
    last = 0  # the position given last: positions rise, one per record (the loader stages records by position)
    while True:
        while at < len(buffer) and buffer[at] in _WHITESPACE:
            line += buffer[at] == "\n"
            at += 1
        if at >= len(buffer):
            if eof:
                return
            buffer, at = stream.read(_CHUNK), 0
            if line == 1:
                buffer = buffer.removeprefix("\ufeff")
            eof = not buffer
            continue
        try:
            obj, end = decoder.raw_decode(buffer, at)
        except (json.JSONDecodeError, ValueError, RecursionError) as exc:
            cut = _maybe_cut(exc, len(buffer))
            if cut and not eof and len(buffer) - at <= limit:
                more = stream.read(_CHUNK)
                eof = not more
                buffer = buffer[at:] + more
                at = 0
                continue
            if cut and len(buffer) - at > limit:
                reason = f"the record is longer than {limit} characters (VPT_MAX_LINE_LENGTH)"
            elif isinstance(exc, json.JSONDecodeError):
                reason = f"invalid JSON: {exc.msg} at column {exc.colno}"
            elif isinstance(exc, RecursionError):
                reason = "invalid JSON: nested too deeply"
            else:
                reason = f"invalid JSON: {str(exc).split(';')[0][:120]}"
            last = max(line, last + 1)
            yield RawRow(last, {}, reason)
            buffer, at, eof, skipped = _skip_line(stream, buffer, at, eof)
            line += skipped
            continue
        last = max(line, last + 1)
        if end - at > limit:
            yield RawRow(last, {}, f"the record is longer than {limit} characters (VPT_MAX_LINE_LENGTH)",
                         key=_key(obj, key_path) if isinstance(obj, dict) else None)
        else:
            yield _record(last, obj, key_path)
        line += buffer.count("\n", at, end)
        at = end


def _maybe_cut(exc: Exception, end: int) -> bool:
    """Whether a decoding error may only mean that the text read so far ends inside the record: the decoder
    stopped at (or a literal's length before) the end, or in a string not yet closed."""
    if not isinstance(exc, json.JSONDecodeError):
        return False
    return exc.msg.startswith("Unterminated string") or exc.pos >= end - 10


def _skip_line(stream: IO[str], buffer: str, at: int, eof: bool) -> tuple[str, int, bool, int]:
    """Past the next line break (or the end): the rest of a record that cannot be read."""
    while True:
        found = buffer.find("\n", at)
        if found >= 0:
            return buffer, found + 1, eof, 1
        if eof:
            return "", 0, True, 0
        buffer, at = stream.read(_CHUNK), 0
        eof = not buffer


def json_rows(stream: IO[str], container: Container, cap: int, key_path: str | None = None) -> Iterator[Row]:
    """The records of one JSON document (at most ``cap`` characters) at the dotted path ``container.records``; a
    record's position is its number in that array (the first is 1)."""
    text = stream.read(cap + 1)
    if len(text) > cap:
        raise FileFormatError(f"the JSON document is longer than {cap} characters (VPT_MAX_UPLOAD_BYTES): split it, "
                              "or export JSON Lines")
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise FileFormatError("the file is empty: expected a JSON document")
    try:
        document = _loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise FileFormatError("invalid JSON: nested too deeply") from None
    except ValueError as exc:
        raise FileFormatError(f"invalid JSON: {str(exc).split(';')[0][:120]}") from None
    node = document
    if container.records:
        for part in container.records.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise FileFormatError(f"the JSON document has no {container.records!r} (container.records)")
    if not isinstance(node, list):
        where = repr(container.records) if container.records else "the document"
        raise FileFormatError(f"{where} is {_json_kind(node) if not isinstance(node, dict) else 'an object'}, "
                              "not an array of records (container.records)")
    for i, item in enumerate(node, start=1):
        yield _record(i, item, key_path)
