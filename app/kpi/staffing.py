"""Erlang A (M/M/n+M) and Erlang C (M/M/n): how many nurses a queue of impatient callers needs (SPEC §7).

Callers arrive as a Poisson stream (rate ``lam``), talk and document for an exponential time (rate ``mu``) and hang
up after an exponential patience (rate ``theta``) if no nurse has answered. Erlang C is the limit θ → 0: nobody
hangs up, so it overstates the staff a line whose callers do give up needs (Garnett, Mandelbaum & Reiman 2002,
"Designing a call center with impatient customers", MSOM 4(3)).

Every figure comes from the stationary birth–death distribution seen by an arriving caller (PASTA), taken relative
to π_n (all nurses busy, nobody waiting): Σ_{k<n} π_k/π_n = 1/B(n, a) − 1 with Erlang B's recursion, and the tail
t_j = π_{n+j}/π_n = Π_{i≤j} λ/(nμ + iθ). Both are carried as a float with a separate log scale, so n in the hundreds
and overloaded hours (where the tail grows past 1e300) neither overflow nor lose the small side. A caller who finds
j others waiting is answered with probability α/(α+j+1), α = nμ/θ; given that, his wait is a sum of exponential
stages of rates nμ + kθ (k = 1..j+1), and 1 − e^{−θV} of his would-be wait V is Beta(j+1, α) distributed, which
gives the service level through a negative-binomial sum. Pure: no I/O, no app imports; rates in any one time unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

#: Past this, a running float is scaled down and the scale kept as a logarithm.
_BIG = 1e250
_LOG_BIG = math.log(_BIG)
#: The tail is summed until a term adds less than this share of the sum, once terms are falling.
_TAIL_EPS = 1e-15
#: Guards an absurd input from looping for ever: n and the tail terms are bounded.
MAX_SERVERS = 5000
MAX_TAIL_TERMS = 2_000_000


class StaffingError(ValueError):
    """Parameters no queue has (a negative rate, no servers where some are needed)."""


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """What Erlang A (or C) predicts for one hour at ``servers`` nurses. Waits in the unit of the rates' inverse."""

    servers: int
    p_wait: float  # an arriving caller finds every nurse busy
    p_abandon: float  # hangs up before an answer (0 in Erlang C)
    answer_rate: float  # answered / offered = 1 − p_abandon
    mean_wait_answered: float  # mean wait of answered callers (SPEC §4 mean_wait)
    mean_wait_all: float  # of every caller, answered or not (Little: E[queue] / λ)
    stable: bool = True  # Erlang C with λ ≥ nμ has no steady state: every figure is then the worst case

    def service_level(self, lam: float, mu: float, theta: float, t: float) -> float:
        """Answered within ``t`` / offered (SPEC §4 service_level) at these servers."""
        return service_level(self.servers, lam, mu, theta, t)


def _check(n: int, lam: float, mu: float, theta: float) -> None:
    if not (isinstance(n, int) and 1 <= n <= MAX_SERVERS):
        raise StaffingError(f"servers must be an integer in 1..{MAX_SERVERS}, got {n!r}")
    if not 0 <= lam < math.inf:  # also refuses NaN
        raise StaffingError(f"arrival rate must be a finite number >= 0, got {lam!r}")
    if not 0 < mu < math.inf:
        raise StaffingError(f"service rate must be a finite number > 0, got {mu!r}")
    if not 0 <= theta < math.inf:
        raise StaffingError(f"patience rate must be a finite number >= 0, got {theta!r}")


def _log_inverse_erlang_b(n: int, a: float) -> float:
    """log(1/B(n, a)) by the recursion 1/B(k) = 1 + (k/a)·1/B(k−1), scaled so it never overflows."""
    if a <= 0:
        return math.inf
    value, scale, unit = 1.0, 0.0, 1.0  # unit: e^{-scale}, the recursion's "1 +" at the current scale
    inverse_a = 1.0 / a
    for k in range(1, n + 1):
        value = unit + k * inverse_a * value
        if value > _BIG:
            value /= _BIG
            scale += _LOG_BIG
            unit /= _BIG
    return math.log(value) + scale


def _logaddexp(x: float, y: float) -> float:
    if x == -math.inf:
        return y
    if y == -math.inf:
        return x
    hi, lo = (x, y) if x > y else (y, x)
    return hi + math.log1p(math.exp(lo - hi))


@dataclass(frozen=True, slots=True)
class _Tail:
    """Sums over the tail t_j = π_{n+j}/π_n, as logs. Two suffice: since t_j·α/(α+j+1) = (nμ/λ)·t_{j+1}, the
    answered share of the tail is (nμ/λ)·Σ_{j≥1} t_j, and θ·E[queue] = λ·P(abandon) gives the queue."""

    log_rest: float  # Σ_{j≥1} t_j (the tail's mass is 1 + this)
    log_answered_wait: float  # Σ_{j≥0} t_{j+1} H_j, H_j = Σ_{k=1..j+1} 1/(nμ+kθ): times nμ/λ, E[W; answered]


