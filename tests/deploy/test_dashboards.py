"""The provisioned Grafana dashboards: importable anywhere, built on the metrics contract, Swedish for managers.

The integration test runs every panel query against a real Prometheus (tests/deploy/panels.py); here the JSON
model is checked offline, and every query is parsed by promtool.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.panels import DASHBOARD_DIR, dashboards, iter_panels, panel_queries, require_tool, substitute

# The /metrics contract (app/metrics). Histogram series add _bucket, _sum and _count to their base name.
CONTRACT_METRICS = frozenset({
    # scorecard gauges, read from the database at scrape time
    "vpt_scope_info",
    "vpt_offered_calls", "vpt_answered_calls", "vpt_abandoned_calls", "vpt_rejected_calls",
    "vpt_answer_rate_ratio", "vpt_mean_wait_seconds", "vpt_service_level_ratio",
    "vpt_target_answer_rate_ratio", "vpt_target_mean_wait_seconds",
    "vpt_target_status",
    "vpt_needed_answer_rate_ratio", "vpt_expected_remaining_calls",
    # completeness: a partial month, and a collaboration's member without data (issue 12, item 10)
    "vpt_scope_partial", "vpt_scope_member_without_data",
    # counters and histogram per region
    "vpt_calls_ingested_total", "vpt_calls_corrected_total", "vpt_answered_wait_seconds",
    # ingest health
    "vpt_source_last_success_timestamp_seconds", "vpt_source_last_error_timestamp_seconds",
    "vpt_source_delivered_until_timestamp_seconds", "vpt_source_consecutive_failures",
    "vpt_source_records_behind", "vpt_source_cadence_seconds",
    "vpt_ingest_rows_total", "vpt_ingest_runs_total", "vpt_ingest_last_run_duration_seconds",
    "vpt_worker_last_heartbeat_timestamp_seconds", "vpt_worker_up",
    "vpt_database_up", "vpt_metrics_collect_duration_seconds",
    # built-in alerts and their outbox (app/metrics/alerts.py)
    "vpt_alert_firing", "vpt_alerts", "vpt_notifications", "vpt_notification_oldest_pending_seconds",
    # staffing advice for today's remaining hours (app/metrics/staffing.py, issue 17)
    "vpt_staffing_needed", "vpt_staffing_needed_to_recover",
})
HISTOGRAMS = frozenset({"vpt_answered_wait_seconds"})

DS = {"type": "prometheus", "uid": "${datasource}"}
UIDS = {"vpt-tillganglighet": "Tillgänglighet", "vpt-intraday": "I dag", "vpt-ingest": "Inläsning och drift"}
MANAGERS = ("vpt-tillganglighet", "vpt-intraday")  # for operations managers; Inläsning och drift is the engineer's
SWEDISH = tuple(UIDS)  # all three, the engineer's too (issue 16)
ENGLISH_WORDS = re.compile(
    r"\b(answer(ed)?|rate|wait(ing)?|calls?|target|today|month|previous|abandoned|rejected|offered|needed|"
    r"expected|remaining|service level|region and collaboration|per hour|status of)\b", re.IGNORECASE)

TOKEN = re.compile(r"\bvpt_[a-z_]+")


def metric_names(text: str) -> set[str]:
    """The vpt_ metric names a text uses, histogram series folded to their base name."""
    names = set()
    for token in TOKEN.findall(text):
        for suffix in ("_bucket", "_sum", "_count"):
            if token.endswith(suffix) and token.removesuffix(suffix) in HISTOGRAMS:
                token = token.removesuffix(suffix)
        names.add(token)
    return names


BOARDS = dashboards()


def board_id(item: tuple[Path, dict[str, Any]]) -> str:
    return item[0].name


def panels_of(board: dict[str, Any]) -> list[dict[str, Any]]:
    return list(iter_panels(board["panels"]))


def query_panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in panels_of(board) if panel.get("type") != "row"]


def by_uid(uid: str) -> dict[str, Any]:
    return next(board for _path, board in BOARDS if board["uid"] == uid)


def test_the_three_dashboards_exist_with_their_uids() -> None:
    assert {board["uid"]: board["title"] for _path, board in BOARDS} == UIDS


@pytest.mark.parametrize(("path", "board"), BOARDS, ids=[board_id(item) for item in BOARDS])
def test_dashboard_model(path: Path, board: dict[str, Any]) -> None:
    assert board["uid"] and len(board["uid"]) <= 40
    assert board["schemaVersion"] >= 39
    assert "vpt" in board["tags"]
    assert board.get("id") is None, "a provisioned dashboard carries no database id"
    ids = [panel["id"] for panel in panels_of(board)]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    for panel in panels_of(board):
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24 and pos["h"] > 0, panel["title"]


@pytest.mark.parametrize(("path", "board"), BOARDS, ids=[board_id(item) for item in BOARDS])
def test_datasource_is_a_variable_never_an_import_input(path: Path, board: dict[str, Any]) -> None:
    raw = path.read_text(encoding="utf-8")
    assert "__inputs" not in board and "__requires" not in board
    assert "${DS_" not in raw and "DS_PROMETHEUS" not in raw
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for variable in variables.values():
        if variable["type"] == "query":
            assert variable["datasource"] == DS, variable["name"]
    for panel in query_panels(board):
        assert panel["datasource"] == DS, panel["title"]
        assert panel["targets"], f"{panel['title']}: a panel without a query"
        for target in panel["targets"]:
            assert target["datasource"] == DS, panel["title"]
            assert target["expr"].strip(), f"{panel['title']} {target['refId']}: empty expr"
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]


@pytest.mark.parametrize(("path", "board"), BOARDS, ids=[board_id(item) for item in BOARDS])
def test_queries_only_use_metrics_of_the_contract(path: Path, board: dict[str, Any]) -> None:
    exprs = [target["expr"] for panel in query_panels(board) for target in panel["targets"]]
    exprs += [json.dumps(variable.get("query")) for variable in board["templating"]["list"]]
    used = set().union(*(metric_names(expr) for expr in exprs))
    assert used, "the dashboard queries vpt metrics"
    assert not used - CONTRACT_METRICS, sorted(used - CONTRACT_METRICS)


def test_metric_name_extraction() -> None:
    expr = 'histogram_quantile(0.9, sum by (le) (rate(vpt_answered_wait_seconds_bucket{region=~"x"}[5m])))'
    names = metric_names(expr + " / vpt_calls_ingested_total")
    assert names == {"vpt_answered_wait_seconds", "vpt_calls_ingested_total"}
    assert metric_names("vpt_answer_rate_ratio_count") == {"vpt_answer_rate_ratio_count"}  # not a histogram


def test_every_query_parses_as_promql(tmp_path: Path) -> None:
    """promtool has no offline query parser, but it parses rule expressions: wrap each query in a recording rule."""
    promtool = require_tool("promtool")
    queries = panel_queries()
    lines = ["groups:", "  - name: dashboard-queries", "    rules:"]
    for n, (_board, _panel, expr) in enumerate(queries):
        lines += [f"      - record: dashboard:query:{n}", f"        expr: {json.dumps(expr, ensure_ascii=False)}"]
    path = tmp_path / "queries.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = subprocess.run([promtool, "check", "rules", "--lint=none", str(path)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout


def test_panel_queries_substitute_every_variable() -> None:
    queries = panel_queries()
    assert len(queries) == sum(len(panel["targets"]) for _p, board in BOARDS for panel in query_panels(board))
    for board, panel, expr in queries:
        assert "$" not in expr.replace("$1", ""), (board, panel, expr)
    assert substitute('x{scope="$scope"}[$__rate_interval] ${region} $1') == 'x{scope="SE-AC"}[1m] SE-AC $1'
    with pytest.raises(KeyError):
        substitute("x{a=\"$unknown\"}")


def test_scope_variable_defaults_to_vasterbotten() -> None:
    for uid in MANAGERS:
        variables = {variable["name"]: variable for variable in by_uid(uid)["templating"]["list"]}
        scope = variables["scope"]
        assert scope["definition"] == "label_values(vpt_scope_info, scope)"
        assert scope["multi"] is False and scope["includeAll"] is False
        assert scope["current"]["value"] == "SE-AC"


@pytest.mark.parametrize("uid", SWEDISH)
def test_manager_dashboards_speak_swedish(uid: str) -> None:
    board = by_uid(uid)
    texts = [board["title"]] + [panel["title"] for panel in panels_of(board)]
    texts += [variable.get("label", "") for variable in board["templating"]["list"]]
    for panel in query_panels(board):
        for transformation in panel.get("transformations", []):
            texts += transformation["options"].get("renameByName", {}).values()
        legends = [target.get("legendFormat", "") for target in panel["targets"]]
        texts += [legend for legend in legends if "{{" not in legend]
    for panel in query_panels(board):  # value mappings (Uppe/Nere) and overrides' display names
        for mapping in panel["fieldConfig"]["defaults"].get("mappings", []):
            texts += [str(option.get("text", "")) for option in mapping.get("options", {}).values()]
        for override in panel["fieldConfig"].get("overrides", []):
            texts += [str(prop["value"]) for prop in override["properties"] if prop["id"] == "displayName"]
    english = [text for text in texts if ENGLISH_WORDS.search(text)]
    assert not english, english
    joined = " ".join(texts)
    if uid in MANAGERS:
        for word in ("Svarsfrekvens", "Medelväntetid", "Inkommande samtal", "Besvarade", "Servicenivå"):
            assert word in joined, word
    else:
        for word in ("Inläsningar", "Källor", "Worker uppe", "Databasen uppe"):
            assert word in joined, word


def find(board: dict[str, Any], title: str) -> dict[str, Any]:
    return next(panel for panel in panels_of(board) if panel["title"] == title)


def test_stat_panels_show_their_units() -> None:
    """Their colours follow each scope's own target (tests/deploy/test_dashboard_colours.py)."""
    board = by_uid("vpt-tillganglighet")
    answer_rate = find(board, "Svarsfrekvens, månaden hittills")
    assert answer_rate["type"] == "stat"
    assert answer_rate["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert find(board, "Medelväntetid, månaden hittills")["fieldConfig"]["defaults"]["unit"] == "s"
    for title in ("Status svarsfrekvens", "Status medelväntetid", "Behövd svarsfrekvens resten av månaden",
                  "Förväntade samtal resten av månaden"):
        assert find(board, title)["type"] == "stat"


def test_month_to_date_series_have_a_dashed_target_line() -> None:
    board = by_uid("vpt-tillganglighet")
    for kpi, target_metric in (("vpt_answer_rate_ratio", "vpt_target_answer_rate_ratio"),
                               ("vpt_mean_wait_seconds", "vpt_target_mean_wait_seconds")):
        panel = next(p for p in query_panels(board) if p["type"] == "timeseries"
                     and any(kpi in t["expr"] and 'window="month_to_date"' in t["expr"] for t in p["targets"]))
        ref = next(t["refId"] for t in panel["targets"] if target_metric in t["expr"])
        override = next(o for o in panel["fieldConfig"]["overrides"]
                        if o["matcher"] == {"id": "byFrameRefID", "options": ref})
        styles = [prop["value"] for prop in override["properties"] if prop["id"] == "custom.lineStyle"]
        assert styles and styles[0]["fill"] == "dash"


def test_tables_join_instant_queries_into_named_columns() -> None:
    tables = [(board, panel) for _p, board in BOARDS for panel in query_panels(board) if panel["type"] == "table"]
    assert {board["uid"] for board, _panel in tables} == set(UIDS)
    for _board, panel in tables:
        assert all(t["instant"] and not t["range"] and t["format"] == "table" for t in panel["targets"])
        ids = [t["id"] for t in panel["transformations"]]
        assert ids[:2] == ["merge", "organize"], panel["title"]
        organize = panel["transformations"][1]["options"]
        for target in panel["targets"]:
            value = f"Value #{target['refId']}"
            assert value in organize["renameByName"] or organize["excludeByName"].get(value), (panel["title"], value)
    scorecard = find(by_uid("vpt-tillganglighet"), "Styrkort: alla regioner och samverkan, månaden hittills")
    columns = set(scorecard["transformations"][1]["options"]["renameByName"].values())
    assert {"Område", "Inkommande samtal", "Svarsfrekvens", "Medelväntetid", "Status svarsfrekvens",
            "Status medelväntetid", "Status svarsfrekvens föregående månad"} <= columns


def test_intraday_and_ingest_health_show_what_the_brief_asks() -> None:
    intraday = " ".join(t["expr"] for p in query_panels(by_uid("vpt-intraday")) for t in p["targets"])
    assert 'window="today"' in intraday
    assert 'sum by (region, outcome) (increase(vpt_calls_ingested_total{region=~"$region"}[1h]))' in intraday
    assert ('histogram_quantile(0.9, sum by (le) (rate(vpt_answered_wait_seconds_bucket{region=~"$region"}'
            '[$__rate_interval])))') in intraday
    ingest = " ".join(t["expr"] for p in query_panels(by_uid("vpt-ingest")) for t in p["targets"])
    for needed in ("time() - vpt_source_last_success_timestamp_seconds", "vpt_source_records_behind",
                   "vpt_source_consecutive_failures", "vpt_ingest_rows_total", "vpt_ingest_last_run_duration_seconds",
                   "time() - vpt_worker_last_heartbeat_timestamp_seconds", "vpt_worker_up", "vpt_database_up"):
        assert needed in ingest, needed


def test_dashboard_folder_holds_only_dashboards() -> None:
    assert sorted(path.name for path in DASHBOARD_DIR.iterdir()) == [path.name for path, _board in BOARDS]
