"""The fast path of the canonical call CSV (issue 15): blocks of the file read by pyarrow, plain rows staged
column-wise (app.ingest.fastplain), every other row read by the reference parser.

Correct by construction, or not taken:

- The file is read in blocks of whole lines. A block is read by pyarrow only when each of its physical lines is
  one CSV row exactly as ``app.ingest.lines.read_csv_rows`` would split it: no quote character, no NUL, no CR but
  in CRLF, valid UTF-8, no line longer than ``max_line_length``. From the first block that is not so, the rest of
  the file (that block included) goes through the reference line reader itself, its line count carried on.
- A blank line, or one with another number of fields than the header, is not CSV that splits otherwise: the
  reference's own row splitter decides that line alone (skips it, or makes the rejected row it would make), and
  pyarrow reads the block's other lines, each with its own line number.
- A header the reference could read otherwise (semicolons, quotes, a BOM of another encoding, duplicate or missing
  columns, a line that is too long, no line break after it) sends the whole file to the reference parser.
- Of a block pyarrow read, a row that is not plain becomes the ``RawRow`` the reference reader would have made
  (same line, same canonical fields) and goes to the reference parser: one instance for the whole delivery, so its
  per-queue resolver of naive local times sees every such row in file order, as it does on the reference path.
"""

from __future__ import annotations

import io
import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from app.ingest.fastplain import Limits, classify, from_epoch_us
from app.ingest.lines import BoundedLines, RawRow, split_csv_rows
from app.ingest.parsers import CALL_REQUIRED, ParseOptions, ParseResult, parse_call_rows, parse_calls
from app.kpi.records import CALL_COLUMNS

if TYPE_CHECKING:
    from app.ingest.fasthours import Groups

log = logging.getLogger(__name__)

#: Bytes read per block: about 16 000 rows of a typical export, a few MB of Arrow memory however long the file.
BLOCK_BYTES = 2 << 20
_BOM = b"\xef\xbb\xbf"


@dataclass
class PlainBlock:
    """Plain rows of one block, as ``stage_calls`` rows (app.ingest.fastplain.STAGE_COLUMNS), and their span."""

    table: pa.Table
    first: datetime  # the earliest arrival
    last: datetime
    #: what the rows bring to their hours, when the reader thread grouped them ahead (app.ingest.fasthours)
    groups: list[Groups] | None = None


@dataclass
class FastStats:
    plain_rows: int = 0
    reference_rows: int = 0
    #: why the reference line reader took over (None: every block was read by pyarrow), and from which line
    fallback: str | None = None
    fallback_line: int | None = None
    blocks: int = 0
    #: blank lines and lines of another width, each decided by the reference's row splitter alone
    odd_lines: int = 0


class _Chain(io.RawIOBase):
    """Bytes already taken from a stream, then the rest of that stream."""

    def __init__(self, prefix: bytes, rest: IO[bytes]) -> None:
        self._prefix = memoryview(prefix)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]  # as HashingReader
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Mailbox:
    """The rows the reference parser reads: one is put in before each result is taken, so the parser (a generator)
    never finds it empty."""

    def __init__(self) -> None:
        self.rows: deque[RawRow] = deque()

    def __iter__(self) -> _Mailbox:
        return self

    def __next__(self) -> RawRow:
        if not self.rows:
            raise StopIteration
        return self.rows.popleft()


