"""Push through an import profile and dry runs over HTTP (issue 14 §5), through the app factory, on SQLite and
PostgreSQL: ``?profile=``, ``?dry_run=true``, a push source's own profile, and every refusal a 4xx that stores
nothing."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.config import Settings
from app.db.auth_models import AuditEntry
from app.db.models import IngestRun, IntervalRow, Source
from tests.auth import admin_headers, key_headers

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
#: 12 rows of Swedish daily statistics: 9 of SE-AC, SE-Z and SE-BD on 30 and 31 October and 1 November, and three
#: national totals (Riket, Totalt) the profile's filter skips.
DAILY = (SAMPLES / "profiles" / "se-statistik-dag.csv").read_bytes()
CSV = {"Content-Type": "text/csv"}
TWO_CALLS = (
    b"call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"
    b"p1,SE-Z,vpt,2025-10-01T08:00:00+02:00,answered,2025-10-01T08:03:00+02:00,\n"
    b"p2,SE-Z,vpt,2025-10-01T08:05:00+02:00,abandoned,,2025-10-01T08:06:00+02:00\n"
)


def client_for(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), headers=admin_headers(settings))


def push(client: TestClient, body: bytes, kind: str = "intervals", headers: dict[str, str] = CSV,
         **params: str) -> httpx.Response:
    return client.post(f"/api/v1/ingest/{kind}", content=body, headers=headers, params=params)


def row_counts(factory: sessionmaker[Session]) -> dict[str, int]:
    """Rows of every table but the keys' own (a request may note when a key was last used)."""
    engine = factory.kw["bind"]
    with engine.connect() as conn:
        return {table: int(conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())
                for table in inspect(engine).get_table_names() if table != "api_keys"}


def assert_error(response: httpx.Response, status: int, error: str) -> str:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text
    return str(response.json()["detail"])


def test_a_dry_run_through_a_profile_answers_the_figures_and_stores_nothing(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with client_for(settings) as client:
        before = row_counts(session_factory)
        response = push(client, DAILY, profile="se-statistik-dag", dry_run="true", origin="dag.csv")
        assert row_counts(session_factory) == before
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["dry_run"], report["profile"], report["detected"], report["reader"]) == (
        True, "se-statistik-dag", False, "profile se-statistik-dag")
    assert (report["rows_read"], report["records"], report["rows_rejected"], report["rows_skipped"],
            report["would_store"]) == (9, 9, 0, 3, True)
    assert report["origin"] == "dag.csv" and report["first_record_at"] == "2025-10-29T23:00:00Z"
    assert report["sample"][0]["region"] == "SE-AC" and report["sample"][0]["interval_minutes"] == 1440
    months = {(m["region"], m["month"]): m for m in report["months"]}
    assert set(months) == {(r, m) for r in ("SE-AC", "SE-BD", "SE-Z") for m in ("2025-10", "2025-11")}
    # SE-AC, 30 and 31 October: 365 + 350 answered, 45 + 39 abandoned; mean waits 4:12 and 3:30 weighted by answered
    october = months["SE-AC", "2025-10"]
    assert (october["offered"], october["answered"], october["abandoned"], october["rejected"]) == (799, 715, 84, 0)
    assert october["kpis"]["answer_rate"] == float(Fraction(715, 799))
    assert october["kpis"]["mean_wait"] == float(Fraction(252 * 365 + 210 * 350, 715))
    assert october["kpis"]["service_level"] is None  # the sheet reports none: unknown, never 0 %
    november = months["SE-Z", "2025-11"]  # 1 November: 120 answered of 150, mean wait 12:40
    assert (november["offered"], november["kpis"]["mean_wait"]) == (150, 760.0)


def test_a_push_through_a_profile_stores_what_its_dry_run_said(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with client_for(settings) as client:
        dry = push(client, DAILY, profile="se-statistik-dag", dry_run="true").json()
        # a profile reads the body whatever its Content-Type says
        stored = push(client, DAILY, headers={"Content-Type": "application/octet-stream"}, profile="se-statistik-dag")
        scorecard = client.get("/api/v1/scorecards/2025-10").json()
    assert stored.status_code == 200, stored.text
    assert (stored.json()["rows_read"], stored.json()["rows_stored"]) == (dry["rows_read"], dry["records"]) == (9, 9)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(IntervalRow)) == 9
    regions = {s["scope"]: s["kpis"] for s in scorecard["scopes"]}
    october = [month for month in dry["months"] if month["month"] == "2025-10"]
    assert len(october) == 3
    for month in october:  # the scorecard's figures are what the dry run said they would be
        assert regions[month["region"]]["answered"] == month["answered"]
        assert regions[month["region"]]["answer_rate"] == month["kpis"]["answer_rate"]
        assert regions[month["region"]]["mean_wait"] == month["kpis"]["mean_wait"]


