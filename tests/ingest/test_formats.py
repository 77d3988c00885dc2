"""The format registry (issue 13): one place chooses how a delivery is read, for the drop directory, the CLI and
the push router alike; plugins come in through ``vpt.formats`` entry points like the built-ins, and a bad one is
refused by name while the service runs on. Where storage is involved, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import sys
import textwrap
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from app.api.app import create_app
from app.cli import app as cli
from app.config import Settings
from app.db.models import Call, IngestRun, Source
from app.ingest import dropdir
from app.ingest.formats import (
    BUILTIN,
    GROUP,
    FormatFailed,
    FormatRegistry,
    FormatRegistryError,
    FormatUnavailable,
    builtin_formats,
    load_formats,
)
from app.ingest.service import ingest_bytes
from tests.auth import key_headers

ROOT = Path(__file__).resolve().parents[2]
CALLS = "call_id,region,queue,arrived_at,outcome\np1,SE-AC,vpt,2025-10-01T08:00:00Z,rejected\n"
#: A third party's package: pipe-separated call records, read by the canonical CSV parser once the pipes are commas.
PLUGIN = '''
import io
from app.ingest.formats import IngestFormat
from app.ingest.parsers import parse_calls


def _pipes(settings):
    def parse(stream, options):
        return parse_calls(io.StringIO(stream.read().replace("|", ",")), "csv", options)
    return parse


def _broken_factory(settings):
    raise RuntimeError("no licence for +46701234567")


def _raising(settings):
    def parse(stream, options):
        yield from ()
        raise KeyError("+46701234567")
    return parse


def _wrong_kind(settings):
    def parse(stream, options):
        yield "a row"
    return parse


PIPES = IngestFormat(name="pipes", record_kind="calls", make_parser=_pipes, suffixes=(".psv",),
                     media_types=("text/x-psv",), drop_folder="pipes", cli_command="calls")
UNLICENSED = IngestFormat(name="unlicensed", record_kind="calls", make_parser=_broken_factory, drop_folder="unlicensed")
RAISING = IngestFormat(name="raising", record_kind="calls", make_parser=_raising)
WRONG_KIND = IngestFormat(name="wrong-kind", record_kind="calls", make_parser=_wrong_kind)
CLASH = IngestFormat(name="clash", record_kind="calls", make_parser=_pipes, media_types=("text/csv",))
NO_COMMAND = IngestFormat(name="no-command", record_kind="calls", make_parser=_pipes, cli_command="genesys")
MIXED_FOLDER = IngestFormat(name="mixed", record_kind="intervals", make_parser=_pipes, drop_folder="calls")
NOT_A_FORMAT = {"name": "dict"}
'''


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable plugin module of its own name (imported anew by each test)."""
    name = f"vpt_plugin_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(PLUGIN)
    (tmp_path / "vpt_crashing.py").write_text("raise RuntimeError('at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "vpt_crashing", raising=False)
    return name


def entry(name: str, value: str) -> EntryPoint:
    return EntryPoint(name, value, GROUP)


def test_the_built_ins_are_declared_in_pyproject_as_the_registry_loads_them() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][GROUP]
    assert declared == dict(BUILTIN)
    assert [f.name for f in load_formats(installed=())] == [name for name, _ in BUILTIN]


def test_a_stale_or_missing_installation_still_has_every_built_in() -> None:
    stale = [entry("calls-csv", "app.ingest.parsers:CALLS_CSV"), *(entry(n, v) for n, v in BUILTIN[1:])]
    registry = load_formats(installed=stale)
    assert [f.name for f in registry] == [name for name, _ in BUILTIN]
    assert [p.entry_point for p in registry.problems] == ["calls-csv = app.ingest.parsers:CALLS_CSV"]
    assert "is taken by calls-csv = app.ingest.builtin_formats:CALLS_CSV" in registry.problems[0].reason


