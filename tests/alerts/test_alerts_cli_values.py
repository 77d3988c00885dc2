"""``vpt alerts list`` and ``history`` show a value beside its threshold so that different numbers never read the
same: a wait of 7:01 against 7:00 used to read "7 min / 7 min"."""

from __future__ import annotations

import pytest
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.cli import app, wording
from app.cli.alerts import compared_text, duration_text
from app.db.session import transaction
from tests.alerts.test_alerts_api import T0, _alert, _event

# (rule, scope, kpi, value, threshold, shown)
CASES = [
    ("fast_slip", "SE-AC", "mean_wait", 421.0, 420.0, "7 min 1 s / 7 min"),
    ("target_at_risk", "SE-BD", "mean_wait", 600.4, 600.0, "10 min 0.4 s / 10 min"),
    ("target_missed", "SE-Z", "answer_rate", 0.8496, 0.85, "84.96 % / 85.00 %"),
    ("data_stale", "platform", "", 3630.0, 3600.0, "1 h 0 min 30 s / 1 h"),
]


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """Helpers called outside a run speak the last run's language: these read the English wording."""
    monkeypatch.setattr(wording, "_lang", "en")


def rows(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("│ ").split("│")] for line in text.splitlines()
            if line.startswith("│")]


def test_list_and_history_tell_a_value_from_its_threshold(
    monkeypatch: pytest.MonkeyPatch, database_url: str, session_factory: sessionmaker[Session]
) -> None:
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    monkeypatch.setattr("app.cli.alerts.console", Console(width=400))
    with transaction(session_factory) as session:
        for rule, scope, kpi, value, threshold, _ in CASES:
            alert = _alert(session, rule, scope, kpi, "2025-10" if kpi else "", "firing", fired_at=T0, value=value,
                           threshold=threshold)
            _event(session, alert, T0, "pending", "firing")
    runner = CliRunner(env={"VPT_LANG": "en"})  # the English wording (tests/cli: both languages)
    listed = runner.invoke(app, ["alerts", "list"])
    history = runner.invoke(app, ["alerts", "history"])
    assert listed.exit_code == history.exit_code == 0, listed.output + history.output
    shown = {case[5] for case in CASES}
    assert {row[6] for row in rows(listed.stdout)} == shown
    assert {row[7] for row in rows(history.stdout)} == shown


def test_durations_name_every_unit_down_to_the_second(english: None) -> None:
    assert [duration_text(s) for s in (0, 42, 59.6, 421, 600, 3605, 3900, 7200, 86_401, 93_600)] == [
        "0 s", "42 s", "1 min", "7 min 1 s", "10 min", "1 h 0 min 5 s", "1 h 5 min", "2 h", "1 d 0 h 0 min 1 s",
        "1 d 2 h"]
    assert duration_text(600.4, 1) == "10 min 0.4 s" and duration_text(-75) == "−1 min 15 s"


def test_more_decimals_only_when_needed(english: None) -> None:
    assert compared_text("answer_rate", 0.81, 0.85) == "81.0 % / 85.0 %"
    assert compared_text("mean_wait", 600.0, 600.0) == "10 min / 10 min"  # equal: nothing to tell apart
    assert compared_text("mean_wait", 600.04, 600.0) == "10 min 0.04 s / 10 min"
    assert compared_text("mean_wait", None, 600.0) == "– / 10 min"