class FastCallReader:
    """Reads one calls-csv delivery from ``raw`` (after the encoding check); iterate for ``Parsed``, ``Rejection``
    and ``PlainBlock`` items. ``options.now`` must be set: plain rows and the reference parser share that clock."""

    def __init__(self, raw: IO[bytes], options: ParseOptions) -> None:
        assert options.now is not None, "the fast path and the reference parser read one clock"
        self._raw = raw
        self._options = options
        self._limits = Limits.of(options.known_regions, options.max_field_length, options.not_after())
        self._mailbox = _Mailbox()
        self._parser = parse_call_rows(self._mailbox, options)
        self.stats = FastStats()

    def _reference(self, row: RawRow) -> ParseResult:
        self._mailbox.rows.append(row)
        self.stats.reference_rows += 1
        return next(self._parser)

    def __iter__(self) -> Iterator[ParseResult | PlainBlock]:
        limit = self._options.max_line_length
        first = self._raw.readline(limit + 2 + len(_BOM))
        header = _header(first, limit)
        if isinstance(header, str):
            self._fell_back(header, 1)
            stream = io.TextIOWrapper(io.BufferedReader(_Chain(first, self._raw)), encoding="utf-8-sig",
                                      errors="replace", newline="")
            yield from parse_calls(stream, "csv", self._options)
            return
        names = header
        width = len(names)
        index = {name: i for i, name in enumerate(names)}
        wanted = [(i, name) for i, name in enumerate(names) if name in CALL_COLUMNS]
        key_index = index.get("call_id")
        lines_read = 1
        carry = b""
        while True:
            data = self._raw.read(BLOCK_BYTES)
            chunk = carry + data if carry else data
            if not chunk:
                return
            if data:
                cut = chunk.rfind(b"\n")
                if cut < 0 and len(chunk) <= 4 * BLOCK_BYTES:
                    carry = chunk
                    continue
                block, carry = (chunk[: cut + 1], chunk[cut + 1:]) if cut >= 0 else (chunk, b"")
                read = _read_block(block, width, limit, lines_read + 1) if cut >= 0 else \
                    "no line break in a long stretch"
            else:
                block, carry = chunk, b""
                read = _read_block(block, width, limit, lines_read + 1)
            if isinstance(read, str):
                self._fell_back(read, lines_read + 1)
                yield from self._reference_rest(block + carry, lines_read, wanted, width, key_index)
                return
            self.stats.blocks += 1
            odd = self._odd_rows(read.odd, wanted, width, key_index)
            yield from self._block(read, lines_read + 1, wanted, odd)
            lines_read += read.lines
            if not data:
                return

    def _fell_back(self, reason: str, line: int) -> None:
        self.stats.fallback, self.stats.fallback_line = reason, line
        log.info("ingest.fast_path.fallback", extra={"reason": reason, "line": line})

    def _reference_rest(self, prefix: bytes, lines_read: int, wanted: list[tuple[int, str]], width: int,
                        key_index: int | None) -> Iterator[ParseResult]:
        """The rest of the file through the reference line reader, as ``read_csv_rows`` reads it past the header
        (a block boundary is a line boundary outside any quote: the blocks before held no quote character)."""
        text = io.TextIOWrapper(io.BufferedReader(_Chain(prefix, self._raw)), encoding="utf-8", errors="replace",
                                newline="")
        lines = BoundedLines(text, self._options.max_line_length)
        lines.position = lines_read
        for item in split_csv_rows(lines, lines, ",", width, key_index):
            if isinstance(item, RawRow):
                yield self._reference(item)
            else:
                line, row = item
                yield self._reference(RawRow(line, {name: row[i] for i, name in wanted}))

    def _odd_rows(self, odd: list[tuple[int, str]], wanted: list[tuple[int, str]], width: int,
                  key_index: int | None) -> list[RawRow]:
        """What the reference's row splitter makes of each odd line on its own: nothing for a blank line, the rejected
        row of a line of another width (a block holds no quote character, so no row spans lines)."""
        rows: list[RawRow] = []
        for line, text in odd:
            self.stats.odd_lines += 1
            lines = BoundedLines(io.StringIO(text, newline=""), self._options.max_line_length)
            lines.position = line - 1
            for item in split_csv_rows(lines, lines, ",", width, key_index):
                if isinstance(item, RawRow):
                    rows.append(item)
                else:
                    rows.append(RawRow(item[0], {name: item[1][i] for i, name in wanted}))
        return rows

    def _block(self, read: _Read, first_line: int, wanted: list[tuple[int, str]],
               odd: list[RawRow]) -> Iterator[ParseResult | PlainBlock]:
        table = read.table
        n = table.num_rows if table is not None else 0
        kept = 0
        if table is not None and n:
            present = {name: table.column(i) for i, name in wanted}
            empty = pa.array([""] * n, pa.string()) if len(present) < len(CALL_COLUMNS) else None
            columns = {name: _flat(present[name]) if name in present else empty for name in CALL_COLUMNS}
            plain, stage = classify(columns, self._limits)
            seq = read.numbers if read.numbers is not None else pa.array(range(first_line, first_line + n), pa.int64())
            kept = pc.sum(plain).as_py() or 0
        if kept:
            staged = pa.table({"seq": seq, **stage}).filter(plain)
            span = pc.min_max(pc.cast(staged.column("arrived_at"), pa.int64()))
            self.stats.plain_rows += kept
            yield PlainBlock(staged, from_epoch_us(span["min"].as_py()), from_epoch_us(span["max"].as_py()))
        others: list[RawRow] = []
        if kept < n:
            chosen = pc.indices_nonzero(pc.invert(plain))
            lines = pc.take(seq, chosen).to_pylist()
            values = {name: pc.take(present[name], chosen).to_pylist() for name in present}
            others = [RawRow(line, {name: values[name][k] for _i, name in wanted}) for k, line in enumerate(lines)]
        # in file order: the reference parser's per-queue state sees its rows as the reference path gives them
        for row in sorted([*others, *odd], key=lambda row: row.position) if odd else others:
            yield self._reference(row)


