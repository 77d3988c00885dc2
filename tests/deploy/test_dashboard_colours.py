"""Issue 16, part 3: the dashboards colour a figure by each scope's own target version, never at a fixed 85 % or
600 s.

Before, every stat and table cell turned green at 0.85 and red above 600.001 s: after SE-Z's target was raised to
90 %, its 86.5 % showed green next to "I fara". Now a KPI stat takes its colour from a second query (Grafana's
"Config from query results" with the ``color`` handler): the status series (``vpt_target_status``) for the month
so far and the previous month (judged by the target valid then), the target series for today, which has no
status. The colour queries are run by promtool's PromQL engine on series where two regions with different
targets have the same figure.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.kpi.glossary import STATUS_WORDS, STATUSES, capitalised, status_word
from tests.deploy.panels import SUBSTITUTIONS, require_tool, substitute
from tests.deploy.test_dashboards import BOARDS, by_uid, find, panels_of, query_panels

#: The colour of each status, the same on every dashboard (and as the board report: green, orange, red).
STATUS_COLOURS = {"met": "green", "on_track": "green", "at_risk": "orange", "missed": "red", "unreachable": "red",
                  "no_data": "text"}
#: The figures judged against a target, and the KPI whose target judges them.
JUDGED = {"vpt_answer_rate_ratio": "answer_rate", "vpt_mean_wait_seconds": "mean_wait",
          "vpt_needed_answer_rate_ratio": "answer_rate"}
#: The default targets (SPEC §6): no colour may switch at them, whatever a region's target is.
DEFAULT_BOUNDS = (0.85, 600.0)
WINDOW = re.compile(r'window="(\w+)"')
COLOUR_LABEL = re.compile(r'"color", "(\w+)", "status", "([\w|]+)"')


def threshold_steps(panel: dict[str, Any]) -> list[tuple[str, float | None]]:
    """Every threshold step of a panel: its defaults and every override that sets thresholds."""
    field_config = panel.get("fieldConfig", {})
    found = [field_config.get("defaults", {}).get("thresholds")]
    found += [prop["value"] for override in field_config.get("overrides", []) for prop in override["properties"]
              if prop["id"] == "thresholds"]
    return [(step["color"], step["value"]) for thresholds in found if thresholds for step in thresholds["steps"]]


def hard_coded(value: float | None) -> bool:
    """0.85 or 600 itself, or a value nudged to make "at least"/"at most" work (0.850001, 600.001)."""
    return value is not None and any(abs(value - bound) <= bound * 1e-3 for bound in DEFAULT_BOUNDS)


def test_no_panel_hard_codes_a_default_target_as_a_threshold() -> None:
    offenders = [(board["title"], panel["title"], step) for _path, board in BOARDS for panel in panels_of(board)
                 for step in threshold_steps(panel) if hard_coded(step[1])]
    assert offenders == []
    assert hard_coded(0.850001) and hard_coded(600.001) and not hard_coded(0.9) and not hard_coded(900)


def judged_stats() -> list[tuple[str, dict[str, Any]]]:
    """(dashboard uid, panel) for every stat or gauge showing a figure that a target judges."""
    return [(board["uid"], panel) for _path, board in BOARDS for panel in query_panels(board)
            if panel["type"] in ("stat", "gauge")
            and any(metric in panel["targets"][0]["expr"] for metric in JUDGED)]


def colour_source(panel: dict[str, Any]) -> dict[str, Any]:
    """The query whose ``color`` label colours the panel's figure (query A)."""
    transformations = [t for t in panel.get("transformations", []) if t["id"] == "configFromData"]
    assert len(transformations) == 1, f"{panel['title']}: not coloured from a query"
    options = transformations[0]["options"]
    assert options["mappings"] == [{"fieldName": "color", "handlerKey": "color"}], panel["title"]
    assert options["applyTo"] == {"id": "byFrameRefID", "options": "A"}, panel["title"]
    source = next(t for t in panel["targets"] if t["refId"] == options["configRefId"])
    assert source["instant"] and source["format"] == "table", panel["title"]  # labels become fields
    return source


