"""A drop directory: files written into ``<drop>/calls/``, ``<drop>/intervals/`` or ``<drop>/queue-log/``
are ingested once, then moved to ``<drop>/processed/`` or to ``<drop>/failed/`` beside a reason file.

A file is taken only when its size and modification time have stayed the same for ``settle_seconds``, so a
file still being copied in is left alone. Should the move fail after the commit, the next scan ingests the
file again, which changes nothing (ingest is idempotent), and moves it then.
"""

from __future__ import annotations

import json
import logging
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


def ready_files(drop: Path, settle_seconds: float, now: float | None = None) -> list[tuple[str, Path]]:
    now = time.time() if now is None else now
    found = []
    for folder in KINDS:
        for path in sorted((drop / folder).glob("*")):
            if not path.is_file() or path.name.startswith(".") or path.suffix.lower() not in SUFFIXES:
                continue
            if now - path.stat().st_mtime >= settle_seconds:
                found.append((folder, path))
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
    try:
        parser = None
        if folder == "queue-log":
            if not settings.queue_map_file:
                raise IngestError("queue_log files need VPT_QUEUE_MAP_FILE (a CSV with columns queue,region)")
            parser = queue_log_parser(Path(settings.queue_map_file))
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
    factory: sessionmaker[Session], settings: Settings, drop: Path, settle_seconds: float = 2.0
) -> list[DropResult]:
    prepare(drop)
    return [ingest_drop_file(factory, settings, folder, path) for folder, path in ready_files(drop, settle_seconds)]