def test_a_dry_run_without_a_profile_reads_the_content_type_s_format(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with client_for(settings) as client:
        before = row_counts(session_factory)
        report = push(client, TWO_CALLS, kind="calls", dry_run="true").json()
        assert row_counts(session_factory) == before
    assert (report["reader"], report["profile"], report["rows_skipped"]) == ("format calls-csv", None, None)
    [month] = report["months"]
    assert (month["region"], month["month"], month["offered"], month["answered"], month["abandoned"]) == (
        "SE-Z", "2025-10", 2, 1, 1)
    assert (month["kpis"]["mean_wait"], month["kpis"]["mean_wait_all"]) == (180.0, 120.0)


def test_profile_auto_detects_and_says_what_matched(settings: Settings) -> None:
    with client_for(settings) as client:
        report = push(client, DAILY, profile="auto", dry_run="true").json()
        none = push(client, TWO_CALLS, profile="auto", dry_run="true")  # canonical calls are no interval profile's
    assert (report["profile"], report["detected"]) == ("se-statistik-dag", True)
    assert "6 of 7" in report["detection"] and "Inkommande samtal" in report["detection"]
    assert "no import profile detected" in assert_error(none, 422, "no_profile_detected")


def test_profile_errors_are_422_naming_the_profiles_of_the_kind_and_store_nothing(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with client_for(settings) as client:
        before = row_counts(session_factory)
        unknown = assert_error(push(client, DAILY, profile="no-such-profile"), 422, "unknown_profile")
        other = assert_error(push(client, DAILY, kind="calls", profile="se-statistik-dag", dry_run="true"), 422,
                             "profile_kind_mismatch")
        assert_error(push(client, DAILY, profile="Not A Name"), 422, "validation_error")
        assert row_counts(session_factory) == before
    assert "'no-such-profile'" in unknown and "se-statistik-dag" in unknown and "amazon-connect" not in unknown
    assert "holds intervals, not calls" in other and "amazon-connect" in other and "se-statistik-dag;" not in other


def test_a_dry_run_needs_what_a_push_needs_and_is_bounded_like_one(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    small = settings.model_copy(update={"max_upload_rows": 5})
    with TestClient(create_app(small)) as client:
        admin = admin_headers(small)
        reader, bound = key_headers(small, "read", name="reader"), None
        assert client.post("/api/v1/sources", json={"name": "norra"}, headers=admin).status_code == 201
        made = client.post("/api/v1/keys", json={"name": "norra-key", "scopes": ["ingest"], "sources": ["norra"]},
                           headers=admin)
        bound = {"Authorization": f"Bearer {made.json()['key']}"}
        before = row_counts(session_factory)

        def dry(headers: dict[str, str], **params: str) -> httpx.Response:
            return client.post("/api/v1/ingest/intervals", content=DAILY, headers=CSV | headers,
                               params={"profile": "se-statistik-dag", "dry_run": "true", **params})

        assert_error(dry({}), 401, "unauthorized")
        assert_error(dry(reader), 403, "forbidden")
        assert_error(dry(bound), 403, "forbidden")  # the default source is not the one it is bound to
        assert_error(dry(admin, source="nosuch"), 404, "not_found")
        assert "VPT_MAX_UPLOAD_ROWS" in assert_error(dry(bound, source="norra"), 413, "too_many_rows")
        assert row_counts(session_factory) == before  # not even a failed run, as a push would record
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(IngestRun)) == 0


def test_a_push_source_s_profile_reads_its_pushes_that_name_none(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with client_for(settings) as client:
        assert "se-statistik-dag" in assert_error(
            client.post("/api/v1/sources", json={"name": "stat", "profile": "nope"}), 422, "unknown_profile")
        made = client.post("/api/v1/sources", json={"name": "stat", "profile": "se-statistik-manad"})
        assert made.status_code == 201 and made.json()["profile"] == "se-statistik-manad"
        changed = client.post("/api/v1/sources", json={"name": "stat", "profile": "se-statistik-dag"})
        assert changed.status_code == 200 and changed.json()["profile"] == "se-statistik-dag"
        again = client.post("/api/v1/sources", json={"name": "stat"})  # no profile given: nothing changes
        assert again.status_code == 200 and again.json()["profile"] == "se-statistik-dag"
        dry = push(client, DAILY, source="stat", dry_run="true").json()
        stored = push(client, DAILY, source="stat")
        calls = push(client, TWO_CALLS, kind="calls", source="stat")  # its profile holds intervals
    assert (dry["profile"], dry["records"]) == ("se-statistik-dag", 9)
    assert stored.status_code == 200 and stored.json()["rows_stored"] == 9
    assert "holds intervals, not calls" in assert_error(calls, 422, "profile_kind_mismatch")
    with session_factory() as session:
        assert session.scalar(select(Source.profile).where(Source.name == "stat")) == "se-statistik-dag"
        entries = session.execute(select(AuditEntry.action, AuditEntry.details).order_by(AuditEntry.id)).all()
    assert [(a, d) for a, d in entries if a.startswith("source.")] == [
        ("source.create", {"kind": "push", "profile": "se-statistik-manad"}),
        ("source.update", {"profile": "se-statistik-dag", "previous_profile": "se-statistik-manad"}),
    ]


def test_no_push_source_may_take_a_drop_profile_folder_s_name(settings: Settings) -> None:
    with client_for(settings) as client:
        refused = client.post("/api/v1/sources", json={"name": "drop-profiles.se-statistik-dag"})
    assert_error(refused, 409, "source_name_reserved")


def test_openapi_documents_profile_and_dry_run_on_both_pushes(settings: Settings) -> None:
    with client_for(settings) as client:
        spec = client.get("/openapi.json").json()
    for kind in ("calls", "intervals"):
        push_spec = spec["paths"][f"/api/v1/ingest/{kind}"]["post"]
        parameters = {p["name"]: p for p in push_spec["parameters"]}
        assert "import profile" in parameters["profile"]["description"]
        assert parameters["dry_run"]["schema"]["type"] == "boolean" and parameters["dry_run"]["description"]
        assert push_spec["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/PushAnswer"}
    answer = spec["components"]["schemas"]["PushAnswer"]
    assert {"$ref": "#/components/schemas/DryRunOut"} in answer["anyOf"]
    assert "months" in spec["components"]["schemas"]["DryRunOut"]["properties"]
