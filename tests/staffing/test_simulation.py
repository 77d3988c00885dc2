"""Erlang A against an independent discrete-event simulation: ``ciw`` (a maintained queueing-network simulator) with
exponential reneging, over a small grid of (λ, μ, θ, n).

Each point runs independent replications with fixed seeds; the Erlang A answer rate and mean wait of answered callers
must fall inside the replications' 99 % confidence interval (Student t). Callers who arrive in the warm-up (the queue
starts empty) or too late to finish are not counted.
"""

from __future__ import annotations

import math
import statistics

import pytest

from app.kpi.staffing import erlang_a

ciw = pytest.importorskip("ciw")

WARM_UP = 200.0
COUNTED = 1200.0
COOL_DOWN = 300.0
REPLICATIONS = 8
T_99 = 3.499  # Student t, 7 degrees of freedom, two-sided 99 %


def replicate(lam: float, mu: float, theta: float, n: int, seed: int) -> tuple[float, float]:
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(lam)],
        service_distributions=[ciw.dists.Exponential(mu)],
        number_of_servers=[n],
        reneging_time_distributions=[ciw.dists.Exponential(theta)],
    )
    ciw.seed(seed)
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(WARM_UP + COUNTED + COOL_DOWN)
    counted = [r for r in simulation.get_all_records() if WARM_UP <= r.arrival_date < WARM_UP + COUNTED]
    served = [r for r in counted if r.record_type == "service"]
    reneged = [r for r in counted if r.record_type == "renege"]
    return len(served) / (len(served) + len(reneged)), statistics.fmean(r.waiting_time for r in served)


def interval(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    half = T_99 * statistics.stdev(values) / math.sqrt(len(values))
    return mean - half, mean + half


# time in minutes: λ calls per minute, μ = 1 / handling, θ = 1 / mean patience
GRID = [
    (2.0, 1 / 5, 1 / 10, 8),  # 10 Erlang on 8 nurses: overloaded, abandonment carries it
    (1.0, 1 / 4, 1 / 2, 4),  # impatient callers at load 1
    (1.5, 1 / 4, 1 / 20, 7),  # patient callers, just enough nurses
    (0.5, 1 / 9.5, 1 / 40, 5),  # 1177-like: 9.5 min handling, 40 min patience
]


@pytest.mark.parametrize(("lam", "mu", "theta", "n"), GRID)
def test_erlang_a_within_the_simulation_confidence_interval(lam: float, mu: float, theta: float, n: int) -> None:
    runs = [replicate(lam, mu, theta, n, seed) for seed in range(1, REPLICATIONS + 1)]
    figures = erlang_a(n, lam, mu, theta)
    low, high = interval([rate for rate, _ in runs])
    assert low <= figures.answer_rate <= high, (figures.answer_rate, low, high)
    low, high = interval([wait for _, wait in runs])
    assert low <= figures.mean_wait_answered <= high, (figures.mean_wait_answered, low, high)
