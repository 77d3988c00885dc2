"""The migrations are self-contained and agree with the models, from an empty database, on both engines.

A migration must run tomorrow exactly as it ran the day it was written, so none imports the application
(whose models and roll-up code move on): revisions carry their own SQL and copied constants. These tests read
every file in migrations/versions/, so a revision added later is covered without editing them.
"""

from __future__ import annotations

import ast
import itertools
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from app.db import aggregates
from app.db.migrate import PROJECT_ROOT, alembic_config, check
from app.db.types import UTCDateTime, to_sqlite_text
from app.kpi.localtime import local_month_of
from app.kpi.reference import COLLABORATIONS, DEFAULT_TARGETS, REGIONS

VERSIONS = PROJECT_ROOT / "migrations" / "versions"
_numbers = itertools.count()

#: hourly_aggregates' summed columns at revisions 0005 and 0006 (frozen: later revisions may add more).
SUMMED_AT_0006 = (
    "answered", "abandoned", "short_abandons", "rejected", "answered_within_sl", "answered_sl_unknown",
    "wait_answered_ms", "wait_abandoned_ms", "call_wait_answered_ms", "answered_wait_unknown",
    "abandoned_wait_unknown", "longest_wait_unknown", "talk_sum", "wrap_sum", "call_records", "interval_records",
    "reported_offered", "interval_counted_offered", *[f"wait_bucket_{i:02d}" for i in range(15)],
)
MONTHLY_AT_0006 = ("region", "month", "hours_with_data", *SUMMED_AT_0006, "longest_wait_ms", "latest_record_at")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, not even alembic_version (conftest's databases come migrated)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin_url: str = request.getfixturevalue("postgres_server")
    name = f"vpt_empty_{os.getpid()}_{next(_numbers)}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def app_imports(source: str) -> list[str]:
    """Every import of the application in ``source``: ``import app…``, ``from app… import``, import_module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name == "app" or alias.name.startswith("app.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            if node.module == "app" or node.module.startswith("app."):
                found.append(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            name = node.args[0].value
            if callee in {"import_module", "__import__"} and isinstance(name, str) and name.split(".")[0] == "app":
                found.append(name)
    return found


def test_import_scanner_catches_every_form():
    assert app_imports("import app.db.types\nimport sqlalchemy as sa") == ["app.db.types"]
    assert app_imports("def f():\n    from app.db.aggregates import rebuild_month") == ["app.db.aggregates"]
    assert app_imports("from app import config") == ["app"]
    assert app_imports("import importlib\nimportlib.import_module('app.kpi')") == ["app.kpi"]
    assert app_imports("from .app import x\nimport apple\nfrom alembic import op") == []


def test_no_migration_imports_the_application():
    files = sorted(VERSIONS.glob("*.py"))
    assert {path.name[:4] for path in files} >= {f"{n:04d}" for n in range(1, 9)}, "migrations not found"
    offenders = {path.name: found for path in files if (found := app_imports(path.read_text()))}
    assert offenders == {}, "migrations must carry their own SQL and constants, not import app code"


def test_one_linear_history():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    assert len(list(script.walk_revisions())) == len(list(VERSIONS.glob("*.py")))


def test_empty_database_upgrades_to_the_models(empty_url):
    command.upgrade(alembic_config(empty_url), "head")
    check(empty_url)  # `alembic check`: raises when the models and the migrated schema disagree


def test_down_to_base_and_up_again(empty_url):
    config = alembic_config(empty_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = create_engine(empty_url)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}, "downgrade left tables behind"
    engine.dispose()
    command.upgrade(config, "head")
    check(empty_url)
    engine = create_engine(empty_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM regions")).scalar_one() == 21
        assert conn.execute(text("SELECT count(*) FROM targets")).scalar_one() == 44
    engine.dispose()


def test_seeded_reference_data_is_todays(empty_url):
    """Revision 0001 writes its own copy of the reference data; it must equal app.kpi.reference, stored as before."""
    command.upgrade(alembic_config(empty_url), "head")
    engine = create_engine(empty_url)
    targets = sa.table("targets", *[sa.column(name) for name in (
        "scope_kind", "scope_code", "kpi", "comparator", "valid_from", "set_by", "reason")],
        sa.column("value", sa.Numeric(14, 6)), sa.column("created_at", UTCDateTime()))
    with engine.connect() as conn:
        regions = {tuple(row) for row in conn.execute(text("SELECT code, name, inhabitants FROM regions"))}
        collaborations = {tuple(row) for row in conn.execute(text("SELECT code, name FROM collaborations"))}
        members = {tuple(row) for row in conn.execute(
            text("SELECT collaboration_code, region_code FROM collaboration_members"))}
        seeded = conn.execute(sa.select(targets)).all()
        raw_created = set(conn.execute(text("SELECT created_at FROM targets")).scalars())
    engine.dispose()
    assert regions == set(REGIONS)
    assert collaborations == {(code, name) for code, name, _ in COLLABORATIONS}
    assert members == {(code, region) for code, _, regions_ in COLLABORATIONS for region in regions_}
    scopes = [("region", code) for code, _, _ in REGIONS] + [("collaboration", code) for code, _, _ in COLLABORATIONS]
    created = datetime(2025, 1, 1, tzinfo=UTC)
    expected = sorted((kind, code, kpi, comparator, date(2000, 1, 1), "system", "default target (SPEC §6)",
                       Decimal(value), created)
                      for kind, code in scopes for kpi, comparator, value in DEFAULT_TARGETS)
    got = sorted((r.scope_kind, r.scope_code, r.kpi, r.comparator, _as_date(r.valid_from), r.set_by, r.reason,
                  Decimal(r.value), r.created_at) for r in seeded)
    assert got == expected
    if empty_url.startswith("sqlite"):  # the exact text the app's UTCDateTime writes (SQLite compares text)
        assert raw_created == {to_sqlite_text(created)}


def _as_date(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _history() -> tuple[list[dict], list[dict]]:
    """Hourly rows across local month boundaries in summer and winter time, with NULL maxima here and there."""
    start = datetime(2025, 3, 30, 20, tzinfo=UTC)  # 22:00 local, hours before the spring change
    offsets = [*range(0, 8), *range(24, 28), *range(720, 728), *range(5136, 5142), *range(5160, 5165)]
    rows, by_rows = [], []
    for number, (region, offset) in enumerate(itertools.product(("SE-AB", "SE-AC", "SE-Z"), offsets), start=1):
        hour = start + timedelta(hours=offset)
        row = {name: (number * 7 + i) % 13 for i, name in enumerate(SUMMED_AT_0006)}
        row.update(region=region, hour_start=hour, talk_sum=number * 1.25, wrap_sum=number * 0.5,
                   longest_wait_ms=None if number % 5 == 0 else number * 1000,
                   latest_record_at=None if number % 7 == 0 else hour + timedelta(minutes=number % 60))
        rows.append(row)
        by_rows.append({"region": region, "answered_by_region": "SE-Y", "hour_start": hour, "answered": number % 4})
        by_rows.append({"region": region, "answered_by_region": region, "hour_start": hour, "answered": number % 3})
    return rows, by_rows


def _monthly(conn: sa.Connection) -> tuple[list[tuple], list[tuple]]:
    rolled_up = [tuple(row) for row in conn.execute(text(
        f"SELECT {', '.join(MONTHLY_AT_0006)} FROM monthly_aggregates ORDER BY region, month"))]
    by = [tuple(row) for row in conn.execute(text(
        "SELECT region, answered_by_region, month, answered FROM monthly_answered_by "
        "ORDER BY region, answered_by_region, month"))]
    return rolled_up, by


def _store_history_at_0005(url: str) -> list[dict]:
    command.upgrade(alembic_config(url), "0005")
    rows, by_rows = _history()
    hourly = sa.table("hourly_aggregates", sa.column("region"), sa.column("hour_start", UTCDateTime()),
                      *[sa.column(name) for name in SUMMED_AT_0006], sa.column("longest_wait_ms"),
                      sa.column("latest_record_at", UTCDateTime()))
    hourly_by = sa.table("hourly_answered_by", sa.column("region"), sa.column("answered_by_region"),
                         sa.column("hour_start", UTCDateTime()), sa.column("answered"))
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.insert(hourly), rows)
        conn.execute(sa.insert(hourly_by), by_rows)
    engine.dispose()
    return rows


def test_0006_rolls_up_history_as_the_app_rebuilds_it(empty_url):
    """The roll-up 0006 writes with its own SQL equals what today's rebuild_month makes of the same hours."""
    rows = _store_history_at_0005(empty_url)
    command.upgrade(alembic_config(empty_url), "0006")
    engine = create_engine(empty_url)
    with engine.connect() as conn:
        by_migration = _monthly(conn)
    engine.dispose()
    months = {local_month_of(row["hour_start"]) for row in rows}
    assert len(by_migration[0]) == 3 * len(months) == 12 and by_migration[1], "history was not rolled up"

    command.upgrade(alembic_config(empty_url), "head")  # today's code needs today's columns
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM monthly_aggregates"))
        conn.execute(text("DELETE FROM monthly_answered_by"))
        for month in sorted(months):
            aggregates.rebuild_month(conn, month)
    with engine.connect() as conn:
        by_app = _monthly(conn)
    engine.dispose()
    assert by_migration == by_app


def test_0006_does_not_depend_on_todays_aggregate_columns(empty_url, monkeypatch):
    """Once the app sums one more column than 0006 created, a fresh upgrade must still pass 0006."""
    _store_history_at_0005(empty_url)
    monkeypatch.setattr(aggregates, "SUMMED_COLUMNS", [*aggregates.SUMMED_COLUMNS, "a_later_sum"])
    command.upgrade(alembic_config(empty_url), "0006")
    engine = create_engine(empty_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM monthly_aggregates")).scalar_one() == 12
    engine.dispose()


def test_autogenerated_revision_imports_no_app_code(tmp_path):
    """A revision made with `alembic revision --autogenerate` spells UTCDateTime in plain SQLAlchemy."""
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    with engine.begin() as conn:  # the models now have a table with UTC timestamps the database lacks
        conn.execute(text("DROP TABLE audit_log"))
    engine.dispose()
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    config = alembic_config(url)
    config.set_main_option("version_locations", os.pathsep.join([str(VERSIONS), str(drafts)]))
    command.revision(config, message="probe", autogenerate=True, version_path=str(drafts))
    (draft,) = drafts.glob("*.py")
    source = draft.read_text()
    assert "op.create_table('audit_log'" in source and "sa.DateTime(timezone=True)" in source
    assert app_imports(source) == [] and "app." not in source