def test_every_judged_stat_is_coloured_by_its_scopes_status_or_target() -> None:
    stats = judged_stats()
    titles = {panel["title"] for _uid, panel in stats}
    assert titles == {
        "Svarsfrekvens, månaden hittills", "Medelväntetid, månaden hittills", "Behövd svarsfrekvens resten av månaden",
        "Svarsfrekvens föregående månad", "Medelväntetid föregående månad", "Svarsfrekvens i dag",
        "Medelväntetid i dag"}
    for _uid, panel in stats:
        figure = panel["targets"][0]["expr"]
        kpi = next(kpi for metric, kpi in JUDGED.items() if metric in figure)
        window = (WINDOW.findall(figure) or ["month_to_date"])[0]  # the needed answer rate is the month's
        source = colour_source(panel)["expr"]
        if window == "today":  # no status for a day: the figure against the target in force this month
            assert f"vpt_target_{kpi}_" in source and 'window="today"' in source, panel["title"]
        else:
            assert "vpt_target_status" in source and f'kpi="{kpi}"' in source, panel["title"]
            assert f'window="{window}"' in source, panel["title"]
            states = {state: colour for colour, states in COLOUR_LABEL.findall(source)
                      for state in states.split("|")}
            wanted = ("on_track", "at_risk", "unreachable", "no_data") if window == "month_to_date" else (
                "met", "missed", "no_data")
            assert {state: states.get(state) for state in wanted} == {s: STATUS_COLOURS[s] for s in wanted}
        defaults = panel["fieldConfig"]["defaults"]
        assert defaults["color"] == {"mode": "fixed", "fixedColor": "text"}, panel["title"]  # no target: neutral


def test_status_words_and_colours_are_the_glossarys() -> None:
    """A status shown on a dashboard says the glossary's word and the colour of its figure."""
    seen: set[str] = set()
    for _path, board in BOARDS:
        for panel in query_panels(board):
            for override in panel["fieldConfig"].get("overrides", []):
                status = override["matcher"]["options"]
                if override["matcher"]["id"] != "byName" or status not in STATUSES:
                    continue
                props = {prop["id"]: prop["value"] for prop in override["properties"]}
                assert props["displayName"] == capitalised(status_word(status, "sv")), (panel["title"], status)
                assert props["color"] == {"mode": "fixed", "fixedColor": STATUS_COLOURS[status]}
                seen.add(status)
            for override in panel["fieldConfig"].get("overrides", []):
                for prop in override["properties"]:
                    if prop["id"] == "mappings":
                        for mapping in prop["value"]:
                            for code, option in mapping["options"].items():
                                if code in STATUSES:
                                    assert option["text"] == capitalised(status_word(code, "sv")), code
                                    assert option["color"] == STATUS_COLOURS[code], code
                                    seen.add(code)
    assert seen == set(STATUSES) == set(STATUS_WORDS) - {"no_target"}


def colour_query(title: str, scope: str) -> str:
    board = next(board for _path, board in BOARDS if any(p["title"] == title for p in panels_of(board)))
    return substitute(colour_source(find(board, title))["expr"], {**SUBSTITUTIONS, "scope": scope})


def series(metric: str, value: float, **labels: str) -> dict[str, str]:
    text = ", ".join(f'{key}="{val}"' for key, val in sorted(labels.items()))
    return {"series": f"{metric}{{{text}}}", "values": f"{value}x5"}


def status_series(scope: str, kpi: str, window: str, current: str) -> list[dict[str, str]]:
    states = ("on_track", "at_risk", "unreachable", "no_data") if window == "month_to_date" else (
        "met", "missed", "no_data")
    return [series("vpt_target_status", 1 if state == current else 0, scope=scope, scope_kind="region", kpi=kpi,
                   window=window, status=state) for state in states]


