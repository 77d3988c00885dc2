"""``vpt alerts`` and ``vpt silences``: the same read side and silence service as the API, in the terminal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.api.app import create_app
from app.cli import app, wording
from app.cli.alerts import duration_text, parse_duration, value_text
from app.config import Settings
from tests.alerts.test_alerts_api import Seeded, seed
from tests.auth import admin_headers

runner = CliRunner(env={"VPT_LANG": "en"})  # these tests read the English wording (tests/cli: both)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    monkeypatch.setattr("app.cli.alerts.console", Console(width=400))  # no wrapping inside cells


@pytest.fixture
def seeded(env: None, session_factory: sessionmaker[Session]) -> Seeded:
    return seed(session_factory)


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """Helpers called outside a run speak the last run's language: these read the English wording."""
    monkeypatch.setattr(wording, "_lang", "en")


def rows(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("│ ").split("│")] for line in text.splitlines()
            if line.startswith("│")]


def invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_alerts_list_shows_state_values_local_times_and_delivery(seeded: Seeded) -> None:
    table = rows(invoke("alerts", "list").stdout)
    assert [r[0] for r in table] == [str(i) for i in (seeded.at_risk, seeded.slip, seeded.stale, seeded.worker)]
    assert table[0][1:] == ["firing", "target_at_risk", "SE-AC", "answer_rate", "2025-10", "81.0 % / 85.0 %",
                            "2025-10-06 10:30", "–", "1 delivered, 1 pending, 1 failed (connection refused)"]
    assert table[1][6:9] == ["6 min 40 s / 15 min", "2025-10-06 10:10", "2025-10-06 10:50"]  # Stockholm, UTC+2
    assert table[2][1:3] == ["pending", "data_stale"] and table[2][6] == "2 h / 1 h"
    assert table[3][-1] == f"muted (silence {seeded.silence})"

    every = rows(invoke("alerts", "list", "--all").stdout)
    assert str(seeded.missed) in [r[0] for r in every] and len(every) == 5
    assert [r[0] for r in rows(invoke("alerts", "list", "--rule", "fast_slip").stdout)] == [str(seeded.slip)]
    assert rows(invoke("alerts", "list", "--scope", "SE-Z").stdout) == []
    assert "no alerts" in invoke("alerts", "list", "--scope", "SE-Z").stdout


def test_history_and_notifications(seeded: Seeded) -> None:
    history = rows(invoke("alerts", "history", "--limit", "2").stdout)
    assert [r[1] for r in history] == [str(seeded.worker), str(seeded.missed)]  # newest first
    assert history[0][0] == "2025-10-06 10:45" and history[0][6] == "pending → firing"
    assert history[0][8] == f"muted (silence {seeded.silence})"
    assert history[1][6] == "pending → inactive" and history[1][8] == "none"
    slip = rows(invoke("alerts", "history", "--alert", str(seeded.slip)).stdout)
    assert [r[6] for r in slip] == ["firing → resolved", "pending → firing", "inactive → pending"]
    assert [r[8] for r in slip] == ["1 delivered", "1 delivered", "none"]
    one = rows(invoke("alerts", "history", "--alert", str(seeded.at_risk)).stdout)
    assert [r[6] for r in one] == ["pending → firing", "inactive → pending"]

    outbox = rows(invoke("alerts", "notifications").stdout)
    assert [(r[3], r[4]) for r in outbox] == [("slack", "delivered"), ("slack", "delivered"), ("email", "pending"),
                                              ("webhook", "failed"), ("slack", "delivered")]
    assert outbox[2][2] == "target_at_risk SE-AC answer_rate 2025-10 → firing"
    assert outbox[2][5:] == ["2", "2025-10-06 10:35", "connection refused", "firing title"]
    failed = rows(invoke("alerts", "notifications", "--status", "failed").stdout)
    assert len(failed) == 1 and failed[0][7] == "HTTP 500 from receiver"
    bad = runner.invoke(app, ["alerts", "notifications", "--status", "lost"])
    assert bad.exit_code == 1 and "--status: must be one of pending, delivered, failed" in bad.stderr


