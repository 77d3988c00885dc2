"""The dependency direction of STYLE.md holds (pyproject.toml [tool.importlinter], also run by scripts/test): kpi
pure, sim free of db and ingest, nothing importing the entry points, no cycle such as db.aggregates ↔ db.totals."""

from __future__ import annotations

from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    exit_code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert exit_code == 0, report[report.find("Broken contracts"):]
