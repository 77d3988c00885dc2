"""A drop directory: files written into ``<drop>/calls/``, ``<drop>/intervals/`` or ``<drop>/queue-log/`` (or
the folder of a plugin's format: app.ingest.formats) are ingested once, then moved to ``<drop>/processed/`` or to
``<drop>/failed/`` beside a reason file. The folder and the file's suffix choose the format.

A file is taken only when its size and modification time have stayed the same for ``settle_seconds``, so a
file still being copied in is left alone. Should the move fail after the commit, the next scan ingests the
file again, which changes nothing (ingest is idempotent), and moves it then.

Only regular files with a single name are read. Whoever may write into the folder could otherwise make the
service read any file it can: a symbolic link to ``/etc/vpt/vpt.env`` or ``/proc/self/environ``, or a hard link
to a file that lives elsewhere. Such an entry, and anything else that is not a regular file (a directory, a
FIFO), is refused unread: one warning, and the entry itself, never what it points to, is moved to ``failed/``
beside its reason. The entry is checked before it is opened (``lstat``) and what was opened is checked again
(``O_NOFOLLOW``, then ``fstat``), so swapping a file for a link in between gains nothing.

A file the service cannot take now (no usable queue map, changed definitions, the ingest lock held, the
database down) stays where it is for a later scan; only a file at fault is moved to ``failed/``.

Import profiles (docs/profiles.md): a file in ``<drop>/profiles/<name>/`` is read through the profile ``<name>``,
whatever its suffix says (among the suffixes the drop directory takes at all), as the records that profile holds,
under the source ``profile_source_name(<name>)``. A folder named after no usable profile (unknown, or its file
broken) keeps its files for a later scan, with a warning: the profile may be added or fixed. ``profiles`` is
reserved: no format may have it as its folder (app.ingest.formats.RESERVED_FOLDERS). Neither ``profiles/`` nor a
folder in it is followed when it is a symbolic link.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import stat
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.ingest.formats import PROFILES_FOLDER, FormatRegistry, FormatUnavailable, builtin_formats, default_formats
from app.ingest.loader import DefinitionsChanged, IngestError, Parser
from app.ingest.lock import IngestBusy
from app.ingest.profiles import ProfileError, load_profiles, profile_parser
from app.ingest.profiles.model import NAME as PROFILE_NAME
from app.ingest.runs import RecordKind, RunReport, SourceKindMismatch
from app.ingest.service import ingest_bytes
from app.sanitize import clean

log = logging.getLogger(__name__)

#: The built-in formats' folders and what their files hold; a plugin's format may add one (``FormatRegistry``).
KINDS: dict[str, RecordKind] = builtin_formats().drop_folders()


def source_name(folder: str) -> str:
    """The source a drop folder's files are ingested under (reserved: no push may take it)."""
    return f"drop-{folder}"




def profile_source_name(profile: str) -> str:
    """The source the files of ``<drop>/profiles/<profile>/`` are ingested under: ``drop-profiles.<profile>``. A
    format's folder has no ``.`` in its name, so no folder's source can ever take it; no push source may either
    (app.ingest.source_admin refuses every name that starts with ``profile_source_name("")``)."""
    return f"{source_name(PROFILES_FOLDER)}.{profile}"


#: The file's fault: it is moved to failed/ with the reason (a refused source name is the delivery's problem too).
REFUSED = (IngestError, SourceKindMismatch)
#: The service's: the file stays for a later scan, with a warning and no traceback.
NOT_NOW = (DefinitionsChanged, IngestBusy)
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)  # NONBLOCK: a FIFO
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
SYMLINK = "a symbolic link: only regular files are ingested, never what a link points to"


@dataclass(frozen=True)
class DropResult:
    path: Path
    moved_to: Path
    ok: bool
    report: RunReport | None
    reason: str | None


class RefusedFile(IngestError):
    """An entry that is not a regular file with a single name: refused before anything of it is read."""


class Waiting(Exception):
    """The service cannot take the file now (e.g. no queue map): it stays where it is for a later scan."""