def test_each_bad_entry_point_is_refused_by_name_and_the_rest_are_registered(
    plugin: str, caplog: pytest.LogCaptureFixture,
) -> None:
    bad = {
        "missing": "vpt_no_such_package:FORMAT",
        "crashing": "vpt_crashing:FORMAT",
        "dict": f"{plugin}:NOT_A_FORMAT",
        "other-name": f"{plugin}:RAISING",
        "clash": f"{plugin}:CLASH",
        "no-command": f"{plugin}:NO_COMMAND",
        "mixed": f"{plugin}:MIXED_FOLDER",
    }
    registry = load_formats(installed=[entry("pipes", f"{plugin}:PIPES"), *(entry(n, v) for n, v in bad.items())])
    assert [f.name for f in registry] == [*(name for name, _ in BUILTIN), "pipes"]
    reasons = {p.entry_point.split(" = ")[0]: p.reason for p in registry.problems}
    assert reasons == {
        "clash": f"media type 'text/csv' of calls is taken by calls-csv = {dict(BUILTIN)['calls-csv']}",
        "crashing": "cannot be loaded: RuntimeError at vpt_crashing.py:1 in <module>",
        "dict": "names a dict, not an app.ingest.formats.IngestFormat",
        "missing": "cannot be loaded: ModuleNotFoundError"
                   + reasons["missing"].removeprefix("cannot be loaded: ModuleNotFoundError"),
        "mixed": f"the drop folder of calls-csv = {dict(BUILTIN)['calls-csv']} takes calls, not intervals",
        "no-command": "cli_command 'genesys' is not a `vpt ingest` command (calls, intervals, queue-log): a format "
                      "joins one of those, or has none",
        "other-name": "names the format 'raising': the entry point and its format must have one name",
    }
    assert all(str(p).startswith(f"vpt.formats entry point {p.entry_point}: ") for p in registry.problems)
    logged = [r for r in caplog.records if r.getMessage() == "ingest.format.refused"]
    assert sorted(r.entry_point for r in logged) == sorted(p.entry_point for p in registry.problems)


@pytest.mark.parametrize(("name", "command", "folder", "chosen"), [
    ("a.csv", "calls", None, "calls-csv"),
    ("a.CSV", "calls", None, "calls-csv"),
    ("a.jsonl", "calls", None, "calls-jsonl"),
    ("a.ndjson", "intervals", None, "intervals-jsonl"),
    ("a.json", None, "intervals", "intervals-jsonl"),
    ("a.txt", None, "calls", "calls-csv"),  # no format of the folder claims it: the first takes it
    ("queue_log", None, "calls", "calls-csv"),
    ("a.csv", "queue-log", None, "queue-log"),  # the command's only format takes any file
    ("queue_log", None, "queue-log", "queue-log"),
])
def test_a_file_gets_the_format_its_command_or_folder_and_suffix_choose(
    name: str, command: str | None, folder: str | None, chosen: str,
) -> None:
    assert builtin_formats().for_file(Path(name), command=command, folder=folder).name == chosen


def test_the_built_ins_keep_the_folders_suffixes_and_media_types_they_had() -> None:
    registry = builtin_formats()
    folders = {"calls": "calls", "intervals": "intervals", "queue-log": "calls"}
    assert registry.drop_folders() == dropdir.KINDS == folders
    assert registry.suffixes() == {".csv", ".jsonl", ".ndjson", ".json", ".log", ".txt", ""}
    media = ("text/csv", "application/csv", "application/x-ndjson", "application/jsonl", "application/x-jsonlines",
             "application/json-lines")
    assert registry.media_types("calls") == registry.media_types("intervals") == media
    assert registry.for_media_type("intervals", "Application/JSONL; charset=utf-8").name == "intervals-jsonl"
    assert registry.for_media_type("calls", "application/json") is None


def test_a_plugin_format_is_read_from_its_drop_folder_and_by_vpt_ingest_calls(
    plugin: str, settings: Settings, session_factory, tmp_path: Path,
) -> None:
    registry = load_formats(installed=[entry("pipes", f"{plugin}:PIPES")])
    drop = tmp_path / "drop"
    dropdir.prepare(drop, registry)
    (drop / "pipes" / "a.psv").write_text(CALLS.replace(",", "|"))
    [result] = dropdir.scan(session_factory, settings, drop, settle_seconds=0, formats=registry)
    assert result.ok and result.report is not None and result.report.rows_stored == 1
    assert registry.for_file(Path("b.psv"), command="calls").name == "pipes"
    with session_factory() as session:
        stored = session.execute(select(Call.call_id, Source.name).join(Source, Source.id == Call.source_id)).all()
    assert [tuple(row) for row in stored] == [("p1", "drop-pipes")]


