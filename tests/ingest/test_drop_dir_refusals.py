"""The drop directory reads only regular files of their own, and refuses a file with one warning, never a
traceback (issue 12, items 1, 3 and 6). On SQLite and PostgreSQL where the database is involved."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import Call, IngestRun, RejectedRow, Source
from app.db.session import make_engine, make_session_factory, transaction
from app.ingest import dropdir
from tests.ingest.db_dump import database_text

CALLS_CSV = "call_id,region,queue,arrived_at,outcome\nd1,SE-AC,vpt,2025-10-01T08:00:00Z,rejected\n"
SECRET_ENV = ("VPT_DATABASE_URL=postgresql://vpt:s3cretPassw0rd@db:5432/vpt\n"
              "VPT_ALERT_WEBHOOK_SECRET=wh-4f9c2e7a1b|sig|x|y|z\n")


def count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    dropdir.prepare(folder)
    return folder


@pytest.fixture
def mapped(settings: Settings, tmp_path: Path) -> Settings:
    queue_map = tmp_path / "map.csv"
    queue_map.write_text("queue,region\nvpt_ac,SE-AC\n")
    return settings.model_copy(update={"queue_map_file": str(queue_map)})


def failed(drop: Path) -> dict[str, dict[str, object]]:
    """Entries in failed/ by their original name, with the reason file's content."""
    found = {}
    for reason in (drop / "failed").glob("*.reason.json"):
        summary = json.loads(reason.read_text(encoding="utf-8"))
        found[summary["file"]] = summary
    return found


def warnings_and_tracebacks(caplog: pytest.LogCaptureFixture) -> tuple[list[str], list[str]]:
    records = [r for r in caplog.records if r.name == dropdir.__name__]
    return ([r.getMessage() for r in records if r.levelno == logging.WARNING],
            [r.getMessage() for r in records if r.exc_info])


def test_links_and_other_non_regular_entries_are_refused_unread_and_moved_themselves(
    session_factory, mapped, drop, tmp_path, caplog
):
    secrets = tmp_path / "etc" / "vpt.env"  # stands for /etc/vpt/vpt.env
    secrets.parent.mkdir()
    secrets.write_text(SECRET_ENV)
    (drop / "queue-log" / "x.log").symlink_to(secrets)
    (drop / "calls" / "env.csv").symlink_to("/proc/self/environ")
    (drop / "queue-log" / "hard.log").hardlink_to(secrets)
    (drop / "calls" / "folder").mkdir()
    os.mkfifo(drop / "intervals" / "pipe.csv")
    caplog.set_level(logging.INFO, logger=dropdir.__name__)

    results = dropdir.scan(session_factory, mapped, drop, settle_seconds=0)

    assert sorted((r.path.name, r.ok) for r in results) == [
        ("env.csv", False), ("folder", False), ("hard.log", False), ("pipe.csv", False), ("x.log", False)]
    reasons = {name: summary["reason"] for name, summary in failed(drop).items()}
    assert reasons["x.log"] == reasons["env.csv"] == dropdir.SYMLINK
    assert str(reasons["hard.log"]).startswith("a hard link (2 names of one file)")
    assert str(reasons["folder"]).startswith("a directory, not a regular file")
    assert str(reasons["pipe.csv"]).startswith("a FIFO, not a regular file")
    moved = {p.name.split("_", 1)[1]: p for p in (drop / "failed").iterdir() if not p.name.endswith(".json")}
    assert moved["x.log"].is_symlink() and moved["env.csv"].is_symlink()  # the link moved, not its target
    assert secrets.read_text() == SECRET_ENV and os.stat(secrets).st_nlink == 2
    assert not [p for folder in dropdir.KINDS for p in (drop / folder).iterdir()]
    warnings, tracebacks = warnings_and_tracebacks(caplog)
    assert warnings == ["drop.file.refused"] * 5 and tracebacks == []
    assert count(session_factory, IngestRun) == count(session_factory, RejectedRow) == 0
    everything = database_text(session_factory)
    assert not [s for s in ("s3cretPassw0rd", "wh-4f9c2e7a1b", "VPT_", "PATH=") if s in everything]


def test_a_file_swapped_for_a_link_after_the_scan_looked_is_still_refused(drop, tmp_path):
    target = tmp_path / "secret.csv"
    target.write_text(CALLS_CSV)
    link = drop / "calls" / "late.csv"
    link.symlink_to(target)
    with pytest.raises(dropdir.RefusedFile, match="a symbolic link"):
        dropdir._open(link)  # O_NOFOLLOW: what ready_files saw no longer matters
    hard = drop / "calls" / "hard.csv"
    hard.hardlink_to(target)
    with pytest.raises(dropdir.RefusedFile, match="a hard link"):
        dropdir._open(hard)  # fstat of what was opened


