"""The Prometheus alerting rules, their unit tests and the Prometheus/Alertmanager configs, checked by the real
tools (promtool from the Debian package prometheus, amtool from prometheus-alertmanager)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy import DEPLOY, load_yaml
from tests.deploy.panels import require_tool
from tests.deploy.test_dashboards import CONTRACT_METRICS, metric_names

PROMETHEUS = DEPLOY / "prometheus"
RULES = PROMETHEUS / "rules.yml"
RULES_TEST = PROMETHEUS / "rules_test.yml"
CONFIG = PROMETHEUS / "prometheus.yml"
ALERTMANAGER = DEPLOY / "alertmanager" / "alertmanager.yml"

ALERTS = {
    "VptTargetAtRisk": "warning",
    "VptTargetUnreachable": "critical",
    "VptTargetMissed": "info",
    "VptDataStale": "warning",
    "VptSourceFailing": "warning",
    "VptWorkerDown": "critical",
    "VptMetricsDatabaseDown": "critical",
    "VptNotificationsStuck": "warning",
    "VptNotificationsFailed": "warning",
}


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(arg) for arg in args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_promtool_accepts_the_rules() -> None:
    result = run(require_tool("promtool"), "check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass() -> None:
    # rule_files in the test file resolve against its own folder, whatever the working directory.
    result = run(require_tool("promtool"), "test", "rules", RULES_TEST.relative_to(DEPLOY.parent), cwd=DEPLOY.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_rule_unit_tests_fail_on_a_wrong_expectation(tmp_path: Path) -> None:
    """The unit tests are not vacuous: changing one expected annotation makes promtool fail."""
    (tmp_path / "rules.yml").write_text(RULES.read_text(encoding="utf-8"), encoding="utf-8")
    text = RULES_TEST.read_text(encoding="utf-8")
    assert text.count("81.25%") >= 2
    (tmp_path / "rules_test.yml").write_text(text.replace("81.25%", "81.5%"), encoding="utf-8")
    result = run(require_tool("promtool"), "test", "rules", tmp_path / "rules_test.yml")
    assert result.returncode != 0


def test_prometheus_config_is_valid_and_finds_its_rules() -> None:
    # rule_files resolve relative to prometheus.yml, as they do in the container where both sit in /etc/prometheus.
    result = run(require_tool("promtool"), "check", "config", CONFIG, cwd=DEPLOY.parent.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout
    assert "SUCCESS: 10 rules found" in result.stdout


def test_alertmanager_config_is_valid() -> None:
    result = run(require_tool("amtool"), "check-config", ALERTMANAGER)
    assert result.returncode == 0, result.stdout + result.stderr


def rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(RULES)["groups"] for rule in group["rules"]]


def test_every_alert_is_defined_with_its_severity_and_bilingual_annotations() -> None:
    found: dict[str, set[str]] = {}
    for rule in rules():
        assert "alert" in rule, "only alerting rules live in rules.yml"
        found.setdefault(rule["alert"], set()).add(rule["labels"]["severity"])
        annotations = rule["annotations"]
        assert set(annotations) == {"summary", "summary_en", "description", "description_en"}, rule["alert"]
        names = "$labels.source" if rule["alert"] in ("VptDataStale", "VptSourceFailing") else "$labels.scope"
        if rule["alert"].startswith("VptTarget") or rule["alert"] in ("VptDataStale", "VptSourceFailing"):
            assert all(names in text for text in annotations.values()), f"{rule['alert']}: say which {names}"
    assert {name: next(iter(levels)) for name, levels in found.items()} == ALERTS
    assert all(len(levels) == 1 for levels in found.values())


def squash(expr: str) -> str:
    return re.sub(r"\s+", "", expr)


def test_rules_use_the_agreed_expressions_and_durations() -> None:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for rule in rules():
        by_name.setdefault(rule["alert"], []).append(rule)
    assert [(squash(r["expr"]), r["for"]) for r in by_name["VptTargetAtRisk"]] == [
        ('vpt_target_status{window="month_to_date",status="at_risk"}==1', "30m")]
    assert [(squash(r["expr"]), r["for"]) for r in by_name["VptTargetUnreachable"]] == [
        ('vpt_target_status{window="month_to_date",status="unreachable"}==1', "15m")]
    assert [(squash(r["expr"]), r["for"]) for r in by_name["VptTargetMissed"]] == [
        ('vpt_target_status{window="previous_month",status="missed"}==1', "0m")]
    assert [(squash(r["expr"]), r["for"]) for r in by_name["VptDataStale"]] == [
        ("(time()-vpt_source_last_success_timestamp_seconds)>3*vpt_source_cadence_seconds"
         "and(time()-vpt_source_last_success_timestamp_seconds)>300", "5m")]
    assert [(squash(r["expr"]), r["for"]) for r in by_name["VptSourceFailing"]] == [
        ("vpt_source_consecutive_failures>=3andon(source)vpt_source_cadence_seconds", "5m")]
    assert sorted((squash(r["expr"]), r["for"]) for r in by_name["VptWorkerDown"]) == [
        ("absent(vpt_worker_up)", "5m"), ("vpt_worker_up==0", "2m")]
    assert [(squash(r["expr"]), r["for"]) for r in by_name["VptMetricsDatabaseDown"]] == [("vpt_database_up==0", "2m")]
    assert [(squash(r["expr"]), r["for"]) for r in by_name["VptNotificationsStuck"]] == [
        ("vpt_notification_oldest_pending_seconds>3600", "5m")]
    assert [(squash(r["expr"]), r["for"]) for r in by_name["VptNotificationsFailed"]] == [
        ('vpt_notifications{status="failed"}-min_over_time(vpt_notifications{status="failed"}[1h])>0', "0m")]


def test_rules_and_their_tests_only_use_metrics_of_the_contract() -> None:
    for path in (RULES, RULES_TEST):
        unknown = metric_names(path.read_text(encoding="utf-8")) - CONTRACT_METRICS
        assert not unknown, f"{path.name}: {sorted(unknown)}"


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    cases: dict[str, dict[str, int]] = {name: {"firing": 0, "quiet": 0} for name in ALERTS}
    for test in load_yaml(RULES_TEST)["tests"]:
        for case in test.get("alert_rule_test", []):
            kind = "firing" if case.get("exp_alerts") else "quiet"
            cases[case["alertname"]][kind] += 1
    missing = {name: kinds for name, kinds in cases.items() if not kinds["firing"] or not kinds["quiet"]}
    assert not missing, f"alerts without a firing and a not-firing case: {missing}"


@pytest.mark.parametrize("label", ["alertname", "scope"])
def test_alertmanager_groups_by_rule_and_scope(label: str) -> None:
    config = load_yaml(ALERTMANAGER)
    assert label in config["route"]["group_by"]
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    assert config["route"]["receiver"] in receivers
    assert receivers[config["route"]["receiver"]]["webhook_configs"][0]["url"] == "http://alert-receiver:9095/"
