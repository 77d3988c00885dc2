"""The scorecard's outputs stay byte-identical to those made before it became a typed document (issue 13).

The golden files were made by ``tests/scorecard/golden_outputs.py`` from the code of commit c0f6612 on SQLite;
PostgreSQL must give the same bytes. ``generated_at`` is masked; nothing else depends on the clock. The JSON
(API, monthly series, ``vpt scorecard --format json``) is held apart from the renderings for people (CSV,
terminal table, board report), whose words may change on purpose: after such a change, regenerate with
``python -m tests.scorecard.golden_outputs ../shared/fixtures tests/scorecard/golden`` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

from tests.scorecard.golden_outputs import GOLDEN, outputs


def _differing(produced: dict[str, bytes], rich: bool, json: bool) -> list[str]:
    expected = {path.name for path in GOLDEN.iterdir()
                if path.name.startswith("rich-") == rich and path.name.endswith(".json") == json}
    chosen = {name: body for name, body in produced.items() if name.endswith(".json") == json}
    assert set(chosen) == expected
    return [name for name, body in chosen.items() if body != (GOLDEN / name).read_bytes()]


def test_october_fixture_json_is_unchanged(database_url: str, fixtures_dir: Path) -> None:
    assert not _differing(outputs(database_url, fixtures_dir), rich=False, json=True)


def test_october_fixture_renderings_are_unchanged(database_url: str, fixtures_dir: Path) -> None:
    assert not _differing(outputs(database_url, fixtures_dir), rich=False, json=False)


def test_rich_case_json_is_unchanged(database_url: str, fixtures_dir: Path, tmp_path: Path) -> None:
    """Deltas, a month in progress with forecast and ``needed``, targets of several KPIs, partial members."""
    assert not _differing(outputs(database_url, fixtures_dir, rich=True, work_dir=tmp_path), rich=True, json=True)


def test_rich_case_renderings_are_unchanged(database_url: str, fixtures_dir: Path, tmp_path: Path) -> None:
    assert not _differing(outputs(database_url, fixtures_dir, rich=True, work_dir=tmp_path), rich=True, json=False)
