"""Erlang A and C (app.kpi.staffing) against published values and independent computations, to 1e-6 or better.

Sources:
- Erlang C: rodrigo-arenas/pyworkforce, tests/test_erlangc.py (``ErlangC(transactions=100, aht=3, interval=30,
  asa=0.33)``: 10 Erlang, 14 positions give P(wait) 0.174 and service level 0.888 within 20 s), published to three
  decimals; and the textbook formula C(n, a) = (aⁿ/n! · n/(n−a)) / (Σ_{k<n} aᵏ/k! + aⁿ/n! · n/(n−a)) evaluated in
  exact rational arithmetic, to 1e-12.
- Erlang A: the identity that with θ = μ the number of callers in an M/M/n+M system is Poisson(λ/μ) (each caller
  leaves at rate μ whether waiting or served: an M/M/∞ queue; Mandelbaum & Zeltyn, "The Palm/Erlang-A queue, with
  applications to call centers", 2007, §4), and the birth–death chain summed directly (P(abandon) = θ·E[queue]/λ, a
  different route than the module's α/(α+j+1) one); the θ → 0 limit is Erlang C (Garnett, Mandelbaum & Reiman 2002).
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from app.kpi.staffing import (
    Goal,
    StaffingError,
    erlang_a,
    erlang_c,
    servers_needed,
    service_level,
)


def exact_erlang_c(n: int, a: Fraction) -> Fraction:
    terms = [a**k / math.factorial(k) for k in range(n)]
    top = a**n / math.factorial(n) * n / (n - a)
    return top / (sum(terms) + top)


def test_erlang_c_matches_pyworkforce_published_figures() -> None:
    lam, mu = 100 / 1800, 1 / 180  # 100 calls per 30 min, 3 min handling: 10 Erlang
    figures = erlang_c(14, lam, mu)
    assert round(figures.p_wait, 3) == 0.174
    assert round(service_level(14, lam, mu, 0.0, 0.33 * 60), 3) == 0.888


@pytest.mark.parametrize(("n", "a"), [(1, Fraction(1, 2)), (3, Fraction(2)), (11, Fraction(10)), (14, Fraction(10)),
                                      (40, Fraction(371, 10)), (120, Fraction(1105, 10))])
def test_erlang_c_matches_the_exact_formula(n: int, a: Fraction) -> None:
    mu = 1 / 420
    figures = erlang_c(n, float(a) * mu, mu)
    want = exact_erlang_c(n, a)
    assert figures.p_wait == pytest.approx(float(want), abs=1e-12)
    assert figures.mean_wait_answered == pytest.approx(float(want / (n - a)) * 420, rel=1e-10)
    assert figures.answer_rate == 1.0


def poisson_tail(a: float, n: int) -> tuple[float, float]:
    """P(N ≥ n) and E[(N − n)+] of N ~ Poisson(a)."""
    def p(k: int) -> float:
        return math.exp(-a + k * math.log(a) - math.lgamma(k + 1))

    upper = int(a + 40 * math.sqrt(a) + 100)
    return (1 - sum(p(k) for k in range(n)), sum((k - n) * p(k) for k in range(n + 1, upper)))


@pytest.mark.parametrize(("n", "a"), [(1, 0.7), (8, 10.0), (15, 12.5), (50, 61.0), (200, 180.0), (400, 450.0)])
def test_erlang_a_with_patience_equal_to_service_is_poisson(n: int, a: float) -> None:
    mu = 1 / 570
    lam = a * mu
    figures = erlang_a(n, lam, mu, mu)
    p_wait, excess = poisson_tail(a, n)
    assert figures.p_wait == pytest.approx(p_wait, abs=1e-9)
    assert figures.p_abandon == pytest.approx(excess / a, abs=1e-9)  # θ E[queue] / λ with θ = μ
    assert figures.mean_wait_all == pytest.approx(excess / lam, rel=1e-9)


def direct_birth_death(n: int, lam: float, mu: float, theta: float) -> tuple[float, float, float]:
    """P(wait), P(abandon) = θ E[queue]/λ and E[queue]/λ from the stationary distribution summed in logs."""
    logs = [0.0]
    for k in range(1, n + 20000):
        rate_down = min(k, n) * mu + max(0, k - n) * theta
        logs.append(logs[-1] + math.log(lam / rate_down))
        if k > n and logs[-1] < max(logs) - 60:
            break
    top = max(logs)
    weights = [math.exp(x - top) for x in logs]
    total = sum(weights)
    p_wait = sum(weights[n:]) / total
    queue = sum((k - n) * w for k, w in enumerate(weights) if k > n) / total
    return p_wait, theta * queue / lam, queue / lam


@pytest.mark.parametrize(("n", "lam", "mu", "theta"), [
    (14, 100 / 3600, 1 / 570, 1 / 2400),
    (3, 20 / 3600, 1 / 570, 1 / 300),
    (30, 300 / 3600, 1 / 420, 1 / 900),
    (120, 1000 / 3600, 1 / 420, 1 / 3000),  # overloaded
    (300, 2500 / 3600, 1 / 420, 1 / 1800),
])
def test_erlang_a_matches_the_birth_death_chain(n: int, lam: float, mu: float, theta: float) -> None:
    figures = erlang_a(n, lam, mu, theta)
    p_wait, p_abandon, wait_all = direct_birth_death(n, lam, mu, theta)
    assert figures.p_wait == pytest.approx(p_wait, abs=1e-9)
    assert figures.p_abandon == pytest.approx(p_abandon, abs=1e-9)
    assert figures.answer_rate == pytest.approx(1 - p_abandon, abs=1e-9)
    assert figures.mean_wait_all == pytest.approx(wait_all, rel=1e-8)
    # every caller's mean wait is the answered and the abandoned callers' together: the answered share cannot exceed it
    # by more than its weight allows
    assert figures.answer_rate * figures.mean_wait_answered <= figures.mean_wait_all + 1e-9


def test_erlang_a_tends_to_erlang_c_as_patience_grows() -> None:
    lam, mu = 100 / 1800, 1 / 180
    c = erlang_c(14, lam, mu)
    a = erlang_a(14, lam, mu, 1e-9)
    assert a.p_wait == pytest.approx(c.p_wait, abs=1e-6)
    assert a.mean_wait_answered == pytest.approx(c.mean_wait_answered, abs=1e-4)
    assert a.answer_rate == pytest.approx(1.0, abs=1e-6)
    assert erlang_a(14, lam, mu, 0.0) == c


def uniformised_service_level(n: int, lam: float, mu: float, theta: float, t: float) -> float:
    """Answered within t / offered by the tagged caller's own chain, solved by uniformisation (no Beta identity)."""
    logs = [0.0]
    for k in range(1, n + 400):
        logs.append(logs[-1] + math.log(lam / (min(k, n) * mu + max(0, k - n) * theta)))
    top = max(logs)
    weights = [math.exp(x - top) for x in logs]
    total = sum(weights)
    positions = len(weights) - n  # a caller finding j waiting starts at position j + 1
    c = n * mu
    rate = c + (positions + 1) * theta
    # F[k]: P(answered by t | position k); F[0] = 1. Uniformised: p_k moves to k−1 w.p. (c+(k−1)θ)/rate.
    probability = [1.0] + [0.0] * positions  # distribution over positions after m jumps, per start: backward form
    result = [0.0] * (positions + 1)
    poisson = math.exp(-rate * t)
    m = 0
    value = probability[:]
    while True:
        for k in range(positions + 1):
            result[k] += poisson * value[k]
        m += 1
        poisson *= rate * t / m
        if m > rate * t + 20 * math.sqrt(rate * t + 1) + 50:
            break
        value = [1.0] + [
            (c + (k - 1) * theta) / rate * value[k - 1] + (1 - (c + k * theta) / rate) * value[k]
            for k in range(1, positions + 1)
        ]
    within = sum(weights[:n]) + sum(weights[n + j] * result[j + 1] for j in range(positions))
    return within / total