def test_a_plugin_parser_that_breaks_its_contract_fails_only_its_delivery_naming_it(
    plugin: str, settings: Settings, session_factory,
) -> None:
    registry = load_formats(installed=[entry("raising", f"{plugin}:RAISING"),
                                       entry("wrong-kind", f"{plugin}:WRONG_KIND")])
    expectations = (("raising", "failed: KeyError at "), ("wrong-kind", "yielded a str, not a parsed CallRecord"))
    for name, expected in expectations:
        parser = registry.get(name).make_parser(settings)
        with pytest.raises(FormatFailed, match=f"format '{name}' \\({name} = {plugin}:") as failure:
            ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(CALLS.encode()),
                         origin=f"{name}.txt", parser=parser)
        assert expected in str(failure.value) and "46701234567" not in str(failure.value)
    ingest_bytes(session_factory, settings, record_kind="calls", raw=io.BytesIO(CALLS.encode()), fmt="csv",
                 origin="next.csv")  # the service goes on
    with session_factory() as session:
        runs = [(run.origin, run.status) for run in session.scalars(select(IngestRun).order_by(IngestRun.id))]
    assert runs == [("raising.txt", "failed"), ("wrong-kind.txt", "failed"), ("next.csv", "succeeded")]


def test_a_plugin_whose_parser_cannot_be_made_leaves_its_drop_files_waiting(
    plugin: str, settings: Settings, session_factory, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    registry = load_formats(installed=[entry("unlicensed", f"{plugin}:UNLICENSED")])
    with pytest.raises(FormatUnavailable, match=r"format 'unlicensed' .* cannot make its parser: RuntimeError at "):
        registry.get("unlicensed").make_parser(settings)
    drop = tmp_path / "drop"
    dropdir.prepare(drop, registry)
    (drop / "unlicensed" / "a.csv").write_text(CALLS)
    assert dropdir.scan(session_factory, settings, drop, settle_seconds=0, formats=registry) == []
    assert (drop / "unlicensed" / "a.csv").exists()
    assert "46701234567" not in caplog.text


def test_a_push_is_read_as_the_plugin_format_its_media_type_names(
    plugin: str, settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = load_formats(installed=[entry("pipes", f"{plugin}:PIPES")])
    monkeypatch.setattr("app.api.routers.ingest.default_formats", lambda: registry)
    with TestClient(create_app(settings), headers=key_headers(settings, "ingest", "read")) as api:
        pushed = api.post("/api/v1/ingest/calls", content=CALLS.replace(",", "|"),
                          headers={"Content-Type": "text/x-psv"})
        refused = api.post("/api/v1/ingest/intervals", content="x", headers={"Content-Type": "text/x-psv"})
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["rows_stored"] == 1
    assert refused.status_code == 415 and "text/x-psv" not in refused.json()["detail"].split("send one of:")[1]


def test_vpt_ingest_formats_lists_the_formats_and_names_a_refused_entry_point(
    plugin: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    ok = CliRunner(env={"VPT_LANG": "en"}).invoke(cli, ["ingest", "formats"])
    assert ok.exit_code == 0, ok.output
    assert all(name in ok.stdout for name, _ in BUILTIN)
    registry = load_formats(installed=[entry("pipes", f"{plugin}:PIPES"), entry("crashing", "vpt_crashing:FORMAT")])
    monkeypatch.setattr("app.cli.data.default_formats", lambda: registry)
    listed = CliRunner(env={"VPT_LANG": "en"}).invoke(cli, ["ingest", "formats"])
    assert listed.exit_code == 1 and "pipes" in listed.stdout
    assert "refused vpt.formats entry point crashing = vpt_crashing:FORMAT: cannot be loaded" in " ".join(
        listed.stderr.split())


def test_registering_a_broken_built_in_is_an_error_of_this_package() -> None:
    with pytest.raises(FormatRegistryError, match=r"entry point calls-csv = app\.ingest\.nowhere:X: cannot be loaded"):
        FormatRegistry().register(entry("calls-csv", "app.ingest.nowhere:X"), builtin=True)


def test_the_queue_log_format_waits_for_a_queue_map(settings: Settings, tmp_path: Path) -> None:
    queue_log = builtin_formats().get("queue-log")
    with pytest.raises(FormatUnavailable, match="VPT_QUEUE_MAP_FILE is not set"):
        queue_log.make_parser(settings.model_copy(update={"queue_map_file": None}))
    (tmp_path / "map.csv").write_text(textwrap.dedent("queue,region\nvpt_ac,SE-AC\n"))
    assert callable(queue_log.make_parser(settings.model_copy(update={"queue_map_file": str(tmp_path / "map.csv")})))
