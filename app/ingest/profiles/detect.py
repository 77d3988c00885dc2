"""Which profile reads a file (docs/profiles.md "Detection"): the share of its columns the file's head has.

The head (``HEAD_BYTES``) is decoded in each profile's encoding and read by its container: a CSV's header line, the
keys and dotted paths of the first JSON records (or, when a JSON document is longer than the head, its quoted
names). A CSV profile without a header names no columns a file shows: it is judged by its first rows instead, which
must have its number of fields and whose timestamp and number columns must convert (``_by_content``). A profile is
chosen only when its share is above half and no other has the same share.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from app.ingest.profiles.containers import decimal_comma, open_csv
from app.ingest.profiles.mapping import Mapper
from app.ingest.profiles.model import DURATION_FIELDS, TIMESTAMP_FIELDS, Profile, RecordKind
from app.ingest.profiles.values import ConversionError, parse_number
from app.ingest.rows import FileFormatError, RawRow

HEAD_BYTES = 256 * 1024
_RECORDS = 50
_LINE_LIMIT = 65_536


@dataclass(frozen=True, slots=True)
class Match:
    """A profile and its columns the file has (by header or paths), or, for a CSV profile without a header
    (``rows`` > 0), its timestamp and number columns whose values in the first ``rows`` rows convert or do not."""

    profile: Profile
    matched: tuple[str, ...]
    missed: tuple[str, ...]
    rows: int = 0

    @property
    def share(self) -> float:
        total = len(self.matched) + len(self.missed)
        return len(self.matched) / total if total else 0.0


@dataclass(frozen=True, slots=True)
class Detection:
    chosen: Match | None
    candidates: tuple[Match, ...] = field(default_factory=tuple)  # best first, every profile that read the head
    reason: str = ""


def read_head(path: Path) -> bytes:
    with path.open("rb") as stream:
        return stream.read(HEAD_BYTES)


def detect(path_or_head: Path | str | bytes, profiles: Iterable[Profile], kind: RecordKind | None = None) -> Detection:
    """The profile of ``profiles`` (of ``kind``, if given) that best reads the file or head, with its columns
    matched and missed; ``chosen`` is None on a tie or when no share is above half."""
    head = path_or_head if isinstance(path_or_head, bytes) else read_head(Path(path_or_head))
    complete = len(head) < HEAD_BYTES
    matches: list[Match] = []
    for profile in profiles:
        if kind is not None and profile.record_kind != kind:
            continue
        if profile.container.type == "csv" and not profile.container.header:
            by_content = _by_content(profile, _text(profile, head, complete).removeprefix("\ufeff"), complete)
            if by_content is not None and by_content.matched:
                matches.append(by_content)
            continue
        names = _names(profile, head, complete)
        if names is None:
            continue
        wanted = profile.referenced_columns()
        if not wanted:
            continue
        fold = profile.container.type == "csv"
        found = {n.strip().lower() for n in names} if fold else set(names)
        matched = tuple(w for w in wanted if (w.strip().lower() if fold else w) in found)
        missed = tuple(w for w in wanted if w not in matched)
        if matched:
            matches.append(Match(profile, matched, missed))
    matches.sort(key=lambda m: (-m.share, m.profile.name))
    if not matches:
        return Detection(None, (), "no profile reads this file")
    best = matches[0]
    if best.share <= 0.5:
        return Detection(None, tuple(matches), f"no profile has more than half of its columns in the file (best: "
                                               f"{best.profile.name}, {len(best.matched)} of "
                                               f"{len(best.matched) + len(best.missed)})")
    tied = [m.profile.name for m in matches if m.share == best.share]
    if len(tied) > 1:
        return Detection(None, tuple(matches), f"a tie between {', '.join(tied)}: choose one with --profile")
    if best.rows:
        return Detection(best, tuple(matches), f"{len(best.matched)} of {len(best.matched) + len(best.missed)} "
                                               f"timestamp and number columns convert in the first {best.rows} rows "
                                               f"({len(best.profile.container.columns)} fields, no header)")
    return Detection(best, tuple(matches), f"{len(best.matched)} of {len(best.matched) + len(best.missed)} columns")


def _text(profile: Profile, head: bytes, complete: bool) -> str:
    encoding = {"utf-8": "utf-8-sig"}.get(profile.container.encoding, profile.container.encoding)
    text = head.decode(encoding, errors="replace")
    if not complete and profile.container.encoding == "utf-16":
        text = text.rstrip("\ufffd")
    return text


def _names(profile: Profile, head: bytes, complete: bool) -> set[str] | None:
    """The column names or JSON paths the head shows to this profile's container; None when it cannot read it."""
    container = profile.container
    text = _text(profile, head, complete).removeprefix("\ufeff")
    if container.type == "csv":
        lines = text.splitlines()[container.skip_lines:]
        if not lines or lines[0].lstrip().startswith(("{", "[")):
            return None
        first = lines[0]
        delimiter = container.delimiter if container.delimiter != "auto" else (
            ";" if first.count(";") > first.count(",") else ",")
        try:
            return set(next(csv.reader([first], delimiter=delimiter)))
        except (csv.Error, StopIteration):
            return None
    stripped = text.lstrip()
    if container.type == "jsonl":
        if not stripped.startswith("{"):
            return None
        return _paths(_objects(stripped))
    if not stripped.startswith(("[", "{")):
        return None
    if complete:
        try:
            document = json.loads(stripped)
        except (ValueError, RecursionError):
            return None
        node = document
        for part in container.records.split(".") if container.records else ():
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, list):
            return _paths(item for item in node[:_RECORDS] if isinstance(item, dict))
        return None
    return _quoted_names(profile, stripped)