def _log(x: float) -> float:
    return math.log(x) if x > 0 else -math.inf


@lru_cache(maxsize=65536)
def _tail(n: int, lam: float, mu: float, theta: float) -> _Tail:
    c = n * mu
    rest = answered_wait = 0.0
    scale = 0.0  # the sums and the term are multiplied by e^{-scale}
    term = 1.0  # t_j, starting at t_0
    one = 1.0  # t_0 at the current scale
    harmonic = 0.0
    j = 0
    while True:  # one division per term: 1/(nμ + (j+1)θ) serves H_j and the ratio t_{j+1}/t_j
        inverse = 1.0 / (c + (j + 1) * theta)
        harmonic += inverse
        ratio = lam * inverse
        term *= ratio
        rest += term
        answered_wait += term * harmonic
        j += 1
        if term > _BIG:  # the sums stay below j × _BIG: scaled with it, nothing overflows
            term, rest, answered_wait, one = term / _BIG, rest / _BIG, answered_wait / _BIG, one / _BIG
            scale += _LOG_BIG
        if ratio < 1 and term * (j + 1) < _TAIL_EPS * (rest + one) * (1 - ratio):
            break
        if j > MAX_TAIL_TERMS:
            raise StaffingError("patience rate too small for Erlang A at this load: use Erlang C")
    return _Tail(_log(rest) + scale, _log(answered_wait) + scale)


@lru_cache(maxsize=65536)
def erlang_a(n: int, lam: float, mu: float, theta: float) -> QueueFigures:
    """Erlang A at ``n`` nurses; θ = 0 is Erlang C (``erlang_c``)."""
    _check(n, lam, mu, theta)
    if theta == 0:
        return erlang_c(n, lam, mu)
    if lam == 0:
        return QueueFigures(n, 0.0, 0.0, 1.0, 0.0, 0.0)
    log_low = _log_inverse_erlang_b(n, lam / mu)  # Σ_{k≤n} π_k/π_n = 1/B
    log_below = log_low + math.log(-math.expm1(-log_low)) if log_low > 0 else -math.inf  # Σ_{k<n}: 1/B − 1
    tail = _tail(n, lam, mu, theta)
    log_mass = _logaddexp(0.0, tail.log_rest)  # Σ_{j≥0} t_j
    log_total = _logaddexp(log_below, log_mass)
    log_ratio = math.log(n * mu / lam)
    p_wait = math.exp(log_mass - log_total)
    p_served = min(1.0, math.exp(_logaddexp(log_below, log_ratio + tail.log_rest) - log_total))
    answered_wait = math.exp(log_ratio + tail.log_answered_wait - log_total)
    mean_wait_answered = answered_wait / p_served if p_served > 0 else math.inf
    mean_queue = lam * (1.0 - p_served) / theta
    return QueueFigures(n, p_wait, 1.0 - p_served, p_served, mean_wait_answered, mean_queue / lam)


@lru_cache(maxsize=65536)
def erlang_c(n: int, lam: float, mu: float) -> QueueFigures:
    """Erlang C: P(wait) = C(n, a), mean wait C/(nμ − λ); nobody hangs up, so the answer rate is 1 when stable.

    At λ ≥ nμ the queue grows without bound: P(wait) = 1 and the waits are infinite (``stable`` False).
    """
    _check(n, lam, mu, 0.0)
    if lam == 0:
        return QueueFigures(n, 0.0, 0.0, 1.0, 0.0, 0.0)
    if lam >= n * mu:
        return QueueFigures(n, 1.0, 0.0, 1.0, math.inf, math.inf, stable=False)
    a = lam / mu
    log_inv_b = _log_inverse_erlang_b(n, a)
    # C = n B / (n − a(1 − B)) = 1 / (1 + (1 − a/n)(1/B − 1))
    below = math.exp(log_inv_b + math.log(-math.expm1(-log_inv_b))) if log_inv_b < 700 else math.inf
    p_wait = 1.0 / (1.0 + (1.0 - a / n) * below)
    mean_wait = p_wait / (n * mu - lam)
    return QueueFigures(n, p_wait, 0.0, 1.0, mean_wait, mean_wait)