@pytest.mark.parametrize(("n", "lam", "mu", "theta", "t"), [
    (3, 2.0, 1.0, 0.5, 0.7),
    (5, 6.0, 1.0, 0.25, 1.5),
    (10, 100 / 30, 1 / 3, 1 / 6, 1 / 3),
])
def test_service_level_matches_uniformisation(n: int, lam: float, mu: float, theta: float, t: float) -> None:
    assert service_level(n, lam, mu, theta, t) == pytest.approx(
        uniformised_service_level(n, lam, mu, theta, t), abs=1e-7)


def test_service_level_ends() -> None:
    lam, mu, theta = 100 / 3600, 1 / 570, 1 / 2400
    figures = erlang_a(14, lam, mu, theta)
    assert service_level(14, lam, mu, theta, 0) == pytest.approx(1 - figures.p_wait, abs=1e-12)
    assert service_level(14, lam, mu, theta, 1e7) == pytest.approx(figures.answer_rate, abs=1e-9)


def test_servers_needed_is_the_fewest_that_meet_the_goal() -> None:
    lam, mu, theta = 100 / 3600, 1 / 570, 1 / 2400
    for goal in (Goal(0.85, 600), Goal(0.95, None), Goal(None, 60), Goal(0.5, 30)):
        figures = servers_needed(lam, mu, theta, goal)
        assert goal.met_by(figures)
        if figures.servers > 1:
            assert not goal.met_by(erlang_a(figures.servers - 1, lam, mu, theta))


def test_erlang_c_asks_for_more_nurses_than_erlang_a_when_callers_hang_up() -> None:
    lam, mu, theta = 100 / 3600, 1 / 570, 1 / 2400
    goal = Goal(0.85, 600)
    assert servers_needed(lam, mu, theta, goal).servers == 14
    assert servers_needed(lam, mu, 0.0, goal).servers == 17  # needs nμ > λ, and then its mean wait


def test_large_n_stays_finite() -> None:
    figures = erlang_a(2000, 1990 / 420, 1 / 420, 1 / 1800)
    assert 0 < figures.p_wait < 1 and 0 < figures.answer_rate <= 1
    assert math.isfinite(figures.mean_wait_answered)
    c = erlang_c(2000, 1990 / 420, 1 / 420)
    assert 0 < c.p_wait < 1


@pytest.mark.parametrize(("call", "message"), [
    (lambda: erlang_a(0, 1.0, 1.0, 1.0), "servers"),
    (lambda: erlang_a(3, -1.0, 1.0, 1.0), "arrival rate"),
    (lambda: erlang_a(3, 1.0, 0.0, 1.0), "service rate"),
    (lambda: erlang_a(3, 1.0, 1.0, math.nan), "patience rate"),
    (lambda: servers_needed(1.0, 1.0, 1.0, Goal(1.0, None)), "cannot be reached"),
    (lambda: servers_needed(1.0, 1.0, 1.0, Goal(1.5, None)), r"\[0, 1\]"),
    (lambda: service_level(3, 1.0, 1.0, 1.0, -1), "t must"),
])
def test_bad_parameters_are_refused(call: object, message: str) -> None:
    with pytest.raises(StaffingError, match=message):
        call()  # type: ignore[operator]
