"""The days and hours breakdowns keep their JSON byte for byte now that the handlers answer typed models
(app.api.breakdown_schemas) instead of the service's plain dicts, and OpenAPI documents those models.

The files in ``golden/breakdowns/`` were recorded from the code before the change (the handlers returning dicts)
on SQLite; PostgreSQL must give the same bytes. They cover the October reference fixture (a region's and a
collaboration's days, and hours of the autumn DST day) and day and month figures, whose ``kpis`` are null with a
note. Regenerate only when a change of output is intended:
``python -m tests.api.test_breakdown_json ../shared/fixtures``.
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

from fastapi.testclient import TestClient

from app.api.app import create_app
from app.config import Settings
from app.db.migrate import upgrade
from app.ingest.service import ingest_bytes
from tests.auth import admin_headers
from tests.scorecard.golden_outputs import october_ingested

GOLDEN = Path(__file__).parent / "golden" / "breakdowns"
COARSE = ("region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
          "answered_within_sl,sl_seconds,wait_answered_seconds_sum\n"
          "SE-I,,2025-10-01T00:00:00,month,1000,870,100,0,30,800,600,435000\n"
          "SE-K,,2025-10-05T00:00:00,1440,40,30,10,0,0,30,600,9000\n")
#: file name -> API path
PATHS = {
    "days-region-SE-AC-2025-10.json": "/api/v1/regions/SE-AC/days?month=2025-10",
    "hours-region-SE-Z-2025-10-26.json": "/api/v1/regions/SE-Z/hours?date=2025-10-26",
    "days-collaboration-norra-2025-10.json": "/api/v1/collaborations/norra/days?month=2025-10",
    "hours-collaboration-norra-2025-10-26.json": "/api/v1/collaborations/norra/hours?date=2025-10-26",
    "days-region-SE-I-2025-10.json": "/api/v1/regions/SE-I/days?month=2025-10",
    "hours-region-SE-K-2025-10-05.json": "/api/v1/regions/SE-K/hours?date=2025-10-05",
}


def responses(database_url: str, fixtures_dir: Path) -> dict[str, bytes]:
    """The bodies of ``PATHS`` after the fixture and ``COARSE`` are ingested into ``database_url`` (migrated)."""
    with october_ingested(database_url, fixtures_dir) as (settings, factory):
        ingest_bytes(factory, settings, record_kind="intervals", raw=io.BytesIO(COARSE.encode()), fmt="csv",
                     origin="national.csv", source_name="national")
        out: dict[str, bytes] = {}
        with TestClient(create_app(settings), headers=admin_headers(factory)) as client:
            for name, path in PATHS.items():
                response = client.get(path)
                assert response.status_code == 200, (path, response.text)
                out[name] = response.content
        return out


def test_days_and_hours_json_is_byte_identical_to_the_recorded_responses(
    database_url: str, fixtures_dir: Path,
) -> None:
    produced = responses(database_url, fixtures_dir)
    assert sorted(produced) == sorted(path.name for path in GOLDEN.iterdir())
    assert [name for name, body in produced.items() if body != (GOLDEN / name).read_bytes()] == []


def test_openapi_documents_the_days_and_hours_models() -> None:
    spec = create_app(Settings(_env_file=None)).openapi()  # type: ignore[call-arg]
    for kind in ("regions", "collaborations"):
        for part, model in (("days", "ScopeDays"), ("hours", "ScopeHours")):
            ok = spec["paths"][f"/api/v1/{kind}/{{code}}/{part}"]["get"]["responses"]["200"]["content"]
            assert ok["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model}"}
    schemas = spec["components"]["schemas"]
    assert schemas["DayFigures"]["properties"]["kpis"]["anyOf"][0] == {"$ref": "#/components/schemas/Kpis"}
    assert {"hour_start", "utc_offset", "has_data", "kpis", "note"} <= set(schemas["HourFigures"]["properties"])


def main(fixtures_dir: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/golden.db"
        upgrade(url)
        produced = responses(url, Path(fixtures_dir))
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, body in produced.items():
        (GOLDEN / name).write_bytes(body)
        print(f"{name}: {len(body)} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
