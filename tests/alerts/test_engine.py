"""The alert state machine and rules, pure: fire once, resolve once, never flap, small regions at night quiet."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.alerts.engine import AlertKey, AlertState, Observation, Phase, step
from app.alerts.rulebook import RuleBook, RuleConfigError, rulebook_from_mapping
from app.alerts.rules import (
    FastSlipSettings,
    WindowFigures,
    data_stale_observation,
    fast_slip_observations,
    month_target_observations,
    worker_stale_observation,
)
from tests.scorecard.documents import document as typed

T0 = datetime(2025, 10, 6, 8, 0, tzinfo=UTC)
KEY = AlertKey("fast_slip", "SE-AC", "answer_rate")
FOR = timedelta(minutes=10)


def run(observations: list[tuple[bool, bool]], every: timedelta = timedelta(minutes=5)) -> list[str]:
    state: AlertState | None = None
    notes = []
    for n, (breached, recovered) in enumerate(observations):
        state, transition = step(state, Observation(KEY, breached, recovered), T0 + n * every, FOR)
        if transition is not None and transition.notifies:
            notes.append(transition.new.value)
    return notes


def test_pending_then_firing_after_the_for_duration_then_resolved_once() -> None:
    # breached at 0, 5, 10 min (fires at 10), neither at 15 and 20 (band), recovered at 25 and 30
    assert run([(True, False)] * 3 + [(False, False)] * 2 + [(False, True)] * 2) == ["firing", "resolved"]


def test_a_short_breach_that_clears_before_the_for_duration_notifies_no_one() -> None:
    assert run([(True, False), (False, True), (True, False), (False, False), (False, True)]) == []


def test_zero_for_duration_fires_at_once() -> None:
    state, transition = step(None, Observation(KEY, True, False), T0, timedelta(0))
    assert state.phase is Phase.FIRING and transition is not None and transition.notifies


def test_breached_and_recovered_at_once_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        Observation(KEY, True, True)


@settings(deadline=None)  # the alternation is the point, not the speed: a loaded CI core may stall an example
@given(st.lists(st.floats(min_value=0.60, max_value=1.0), min_size=1, max_size=200))
def test_a_value_oscillating_around_the_threshold_fires_once_per_clear_recovery(values: list[float]) -> None:
    """Breached below 0.75, recovered only at 0.80 or above. Whatever the values do, firings never outnumber
    clear recoveries by more than one, and every resolution follows a value at or above 0.80: values wobbling
    between the two thresholds can neither fire again nor resolve."""
    window = [(v < 0.75, v >= 0.80) for v in values]
    notes = run(window)
    recoveries = sum(1 for v in values if v >= 0.80)
    assert notes.count("firing") <= recoveries + 1
    assert notes.count("resolved") <= notes.count("firing")
    assert all(a != b for a, b in itertools.pairwise(notes))  # firing and resolved alternate


def test_fast_slip_needs_enough_calls() -> None:
    """3 calls in the night cannot fire, and with under half the minimum the window counts as quiet."""
    night = WindowFigures("SE-Z", offered=3, answered=0, wait_answered_ms=0, answer_rate_target=0.85,
                          mean_wait_target=600)
    assert all(not o.breached and o.recovered for o in fast_slip_observations(night, FastSlipSettings()))
    # 20 calls: between half the minimum (15) and the minimum (30): neither fires nor resolves
    dusk = WindowFigures("SE-Z", offered=20, answered=0, wait_answered_ms=0, answer_rate_target=0.85,
                         mean_wait_target=600)
    assert all(not o.breached and not o.recovered for o in fast_slip_observations(dusk, FastSlipSettings()))
    busy = WindowFigures("SE-AC", offered=40, answered=29, wait_answered_ms=29 * 1000 * 950,
                         answer_rate_target=0.85, mean_wait_target=600)
    by_kpi = {o.key.kpi: o for o in fast_slip_observations(busy, FastSlipSettings())}
    assert by_kpi["answer_rate"].breached and by_kpi["answer_rate"].threshold == pytest.approx(0.75)  # 0.725
    assert by_kpi["mean_wait"].breached and by_kpi["mean_wait"].threshold == 900  # 950 s > 600 × 1.5
    calm = WindowFigures("SE-AC", offered=40, answered=33, wait_answered_ms=33 * 1000 * 700,
                         answer_rate_target=0.85, mean_wait_target=600)
    by_kpi = {o.key.kpi: o for o in fast_slip_observations(calm, FastSlipSettings())}
    assert by_kpi["answer_rate"].recovered  # 0.825 ≥ 0.80
    assert not by_kpi["mean_wait"].breached and by_kpi["mean_wait"].recovered  # 700 ≤ 600 × 1.25
    smaller = FastSlipSettings(min_calls=2)  # a per-scope minimum makes the same 3 night calls count
    assert any(o.breached for o in fast_slip_observations(night, smaller))


DOCUMENT = {"month": "2025-10", "closed": False, "scopes": [{"scope": "SE-Z", "kpis": {
    "offered": 1200, "answer_rate": 0.8, "mean_wait": 500.0}, "targets": [
    {"kpi": "answer_rate", "comparator": ">=", "value": 0.85, "status": "at_risk", "needed": 0.95},
    {"kpi": "mean_wait", "comparator": "<=", "value": 600.0, "status": "on_track", "needed": 900.0},
]}]}


def test_month_rules_from_a_scorecard_document() -> None:
    observed = {(o.key.rule, o.key.kpi): o for o in month_target_observations(typed(DOCUMENT), RuleBook())}
    assert observed[("target_at_risk", "answer_rate")].breached
    assert observed[("target_unreachable", "answer_rate")].recovered  # needed 0.95 ≤ 0.98
    assert observed[("target_at_risk", "mean_wait")].recovered  # 500 ≤ 600 − 15
    assert observed[("target_at_risk", "answer_rate")].key.period == "2025-10"


def test_month_rules_say_nothing_on_the_first_night_of_a_month() -> None:
    """4 calls on 1 November, 2 answered: 50 %, 'at risk' by the scorecard, but no verdict below 300 calls."""
    early = {**DOCUMENT, "scopes": [{**DOCUMENT["scopes"][0], "kpis": {"offered": 4, "answer_rate": 0.5}}]}
    observations = list(month_target_observations(typed(early), RuleBook()))
    assert observations and all(not o.breached and not o.recovered for o in observations)


def test_a_ratio_kpi_with_an_upper_bound_recovers_by_a_ratio_margin() -> None:
    """abandon rate 1 % against ≤ 5 %: recovered (the margin is 0.005, not the 15 s of a wait KPI)."""
    document = {"month": "2025-10", "closed": False, "scopes": [{"scope": "SE-Z", "kpis": {
        "offered": 1200, "abandon_rate": 0.01}, "targets": [
        {"kpi": "abandon_rate", "comparator": "<=", "value": 0.05, "status": "on_track", "needed": None}]}]}
    observed = {o.key.rule: o for o in month_target_observations(typed(document), RuleBook())}
    assert observed["target_at_risk"].recovered


def test_a_closed_month_settles_at_risk_and_unreachable_and_reports_missed() -> None:
    closed = {**DOCUMENT, "closed": True, "scopes": [{"scope": "SE-Z", "kpis": {"answer_rate": 0.8}, "targets": [
        {"kpi": "answer_rate", "comparator": ">=", "value": 0.85, "status": "missed"}]}]}
    observed = {o.key.rule: o for o in month_target_observations(typed(closed), RuleBook())}
    assert observed["target_missed"].breached and not observed["target_missed"].recovered
    assert observed["target_at_risk"].recovered and observed["target_unreachable"].recovered


def test_rules_can_be_switched_off_and_tuned_per_scope() -> None:
    book = rulebook_from_mapping({"rules": {
        "target_at_risk": {"enabled": False},
        "fast_slip": {"min_calls": 40, "scopes": {"SE-Z": {"min_calls": 10, "hours": 3}}},
    }})
    rules = {o.key.rule for o in month_target_observations(typed(DOCUMENT), book)}
    assert rules == {"target_unreachable"}
    assert book("fast_slip", "SE-Z").min_calls == 10 and book("fast_slip", "SE-Z").hours == 3
    assert book("fast_slip", "SE-AC").min_calls == 40 and book("fast_slip", "SE-AC").hours == 2


@pytest.mark.parametrize("mapping, message", [
    ({"rules": {"fast_slip": {"min_call": 3}}}, "rules.fast_slip: unknown setting 'min_call'"),
    ({"rules": {"fast_slop": {}}}, "rules.fast_slop: unknown rule"),
    ({"rules": {"fast_slip": {"hours": 0}}}, "rules.fast_slip.hours"),
    ({"rules": {"fast_slip": {"scopes": {"SE-Z": {"min_calls": "many"}}}}}, "rules.fast_slip.scopes.SE-Z.min_calls"),
    ({"rules": {"data_stale": {"enabled": 1}}}, "rules.data_stale.enabled: expected true or false"),
])
def test_rule_configuration_errors_name_the_key(mapping: dict[str, object], message: str) -> None:
    with pytest.raises(RuleConfigError, match=message.replace(".", r"\.")):
        rulebook_from_mapping(mapping)


def test_stale_data_and_worker() -> None:
    limit = timedelta(minutes=30)
    stale = data_stale_observation("platform", T0, limit, T0 + timedelta(minutes=31))
    assert stale.breached and stale.threshold == 1800
    band = data_stale_observation("platform", T0, limit, T0 + timedelta(minutes=20))
    assert not band.breached and not band.recovered
    fresh = data_stale_observation("platform", T0, limit, T0 + timedelta(minutes=15))
    assert fresh.recovered and not fresh.breached
    assert data_stale_observation("platform", None, limit, T0).breached
    later = T0 + timedelta(seconds=40)
    assert worker_stale_observation("w1", T0, True, False, timedelta(seconds=35), later).breached
    assert worker_stale_observation("w1", T0, False, False, timedelta(seconds=35), later).recovered  # clean stop
    assert worker_stale_observation("w1", T0, True, True, timedelta(seconds=35), later).recovered  # restarted


def test_the_example_rules_in_deploy_load() -> None:
    from pathlib import Path

    from app.alerts.rulebook import load_rulebook

    book = load_rulebook(Path(__file__).resolve().parents[2] / "deploy" / "alerts.example.toml")
    assert book("fast_slip", "SE-Z").min_calls == 15 and book("fast_slip", "SE-AC").min_calls == 30
    assert book("data_stale", "files").max_age_minutes == 1560
    assert book("data_stale", "platform").max_age_minutes is None