def test_a_symlinked_kind_folder_is_not_read_through(session_factory, settings, drop, tmp_path, caplog):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "calls.csv").write_text(CALLS_CSV)
    (drop / "calls").rmdir()
    (drop / "calls").symlink_to(elsewhere)
    caplog.set_level(logging.WARNING, logger=dropdir.__name__)
    assert dropdir.scan(session_factory, settings, drop, settle_seconds=0) == []
    assert (elsewhere / "calls.csv").exists() and count(session_factory, Call) == 0
    assert warnings_and_tracebacks(caplog) == (["drop.folder.refused"], [])


def test_a_refused_source_moves_the_file_to_failed_with_one_warning(session_factory, settings, drop, caplog):
    with transaction(session_factory) as session:  # the drop folder's source name, taken by a push source
        session.add(Source(name="drop-calls", kind="push"))
    (drop / "calls" / "a.csv").write_text(CALLS_CSV)
    caplog.set_level(logging.INFO, logger=dropdir.__name__)
    [result] = dropdir.scan(session_factory, settings, drop, settle_seconds=0)
    assert not result.ok and "is a push source, not file" in (result.reason or "")
    assert failed(drop)["a.csv"]["reason"] == result.reason
    assert warnings_and_tracebacks(caplog) == (["drop.file.refused"], [])
    assert count(session_factory, Call) == 0


def test_changed_definitions_leave_the_file_in_place_with_a_warning(session_factory, settings, drop, caplog):
    (drop / "calls" / "first.csv").write_text(CALLS_CSV)
    assert [r.ok for r in dropdir.scan(session_factory, settings, drop, settle_seconds=0)] == [True]
    changed = Settings(database_url=settings.database_url, sl_seconds=settings.sl_seconds + 60,  # type: ignore[call-arg]
                       _env_file=None)
    waiting = drop / "calls" / "second.csv"
    waiting.write_text(CALLS_CSV)
    caplog.set_level(logging.INFO, logger=dropdir.__name__)
    assert dropdir.scan(session_factory, changed, drop, settle_seconds=0) == []
    assert waiting.exists() and not failed(drop)
    assert warnings_and_tracebacks(caplog) == (["drop.file.waiting"], [])


def test_a_database_that_is_down_leaves_the_file_in_place(drop, tmp_path, caplog):
    down = Settings(database_url=f"sqlite:///{tmp_path}/no/such/dir/vpt.db", _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(down)
    try:
        waiting = drop / "calls" / "a.csv"
        waiting.write_text(CALLS_CSV)
        caplog.set_level(logging.INFO, logger=dropdir.__name__)
        assert dropdir.scan(make_session_factory(engine), down, drop, settle_seconds=0) == []
    finally:
        engine.dispose()
    assert waiting.exists() and not any((drop / "failed").iterdir())


def test_a_lone_surrogate_and_an_undecodable_file_name_give_a_full_report_and_no_traceback(
    session_factory, settings, drop, caplog
):
    rest = '"region": "SE-AC", "arrived_at": "2025-10-01T08:00:00Z", "outcome": "rejected"}\n'
    body = '{"call_id": "bad\\ud800", ' + rest + '{"call_id": "ok", ' + rest
    name = os.fsencode(drop / "calls") + b"/odd\xff\x1b[31m.jsonl"  # not UTF-8, and a terminal escape
    with open(name, "wb") as out:
        out.write(body.encode())
    caplog.set_level(logging.INFO, logger=dropdir.__name__)
    [result] = dropdir.scan(session_factory, settings, drop, settle_seconds=0)
    assert result.ok and result.report is not None and result.report.rows_rejected == 1
    [report_file] = (drop / "processed").glob("*.report.json")
    summary = json.loads(report_file.read_text(encoding="utf-8"))
    assert summary["file"] == "odd\\udcff\\x1b[31m.jsonl"
    assert summary["rejections"] == ["line 1 (bad\\ud800), field call_id: not valid Unicode: a lone surrogate U+D800"]
    assert warnings_and_tracebacks(caplog) == ([], [])
    with session_factory() as session:
        assert session.scalars(select(IngestRun.origin)).one() == "odd\\udcff\\x1b[31m.jsonl"
