"""A drop directory: files written into ``<drop>/calls/``, ``<drop>/intervals/`` or ``<drop>/queue-log/``
are ingested once, then moved to ``<drop>/processed/`` or to ``<drop>/failed/`` beside a reason file.

A file is taken only when its size and modification time have stayed the same for ``settle_seconds``, so a
file still being copied in is left alone. Should the move fail after the commit, the next scan ingests the
file again, which changes nothing (ingest is idempotent), and moves it then.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.ingest.loader import IngestError, RecordKind, RunReport, format_for
from app.ingest.service import ingest_bytes, queue_log_parser

log = logging.getLogger(__name__)

KINDS: dict[str, RecordKind] = {"calls": "calls", "intervals": "intervals", "queue-log": "calls"}
SUFFIXES = {".csv", ".jsonl", ".ndjson", ".json", ".log", ".txt", ""}


@dataclass(frozen=True)
class DropResult:
    path: Path
    moved_to: Path
    ok: bool
    report: RunReport | None
    reason: str | None


def prepare(drop: Path) -> None:
    for name in (*KINDS, "processed", "failed"):
        (drop / name).mkdir(parents=True, exist_ok=True)


def ready_files(
    drop: Path, settle_seconds: float, seen: dict[Path, tuple[int, float]] | None = None, now: float | None = None,
) -> list[tuple[str, Path]]:
    """Files old enough and, when ``seen`` holds the previous scan, unchanged in size and mtime since then:
    a writer that pauses mid-copy (SFTP, SMB) must not have its half file taken."""
    now = time.time() if now is None else now
    found = []
    current: dict[Path, tuple[int, float]] = {}
    for folder in KINDS:
        for path in sorted((drop / folder).glob("*")):
            if not path.is_file() or path.name.startswith(".") or path.suffix.lower() not in SUFFIXES:
                continue
            stat = path.stat()
            current[path] = (stat.st_size, stat.st_mtime)
            stable = seen is None or seen.get(path) == current[path]
            if stable and now - stat.st_mtime >= settle_seconds:
                found.append((folder, path))
    if seen is not None:
        seen.clear()
        seen.update(current)
    return found


def _destination(folder: Path, name: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = folder / f"{stamp}_{name}"
    n = 1
    while target.exists():
        target = folder / f"{stamp}_{n}_{name}"
        n += 1
    return target


def ingest_drop_file(factory: sessionmaker[Session], settings: Settings, folder: str, path: Path) -> DropResult:
    drop = path.parent.parent
    kind = KINDS[folder]
    report: RunReport | None = None
    reason: str | None = None
    parser = None
    if folder == "queue-log":  # an unusable queue map is the service's fault: raise, leaving the file in place
        parser = queue_log_parser(Path(settings.queue_map_file or ""))
    try:
        with path.open("rb") as raw:
            report = ingest_bytes(
                factory, settings, record_kind=kind, raw=raw, fmt=format_for(path), origin=path.name,
                source_name=f"drop-{folder}", source_kind="file", parser=parser,
            )
        if report.rows_read and not (report.rows_stored + report.rows_updated + report.rows_unchanged):
            reason = f"none of the {report.rows_read} rows could be stored: see ingest run {report.run_id}"
    except IngestError as exc:
        reason = str(exc)
    ok = reason is None
    target = _destination(drop / ("processed" if ok else "failed"), path.name)
    path.replace(target)
    summary = {
        "file": path.name, "ingested_at": datetime.now(UTC).isoformat(), "ok": ok, "reason": reason,
        "run_id": report.run_id if report else None,
        "rows": None if report is None else {
            "read": report.rows_read, "stored": report.rows_stored, "updated": report.rows_updated,
            "unchanged": report.rows_unchanged, "rejected": report.rows_rejected,
        },
        "rejections": [] if report is None else [r.describe() for r in report.rejections[:20]],
    }
    suffix = ".report.json" if ok else ".reason.json"
    target.with_name(target.name + suffix).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    log.info("drop.file.done", extra={"file": path.name, "ok": ok, "moved_to": str(target)})
    return DropResult(path, target, ok, report, reason)


def scan(
    factory: sessionmaker[Session], settings: Settings, drop: Path, settle_seconds: float = 2.0,
    seen: dict[Path, tuple[int, float]] | None = None, stop: threading.Event | None = None,
) -> list[DropResult]:
    """Ingest every ready file. A problem of the service rather than the file (a missing queue map, changed
    definitions, a database error) leaves the file where it is for a later scan; it is never moved to failed/."""
    prepare(drop)
    results = []
    for folder, path in ready_files(drop, settle_seconds, seen):
        if stop is not None and stop.is_set():
            break
        if folder == "queue-log" and not settings.queue_map_file:
            log.warning("drop.file.waiting", extra={"file": path.name, "reason": "VPT_QUEUE_MAP_FILE is not set"})
            continue
        try:
            results.append(ingest_drop_file(factory, settings, folder, path))
        except Exception:
            log.exception("drop.file.error", extra={"file": path.name})
    return results
