"""A profile as a parser of the loader (``app.ingest.loader.Parser``): a delivery in, records and rejections out.

``profile_parser(profile, settings)`` returns a ``ProfileParser``, called like any parser as
``parser(stream, options)`` and giving ``Parsed`` records and ``Rejection``s. The rows a profile maps go through
``app.ingest.parsers.parse_call_rows`` / ``parse_interval_rows``, so every canonical check applies to them.

What a dry run shows besides the results is read from the parser after the iterator is exhausted (each call
starts them afresh):

- ``profile``: the ``Profile``;
- ``skipped``: rows a ``[[filter]]`` left out (neither records nor rejections);
- ``duplicates``: copies a ``[dedupe]`` dropped for a newer copy of the same record;
- ``chained_legs`` (also ``legs_merged``): legs folded into the first leg's call by ``[chain]`` (a chain of three
  legs counts 2);
- ``mapped``: rows mapped (read and not skipped);
- ``encoding``: the profile's ``container.encoding``;
- ``preview``: the first ``preview_rows`` mapped rows as ``RawRow``s: ``position``, ``fields`` (canonical field
  name → text, the profile's defaults included), ``field_errors`` (field → why its conversion failed) and
  ``error`` (a row that could not be read or lacks a required input).

A delivery is read whole before anything is yielded when the profile chains or deduplicates (both compare rows
across the file), bounded by ``VPT_MAX_UPLOAD_ROWS`` rows; otherwise it streams. A stream in an encoding other
than UTF-8 is decoded from its underlying ``buffer`` (a text stream the loader opened as UTF-8), which must not
have been read from yet; a text stream without one (``io.StringIO``) is taken as already decoded.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from app.config import Settings
from app.ingest.parsers import (
    CALL_REQUIRED,
    INTERVAL_REQUIRED,
    Parsed,
    ParseOptions,
    ParseResult,
    parse_call_rows,
    parse_interval_rows,
)
from app.ingest.profiles.containers import Record, Row, decimal_comma, json_rows, jsonl_rows, open_csv
from app.ingest.profiles.mapping import Mapper
from app.ingest.profiles.model import Profile
from app.ingest.profiles.values import number_text
from app.ingest.rows import FieldWarning, FileFormatError, RawRow
from app.kpi.records import CallRecord

Parser = Callable[[IO[str], ParseOptions], Iterator[ParseResult]]
PREVIEW_ROWS = 20


@dataclass(slots=True)
class _Leg:
    row: RawRow
    link: str = ""  # chain: the previous leg's call_id, or the chain's group id
    key: str = ""  # dedupe: the record's identity
    newest: str = ""  # dedupe: the copy's version


class ProfileParser:
    def __init__(self, profile: Profile, *, max_rows: int, max_document: int, preview_rows: int = PREVIEW_ROWS) -> None:
        self.profile = profile
        self.max_rows = max_rows
        self.max_document = max_document
        self.preview_rows = preview_rows
        self.skipped = self.duplicates = self.chained_legs = self.mapped = 0
        self.preview: list[RawRow] = []

    @property
    def encoding(self) -> str:
        """The profile's ``container.encoding``: a caller that refuses byte-order marks other than UTF-8's before
        parsing (the loader does) must let a UTF-16 profile's file through."""
        return self.profile.container.encoding

    @property
    def legs_merged(self) -> int:
        """``chained_legs`` under the name the dry run reads."""
        return self.chained_legs

    def __call__(self, stream: IO[str], options: ParseOptions) -> Iterator[ParseResult]:
        self.skipped = self.duplicates = self.chained_legs = self.mapped = 0
        self.preview = []
        return self._parse(stream, options)

    def _parse(self, stream: IO[str], options: ParseOptions) -> Iterator[ParseResult]:
        text, own = _decoded(stream, self.profile.container.encoding)
        try:
            parse = parse_call_rows if self.profile.record_kind == "calls" else parse_interval_rows
            if self.profile.chain is None and self.profile.dedupe is None:
                yield from parse(self._rows(text, options), options)
                return
            buffered: list[_Leg] = []
            for leg in self._legs(text, options):
                buffered.append(leg)
                if len(buffered) > self.max_rows:
                    raise FileFormatError(f"more than {self.max_rows} rows, the limit of one delivery "
                                          "(VPT_MAX_UPLOAD_ROWS): nothing was stored; split the file")
            if self.profile.dedupe is not None:
                buffered = self._deduplicated(buffered)
            if self.profile.chain is None:
                yield from parse((leg.row for leg in buffered), options)
            else:
                yield from self._chained(buffered, options)
        finally:
            if own is not None:
                own.detach()  # the caller's stream stays open

    def _open(self, stream: IO[str], options: ParseOptions) -> tuple[Iterator[Row], Mapper]:
        profile, container = self.profile, self.profile.container
        limit = options.max_line_length
        call_id = profile.fields.get("call_id")
        # where a row refused whole (its fields cannot be placed or read) may still find its record key
        key_column = call_id.names[0] if call_id is not None and call_id.kind == "column" else None
        if container.type == "csv":
            canonical = CALL_REQUIRED if profile.record_kind == "calls" else INTERVAL_REQUIRED
            required = [s.names[0] for f, s in profile.fields.items() if f in canonical and s.kind == "column"]
            required += [s.names[0] for s in profile.inputs.values() if s.convert.required and s.kind == "column"]
            delimiter, rows = open_csv(stream, container, limit, profile.referenced_columns(), required, key_column)
            return rows, Mapper(profile, decimal_comma(container, delimiter))
        rows = jsonl_rows(stream, limit, key_column) if container.type == "jsonl" else json_rows(
            stream, container, self.max_document, key_column)
        return rows, Mapper(profile, container.decimal == ",")

    def _rows(self, stream: IO[str], options: ParseOptions) -> Iterator[RawRow]:
        """The mapped rows of a delivery read as a stream (no chain, no dedupe)."""
        rows, mapper = self._open(stream, options)
        preview, wanted = self.preview, self.preview_rows
        for row in rows:
            if isinstance(row, RawRow):
                yield row
                continue
            position, record = row
            if not mapper.keep(record):
                self.skipped += 1
                continue
            mapped = mapper.map(position, record)
            self.mapped += 1
            if len(preview) < wanted:
                preview.append(mapped)
            yield mapped

    def _legs(self, stream: IO[str], options: ParseOptions) -> Iterator[_Leg]:
        """The mapped rows with what chains and dedupe compare them by."""
        rows, mapper = self._open(stream, options)
        chain, dedupe = self.profile.chain, self.profile.dedupe
        for row in rows:
            if isinstance(row, RawRow):
                yield _Leg(row)
                continue
            position, record = row
            if not mapper.keep(record):
                self.skipped += 1
                continue
            mapped = mapper.map(position, record)
            self.mapped += 1
            if len(self.preview) < self.preview_rows:
                self.preview.append(mapped)
            leg = _Leg(mapped)
            if chain is not None:
                leg.link = mapper.text(record, chain.previous or chain.group or "")
            if dedupe is not None:
                leg.key = mapper.text(record, dedupe.key)
                leg.newest = mapper.text(record, dedupe.newest) if dedupe.newest else ""
            yield leg

    def _deduplicated(self, legs: list[_Leg]) -> list[_Leg]:
        """The newest copy of each record (by ``newest``; the later in the file when they tie), in the place of
        the first copy."""
        kept: list[_Leg] = []
        at: dict[str, int] = {}
        for leg in legs:
            if not leg.key:
                kept.append(leg)
                continue
            index = at.get(leg.key)
            if index is None:
                at[leg.key] = len(kept)
                kept.append(leg)
                continue
            self.duplicates += 1
            if _version(leg.newest) >= _version(kept[index].newest):
                kept[index] = leg
        return kept

    def _chained(self, legs: list[_Leg], options: ParseOptions) -> Iterator[ParseResult]:
        """Legs of one contact as one call (SPEC §3): the first leg's identity, region, queue and arrival, the last
        leg's outcome and times. A rejected leg is yielded as it is and the others still join."""
        results = list(parse_call_rows((leg.row for leg in legs), options))
        parent = list(range(len(legs)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        ids = [(leg.row.fields.get("call_id") or "").strip() for leg in legs]
        assert self.profile.chain is not None
        if self.profile.chain.group is not None:  # every leg names the first; the first names none (or itself)
            first_of: dict[str, int] = {}
            for i, leg in enumerate(legs):
                if ids[i]:
                    parent[root(i)] = root(first_of.setdefault(leg.link or ids[i], i))
        else:
            by_id: dict[str, int] = {}
            for i, call_id in enumerate(ids):
                if call_id:
                    by_id.setdefault(call_id, i)
            for i, leg in enumerate(legs):
                if ids[i] and leg.link in by_id:
                    parent[root(i)] = root(by_id[leg.link])
        members: dict[int, list[int]] = {}
        for i, result in enumerate(results):
            if isinstance(result, Parsed) and ids[i]:
                members.setdefault(root(i), []).append(i)
        replace: dict[int, ParseResult] = {}
        dropped: set[int] = set()
        for indexes in members.values():
            if len(indexes) < 2:
                continue
            order = sorted(indexes, key=lambda i: (_record(results[i]).arrived_at, legs[i].row.position))
            first = order[0]
            joined = _joined([_record(results[i]) for i in order], legs[first].row.position, options)
            if isinstance(joined, Parsed):  # what the legs' own fields were dropped for stays said
                carried = _carried(results[first], results[order[-1]])
                joined = dataclasses.replace(joined, warnings=carried + joined.warnings) if carried else joined
            replace[first] = joined
            dropped.update(order[1:])
            self.chained_legs += len(order) - 1
        for i, result in enumerate(results):
            if i not in dropped:
                yield replace.get(i, result)


#: What a joined call takes from its first leg; the rest is the last leg's.
_FIRST_LEG_FIELDS = frozenset({"call_id", "region", "queue", "arrived_at"})


def _carried(first: ParseResult, last: ParseResult) -> tuple[FieldWarning, ...]:
    """The warnings of the legs about fields the joined call takes from them."""
    assert isinstance(first, Parsed) and isinstance(last, Parsed)
    return (tuple(w for w in first.warnings if w.field in _FIRST_LEG_FIELDS)
            + tuple(w for w in last.warnings if w.field not in _FIRST_LEG_FIELDS))


def _record(result: ParseResult) -> CallRecord:
    assert isinstance(result, Parsed) and isinstance(result.record, CallRecord)
    return result.record


def _joined(legs: list[CallRecord], position: int, options: ParseOptions) -> ParseResult:
    """The call the legs make, checked again by the canonical parser (its wait is the whole contact's)."""
    first, last = legs[0], legs[-1]

    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else moment.astimezone(UTC).isoformat()

    def seconds(value: float | None) -> str | None:
        return None if value is None else number_text(value)

    fields: dict[str, str | None] = {
        "call_id": first.call_id, "region": first.region, "queue": first.queue, "arrived_at": iso(first.arrived_at),
        "outcome": last.outcome.value, "answered_at": iso(last.answered_at), "ended_at": iso(last.ended_at),
        "answered_by_region": last.answered_by_region, "talk_seconds": seconds(last.talk_seconds),
        "wrap_seconds": seconds(last.wrap_seconds),
    }
    return next(parse_call_rows(iter([RawRow(position, fields)]), options))


def _version(text: str) -> tuple[int, object]:
    """How copies compare: as instants when both are ISO 8601, as numbers (epochs), else as text."""
    try:
        moment = datetime.fromisoformat(text)
        return (2, moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC))
    except ValueError:
        pass
    try:
        return (1, float(text))
    except ValueError:
        return (0, text)


def _decoded(stream: IO[str], encoding: str) -> tuple[IO[str], io.TextIOWrapper | None]:
    if encoding == "utf-8":
        return stream, None
    raw = getattr(stream, "buffer", None)
    if raw is None:
        return stream, None
    wrapper = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
    return wrapper, wrapper


def profile_parser(profile: Profile, settings: Settings, *, preview_rows: int = PREVIEW_ROWS) -> ProfileParser:
    """The parser of deliveries in ``profile``'s format (see the module's docstring for what it exposes)."""
    return ProfileParser(profile, max_rows=settings.max_upload_rows, max_document=settings.max_upload_bytes,
                         preview_rows=preview_rows)


__all__ = ["Parser", "ProfileParser", "Record", "profile_parser"]
