"""The at-risk alert's "≈ N extra skötersketimmar" (issue 17): the nurse-hours saving the month takes beyond the
target's staffing, from the staffing advice, and nothing where there is no advice.

History (tests/staffing/history.py): on four Thursdays 40 calls arrive in each of the local hours 12 and 13 in
Jämtland Härjedalen (SE-Z), 30 answered (talk 400 s + wrap 170 s) and 10 abandoned after 300 s. On Thursday 20 March
2025 at 10:00 the month so far is 120 of 160 answered (75 %, at risk against 85 %), 160 calls are forecast (hours 12
and 13 on the 20th and the 27th) and need (0.85 × 320 − 120) / 160 = 95 % answered. Each of those four hours has
λ = 40/h, handling 570 s and patience θ = 40 / (120 × 120 + 40 × 300) /s, so
N = 4 × (nurses for 95 % − nurses for 85 %), both from Erlang A itself (``servers_needed``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.alerts.engine import AlertKey
from app.alerts.evaluate import observe
from app.alerts.messages import render
from app.alerts.rulebook import rulebook_from_mapping
from app.config import Settings
from app.db.alert_models import Alert
from app.db.session import transaction
from app.kpi.staffing import Goal, servers_needed
from tests.helpers import ingest_text
from tests.staffing.history import NOW, THETA, calls_csv

#: 160 calls so far: under the rule's default minimum of 300, so it is lowered for the constructed month
RULES = rulebook_from_mapping({"rules": {"target_at_risk": {"min_offered": 100}}})
KEY = AlertKey("target_at_risk", "SE-Z", "answer_rate", "2025-03")


def hand_count() -> int:
    lam, mu = 40 / 3600, 1 / 570
    target = servers_needed(lam, mu, THETA, Goal(0.85, 600)).servers
    recover = servers_needed(lam, mu, THETA, Goal(0.95, 600)).servers
    return 4 * (recover - target)


def at_risk_details(factory: sessionmaker[Session], settings: Settings) -> dict[str, dict[str, Any]]:
    """The details of every at-risk evaluation of March 2025 at NOW, by (scope, KPI)."""
    with factory() as session:
        return {(e.observation.key.scope, e.observation.key.kpi): e.details  # type: ignore[misc]
                for e in observe(session, settings, RULES, NOW)
                if e.observation.key.rule == "target_at_risk" and e.observation.key.period == "2025-03"}


def text(details: dict[str, Any], lang: str) -> str:
    return render(KEY, "firing", details, lang=lang, starts_at=NOW, ends_at=None,  # type: ignore[arg-type]
                  channel="ops", link="").text


def test_an_at_risk_month_says_the_extra_nurse_hours_the_advice_needs(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    ingest_text(session_factory, settings, "calls", calls_csv())
    n = hand_count()
    assert n > 0  # 95 % takes more nurses than 85 % in those hours
    details = at_risk_details(session_factory, settings)
    rate = details[("SE-Z", "answer_rate")]
    assert rate["status"] == "at_risk" and rate["extra_nurse_hours"] == n
    assert details[("norra", "answer_rate")]["extra_nurse_hours"] == n  # only SE-Z of Norra has calls
    assert "extra_nurse_hours" not in details[("SE-Z", "mean_wait")]  # 120 s against 600 s: not breached
    assert f"≈ {n} extra skötersketimmar resten av månaden." in text(rate, "sv")
    assert f"≈ {n} extra nurse-hours in the rest of the month." in text(rate, "en")


def test_without_advice_the_text_says_nothing_of_nurse_hours(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """The same month from a platform reporting no talk or wrap times: no handling time, so no advice."""
    ingest_text(session_factory, settings, "calls", calls_csv().replace(",400,170\n", ",,\n"))
    rate = at_risk_details(session_factory, settings)[("SE-Z", "answer_rate")]
    assert rate["status"] == "at_risk" and rate["extra_nurse_hours"] is None
    for lang in ("sv", "en"):
        words = text(rate, lang)
        assert "skötersketimmar" not in words and "nurse-hours" not in words and "≈" not in words


def test_a_firing_alert_keeps_the_figure_it_fired_with_and_costs_no_advice(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Once the alert fires its message is written: later evaluations carry its figure on (here a marker 999 that
    no advice gives) rather than working the advice out again every minute; a scope not yet firing still asks."""
    ingest_text(session_factory, settings, "calls", calls_csv())
    with transaction(session_factory) as session:
        session.add(Alert(rule="target_at_risk", scope="SE-Z", kpi="answer_rate", period="2025-03", phase="firing",
                          fired_at=NOW, details={"extra_nurse_hours": 999}))
    details = at_risk_details(session_factory, settings)
    assert details[("SE-Z", "answer_rate")]["extra_nurse_hours"] == 999
    assert details[("norra", "answer_rate")]["extra_nurse_hours"] == hand_count()


@pytest.mark.parametrize(("extra", "sv", "en"), [
    (1234, "≈ 1 234 extra skötersketimmar", "≈ 1,234 extra nurse-hours"),
    (None, None, None), (0, None, None), (-3, None, None),
])
def test_the_sentence_is_written_only_for_a_positive_figure(extra: int | None, sv: str | None,
                                                           en: str | None) -> None:
    base = {"scope_name": "Region Jämtland Härjedalen", "scope_kind": "region", "value": 0.75, "target": 0.85,
            "comparator": ">=", "needed_answer_rate": 0.95, "month": "2025-03", "extra_nurse_hours": extra}
    for lang, wanted in (("sv", sv), ("en", en)):
        words = text(base, lang)
        assert (wanted in words) if wanted else ("≈" not in words), words
    resolved = render(KEY, "resolved", base, lang="sv", starts_at=NOW, ends_at=datetime(2025, 3, 21, tzinfo=UTC),
                      channel="ops", link="").text
    assert "skötersketimmar" not in resolved
