"""Ingest formats: one registry decides how a delivery is read, whichever way it came in (SPEC §3).

A format is a name and everything the ways in need of it: a factory for its parser, the kind of record it
yields, the push media types that pick it, the drop-directory folder and the ``vpt ingest`` command that take
it, and the file suffixes that pick it where a folder or a command takes more than one format. The drop
directory, the CLI and the push router ask the registry; none of them names a format.

Every member, ours and a third party's, comes in through a ``vpt.formats`` entry point naming an
``IngestFormat`` of the same name::

    [project.entry-points."vpt.formats"]
    acme-intervals = "vpt_acme:FORMAT"

The built-ins are declared that way in pyproject.toml, and are also registered from ``BUILTIN`` through the same
``FormatRegistry.register`` whatever the installed metadata says: an editable install made before a format was
added, or a source tree that was never installed, still has every built-in. An installed entry point with a
built-in's name and target is that built-in; one with a built-in's name and another target is refused.

A third party's entry point that cannot be loaded, is not an ``IngestFormat`` or clashes with a format registered
before it is refused: a ``FormatProblem`` naming the entry point, logged once and listed by ``vpt ingest
formats``, and the service runs on with the other formats. Its parser runs guarded: anything it raises that is
not an ingest error fails that one delivery with an error naming the format, never the process.
"""

from __future__ import annotations

import functools
import logging
import re
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import IO, get_args

from app.config import Settings
from app.ingest.lines import FileFormatError
from app.ingest.loader import IngestError, Parser, RecordKind
from app.ingest.parsers import Parsed, ParseOptions
from app.ingest.rows import Rejection
from app.kpi.records import CallRecord, IntervalRecord
from app.sanitize import clean

log = logging.getLogger(__name__)

GROUP = "vpt.formats"
#: The built-in formats as pyproject.toml declares them (tests/ingest/test_formats.py checks the two agree).
BUILTIN: tuple[tuple[str, str], ...] = (
    ("calls-csv", "app.ingest.builtin_formats:CALLS_CSV"),
    ("calls-jsonl", "app.ingest.builtin_formats:CALLS_JSONL"),
    ("intervals-csv", "app.ingest.builtin_formats:INTERVALS_CSV"),
    ("intervals-jsonl", "app.ingest.builtin_formats:INTERVALS_JSONL"),
    ("queue-log", "app.ingest.builtin_formats:QUEUE_LOG"),
    ("genesys-conversations", "app.ingest.genesys:GENESYS_CONVERSATIONS"),
)
RECORD_KINDS: tuple[str, ...] = get_args(RecordKind)
#: The drop directory's folder of import profiles' folders (``<drop>/profiles/<name>/``, app.ingest.dropdir).
PROFILES_FOLDER = "profiles"
#: Folders beside the formats' own in the drop directory.
RESERVED_FOLDERS = frozenset({"processed", "failed", PROFILES_FOLDER})
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_FOLDER = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")  # a directory, and part of its source's name: drop-<folder>
_SUFFIX = re.compile(r"(\.[a-z0-9]{1,15})?")  # "" takes files without one
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")

#: Builds the parser of one delivery from the settings; raises ``FormatUnavailable`` when it cannot now.
ParserFactory = Callable[[Settings], Parser]


class FormatUnavailable(IngestError):
    """The service cannot read this format now (no queue map, a broken plugin): the delivery is not at fault, and
    a drop file waits for a later scan."""

    code = "format_unavailable"
    status_code = 503


class FormatFailed(IngestError):
    """A third party's parser broke its contract (raised, or yielded something other than a record of its kind
    or a ``Rejection``): the delivery fails whole, naming the format."""

    code = "format_failed"


class UnknownFormat(LookupError):
    """No registered format by that name, or none for that command or folder: a caller's mistake."""


class FormatRegistryError(RuntimeError):
    """A built-in format cannot be registered: a bug of this package, not of a plugin."""


@dataclass(frozen=True, kw_only=True)
class IngestFormat:
    """One way records may arrive. ``suffixes`` pick it among the formats of one folder or command (the first of
    them takes a file whose suffix none claims); ``example`` is a small delivery shown in the API documentation."""

    name: str
    record_kind: RecordKind
    make_parser: ParserFactory
    summary: str = ""
    suffixes: tuple[str, ...] = ()
    media_types: tuple[str, ...] = ()
    drop_folder: str | None = None
    cli_command: str | None = None
    example: str | None = None
    origin: str = ""  # set on registration: the entry point, "name = module:attribute"


@dataclass(frozen=True)
class FormatProblem:
    """A third party's entry point that was refused, and why."""

    entry_point: str
    reason: str

    def __str__(self) -> str:
        return f"{GROUP} entry point {self.entry_point}: {self.reason}"