def _objects(text: str) -> list[dict[str, object]]:
    decoder = json.JSONDecoder()
    out: list[dict[str, object]] = []
    at = 0
    while len(out) < _RECORDS:
        while at < len(text) and text[at] in " \t\r\n":
            at += 1
        try:
            obj, at = decoder.raw_decode(text, at)
        except (ValueError, RecursionError):
            break
        if isinstance(obj, dict):
            out.append(obj)
    return out


def _paths(objects: Iterable[dict[str, object]]) -> set[str]:
    """Every key and dotted path of the objects whose value is present (lists indexed: ``A.0.B``)."""
    found: set[str] = set()
    for obj in objects:
        stack: list[tuple[str, object, int]] = [(key, value, 1) for key, value in obj.items()]
        while stack:
            path, value, depth = stack.pop()
            if value is None or value == "" or depth > 8:
                continue
            found.add(path)
            if isinstance(value, dict):
                stack += [(f"{path}.{k}", v, depth + 1) for k, v in value.items()]
            elif isinstance(value, list):
                stack += [(f"{path}.{i}", v, depth + 1) for i, v in enumerate(value[:5])]
    return found


def _quoted_names(profile: Profile, text: str) -> set[str]:
    """A JSON document longer than the head: the profile's paths whose last name appears quoted as a key."""
    return {name for name in profile.referenced_columns() if f'"{name.rsplit(".", 1)[-1]}"' in text}


# --- a CSV profile without a header: by its first rows ------------------------------------------------------------

#: Count fields, and the lengths an interval may have (after the engine's "day" → 1440).
_COUNTS = frozenset({"offered", "answered", "abandoned", "abandoned_short", "rejected", "answered_within_sl",
                     "sl_seconds"})
_MINUTES = frozenset({"15", "30", "60", "1440", "month"})


def _by_content(profile: Profile, text: str, complete: bool) -> Match | None:
    """The first ``_RECORDS`` rows the profile keeps, read and mapped as the profile reads them: None when a row has
    another number of fields than the profile's columns (or cannot be read), else the columns of its timestamp and
    number fields (read from ``column`` or ``columns``) whose every non-empty value converted, and those of which one
    did not. A column that is empty in every row read says nothing and is in neither."""
    lines = text.splitlines(keepends=True)
    if not complete and lines:
        lines = lines[:-1]  # the head may end inside a line
    container = profile.container
    typed = {name: source.names for name, source in profile.fields.items()
             if source.kind in ("column", "columns") and _kind(name) is not None}
    if not typed:
        return None
    try:
        delimiter, rows = open_csv(io.StringIO("".join(lines[:container.skip_lines + 4 * _RECORDS])), container,
                                   _LINE_LIMIT, profile.referenced_columns(), [], None)
    except FileFormatError:
        return None
    mapper = Mapper(profile, decimal_comma(container, delimiter))
    good: set[str] = set()
    bad: set[str] = set()
    read = 0
    for row in rows:
        if isinstance(row, RawRow):
            return None  # another number of fields, or not CSV: the profile would reject the row
        position, record = row
        if not mapper.keep(record):
            continue
        mapped = mapper.map(position, record)
        for name in typed:
            outcome = _converts(name, mapped)
            if outcome is not None:
                (good if outcome else bad).add(name)
        read += 1
        if read == _RECORDS:
            break
    if not read:
        return None
    matched = tuple(dict.fromkeys(c for name in typed if name in good and name not in bad for c in typed[name]))
    missed = tuple(dict.fromkeys(c for name in typed if name in bad for c in typed[name] if c not in matched))
    return Match(profile, matched, missed, rows=read)


def _kind(field: str) -> str | None:
    if field in TIMESTAMP_FIELDS:
        return "timestamp"
    if field in DURATION_FIELDS or field in _COUNTS:
        return "number"
    return "minutes" if field == "interval_minutes" else None


def _converts(field: str, row: RawRow) -> bool | None:
    """Whether the field's value converted to what the canonical record needs; None when it has no value."""
    if row.field_errors and field in row.field_errors:
        return False
    text = (row.fields.get(field) or "").strip()
    if not text:
        return None
    kind = _kind(field)
    if kind == "minutes":
        return text.lower() in _MINUTES
    if kind == "timestamp":
        try:
            datetime.fromisoformat(text)
        except ValueError:
            return False
        return True
    try:
        number = parse_number(text, row.decimal_comma)
    except ConversionError:
        return False
    return number >= 0 and (field not in _COUNTS or number.is_integer())
