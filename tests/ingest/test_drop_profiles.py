"""The drop directory's profile folders (issue 14 §5): a file in ``<drop>/profiles/<name>/`` is read through that
import profile under the source ``drop-profiles.<name>``; a folder of no usable profile keeps its files for a later
scan; links are never followed. On SQLite and PostgreSQL where the database is involved."""

from __future__ import annotations

import json
import logging
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import IngestRun, IntervalRow, Source
from app.ingest import dropdir
from app.ingest.builtin_formats import INTERVALS_CSV
from app.ingest.formats import GROUP, FormatRegistry, FormatRegistryError, IngestFormat

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
DAILY = (SAMPLES / "profiles" / "se-statistik-dag.csv").read_bytes()  # 9 region rows, 3 national totals
#: A region's own sheet: the built-in with another header for the offered calls (docs/profiles.md "extends").
OWN_PROFILE = """
[profile]
name = "var-statistik"
title = "Vår statistik"
record = "intervals"
extends = "se-statistik-dag"

[fields]
offered = "Antal inkommande"
"""
#: A plugin format that would take the profiles' folder: refused, the folder is reserved.
PROFILES_FORMAT = IngestFormat(name="takes-profiles", record_kind="intervals", make_parser=INTERVALS_CSV.make_parser,
                               drop_folder="profiles", suffixes=(".csv",))


def count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    dropdir.prepare(folder)
    return folder


def events(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == dropdir.__name__ and r.levelno >= logging.WARNING]


def test_prepare_makes_the_profiles_folder_and_the_name_is_the_one_source_name() -> None:
    assert dropdir.PROFILES_FOLDER == "profiles"
    assert dropdir.profile_source_name("se-statistik-dag") == "drop-profiles.se-statistik-dag"
    assert dropdir.profile_of("profiles/se-statistik-dag") == "se-statistik-dag"
    assert dropdir.profile_of("intervals") is None


def test_a_file_in_a_profile_folder_is_read_through_that_profile(
    session_factory: sessionmaker[Session], settings: Settings, drop: Path
) -> None:
    assert (drop / "profiles").is_dir()
    folder = drop / "profiles" / "se-statistik-dag"
    folder.mkdir()
    (folder / "oktober.csv").write_bytes(DAILY)
    [result] = dropdir.scan(session_factory, settings, drop, settle_seconds=0)
    assert result.ok and result.report is not None and result.moved_to.parent == drop / "processed"
    assert (result.report.rows_read, result.report.rows_stored, result.report.record_kind) == (9, 9, "intervals")
    assert not any(folder.iterdir())
    summary = json.loads(result.moved_to.with_name(result.moved_to.name + ".report.json").read_text())
    assert summary["rows"]["stored"] == 9
    with session_factory() as session:
        source = session.scalars(select(Source)).one()
        assert (source.name, source.kind) == ("drop-profiles.se-statistik-dag", "file")
    assert count(session_factory, IntervalRow) == 9
    (folder / "again.csv").write_bytes(DAILY)  # the same delivery again changes nothing
    [again] = dropdir.scan(session_factory, settings, drop, settle_seconds=0)
    assert again.ok and again.report is not None and again.report.rows_unchanged == 9
    assert count(session_factory, IntervalRow) == 9


def test_a_folder_of_no_usable_profile_keeps_its_files_until_the_profile_exists(
    session_factory: sessionmaker[Session], settings: Settings, drop: Path, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = drop / "profiles" / "var-statistik"
    folder.mkdir()
    sheet = folder / "oktober.csv"
    sheet.write_bytes(DAILY.replace(b"Inkommande samtal", b"Antal inkommande"))
    caplog.set_level(logging.INFO, logger=dropdir.__name__)
    assert dropdir.scan(session_factory, settings, drop, settle_seconds=0) == []
    assert sheet.exists() and not any((drop / "failed").iterdir()) and count(session_factory, IngestRun) == 0
    assert events(caplog) == ["drop.file.waiting"]

    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "var-statistik.toml").write_text(OWN_PROFILE, encoding="utf-8")
    with_profile = settings.model_copy(update={"profiles_dir": str(profiles)})
    [result] = dropdir.scan(session_factory, with_profile, drop, settle_seconds=0)
    assert result.ok and result.report is not None and result.report.rows_stored == 9
    with session_factory() as session:
        assert session.scalar(select(Source.name)) == "drop-profiles.var-statistik"


def test_a_file_every_row_of_which_is_rejected_goes_to_failed(
    session_factory: sessionmaker[Session], settings: Settings, drop: Path
) -> None:
    folder = drop / "profiles" / "se-statistik-dag"
    folder.mkdir()
    (folder / "fel.csv").write_text("Datum;Region;Inkommande samtal;Besvarade;Avbrutna\n"
                                    "2025-10-30;Atlantis;10;9;1\n", encoding="utf-8")
    [result] = dropdir.scan(session_factory, settings, drop, settle_seconds=0)
    assert not result.ok and result.moved_to.parent == drop / "failed"
    assert "none of the 1 rows could be stored" in (result.reason or "")
    assert count(session_factory, IntervalRow) == 0


def test_links_are_not_followed(
    session_factory: sessionmaker[Session], settings: Settings, drop: Path, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "oktober.csv").write_bytes(DAILY)
    (drop / "profiles" / "se-statistik-dag").symlink_to(elsewhere)  # a profile folder that is a link
    (drop / "profiles" / "se-statistik-manad").mkdir()
    (drop / "profiles" / "se-statistik-manad" / "link.csv").symlink_to(elsewhere / "oktober.csv")
    (drop / "profiles" / "Not A Profile").mkdir()
    caplog.set_level(logging.INFO, logger=dropdir.__name__)

    [result] = dropdir.scan(session_factory, settings, drop, settle_seconds=0)

    assert (result.path.name, result.ok, result.reason) == ("link.csv", False, dropdir.SYMLINK)
    assert (drop / "failed" / result.moved_to.name).is_symlink()  # the link itself moved, never what it points to
    assert (elsewhere / "oktober.csv").read_bytes() == DAILY
    assert count(session_factory, IntervalRow) == 0 and count(session_factory, IngestRun) == 0
    assert sorted(events(caplog)) == ["drop.file.refused", "drop.folder.refused", "drop.folder.refused"]


def test_a_linked_profiles_folder_is_not_followed(
    session_factory: sessionmaker[Session], settings: Settings, drop: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "se-statistik-dag").mkdir(parents=True)
    (elsewhere / "se-statistik-dag" / "oktober.csv").write_bytes(DAILY)
    (drop / "profiles").rmdir()
    (drop / "profiles").symlink_to(elsewhere)
    assert dropdir.scan(session_factory, settings, drop, settle_seconds=0) == []
    assert (elsewhere / "se-statistik-dag" / "oktober.csv").exists() and count(session_factory, IngestRun) == 0


def test_no_format_may_take_the_profiles_folder() -> None:
    registry = FormatRegistry()
    entry = EntryPoint("takes-profiles", f"{__name__}:PROFILES_FORMAT", GROUP)
    assert registry.register(entry) is None
    assert "none of failed, processed, profiles" in registry.problems[0].reason
    with pytest.raises(FormatRegistryError, match="profiles"):
        FormatRegistry().register(entry, builtin=True)