class FormatRegistry:
    """The formats in the order they were registered (built-ins first), and the entry points refused."""

    def __init__(self) -> None:
        self._formats: dict[str, IngestFormat] = {}
        self.problems: list[FormatProblem] = []

    def __iter__(self) -> Iterator[IngestFormat]:
        return iter(self._formats.values())

    def get(self, name: str) -> IngestFormat:
        try:
            return self._formats[name]
        except KeyError:
            raise UnknownFormat(f"no ingest format {name!r}; known: {', '.join(self._formats)}") from None

    def register(self, entry_point: EntryPoint, *, builtin: bool = False) -> IngestFormat | None:
        """Load one entry point and add its format; the one way in for built-ins and plugins alike. A plugin's
        problem is recorded and logged (None is returned); a built-in's is raised."""
        where = f"{entry_point.name} = {entry_point.value}"
        dist = getattr(entry_point, "dist", None)
        if dist is not None and not builtin:
            where += f" (from {dist.name})"
        if entry_point.name in self._formats:  # e.g. a built-in's name in stale metadata: not even loaded
            self._refuse(where, f"the name {entry_point.name!r} is taken by {self._formats[entry_point.name].origin}",
                         builtin)
            return None
        try:
            loaded = entry_point.load()
        except (Exception, SystemExit) as exc:
            self._refuse(where, f"cannot be loaded: {_brief(exc)}", builtin)
            return None
        reason = self._clash(entry_point.name, loaded, builtin)
        if reason is not None:
            self._refuse(where, reason, builtin)
            return None
        assert isinstance(loaded, IngestFormat)
        member = replace(loaded, origin=where, make_parser=loaded.make_parser if builtin else _guarded(loaded, where))
        self._formats[member.name] = member
        return member

    def _refuse(self, where: str, reason: str, builtin: bool) -> None:
        problem = FormatProblem(clean(where, 300), clean(reason, 500))
        if builtin:
            raise FormatRegistryError(str(problem))
        self.problems.append(problem)
        log.warning("ingest.format.refused", extra={"entry_point": problem.entry_point, "reason": problem.reason})

    def _clash(self, name: str, member: object, builtin: bool) -> str | None:
        """Why ``member`` cannot be registered under ``name``, or None. The built-ins make the ``vpt ingest``
        commands (app.cli.data); a plugin's format may join one of them."""
        if not isinstance(member, IngestFormat):
            return f"names a {type(member).__name__}, not an app.ingest.formats.IngestFormat"
        if member.name != name:
            return f"names the format {member.name!r}: the entry point and its format must have one name"
        if not _NAME.fullmatch(name):
            return "a format name is 1–64 of a–z 0–9 . _ - (starting with a letter or digit)"
        if member.record_kind not in RECORD_KINDS:
            return f"record_kind must be one of {', '.join(RECORD_KINDS)}, not {member.record_kind!r}"
        if not callable(member.make_parser):
            return "make_parser is not callable"
        for suffix in member.suffixes:
            if not isinstance(suffix, str) or not _SUFFIX.fullmatch(suffix):
                return f"suffix {suffix!r}: a lowercase file suffix such as '.csv', or '' (none)"
        for media_type in member.media_types:
            if not isinstance(media_type, str) or not _MEDIA_TYPE.fullmatch(media_type):
                return f"media type {media_type!r}: a lowercase type/subtype without parameters"
            taken = self._for_media_type(member.record_kind, media_type)
            if taken is not None:
                return f"media type {media_type!r} of {member.record_kind} is taken by {taken.origin}"
        if member.drop_folder is not None:
            if not _FOLDER.fullmatch(member.drop_folder) or member.drop_folder in RESERVED_FOLDERS:
                return (f"drop_folder {member.drop_folder!r}: 1–32 of a–z 0–9 _ -, and none of "
                        f"{', '.join(sorted(RESERVED_FOLDERS))}")
            reason = self._shared("drop folder", [f for f in self if f.drop_folder == member.drop_folder], member)
            if reason is not None:
                return reason
        if member.cli_command is not None:
            others = [f for f in self if f.cli_command == member.cli_command]
            if not others and not builtin:
                commands = sorted({f.cli_command for f in self if f.cli_command})
                return (f"cli_command {member.cli_command!r} is not a `vpt ingest` command ({', '.join(commands)}): "
                        "a format joins one of those, or has none")
            return self._shared("command", others, member)
        return None

    @staticmethod
    def _shared(what: str, others: list[IngestFormat], member: IngestFormat) -> str | None:
        """A folder or command takes records of one kind: a file in it must be stored as what the folder says."""
        if others and others[0].record_kind != member.record_kind:
            return f"the {what} of {others[0].origin} takes {others[0].record_kind}, not {member.record_kind}"
        return None

    # --- choosing ---------------------------------------------------------------------------------------

    def for_file(self, path: Path, *, command: str | None = None, folder: str | None = None) -> IngestFormat:
        """The format of a file given to ``vpt ingest <command>`` or found in drop folder ``<folder>``: the one
        of its formats that claims the file's suffix, else the first of them."""
        candidates = [f for f in self if (command is not None and f.cli_command == command)
                      or (folder is not None and f.drop_folder == folder)]
        if not candidates:
            raise UnknownFormat(f"no ingest format for command {command!r}" if command is not None
                                else f"no ingest format for drop folder {folder!r}")
        suffix = path.suffix.lower()
        return next((f for f in candidates if suffix in f.suffixes), candidates[0])

    def for_media_type(self, record_kind: str, content_type: str | None) -> IngestFormat | None:
        """The format a push of ``record_kind`` with this Content-Type is read as (parameters such as
        ``charset`` are ignored), or None."""
        media_type = (content_type or "").split(";", 1)[0].strip().lower()
        return self._for_media_type(record_kind, media_type)

    def _for_media_type(self, record_kind: str, media_type: str) -> IngestFormat | None:
        return next((f for f in self if f.record_kind == record_kind and media_type in f.media_types), None)

    def media_types(self, record_kind: str) -> tuple[str, ...]:
        return tuple(m for f in self if f.record_kind == record_kind for m in f.media_types)

    def drop_folders(self) -> dict[str, RecordKind]:
        """Every drop folder and the kind of record its files hold, in registration order."""
        return {f.drop_folder: f.record_kind for f in self if f.drop_folder is not None}

    def suffixes(self) -> frozenset[str]:
        """The suffixes of files the drop directory takes at all (in any folder)."""
        return frozenset(s for f in self for s in f.suffixes)


