"""``vpt profiles list|show|detect`` and ``vpt ingest calls|intervals --profile``: outputs and exit codes."""

from __future__ import annotations

import tomllib

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from app.config import Settings
from app.db.models import IntervalRow
from app.db.session import make_engine, make_session_factory
from tests.ingest.profiles.engine_helpers import INTERVALS_HEAD

runner = CliRunner(env={"VPT_LANG": "en"})  # these tests read the English wording (tests/cli: both)

DAILY = INTERVALS_HEAD.replace("test-intervals", "daily").replace('"Test intervals"', '"Daily [link=x]figures"') + """
[container]
delimiter = ";"
[fields]
region = { column = "Region", map = { "Västerbotten" = "SE-AC" } }
interval_start = { column = "Datum", timestamp = "%Y-%m-%d" }
interval_minutes = { value = "day" }
offered = "Inkommande samtal"
answered = "Besvarade"
abandoned = "Avbrutna"
"""
DAILY_FILE = "Datum;Region;Inkommande samtal;Besvarade;Avbrutna\n2025-10-01;Västerbotten;120;100;20\n"


@pytest.fixture
def profiles_dir(monkeypatch, tmp_path):
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "daily.toml").write_text(DAILY, encoding="utf-8")
    monkeypatch.setenv("VPT_PROFILES_DIR", str(folder))
    return folder


def test_list_shows_builtins_and_user_profiles_and_exits_1_for_a_broken_one(profiles_dir):
    listed = runner.invoke(app, ["profiles", "list"])
    assert listed.exit_code == 0, listed.output
    out = " ".join(listed.stdout.split())
    assert "canonical-calls" in out and "built-in" in out and "daily" in out
    assert "Daily [link=x]figures" in out  # printed as text, not as a hyperlink
    (profiles_dir / "bad.toml").write_text(DAILY.replace('"daily"', '"bad"').replace("offered", "offerd"))
    broken = runner.invoke(app, ["profiles", "list"])
    assert broken.exit_code == 1 and "daily" in broken.stdout
    assert "bad.toml: fields.offerd: unknown key" in " ".join(broken.stderr.split())


def test_show_prints_the_effective_profile_as_toml(profiles_dir):
    (profiles_dir / "semi.toml").write_text(
        '[profile]\nname = "semi"\ntitle = "Semi"\nextends = "canonical-calls"\n[container]\ndelimiter = ";"\n')
    shown = runner.invoke(app, ["profiles", "show", "semi"])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("# semi (calls, ") and lines[1].startswith("# reference: SPEC §3")
    document = tomllib.loads(shown.stdout)
    assert document["container"] == {"type": "csv", "delimiter": ";", "decimal": "auto"}
    assert document["fields"]["call_id"] == "call_id" and document["profile"]["extends"] == "canonical-calls"
    unknown = runner.invoke(app, ["profiles", "show", "nobody"])
    assert unknown.exit_code == 1 and "no import profile 'nobody'" in unknown.stderr


def test_detect_names_the_best_profile_or_exits_1(profiles_dir, tmp_path):
    daily = tmp_path / "statistik.csv"
    daily.write_text(DAILY_FILE, encoding="utf-8")
    found = runner.invoke(app, ["profiles", "detect", str(daily)])
    assert found.exit_code == 0, found.output
    out = " ".join(found.stdout.split())
    assert "chosen daily (intervals): 5 of 5 columns" in out
    assert "matched: Region, Datum, Inkommande samtal, Besvarade, Avbrutna" in out
    other = tmp_path / "other.csv"
    other.write_text("a,b,c\n1,2,3\n")
    none = runner.invoke(app, ["profiles", "detect", str(other)])
    assert none.exit_code == 1 and "no profile" in none.stderr
    (profiles_dir / "twin.toml").write_text(DAILY.replace('"daily"', '"twin"'), encoding="utf-8")
    tie = runner.invoke(app, ["profiles", "detect", str(daily)])
    assert tie.exit_code == 1 and "a tie between daily, twin" in " ".join(tie.stderr.split())
    assert runner.invoke(app, ["profiles", "detect", str(tmp_path / "missing.csv")]).exit_code == 1


def test_ingest_through_a_profile(profiles_dir, tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    daily = tmp_path / "statistik.csv"
    daily.write_text(DAILY_FILE, encoding="utf-8")
    wrong_kind = runner.invoke(app, ["ingest", "calls", str(daily), "--profile", "daily"])
    assert wrong_kind.exit_code == 1
    assert "profile 'daily' maps intervals, not calls: use `vpt ingest intervals --profile daily`" in " ".join(
        wrong_kind.stderr.split())
    unknown = runner.invoke(app, ["ingest", "intervals", str(daily), "--profile", "nobody"])
    assert unknown.exit_code == 1 and "no import profile 'nobody'" in unknown.stderr
    stored = runner.invoke(app, ["ingest", "intervals", str(daily), "--profile", "daily", "--source", "statistik"])
    assert stored.exit_code == 0, stored.output
    assert "read 1, stored 1" in " ".join(stored.stdout.split())
    engine = make_engine(Settings(_env_file=None, database_url=database_url))  # type: ignore[call-arg]
    try:
        with make_session_factory(engine)() as session:
            [row] = session.scalars(select(IntervalRow)).all()
            assert (row.region, row.offered, row.answered, row.abandoned) == ("SE-AC", 120, 100, 20)
    finally:
        engine.dispose()
