"""Helpers for the tests of the built-in interval profiles (Teleopti, Cisco UCCX, Swedish statistics): ingest a
sample through a profile, and compare the scorecard's figures with the ones worked out by hand in each test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import IntervalRow
from app.ingest.loader import RunReport
from app.ingest.profiles import ProfileParser, load_profiles, profile_parser
from app.ingest.service import ingest_file
from tests.helpers import scorecard

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "profiles"
Factory = sessionmaker[Session]


def offline_settings() -> Settings:
    """Settings for a test that loads or runs a profile without storing anything (no database is opened)."""
    return Settings(database_url="sqlite://", _env_file=None)  # type: ignore[call-arg]


def with_user_profiles(settings: Settings, folder: Path, **profiles: str) -> Settings:
    """``settings`` with ``VPT_PROFILES_DIR`` set to ``folder``, holding ``name.toml`` for each keyword."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in profiles.items():
        (folder / f"{name.replace('_', '-')}.toml").write_text(text, encoding="utf-8")
    return settings.model_copy(update={"profiles_dir": str(folder)})


def ingest_profile(factory: Factory, settings: Settings, name: str, path: Path) -> tuple[RunReport, ProfileParser]:
    profile = load_profiles(settings).get(name)
    parser = profile_parser(profile, settings)
    return ingest_file(factory, settings, profile.record_kind, path, parser=parser), parser


def month_figures(factory: Factory, settings: Settings, months: list[str]) -> dict[str, dict[str, Any]]:
    """``{"SE-AC/2025-10": kpis}`` for every scope with data, and ``{"SE-AC/2025-10#notes": (...)}``."""
    out: dict[str, dict[str, Any]] = {}
    for month in months:
        for scope in scorecard(factory, settings, month).scopes:
            out[f"{scope.scope}/{month}"] = scope.kpis.as_dict() | {"notes": scope.data_quality}
    return out


def assert_kpis(actual: dict[str, dict[str, Any]], expected: dict[str, dict[str, Any]]) -> None:
    """Every scope of ``expected`` and no other; in each, every KPI it names: counts exactly, ratios and seconds to
    1e-9, and None (unknown) only where None is expected."""
    assert set(actual) == set(expected), f"scopes differ: {sorted(actual)} vs {sorted(expected)}"
    problems = []
    for scope, kpis in expected.items():
        for kpi, want in kpis.items():
            got = actual[scope][kpi]
            if want is None or got is None or isinstance(want, int):
                ok = got == want
            else:
                ok = abs(float(got) - float(want)) <= 1e-9
            if not ok:
                problems.append(f"{scope} {kpi}: expected {want!r}, got {got!r}")
    assert not problems, "\n".join(problems)


def stored(factory: Factory) -> list[IntervalRow]:
    with factory() as session:
        return list(session.scalars(select(IntervalRow).order_by(
            IntervalRow.region, IntervalRow.queue, IntervalRow.interval_start)))


def has_note(notes: tuple[str, ...], *parts: str) -> bool:
    return any(all(part in note for part in parts) for note in notes)