def _flat(column: pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)


def _header(first: bytes, limit: int) -> list[str] | str:
    """The header's column names, when the reference reads it exactly as a split on commas; else why not."""
    line = first[len(_BOM):] if first.startswith(_BOM) else first
    if not line.endswith(b"\n"):
        return "header: no line break within the line limit"
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return "header: not UTF-8"
    text = text[:-2] if text.endswith("\r\n") else text[:-1]
    if len(text) > limit or not text.strip():
        return "header: too long or blank"
    if any(c in text for c in '"\r\x00') or text.count(";") > text.count(","):
        return "header: quotes, a bare CR, a NUL or semicolons"
    names = [name.strip().lower() for name in text.split(",")]
    if len(set(names)) != len(names) or not set(names) >= CALL_REQUIRED:
        return "header: repeated or missing columns"
    return names


@dataclass
class _Read:
    """A block as pyarrow read it: its lines that are one row of the header's width (none: ``table`` None), their
    line numbers (None: every line of the block, in order), and its other lines as text, with their numbers."""

    table: pa.Table | None
    numbers: pa.Array | None
    odd: list[tuple[int, str]]
    lines: int  # physical lines in the block


def _read_block(block: bytes, width: int, limit: int, first_line: int) -> _Read | str:
    """The block as a table of strings when each of its lines is one row as the reference splits it, or a line
    the reference splitter is to decide alone (blank, or of another width); else why not."""
    if b'"' in block or b"\x00" in block:
        return "a quote character or a NUL"
    if block.count(b"\r") != block.count(b"\r\n"):
        return "a CR that does not end a line"
    if not block.isascii():
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            return "bytes that are not UTF-8"
    count = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
    blank = block.startswith((b"\n", b"\r\n")) or b"\n\n" in block or b"\n\r\n" in block
    table = None if blank else _arrow_rows(block, width)
    if table is not None:
        return _checked(_Read(table, None, [], count), limit)
    kept, numbers, odd = _apart(block, width, first_line)
    if not kept:
        return _Read(None, None, odd, count)
    table = _arrow_rows(kept, width)
    if table is None:
        return "a row with another number of fields than the header"
    return _checked(_Read(table, pa.array(numbers, pa.int64()), odd, count), limit)


def _apart(block: bytes, width: int, first_line: int) -> tuple[bytes, list[int], list[tuple[int, str]]]:
    """The block's lines of the header's width (as a block) and their numbers, and its other lines as text (with
    their line break, as the reference reader sees them)."""
    parts = block.split(b"\n")
    ended = parts[-1] == b""
    if ended:
        parts.pop()
    kept: list[bytes] = []
    numbers: list[int] = []
    odd: list[tuple[int, str]] = []
    last = len(parts) - 1
    for i, part in enumerate(parts):
        body = part[:-1] if part.endswith(b"\r") else part
        if body.count(b",") == width - 1:
            kept.append(part)
            numbers.append(first_line + i)
        else:
            odd.append((first_line + i, part.decode("utf-8") + ("\n" if ended or i < last else "")))
    return (b"\n".join(kept) + b"\n" if kept else b""), numbers, odd


def _arrow_rows(block: bytes, width: int) -> pa.Table | None:
    """The block's lines as rows of strings; None when a line has another number of fields."""
    names = [f"c{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(block),
            read_options=pacsv.ReadOptions(column_names=names, block_size=len(block) + 1),
            parse_options=pacsv.ParseOptions(delimiter=",", quote_char=False, double_quote=False, escape_char=False,
                                              newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), null_values=[],
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except pa.ArrowInvalid:
        return None
    return table


def _checked(read: _Read, limit: int) -> _Read | str:
    table = read.table
    assert table is not None
    expected = read.lines - len(read.odd)
    if table.num_rows != expected:
        return "rows and lines differ"
    width = table.num_columns
    if table.num_rows:
        lengths = pc.add(pc.binary_length(_flat(table.column(0))), width - 1)
        for i in range(1, width):
            lengths = pc.add(lengths, pc.binary_length(_flat(table.column(i))))
        if (pc.max(lengths).as_py() or 0) > limit:
            return "a line longer than VPT_MAX_LINE_LENGTH"
    return read