def test_silences_round_trip_with_the_api(env: None, settings: Settings) -> None:
    made = invoke("silences", "add", "--rule", "fast_slip", "--scope", "SE-BD", "--for", "2h",
                  "--reason", "Planerat underhåll", "--by", "anna")
    assert made.stdout.startswith("silence 1: fast_slip in SE-BD muted until ")
    listed = rows(invoke("silences", "list").stdout)
    assert len(listed) == 1 and listed[0][:3] == ["1", "fast_slip", "SE-BD"]
    assert listed[0][5:] == ["yes", "Planerat underhåll", "anna"]

    with TestClient(create_app(settings), headers=admin_headers(settings)) as client:  # API sees what CLI stored
        (silence,) = client.get("/api/v1/silences").json()
        assert silence["created_by"] == "anna" and silence["active"] is True
        response = client.post("/api/v1/silences", json={"scope": "SE-AC", "ends_at": "2099-01-01T00:00:00Z",
                                                         "reason": "via API"})
        assert response.status_code == 200
    listed = rows(invoke("silences", "list").stdout)
    assert [r[:3] for r in listed] == [["2", "any", "SE-AC"], ["1", "fast_slip", "SE-BD"]]
    assert listed[0][4] == "2099-01-01 01:00"  # Stockholm

    assert "silence 1 ended at" in invoke("silences", "expire", "1").stdout
    assert "silence 1 had already ended" in invoke("silences", "expire", "1").stdout
    assert [r[0] for r in rows(invoke("silences", "list").stdout)] == ["2"]
    assert [r[0] for r in rows(invoke("silences", "list", "--all").stdout)] == ["2", "1"]
    missing = runner.invoke(app, ["silences", "expire", "99"])
    assert missing.exit_code == 1 and "no silence 99" in missing.stderr
    with TestClient(create_app(settings), headers=admin_headers(settings)) as client:
        assert [s["id"] for s in client.get("/api/v1/silences").json()] == [2]


@pytest.mark.parametrize(("args", "message"), [
    (["--for", "1h"], "--rule: give a rule, a scope or both"),
    (["--rule", "fast_slip"], "give exactly one of --until and --for"),
    (["--rule", "fast_slip", "--for", "1h", "--until", "2099-01-01T00:00Z"], "give exactly one of --until and --for"),
    (["--rule", "fast_slip", "--until", "2099-01-01T00:00"], "--until/--for: needs a time zone"),
    (["--rule", "fast_slip", "--until", "2020-01-01T00:00+01:00"], "--until/--for: must be in the future"),
    (["--rule", "fast_slip", "--until", "tomorrow"], "--until: not an ISO time, got 'tomorrow'"),
    (["--rule", "fast_slip", "--for", "soon"], "--for: must be a duration like 90m"),
    (["--rule", "fast_slip", "--for", "0m"], "--for: must be longer than zero"),
    (["--rule", "fast_slip", "--for", "1h", "--reason", "  "], "--reason: say why"),
])
def test_silences_add_fails_with_exit_1_naming_the_option(env: None, args: list[str], message: str) -> None:
    if "--reason" not in args:
        args = [*args, "--reason", "underhåll"]
    result = runner.invoke(app, ["silences", "add", *args])
    assert result.exit_code == 1, result.output
    assert message in " ".join(result.stderr.split())
    assert rows(invoke("silences", "list", "--all").stdout) == []


def test_formatting_helpers(english: None) -> None:
    assert [parse_duration(t) for t in ("90m", "2h", "1h30m", "3d", "45min")] == [
        timedelta(minutes=90), timedelta(hours=2), timedelta(minutes=90), timedelta(days=3), timedelta(minutes=45)]
    for bad in ("", "h", "2x", "400d"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert [duration_text(s) for s in (42, 600, 3900, 7200, 93600)] == ["42 s", "10 min", "1 h 5 min", "2 h",
                                                                        "1 d 2 h"]
    assert value_text("answer_rate", 0.8123) == "81.2 %" and value_text("mean_wait", None) == "–"
