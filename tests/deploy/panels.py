"""The PromQL of every provisioned Grafana panel, ready to send to a real Prometheus.

:func:`panel_queries` reads ``deploy/grafana/dashboards/*.json`` and returns one ``(dashboard title, panel title,
expr)`` per panel target, with Grafana's variables replaced as a person looking at the default view would get
them (:data:`SUBSTITUTIONS`). A variable the map does not know raises, so a new dashboard variable cannot slip
past the integration test unsubstituted. ``$1`` and the like (``label_replace`` back-references) are left alone.

:func:`require_tool` finds a binary of the Debian packages ``prometheus`` / ``prometheus-alertmanager``: under
``CI=true`` a missing one fails the test, elsewhere it skips it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy import DEPLOY

DASHBOARD_DIR = DEPLOY / "grafana" / "dashboards"

SUBSTITUTIONS: dict[str, str] = {
    "scope": "SE-AC",
    "region": "SE-AC",
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1h",
}

# $name, ${name} or ${name:format}; a name starts with a letter or underscore, so $1 is not a variable.
VARIABLE = re.compile(r"\$(?:\{([A-Za-z_]\w*)(?::[^}]*)?\}|([A-Za-z_]\w*))")


def dashboards() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, json.loads(path.read_text(encoding="utf-8"))) for path in sorted(DASHBOARD_DIR.glob("*.json"))]


def iter_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, including those inside (collapsed) rows."""
    for panel in panels:
        yield panel
        yield from iter_panels(panel.get("panels", []))


def substitute(expr: str, values: dict[str, str] = SUBSTITUTIONS) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"no substitution for Grafana variable ${name} in {expr!r}")
        return values[name]

    return VARIABLE.sub(replace, expr)


def panel_queries() -> list[tuple[str, str, str]]:
    """(dashboard title, panel title, expr with variables substituted) for every target of every panel."""
    queries = []
    for _path, board in dashboards():
        for panel in iter_panels(board.get("panels", [])):
            for target in panel.get("targets", []):
                if target.get("hide"):
                    continue
                queries.append((board["title"], panel["title"], substitute(target["expr"])))
    return queries


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = (f"{name} is not installed (Debian packages prometheus and prometheus-alertmanager; "
                   "scripts/test installs them)")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return path
