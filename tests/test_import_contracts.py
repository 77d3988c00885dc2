"""The dependency direction of STYLE.md holds (pyproject.toml [tool.importlinter], also run by scripts/test): kpi
pure, sim free of db and ingest, nothing importing the entry points, no cycle such as db.aggregates ↔ db.totals.

In a child process: import-linter's CLI configures logging with ``dictConfig``, which disables every logger that
already exists, and in this process that silenced the ``app`` loggers for the tests after it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = "import sys; from importlinter.cli import lint_imports; " \
      "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))"


def test_the_import_contracts_hold() -> None:
    done = subprocess.run([sys.executable, "-c", RUN], cwd=ROOT, capture_output=True, text=True, timeout=300)
    report = done.stdout
    assert done.returncode == 0, report[report.find("Broken contracts"):] + done.stderr[-2000:]
