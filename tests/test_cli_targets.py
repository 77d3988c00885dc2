"""``vpt targets list`` and ``vpt targets set``: the same service as the API, in the terminal."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.api.app import create_app
from app.cli import app
from app.config import Settings
from app.kpi.localtime import next_month
from app.scorecard.targets import current_month
from tests.auth import key_headers

runner = CliRunner()


@pytest.fixture
def env(monkeypatch, database_url):
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)


def flat(text: str) -> str:
    return " ".join(text.split())


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("│")]


def test_list_prints_the_targets_in_force_in_swedish(env):
    result = runner.invoke(app, ["targets", "list"])
    assert result.exit_code == 0, result.output
    for header in ("Område", "Mått", "Jämförelse", "Värde", "Gäller från", "Satt av", "Motivering"):
        assert header in result.stdout
    assert f"Mål som gäller {current_month():%Y-%m}" in result.stdout
    rows = table_rows(result.stdout)
    assert len(rows) == 44
    assert flat(rows[0]) == ("│ Stockholm (SE-AB) │ answer_rate │ >= │ 0.85 │ 2000-01 │ system │ "
                             "default target (SPEC §6) │")
    assert "600 s" in rows[1] and "Norra sjukvårdsregionen (norra)" in rows[-1]

    one = runner.invoke(app, ["targets", "list", "--scope", "SE-AC", "--month", "2025-10"])
    assert one.exit_code == 0 and "Mål som gäller 2025-10" in one.stdout
    assert len(table_rows(one.stdout)) == 2 and all("Västerbotten (SE-AC)" in r for r in table_rows(one.stdout))


def test_set_then_list_and_history(env):
    result = runner.invoke(app, ["targets", "set", "SE-AC", "answer_rate", "0.9", "--from", "2025-11",
                                 "--reason", "Beslut RS", "--by", "anna"])
    assert result.exit_code == 0, result.output
    assert "sparat: Västerbotten (SE-AC) answer_rate >= 0.9 från 2025-11, satt av anna" in flat(result.stdout)
    assert "ersätter: Västerbotten (SE-AC) answer_rate >= 0.85 från 2000-01, satt av system" in flat(result.stdout)
    assert "2025-11 är en avslutad månad" in flat(result.stderr)  # correcting history is said out loud

    before = runner.invoke(app, ["targets", "list", "--scope", "SE-AC", "--month", "2025-10"])
    assert "0.85" in table_rows(before.stdout)[0] and "anna" not in before.stdout
    after = runner.invoke(app, ["targets", "list", "--scope", "SE-AC", "--month", "2025-11"])
    (row,) = table_rows(after.stdout)[:1]
    assert flat(row).split(" │ ")[3:6] == ["0.9", "2025-11", "anna"]
    assert "Beslut RS" in after.stdout

    history = runner.invoke(app, ["targets", "list", "--scope", "SE-AC", "--history"])
    assert history.exit_code == 0 and "Målhistorik" in history.stdout and "Sparad (UTC)" in history.stdout
    assert [flat(r).split(" │ ")[1:4] for r in table_rows(history.stdout)] == [
        ["answer_rate", ">=", "0.85"], ["mean_wait", "<=", "600 s"], ["answer_rate", ">=", "0.9"]]


def test_set_infers_a_collaboration_and_defaults_to_the_os_user(env, monkeypatch, settings: Settings):
    monkeypatch.setattr("app.cli.targets.getpass.getuser", lambda: "operatör")
    start = next_month(current_month())
    result = runner.invoke(app, ["targets", "set", "norra", "mean_wait", "480", "--from", f"{start:%Y-%m}",
                                 "--reason", "Gemensam nattjour"])
    assert result.exit_code == 0, result.output
    assert "satt av operatör" in flat(result.stdout) and "stängd" not in result.stderr
    comma = runner.invoke(app, ["targets", "set", "SE-BD", "service_level", "0,75", "--from", f"{start:%Y-%m}",
                                "--reason", "Ny servicenivå", "--comparator", ">="])
    assert comma.exit_code == 0, comma.output
    # the API reads exactly what the CLI stored
    with TestClient(create_app(settings), headers=key_headers(settings, "read")) as client:
        targets = client.get("/api/v1/targets", params={"month": f"{start:%Y-%m}"}).json()["targets"]
    by_key = {(t["scope"], t["kpi"]): t for t in targets}
    assert by_key["norra", "mean_wait"] == {**by_key["norra", "mean_wait"], "scope_kind": "collaboration",
                                            "comparator": "<=", "value": 480, "set_by": "operatör"}
    assert by_key["SE-BD", "service_level"]["value"] == 0.75


@pytest.mark.parametrize(("args", "message"), [
    (["SE-XX", "answer_rate", "0.9"], "no region or collaboration 'SE-XX'"),
    (["se-ac", "answer_rate", "0.9"], "did you mean 'SE-AC'?"),
    (["SE-AC", "offered", "0.9"], "KPI: 'offered' cannot have a target"),
    (["SE-AC", "answer_rate", "1.5"], "VALUE: answer_rate is a ratio: must be between 0 and 1, got '1.5'"),
    (["SE-AC", "answer_rate", "85%"], "VALUE: must be a number, got '85%'"),
    (["SE-AC", "mean_wait", "90000"], "VALUE: mean_wait is in seconds: must be between 0 and 86400"),
    (["SE-AC", "answer_rate", "0.1234567"], "VALUE: has more than 6 decimals"),
    (["SE-AC", "answer_rate", "nan"], "VALUE: must be a finite number"),
    (["SE-AC", "answer_rate", "0.9", "--comparator", "=>"], "--comparator: must be '>=' or '<=', got '=>'"),
    (["SE-AC", "answer_rate", "0.9", "--from", "2025-13"], "--from: must be a month YYYY-MM, got '2025-13'"),
    (["SE-AC", "answer_rate", "0.9", "--reason", " "], "--reason: is required"),
    (["SE-AC", "answer_rate", "0.9", "--by", ""], "--by: is required"),
])
def test_set_fails_with_exit_1_naming_the_problem(env, args, message):
    defaults = {"--from": "2026-01", "--reason": "ett skäl"}
    for option, value in defaults.items():
        if option not in args:
            args = [*args, option, value]
    result = runner.invoke(app, ["targets", "set", *args])
    assert result.exit_code == 1, result.output
    assert message in flat(result.stderr)
    history = runner.invoke(app, ["targets", "list", "--history"])
    assert len(table_rows(history.stdout)) == 44  # nothing stored


def test_list_fails_with_exit_1_naming_the_problem(env):
    bad_month = runner.invoke(app, ["targets", "list", "--month", "2025-13"])
    assert bad_month.exit_code == 1 and "--month: must be a month YYYY-MM" in flat(bad_month.stderr)
    unknown = runner.invoke(app, ["targets", "list", "--scope", "sodra"])
    assert unknown.exit_code == 1 and "no region or collaboration 'sodra'" in unknown.stderr
    both = runner.invoke(app, ["targets", "list", "--history", "--month", "2025-10"])
    assert both.exit_code == 1 and "utelämna --month" in both.stderr
    missing_reason = runner.invoke(app, ["targets", "set", "SE-AC", "answer_rate", "0.9", "--from", "2026-01"])
    assert missing_reason.exit_code == 2 and "--reason" in missing_reason.stderr  # Typer's usage error
