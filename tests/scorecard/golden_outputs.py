"""Every rendering of the scorecard of the October reference fixture, as bytes: what the golden files hold.

The same function made the files in ``golden/`` from the code before the scorecard became a typed document
(issue 13) and makes them again from the working tree, so a refactoring that changes one byte is seen.
Wall-clock text (``generated_at``) is masked; everything else is fixed by the fixture and a closed month.

Regenerate (only when a change of output is intended):
``python -m tests.scorecard.golden_outputs ../shared/fixtures tests/scorecard/golden``.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.api.app import create_app
from app.config import Settings
from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory
from app.ingest.service import ingest_file
from app.reports.board import build_report
from app.reports.board_html import render_report
from tests.auth import admin_headers

GOLDEN = Path(__file__).parent / "golden"
#: The board report is built for this moment: after the fixture's months, so all of them are closed.
REPORT_NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
_GENERATED_JSON = re.compile(rb'("generated_at": ?)"[^"]*"')
#: (file name, API path or CLI arguments); JSON bodies are compared with ``generated_at`` masked.
API_OUTPUTS = {
    "scorecard-2025-10.json": "/api/v1/scorecards/2025-10",
    "scorecard-2025-11.json": "/api/v1/scorecards/2025-11",
    "scorecard-2025-10.sv.csv": "/api/v1/scorecards/2025-10?format=csv",
    "scorecard-2025-10.en.csv": "/api/v1/scorecards/2025-10?format=csv&lang=en",
    "series-region-SE-AC.json": "/api/v1/regions/SE-AC/scorecards?from=2025-08&to=2025-11",
    "series-region-SE-Z.json": "/api/v1/regions/SE-Z/scorecards?from=2025-09&to=2025-11",
    "series-collaboration-norra.json": "/api/v1/collaborations/norra/scorecards?from=2025-08&to=2025-11",
}
CLI_OUTPUTS = {
    "cli-scorecard-2025-10.json": ["scorecard", "2025-10", "--format", "json"],
    "cli-scorecard-2025-10.table.sv.txt": ["scorecard", "2025-10"],
    "cli-scorecard-2025-10.table.en.txt": ["scorecard", "2025-10", "--lang", "en"],
}
REPORT_OUTPUTS = {
    "report-2025-10.sv.html": (None, "sv"),
    "report-2025-10-SE-Z.en.html": ("SE-Z", "en"),
}
#: The rich case: the fixture plus synthetic interval data for SE-Y and SE-M over thirteen months, so that
#: comparisons carry deltas, a month in progress a forecast and ``needed``, and a member ends early.
IN_PROGRESS_NOW = datetime(2025, 10, 20, 10, 30, tzinfo=UTC)
TARGETS = [  # (path, body) of PUT /api/v1/targets/...
    ("region/SE-Y/service_level", {"value": 0.8, "valid_from": "2025-01", "reason": "golden"}),
    ("region/SE-Y/wait_p90", {"value": 900, "valid_from": "2025-01", "reason": "golden"}),
    ("collaboration/norra/answer_rate", {"value": 0.9, "valid_from": "2025-09", "reason": "golden"}),
    ("region/SE-M/abandon_rate", {"value": 0.1, "valid_from": "2024-01", "reason": "golden"}),
]
RICH_API_OUTPUTS = {
    "rich-scorecard-2025-10.json": "/api/v1/scorecards/2025-10",
    "rich-scorecard-2025-09.json": "/api/v1/scorecards/2025-09",
    "rich-scorecard-2025-10.sv.csv": "/api/v1/scorecards/2025-10?format=csv",
    "rich-scorecard-2025-10.en.csv": "/api/v1/scorecards/2025-10?format=csv&lang=en",
    "rich-series-region-SE-Y.json": "/api/v1/regions/SE-Y/scorecards?from=2024-09&to=2025-11",
    "rich-series-collaboration-norra.json": "/api/v1/collaborations/norra/scorecards?from=2024-09&to=2025-11",
}


def synthetic_intervals() -> str:
    """Hourly interval rows, 07–18 local, for SE-Y (2024-10-01 to 2025-10-20 10:00) and SE-M (to 2025-10-12):
    figures vary by day and hour so that no two months are alike."""
    rows = ["region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
            "answered_within_sl,sl_seconds,wait_answered_seconds_sum,wait_abandoned_seconds_sum,"
            "longest_wait_seconds,talk_seconds_sum,wrap_seconds_sum"]
    for region, last in (("SE-Y", date(2025, 10, 20)), ("SE-M", date(2025, 10, 12))):
        day = date(2024, 10, 1)
        while day <= last:
            for hour in range(7, 19):
                if day == date(2025, 10, 20) and hour >= 10:
                    break
                n = day.toordinal() * 7 + hour * 3 + len(region)
                offered = 6 + n % 9 + (4 if hour in (8, 9, 13) else 0)
                rejected = n % 5 == 0
                abandoned = 1 + n % 3
                answered = offered - abandoned - rejected
                within = max(0, answered - n % 4)
                wait = answered * (120 + (n * 37) % 700)
                longest = min(200 + (n * 13) % 900, wait + abandoned * 90)  # one call's wait is part of the sums
                rows.append(f"{region},vpt,{day.isoformat()}T{hour:02d}:00:00,60,{offered},{answered},{abandoned},"
                            f"{n % 2},{int(rejected)},{within},600,{wait},{abandoned * 90},{longest},"
                            f"{answered * 300},{answered * 60}")
            day = date.fromordinal(day.toordinal() + 1)
    return "\n".join(rows) + "\n"


def mask(body: bytes) -> bytes:
    return _GENERATED_JSON.sub(rb'\1"<masked>"', body)


@contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


@contextmanager
def october_ingested(database_url: str, fixtures_dir: Path) -> Iterator[tuple[Settings, sessionmaker[Session]]]:
    """Settings and sessions on ``database_url`` (migrated) holding the October reference fixture, calls and
    intervals; the scorecard sees every ingest at once."""
    settings = Settings(database_url=database_url, scorecard_version_ttl_seconds=0,  # type: ignore[call-arg]
                        _env_file=None)
    engine = make_engine(settings)
    try:
        factory = make_session_factory(engine)
        ingest_file(factory, settings, "calls", fixtures_dir / "calls_october.csv")
        ingest_file(factory, settings, "intervals", fixtures_dir / "intervals_october.csv")
        yield settings, factory
    finally:
        engine.dispose()


def outputs(database_url: str, fixtures_dir: Path, *, migrate: bool = False, rich: bool = False,
            work_dir: Path | None = None) -> dict[str, bytes]:
    """The renderings of the October fixture, ingested into ``database_url`` (an empty migrated database);
    ``rich``: of the rich case instead (``work_dir`` holds its synthetic file)."""
    if migrate:
        upgrade(database_url)
    with october_ingested(database_url, fixtures_dir) as (settings, factory):
        headers = admin_headers(factory)
        if rich:
            assert work_dir is not None
            (work_dir / "synthetic.csv").write_text(synthetic_intervals())
            ingest_file(factory, settings, "intervals", work_dir / "synthetic.csv")
            return _rich(settings, factory, headers)
        out: dict[str, bytes] = {}
        with TestClient(create_app(settings)) as client:
            for name, path in API_OUTPUTS.items():
                response = client.get(path, headers=headers)
                assert response.status_code == 200, (path, response.text)
                out[name] = mask(response.content)
        with factory() as session:
            for name, (scope, lang) in REPORT_OUTPUTS.items():
                report = build_report(session, date(2025, 10, 1), settings.definitions, REPORT_NOW, scope)
                out[name] = render_report(report, lang).encode("utf-8")  # type: ignore[arg-type]
        from app.cli import app as cli

        runner = CliRunner()
        with _environment("VPT_DATABASE_URL", database_url), _environment("COLUMNS", "200"):
            for name, args in CLI_OUTPUTS.items():
                result = runner.invoke(cli, args)
                assert result.exit_code == 0, (args, result.output)
                out[name] = mask(result.stdout_bytes)
        return out


def _rich(settings: Settings, factory: sessionmaker[Session], headers: dict[str, str]) -> dict[str, bytes]:
    from app.api.routers.scorecards import scorecard_json
    from app.cli import data as cli_data
    from app.reports.exports import scorecard_csv
    from app.scorecard.service import monthly_scorecard

    out: dict[str, bytes] = {}
    with TestClient(create_app(settings)) as client:
        for path, body in TARGETS:
            response = client.put(f"/api/v1/targets/{path}", json=body, headers=headers)
            assert response.status_code == 200, (path, response.text)
        for name, path in RICH_API_OUTPUTS.items():
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.text)
            out[name] = mask(response.content)
    with factory() as session:
        document = monthly_scorecard(session, date(2025, 10, 1), settings.definitions, IN_PROGRESS_NOW)
        out["rich-in-progress-2025-10.json"] = scorecard_json(document)
        out["rich-in-progress-2025-10.sv.csv"] = scorecard_csv(document, "sv").encode("utf-8")
        out["rich-in-progress-2025-10.en.csv"] = scorecard_csv(document, "en").encode("utf-8")
        for lang in ("sv", "en"):
            with cli_data.console.capture() as captured:
                cli_data._print_table(document, lang)  # type: ignore[arg-type]
            out[f"rich-in-progress-2025-10.table.{lang}.txt"] = captured.get().encode("utf-8")
        for scope, lang, now in ((None, "sv", IN_PROGRESS_NOW), ("SE-Y", "en", IN_PROGRESS_NOW),
                                 ("norra", "sv", REPORT_NOW)):
            report = build_report(session, date(2025, 10, 1), settings.definitions, now, scope)
            name = f"rich-report-2025-10-{scope or 'all'}-{'in-progress' if now == IN_PROGRESS_NOW else 'closed'}"
            out[f"{name}.{lang}.html"] = render_report(report, lang).encode("utf-8")  # type: ignore[arg-type]
    return out


def main(fixtures_dir: str, target: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        produced = outputs(f"sqlite:///{tmp}/golden.db", Path(fixtures_dir), migrate=True)
        produced |= outputs(f"sqlite:///{tmp}/rich.db", Path(fixtures_dir), migrate=True, rich=True,
                            work_dir=Path(tmp))
    Path(target).mkdir(parents=True, exist_ok=True)
    for name, body in produced.items():
        (Path(target) / name).write_bytes(body)
        print(f"{name}: {len(body)} bytes")


if __name__ == "__main__":
    main(*sys.argv[1:3])