def service_level(n: int, lam: float, mu: float, theta: float, t: float) -> float:
    """P(answered within ``t``) over all callers: SPEC §4's answered within sl_seconds / offered.

    Erlang C: 1 − C e^{−(nμ−λ)t}. Erlang A: a caller finding j waiting is answered within t with probability
    α/(α+j+1) · I_y(j+1, α+1), y = 1 − e^{−θt}; for an integer first parameter the incomplete beta is one minus a
    negative-binomial distribution function, P(K ≤ j) with K ~ NB(α+1, e^{−θt}), summed term by term in logs.
    """
    _check(n, lam, mu, theta)
    if not math.isfinite(t) or t < 0:
        raise StaffingError(f"t must be a finite number >= 0, got {t!r}")
    if lam == 0:
        return 1.0
    if theta == 0:
        figures = erlang_c(n, lam, mu)
        if not figures.stable:
            return 0.0
        return 1.0 - figures.p_wait * math.exp(-(n * mu - lam) * t)
    c = n * mu
    alpha = c / theta
    log_low = _log_inverse_erlang_b(n, lam / mu)
    log_below = log_low + math.log(-math.expm1(-log_low)) if log_low > 0 else -math.inf
    log_y = math.log(-math.expm1(-theta * t)) if t > 0 else -math.inf
    log_nb = (alpha + 1) * (-theta * t)  # log P(K = 0)
    nb_cdf = 0.0
    log_term = 0.0  # log t_j
    within = -math.inf  # log Σ t_j α/(α+j+1) (1 − P(K ≤ j))
    mass = -math.inf
    j = 0
    while True:
        nb_cdf = min(1.0, nb_cdf + math.exp(log_nb))
        mass = _logaddexp(mass, log_term)
        if nb_cdf < 1.0:
            within = _logaddexp(within, log_term + math.log(alpha / (alpha + j + 1)) + math.log1p(-nb_cdf))
        j += 1
        ratio = lam / (c + j * theta)
        log_term += math.log(ratio)
        log_nb += math.log((alpha + j) / j) + log_y if log_y > -math.inf else -math.inf
        if ratio < 1 and log_term < mass + math.log(_TAIL_EPS * (1 - ratio)):
            break
        if j > MAX_TAIL_TERMS:
            raise StaffingError("patience rate too small for Erlang A at this load: use Erlang C")
    log_total = _logaddexp(log_below, mass)
    return min(1.0, math.exp(_logaddexp(log_below, within) - log_total))


@dataclass(frozen=True, slots=True)
class Goal:
    """What an hour must reach: an answer rate of at least ``answer_rate`` and/or a mean wait of answered callers of
    at most ``mean_wait`` (in the rates' time unit). None: no such goal."""

    answer_rate: float | None = None
    mean_wait: float | None = None

    def met_by(self, figures: QueueFigures) -> bool:
        if not figures.stable:
            return False
        if self.answer_rate is not None and figures.answer_rate < self.answer_rate:
            return False
        return self.mean_wait is None or figures.mean_wait_answered <= self.mean_wait


def servers_needed(lam: float, mu: float, theta: float, goal: Goal, at_least: int = 1) -> QueueFigures:
    """The fewest nurses (``at_least`` or more) whose Erlang A figures (Erlang C at θ = 0) meet ``goal``.

    The answer rate and the mean wait improve with every nurse added, so the search starts at the bound
    n ≥ a·answer_rate (nurses answer at most nμ callers), walks up a few nurses (the bound is usually within one or
    two), then doubles and bisects: a handful of evaluations for any n. ``at_least``: a count known not to be too
    many (the target's nurses, when asking for a stricter goal). An answer rate of 1 is out of reach with impatient
    callers (each has some chance to hang up): StaffingError.
    """
    return _servers_needed(lam, mu, theta, goal.answer_rate, goal.mean_wait, at_least)


@lru_cache(maxsize=65536)
def _servers_needed(
    lam: float, mu: float, theta: float, rate: float | None, wait: float | None, at_least: int
) -> QueueFigures:
    _check(max(1, at_least), lam, mu, theta)
    if rate is not None and not 0 <= rate <= 1:
        raise StaffingError(f"answer rate goal must be in [0, 1], got {rate!r}")
    if wait is not None and not 0 <= wait < math.inf:
        raise StaffingError(f"mean wait goal must be a finite number >= 0, got {wait!r}")
    if theta > 0 and lam > 0 and rate is not None and rate >= 1:
        raise StaffingError("an answer rate of 1 cannot be reached when callers hang up")
    if wait == 0 and lam > 0:
        raise StaffingError("a mean wait of 0 cannot be reached with random arrivals")
    goal = Goal(rate, wait)
    a = lam / mu

    def meets(n: int) -> bool:
        return goal.met_by(erlang_a(n, lam, mu, theta))

    if rate is not None:  # a lower bound: fewer nurses cannot answer that many (answered ≤ nμ)
        low = max(1, at_least, math.ceil(a * rate - 1e-9))
        if meets(low):
            return erlang_a(low, lam, mu, theta)
    else:  # a mean wait only: start at the load and walk down while it still holds
        low = max(1, at_least, math.floor(a))
        if meets(low):
            while low > max(1, at_least) and meets(low - 1):
                low -= 1
            return erlang_a(low, lam, mu, theta)
    for high in range(low + 1, low + 4):  # usually one or two nurses more (the answer rate's bound is tight)
        if meets(high):
            return erlang_a(high, lam, mu, theta)
    low, step = low + 3, max(1, math.ceil(math.sqrt(a)))
    high = low + step
    while not meets(high):
        low = high
        step *= 2
        high = low + step
        if high > MAX_SERVERS:
            raise StaffingError(f"the goal needs more than {MAX_SERVERS} servers")
    while high - low > 1:  # low fails, high meets
        middle = (low + high) // 2
        if meets(middle):
            high = middle
        else:
            low = middle
    return erlang_a(high, lam, mu, theta)
