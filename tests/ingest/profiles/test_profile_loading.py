"""Loading profiles (docs/profiles.md "Errors", ``extends``, VPT_PROFILES_DIR): every error names the file, the key
and why; a broken user profile is listed and the others work."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from app.config import Settings
from app.ingest.profiles import MAX_PROFILE_BYTES, ProfileError, UnknownProfile, load_profiles
from app.ingest.profiles.loading import builtin_documents
from app.ingest.profiles.render import profile_toml
from app.ingest.profiles.validate import build_profile
from tests.ingest.profiles.engine_helpers import CALLS_HEAD, profile

GOOD = CALLS_HEAD + """
[fields]
call_id = "id"
region = "region"
arrived_at = "t"
outcome = { column = "o", map = { "B" = "answered" } }
"""


def test_every_builtin_loads_and_the_identity_profiles_are_there():
    registry = load_profiles()
    assert registry.problems == []
    assert {"canonical-calls", "canonical-intervals"} <= set(registry.names())
    assert all(p.builtin and p.reference for p in registry)
    assert registry.get("canonical-intervals").record_kind == "intervals"


def test_builtins_are_package_data():
    """pyproject.toml ships app/ingest/profiles/builtin/*.toml: every file there is one the package reads."""
    folder = Path(__file__).resolve().parents[3] / "app" / "ingest" / "profiles" / "builtin"
    on_disk = sorted(p.name for p in folder.glob("*.toml"))
    assert sorted(origin.removeprefix("built-in ") for origin, _ in builtin_documents()) == on_disk
    with (Path(__file__).resolve().parents[3] / "pyproject.toml").open("rb") as stream:
        package_data = tomllib.load(stream)["tool"]["setuptools"]["package-data"]["app"]
    assert "ingest/profiles/builtin/*.toml" in package_data


@pytest.mark.parametrize(("edit", "key", "why"), [
    (("call_id = \"id\"", "call_id = { colum = \"id\" }"), "fields.call_id.colum", "unknown key"),
    (("call_id = \"id\"\n", ""), "fields", "calls need call_id"),
    (("\"B\" = \"answered\"", "\"B\" = \"besvarad\""), "fields.outcome.map", "'besvarad' is not an outcome"),
    (("call_id = \"id\"", "call_id = \"id\"\ntalk_seconds = { expr = \"a ** 2\" }"), "fields.talk_seconds.expr",
     "the operator pow is not allowed"),
    (("call_id = \"id\"", "call_id = \"id\"\ntalk_seconds = { expr = \"__import__('os')\" }"),
     "fields.talk_seconds.expr", "call is not allowed"),
    (("call_id = \"id\"", "call_id = \"id\"\ntalk_seconds = { expr = \"nobody + 1\" }"),
     "fields.talk_seconds.expr", "'nobody' is not another field or input"),
    (("arrived_at = \"t\"", "arrived_at = { column = \"t\", zone = \"Mars/Olympus\" }"), "fields.arrived_at.zone",
     "unknown zone"),
    (("arrived_at = \"t\"", "arrived_at = { column = \"t\", timestamp = \"%Y-%m-%d %Q\" }"),
     "fields.arrived_at.timestamp", "cannot read"),
    (("arrived_at = \"t\"", "arrived_at = { cases = [ { present = \"t\", column = 5 } ] }"),
     "fields.arrived_at.cases[0].column", "must be a string"),
    (("region = \"region\"", "region = { column = \"region\", duration = \"s\" }"), "fields.region.duration",
     "only on duration fields"),
    (("[fields]", "[container]\ntype = \"xml\"\n[fields]"), "container.type", "must be"),
    (("[fields]", "[chain]\nprevious = \"p\"\ngroup = \"g\"\n[fields]"), "chain", "exactly one of previous, group"),
])
def test_a_validation_error_names_the_file_the_key_and_why(edit, key, why):
    old, new = edit
    assert old in GOOD
    with pytest.raises(ProfileError) as raised:
        profile(GOOD.replace(old, new, 1), origin="/etc/vpt/profiles/mine.toml")
    assert str(raised.value).startswith(f"/etc/vpt/profiles/mine.toml: {key}: ")
    assert why in str(raised.value)


def test_a_builtin_must_cite_its_field_reference():
    with pytest.raises(ProfileError, match=r"^built-in x\.toml: profile\.reference: a built-in profile must say"):
        build_profile(tomllib.loads(GOOD), origin="built-in x.toml", builtin=True)


def test_a_field_that_refers_to_itself_is_refused():
    cyclic = GOOD + "talk_seconds = { expr = \"wrap_seconds + 1\" }\nwrap_seconds = { expr = \"talk_seconds + 1\" }\n"
    with pytest.raises(ProfileError, match="refers to itself: talk_seconds → wrap_seconds → talk_seconds"):
        profile(cyclic)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_user_profiles_load_beside_the_builtins_and_a_broken_one_is_listed(tmp_path):
    write(tmp_path, "mine.toml", GOOD.replace("test-calls", "mine"))
    write(tmp_path, "broken.toml", GOOD.replace("test-calls", "broken").replace('"t"', "5"))
    write(tmp_path, "not-toml.toml", "[profile\nname=")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "deeper.toml", GOOD.replace("test-calls", "deeper"))  # subdirectories are not read
    registry = load_profiles(Settings(_env_file=None, profiles_dir=str(tmp_path)))  # type: ignore[call-arg]
    mine = registry.get("mine")
    assert not mine.builtin and mine.origin == str(tmp_path / "mine.toml")
    assert "deeper" not in registry and "canonical-calls" in registry
    assert sorted(p.origin for p in registry.problems) == [str(tmp_path / "broken.toml"),
                                                          str(tmp_path / "not-toml.toml")]
    with pytest.raises(ProfileError, match=r"broken\.toml: fields\.arrived_at: must be a table"):
        registry.get("broken")
    with pytest.raises(UnknownProfile):
        registry.get("nobody")


def test_a_user_profile_may_not_take_a_builtins_name_but_may_extend_it(tmp_path):
    write(tmp_path, "a.toml", GOOD.replace("test-calls", "canonical-calls"))
    write(tmp_path, "b.toml", """
[profile]
name = "semicolon-calls"
title = "Canonical calls with Swedish outcome words"
extends = "canonical-calls"
[container]
delimiter = ";"
[fields]
outcome = { column = "outcome", map = { "Besvarad" = "answered" }, map_default = "keep" }
""")
    registry = load_profiles(directory=tmp_path)
    [clash] = registry.problems
    assert "a.toml: profile.name: the name 'canonical-calls' is a built-in profile's" in clash.error
    assert registry.get("canonical-calls").builtin  # the built-in stays
    extended = registry.get("semicolon-calls")
    assert (extended.extends, extended.container.delimiter, extended.container.decimal) == ("canonical-calls", ";",
                                                                                          "auto")
    assert extended.fields["outcome"].convert.map == {"Besvarad": "answered"}  # a field is replaced whole
    assert extended.fields["talk_seconds"].names == ("talk_seconds",)  # the rest is inherited
    shown = tomllib.loads(profile_toml(extended))
    assert shown["profile"]["extends"] == "canonical-calls" and shown["container"]["type"] == "csv"


def test_extends_cycles_and_missing_bases_are_refused(tmp_path):
    for name, base in (("x", "y"), ("y", "x"), ("z", "nowhere")):
        write(tmp_path, f"{name}.toml", GOOD.replace('name = "test-calls"', f'name = "{name}"\nextends = "{base}"'))
    registry = load_profiles(directory=tmp_path)
    errors = {p.name: p.error for p in registry.problems}
    assert "a cycle (x → y → x)" in errors["x"] and "a cycle (y → x → y)" in errors["y"]
    assert "profile.extends: no profile 'nowhere'" in errors["z"]


def test_a_symlink_out_of_the_directory_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    inside = tmp_path / "profiles"
    outside.mkdir()
    inside.mkdir()
    target = write(outside, "secret.toml", GOOD.replace("test-calls", "outsider"))
    os.symlink(target, inside / "link.toml")
    local = write(inside, "real.toml.txt", GOOD.replace("test-calls", "insider"))
    os.symlink(local, inside / "alias.toml")  # inside the directory: followed
    registry = load_profiles(directory=inside)
    assert "outsider" not in registry and "insider" in registry
    [refused] = registry.problems
    assert refused.error.endswith("link.toml: a symlink out of VPT_PROFILES_DIR: not followed")


def test_a_profile_file_is_bounded_in_size(tmp_path):
    write(tmp_path, "big.toml", GOOD.replace("test-calls", "big") + "# " + "x" * MAX_PROFILE_BYTES + "\n")
    registry = load_profiles(directory=tmp_path)
    assert "big" not in registry and "larger than 256 KiB" in registry.problems[0].error


def test_a_missing_directory_is_a_problem_not_a_failure(tmp_path):
    registry = load_profiles(directory=tmp_path / "nope")
    assert "canonical-calls" in registry and "is not a directory" in registry.problems[0].error