def load_formats(installed: Iterable[EntryPoint] | None = None) -> FormatRegistry:
    """The built-ins, then every other ``vpt.formats`` entry point (``installed``: these instead of the
    package metadata's; ``()`` for the built-ins alone) in name order."""
    registry = FormatRegistry()
    for name, value in BUILTIN:
        registry.register(EntryPoint(name, value, GROUP), builtin=True)
    if installed is None:
        try:
            installed = entry_points(group=GROUP)
        except Exception as exc:  # damaged metadata of some installed package: the built-ins still work
            registry.problems.append(FormatProblem("(all)", f"the installed package metadata cannot be read: "
                                                            f"{_brief(exc)}"))
            log.warning("ingest.format.metadata_unreadable", extra={"error": type(exc).__name__})
            installed = ()
    builtin = set(BUILTIN)
    for entry_point in sorted(installed, key=lambda e: (e.name, e.value)):
        if (entry_point.name, entry_point.value) not in builtin:  # a built-in declared by our own metadata
            registry.register(entry_point)
    return registry


@functools.cache
def builtin_formats() -> FormatRegistry:
    """The built-ins alone: what the API documents (its schema is made at import, before any plugin is loaded)."""
    return load_formats(installed=())


@functools.cache
def default_formats() -> FormatRegistry:
    """The built-ins and every installed plugin, loaded once per process on first use (never at import)."""
    return load_formats()


def _brief(exc: BaseException) -> str:
    """An exception's class and where it was raised: its text may quote the input, which is not repeated."""
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ is not None else []
    at = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""
    return f"{type(exc).__name__}{at}"


def _guarded(member: IngestFormat, where: str) -> ParserFactory:
    """A plugin's factory whose failures, and its parser's, are ingest errors naming it."""
    record_type = CallRecord if member.record_kind == "calls" else IntervalRecord
    label = f"format {member.name!r} ({where})"

    def make(settings: Settings) -> Parser:
        try:
            parser = member.make_parser(settings)
        except FormatUnavailable:
            raise
        except Exception as exc:  # any other error of its factory, an IngestError too: the format is unusable
            log.warning("ingest.format.unavailable", extra={"format": member.name, "error": _brief(exc)})
            raise FormatUnavailable(f"{label} cannot make its parser: {_brief(exc)}") from None

        def parse(stream: IO[str], options: ParseOptions) -> Iterator[Parsed | Rejection]:
            try:
                for result in parser(stream, options):
                    if isinstance(result, Rejection) or (
                        isinstance(result, Parsed) and isinstance(result.record, record_type)
                    ):
                        yield result
                    else:
                        raise FormatFailed(f"{label} yielded a {type(result).__name__}, not a parsed "
                                           f"{record_type.__name__} or a Rejection")
            except (IngestError, FileFormatError):
                raise
            except Exception as exc:
                log.warning("ingest.format.failed", extra={"format": member.name, "error": _brief(exc)})
                raise FormatFailed(f"{label} failed: {_brief(exc)}") from None

        return parse

    return make


__all__ = [
    "BUILTIN", "GROUP", "FormatFailed", "FormatProblem", "FormatRegistry", "FormatUnavailable", "IngestFormat",
    "ParserFactory", "UnknownFormat", "builtin_formats", "default_formats", "load_formats",
]
