"""A validated import profile (docs/profiles.md): typed, frozen, and checked once when it is loaded.

Everything the mapping needs to know is decided here: which canonical fields a profile may map, which of them it
must, which conversions a field takes by default. A profile that passes ``app.ingest.profiles.validate`` can map
any row without a question about the profile itself; what remains are questions about the row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from app.errors import VptError
from app.ingest.profiles.expr import Expr
from app.kpi.records import CALL_COLUMNS, INTERVAL_COLUMNS

RecordKind = Literal["calls", "intervals"]

TIMESTAMP_FIELDS = frozenset({"arrived_at", "answered_at", "ended_at", "interval_start"})
DURATION_FIELDS = frozenset({
    "talk_seconds", "wrap_seconds", "wait_answered_seconds_sum", "wait_abandoned_seconds_sum", "longest_wait_seconds",
    "talk_seconds_sum", "wrap_seconds_sum", "sl_seconds",
})
FIELDS: dict[str, tuple[str, ...]] = {"calls": CALL_COLUMNS, "intervals": INTERVAL_COLUMNS}
#: What a profile must map (docs/profiles.md "Fields a profile need not map"): the rest have defaults or may be empty.
REQUIRED: dict[str, tuple[str, ...]] = {
    "calls": ("call_id", "region", "arrived_at", "outcome"),
    "intervals": ("region", "interval_start", "interval_minutes", "offered", "answered", "abandoned"),
}
#: Interval fields a source may not report, and what the canonical record gets then.
INTERVAL_DEFAULTS: dict[str, str] = {"abandoned_short": "0", "rejected": "0", "answered_within_sl": "0",
                                     "sl_seconds": "0"}
OUTCOMES = ("answered", "abandoned", "rejected")
STOCKHOLM_ZONE = "Europe/Stockholm"
DURATIONS = ("s", "ms", "min", "hh:mm:ss", "h:mm:ss", "mm:ss")
ENCODINGS = ("utf-8", "cp1252", "latin-1", "utf-16")
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


class ProfileError(VptError):
    """A profile that cannot be used: its file names the key at fault and why (it is refused when loaded)."""

    code = "profile_invalid"
    status_code = 422


class UnknownProfile(ProfileError):
    code = "unknown_profile"
    status_code = 422


@dataclass(frozen=True, slots=True)
class Convert:
    """Conversions of one value, applied in this order: map, timestamp (and zone), duration, scale."""

    map: Mapping[str, str] | None = None  # keys folded to lower case when ``map_insensitive``
    map_default: str | None = None  # "keep": pass an unmapped text on unchanged
    map_insensitive: bool = False
    timestamp: str | None = None  # "iso" | "epoch_s" | "epoch_ms" | a strptime pattern
    zone: str = STOCKHOLM_ZONE
    duration: str | None = None
    scale: float | None = None
    required: bool = False  # inputs only

    @property
    def is_identity(self) -> bool:
        """True when the source text passes on unchanged, for the canonical parser to check as it is."""
        return (self.map is None and self.timestamp in (None, "iso") and self.zone == STOCKHOLM_ZONE
                and self.duration in (None, "s") and self.scale is None)


@dataclass(frozen=True, slots=True)
class Condition:
    """``present``/``absent`` of a name, or its text ``in``/``not_in`` a list or matching a pattern."""

    test: Literal["present", "absent", "in", "not_in", "matches"]
    name: str
    values: frozenset[str] = frozenset()
    pattern: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class Case:
    conditions: tuple[Condition, ...]
    source: Source


SourceKind = Literal["column", "columns", "first_of", "value", "expr", "cases"]


@dataclass(frozen=True, slots=True)
class Source:
    """Where a field's or input's value comes from, and how it is converted."""

    kind: SourceKind
    names: tuple[str, ...] = ()  # column, columns, first_of
    constant: str | None = None  # value
    expr: Expr | None = None
    cases: tuple[Case, ...] = ()
    convert: Convert = field(default_factory=Convert)

    def columns(self, named: frozenset[str]) -> list[str]:
        """The columns this source reads (``named``: fields and inputs, which a ``when`` refers to first)."""
        out = list(self.names)
        for case in self.cases:
            out += [c.name for c in case.conditions if c.test in ("present", "absent") or c.name not in named]
            out += case.source.columns(named)
        return out


@dataclass(frozen=True, slots=True)
class Container:
    type: Literal["csv", "jsonl", "json"] = "csv"
    delimiter: str = "auto"
    encoding: str = "utf-8"
    decimal: str = "auto"
    header: bool = True
    columns: tuple[str, ...] = ()
    skip_lines: int = 0
    records: str = ""


@dataclass(frozen=True, slots=True)
class Chain:
    previous: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Dedupe:
    key: str
    newest: str | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    title: str
    record_kind: RecordKind
    origin: str  # "built-in" or the file it was read from
    builtin: bool
    container: Container
    fields: Mapping[str, Source]
    inputs: Mapping[str, Source] = field(default_factory=dict)
    filters: tuple[Condition, ...] = ()
    chain: Chain | None = None
    dedupe: Dedupe | None = None
    detect_columns: tuple[str, ...] = ()
    description: str | None = None
    reference: str | None = None
    extends: str | None = None
    #: the effective TOML document (after ``extends``), as ``vpt profiles show`` prints it
    document: Mapping[str, Any] = field(default_factory=dict)

    def referenced_columns(self) -> list[str]:
        """Every column (or JSON path) the profile reads, first mention first: what detection looks for."""
        named = frozenset(self.fields) | frozenset(self.inputs)
        out: list[str] = []
        for source in (*self.fields.values(), *self.inputs.values()):
            out += source.columns(named)
        out += [c.name for c in self.filters]
        if self.chain is not None:
            out += [n for n in (self.chain.previous, self.chain.group) if n]
        if self.dedupe is not None:
            out += [n for n in (self.dedupe.key, self.dedupe.newest) if n]
        out += self.detect_columns
        seen: dict[str, str] = {}
        for name in out:
            seen.setdefault(name.strip().lower(), name)
        return list(seen.values())