# (scope, its answer-rate target, its mean-wait target, today's answer rate, today's mean wait, answer-rate status
#  this month, mean-wait status this month, answer-rate status of the previous month). SE-Z and SE-AC have the
# same figures; SE-Z's targets are stricter. SE-BD sits exactly at its targets (at least / at most: met).
REGIONS = (
    ("SE-Z", 0.90, 540, 0.865, 580, "at_risk", "unreachable", "missed"),
    ("SE-AC", 0.85, 600, 0.865, 580, "on_track", "on_track", "met"),
    ("SE-BD", 0.85, 600, 0.85, 600, "no_data", "at_risk", "no_data"),
)


def test_colour_queries_judge_each_region_by_its_own_target(tmp_path: Path) -> None:
    """The panels' own colour queries, evaluated by Prometheus' engine (promtool), on two regions with the same
    86.5 % and different targets: SE-Z (90 %) is not green, SE-AC (85 %) is."""
    promtool = require_tool("promtool")
    inputs: list[dict[str, str]] = []
    tests: list[dict[str, Any]] = []

    def expect(title: str, scope: str, colour: str) -> None:
        """Only the labels matter (the value is the figure or the status' 1): one series, of this colour."""
        tests.append({"expr": f"max by (scope, color) ({colour_query(title, scope)}) * 0 + 1", "eval_time": "1m",
                      "exp_samples": [{"labels": f'{{color="{colour}", scope="{scope}"}}', "value": 1}]})

    for scope, rate_target, wait_target, rate, wait, rate_status, wait_status, closed in REGIONS:
        inputs += [series("vpt_target_answer_rate_ratio", rate_target, scope=scope, scope_kind="region"),
                   series("vpt_target_mean_wait_seconds", wait_target, scope=scope, scope_kind="region"),
                   series("vpt_answer_rate_ratio", rate, scope=scope, scope_kind="region", window="today"),
                   series("vpt_mean_wait_seconds", wait, scope=scope, scope_kind="region", window="today")]
        inputs += status_series(scope, "answer_rate", "month_to_date", rate_status)
        inputs += status_series(scope, "mean_wait", "month_to_date", wait_status)
        inputs += status_series(scope, "answer_rate", "previous_month", closed)
        for title in ("Svarsfrekvens, månaden hittills", "Behövd svarsfrekvens resten av månaden"):
            expect(title, scope, STATUS_COLOURS[rate_status])
        expect("Medelväntetid, månaden hittills", scope, STATUS_COLOURS[wait_status])
        expect("Svarsfrekvens föregående månad", scope, STATUS_COLOURS[closed])
        expect("Svarsfrekvens i dag", scope, "green" if rate >= rate_target else "red")
        expect("Medelväntetid i dag", scope, "green" if wait <= wait_target else "red")
    assert tests[4]["exp_samples"][0]["labels"] == '{color="red", scope="SE-Z"}'  # today: 86.5 % against 90 %
    (tmp_path / "rules.yml").write_text("groups: []\n", encoding="utf-8")
    (tmp_path / "colours_test.yml").write_text(yaml.safe_dump({
        "rule_files": ["rules.yml"], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": inputs, "promql_expr_test": tests}],
    }, allow_unicode=True), encoding="utf-8")
    result = subprocess.run([promtool, "test", "rules", "colours_test.yml"], capture_output=True, text=True,
                            cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("uid", ["vpt-tillganglighet", "vpt-intraday"])
def test_time_series_draw_the_target_instead_of_a_fixed_threshold(uid: str) -> None:
    for panel in query_panels(by_uid(uid)):
        if panel["type"] != "timeseries" or not any(m in t["expr"] for t in panel["targets"] for m in JUDGED):
            continue
        targets = [t for t in panel["targets"] if "vpt_target_" in t["expr"]]
        assert targets, f"{panel['title']}: no target line"
        assert all(colour == "transparent" or value is None for colour, value in threshold_steps(panel))