def prepare(drop: Path, formats: FormatRegistry | None = None) -> None:
    for name in (*(formats or default_formats()).drop_folders(), PROFILES_FOLDER, "processed", "failed"):
        (drop / name).mkdir(parents=True, exist_ok=True)


def _folders(drop: Path, registry: FormatRegistry) -> list[str]:
    """The formats' folders, then ``profiles/<name>`` for every profile folder: directories of the drop
    directory's own (a link to a directory elsewhere is not followed)."""
    folders = list(registry.drop_folders())
    base = drop / PROFILES_FOLDER
    if base.is_symlink() or not base.is_dir():
        return folders
    for entry in sorted(base.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink() or not entry.is_dir() or not PROFILE_NAME.fullmatch(entry.name):
            log.warning("drop.folder.refused", extra={"folder": clean(str(entry)), "reason": "not a directory of "
                                                      "the drop directory's own named as an import profile"})
            continue
        folders.append(f"{PROFILES_FOLDER}/{entry.name}")
    return folders


def profile_of(folder: str) -> str | None:
    """The profile a folder of ``_folders`` reads its files through, or None for a format's folder."""
    prefix = PROFILES_FOLDER + "/"
    return folder[len(prefix):] if folder.startswith(prefix) else None


def refusal(info: os.stat_result) -> str | None:
    """Why an entry with this ``lstat`` (or ``fstat``) is not read, or None for a regular file of its own."""
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return SYMLINK
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a special file"
        return f"{kind}, not a regular file: only regular files are ingested"
    if info.st_nlink > 1:
        return (f"a hard link ({info.st_nlink} names of one file): only files with a single name are ingested, "
                "so that no file kept elsewhere is read through the drop directory")
    return None


def _open(path: Path) -> BinaryIO:
    """The file for reading, or ``RefusedFile``; ``FileNotFoundError`` if it is gone."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise RefusedFile(SYMLINK if exc.errno == errno.ELOOP else f"cannot be opened: {exc.strerror}") from None
    try:
        reason = refusal(os.fstat(fd))
        if reason is not None:
            raise RefusedFile(reason)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def ready_files(
    drop: Path, settle_seconds: float, seen: dict[Path, tuple[int, float]] | None = None, now: float | None = None,
    formats: FormatRegistry | None = None,
) -> list[tuple[str, Path]]:
    """Entries old enough and, when ``seen`` holds the previous scan, unchanged in size and mtime since then:
    a writer that pauses mid-copy (SFTP, SMB) must not have its half file taken. Entries are looked at, never
    followed (``lstat``): a link is taken, to be refused, not what it points to."""
    now = time.time() if now is None else now
    registry = formats or default_formats()
    suffixes = registry.suffixes()
    found = []
    current: dict[Path, tuple[int, float]] = {}
    for folder in _folders(drop, registry):
        base = drop / folder
        if base.is_symlink() or not base.is_dir():
            log.warning("drop.folder.refused", extra={"folder": clean(str(base)),
                                                      "reason": "not a directory of the drop directory's own"})
            continue
        for path in sorted(base.iterdir()):
            if path.name.startswith(".") or path.suffix.lower() not in suffixes:
                continue
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue
            current[path] = (info.st_size, info.st_mtime)
            stable = seen is None or seen.get(path) == current[path]
            if stable and now - info.st_mtime >= settle_seconds:
                found.append((folder, path))
    if seen is not None:
        seen.clear()
        seen.update(current)
    return found


def _destination(folder: Path, name: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = folder / f"{stamp}_{name}"
    n = 1
    while target.exists() or target.is_symlink():
        target = folder / f"{stamp}_{n}_{name}"
        n += 1
    return target


def _write_summary(path: Path, summary: dict[str, object]) -> None:
    """Encoded before the file is made (every text in it is sanitised), and never written through a link."""
    data = (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, _WRITE_FLAGS, 0o666)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _settle_file(drop: Path, path: Path, report: RunReport | None, reason: str | None) -> DropResult:
    """Move the entry itself (``rename`` never follows a link) and write its summary beside it."""
    ok = reason is None
    target = _destination(drop / ("processed" if ok else "failed"), path.name)
    path.replace(target)
    name = clean(path.name)
    summary = {
        "file": name, "ingested_at": datetime.now(UTC).isoformat(), "ok": ok, "reason": reason,
        "run_id": report.run_id if report else None,
        "rows": None if report is None else {
            "read": report.rows_read, "stored": report.rows_stored, "updated": report.rows_updated,
            "unchanged": report.rows_unchanged, "rejected": report.rows_rejected, "warned": report.rows_warned,
        },
        "rejections": [] if report is None else [r.describe() for r in report.rejections[:20]],
        "warnings": [] if report is None else [w.describe() for w in report.warning_sample[:20]],
    }
    _write_summary(target.with_name(target.name + (".report.json" if ok else ".reason.json")), summary)
    if ok:
        log.info("drop.file.done", extra={"file": name, "ok": ok, "moved_to": clean(str(target))})
    else:
        log.warning("drop.file.refused", extra={"file": name, "reason": reason, "moved_to": clean(str(target))})
    return DropResult(path, target, ok, report, reason)


def ingest_drop_file(
    factory: sessionmaker[Session], settings: Settings, folder: str, path: Path, formats: FormatRegistry | None = None,
) -> DropResult:
    """Ingest one entry and move it. Raises ``Waiting`` (or one of ``NOT_NOW``, or a database error) when the
    service cannot take it now, leaving it in place; ``FileNotFoundError`` when it went away meanwhile."""
    drop = path.parents[len(Path(folder).parts)]
    report: RunReport | None = None
    reason: str | None = None
    try:
        raw = _open(path)
    except RefusedFile as exc:
        return _settle_file(drop, path, None, clean(str(exc)))
    with raw:
        record_kind, parser, source = _reader(settings, folder, path, formats)
        try:
            report = ingest_bytes(
                factory, settings, record_kind=record_kind, raw=raw, origin=path.name, source_name=source,
                source_kind="file", parser=parser,
            )
            if report.status == "rejected":  # the run's own verdict: rows read, none stored
                reason = f"none of the {report.rows_read} rows could be stored: see ingest run {report.run_id}"
        except REFUSED as exc:
            reason = clean(str(exc))
    return _settle_file(drop, path, report, reason)


def _reader(
    settings: Settings, folder: str, path: Path, formats: FormatRegistry | None,
) -> tuple[RecordKind, Parser, str]:
    """What a file of ``folder`` holds, its parser and its source; ``Waiting`` when the service cannot read it now
    (no usable queue map, no usable profile of the folder's name): the service's fault, not the file's."""
    profile_name = profile_of(folder)
    try:
        if profile_name is not None:
            profile = load_profiles(settings).get(profile_name)
            return profile.record_kind, profile_parser(profile, settings), profile_source_name(profile_name)
        chosen = (formats or default_formats()).for_file(path, folder=folder)
        return chosen.record_kind, chosen.make_parser(settings), source_name(folder)
    except (FormatUnavailable, ProfileError) as exc:
        raise Waiting(str(exc)) from None


def scan(
    factory: sessionmaker[Session], settings: Settings, drop: Path, settle_seconds: float = 2.0,
    seen: dict[Path, tuple[int, float]] | None = None, stop: threading.Event | None = None,
    formats: FormatRegistry | None = None,
) -> list[DropResult]:
    """Ingest every ready file. A problem of the service rather than the file (a missing queue map, changed
    definitions, a database error) leaves the file where it is for a later scan; it is never moved to failed/.
    Only an error nobody foresaw is logged with its traceback."""
    registry = formats or default_formats()
    prepare(drop, registry)
    results = []
    for folder, path in ready_files(drop, settle_seconds, seen, formats=registry):
        if stop is not None and stop.is_set():
            break
        try:
            results.append(ingest_drop_file(factory, settings, folder, path, registry))
        except (Waiting, *NOT_NOW) as exc:
            log.warning("drop.file.waiting", extra={"file": clean(path.name), "reason": clean(str(exc))})
        except FileNotFoundError:
            log.info("drop.file.gone", extra={"file": clean(path.name)})
        except Exception:
            log.exception("drop.file.error", extra={"file": clean(path.name)})
    return results
