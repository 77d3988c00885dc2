"""Small helpers shared by storage tests."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.ingest.loader import RecordKind, RunReport
from app.ingest.service import ingest_bytes, ingest_file
from app.scorecard.document import ScorecardDocument
from app.scorecard.service import monthly_scorecard

LATER = datetime(2030, 1, 1, tzinfo=UTC)  # "now" for which every month of the fixtures is closed


def ingest(factory: sessionmaker[Session], settings: Settings, kind: RecordKind, path: Path) -> RunReport:
    return ingest_file(factory, settings, kind, path)


def ingest_text(
    factory: sessionmaker[Session], settings: Settings, kind: RecordKind, content: str, *, fmt: str = "csv",
    origin: str = "inline.csv", source: str | None = None,
) -> RunReport:
    return ingest_bytes(
        factory, settings, record_kind=kind, raw=io.BytesIO(content.encode()), fmt=fmt,  # type: ignore[arg-type]
        origin=origin, source_name=source,
    )


def scorecard(factory: sessionmaker[Session], settings: Settings, month: str) -> ScorecardDocument:
    with factory() as session:
        return monthly_scorecard(session, date(int(month[:4]), int(month[5:]), 1), settings.definitions, LATER)


def figures(factory: sessionmaker[Session], settings: Settings, months: list[str]) -> dict[str, dict[str, Any]]:
    """``{"SE-AC/2025-10": kpis}`` as in the reference fixtures."""
    out: dict[str, dict[str, Any]] = {}
    for month in months:
        for scope in scorecard(factory, settings, month).scopes:
            out[f"{scope.scope}/{month}"] = scope.kpis.as_dict()
    return out


def assert_figures_match(actual: dict[str, dict[str, Any]], expected: dict[str, dict[str, Any]],
                         keys: list[str] | None = None) -> None:
    assert set(actual) == set(expected), f"scopes differ: {sorted(actual)} vs {sorted(expected)}"
    problems = []
    for scope, kpis in expected.items():
        for kpi, want in kpis.items():
            if keys is not None and kpi not in keys:
                continue
            got = actual[scope][kpi]
            if want is None or got is None:
                ok = want is None and got is None
            elif isinstance(want, int) and not isinstance(want, bool) and kpi not in {"longest_wait"}:
                ok = got == want
            else:
                ok = abs(float(got) - float(want)) <= 1e-6
            if not ok:
                problems.append(f"{scope} {kpi}: expected {want}, got {got}")
    assert not problems, "\n".join(problems)
