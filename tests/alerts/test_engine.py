"""The alert state machine and rules, pure: fire once, resolve once, never flap, small regions at night quiet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.alerts.engine import AlertKey, AlertState, Observation, Phase, step
from app.alerts.rules import (
    FastSlipSettings,
    WindowFigures,
    data_stale_observation,
    fast_slip_observations,
    month_target_observations,
    worker_stale_observation,
)

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


@given(st.lists(st.floats(min_value=0.70, max_value=0.80, exclude_max=True), min_size=1, max_size=200))
def test_a_value_oscillating_around_the_threshold_fires_at_most_once(values: list[float]) -> None:
    """Breached below 0.75, recovered only at 0.80 or above: values in between can never resolve it, so
    however they wobble there is one firing and no resolution."""
    window = [(v < 0.75, v >= 0.80) for v in values]
    notes = run(window)
    assert notes in ([], ["firing"])


def test_fast_slip_needs_enough_calls() -> None:
    night = WindowFigures("SE-Z", offered=3, answered=0, wait_answered_ms=0, answer_rate_target=0.85,
                          mean_wait_target=600)
    assert all(not o.breached and not o.recovered for o in fast_slip_observations(night))
    busy = WindowFigures("SE-AC", offered=40, answered=29, wait_answered_ms=29 * 1000 * 950,
                         answer_rate_target=0.85, mean_wait_target=600)
    by_kpi = {o.key.kpi: o for o in fast_slip_observations(busy, FastSlipSettings())}
    assert by_kpi["answer_rate"].breached and by_kpi["answer_rate"].threshold == pytest.approx(0.75)  # 0.725
    assert by_kpi["mean_wait"].breached and by_kpi["mean_wait"].threshold == 900  # 950 s > 600 × 1.5
    calm = WindowFigures("SE-AC", offered=40, answered=33, wait_answered_ms=33 * 1000 * 700,
                         answer_rate_target=0.85, mean_wait_target=600)
    by_kpi = {o.key.kpi: o for o in fast_slip_observations(calm)}
    assert by_kpi["answer_rate"].recovered  # 0.825 ≥ 0.80
    assert not by_kpi["mean_wait"].breached and by_kpi["mean_wait"].recovered  # 700 ≤ 600 × 1.25


def test_month_rules_from_a_scorecard_document() -> None:
    document = {"month": "2025-10", "closed": False, "scopes": [{"scope": "SE-Z", "kpis": {
        "answer_rate": 0.8, "mean_wait": 500.0}, "targets": [
        {"kpi": "answer_rate", "comparator": ">=", "value": 0.85, "status": "at_risk", "needed": 0.95},
        {"kpi": "mean_wait", "comparator": "<=", "value": 600.0, "status": "on_track", "needed": 900.0},
    ]}]}
    observed = {(o.key.rule, o.key.kpi): o for o in month_target_observations(document)}
    assert observed[("target_at_risk", "answer_rate")].breached
    assert observed[("target_unreachable", "answer_rate")].recovered  # needed 0.95 ≤ 0.98
    assert observed[("target_at_risk", "mean_wait")].recovered  # 500 ≤ 600 − 15
    assert observed[("target_at_risk", "answer_rate")].key.period == "2025-10"
    closed = {**document, "closed": True, "scopes": [{"scope": "SE-Z", "kpis": {"answer_rate": 0.8}, "targets": [
        {"kpi": "answer_rate", "comparator": ">=", "value": 0.85, "status": "missed"}]}]}
    (missed,) = month_target_observations(closed)
    assert missed.key.rule == "target_missed" and missed.breached and not missed.recovered


def test_stale_data_and_worker() -> None:
    stale = data_stale_observation("platform", T0, 60, T0 + timedelta(minutes=6))
    assert stale.breached and stale.threshold == 300
    fresh = data_stale_observation("platform", T0, 60, T0 + timedelta(seconds=90))
    assert fresh.recovered and not fresh.breached
    assert data_stale_observation("platform", None, 60, T0).breached
    assert worker_stale_observation(T0, 10, T0 + timedelta(seconds=40)).breached
    assert worker_stale_observation(T0, 10, T0 + timedelta(seconds=15)).recovered
