"""Queueing formulas for replicated model servers, vectorised over arrays of load and server counts.

Everything is numpy-only (it runs in Pyodide) and stable for hundreds of servers: the Erlang
functions go through the Erlang B recursion, never through factorials.

Models (exponential service with rate ``mu`` per server, Poisson arrivals at rate ``lam``):

* **Erlang B and C.** ``B(0, a) = 1``, ``1/B(k, a) = 1 + (k/a)/B(k-1, a)`` and
  ``C(c, a) = B / (1 - ρ(1 - B))`` with ``a = λ/μ`` and ``ρ = a/c`` (e.g. Kleinrock, *Queueing
  Systems* vol. 1, 1975, §3.5 and §3.6; Gross & Harris, *Fundamentals of Queueing Theory*). Exact.

* **M/M/c with a queue timeout (M/M/c+D).** Requests that would wait longer than ``T`` are dropped
  (equivalently, they give up after ``T``; with first-come-first-served order the two are the same
  for everyone else). Its stationary distribution exists for every load, overload included, which is
  what lets one formula cover a quiet night and a launch-day spike. Level crossing on the virtual
  waiting time ``V`` (Baccelli & Hébuterne 1981, "On queues with impatient customers"; Zeltyn &
  Mandelbaum 2005, Queueing Systems 51, for M/M/n+G) gives, with ``θ = cμ − λ``:

      P(n = k) = p₀ aᵏ/k!  for k < c (all arrivals then start at once),
      density of V on (0, T):   g(w) = λ p_{c−1} e^{−θ w},
      density of V above T:     g(T) e^{−cμ (w − T)},
      P(dropped) = P(V > T) = g(T) / (cμ).

  With ``T → ∞`` and ``θ > 0`` this is M/M/c: ``P(V > 0) = C(c, a)`` and ``P(V > t) = C e^{−θt}``.
  A served request's response time is ``V + S`` with ``S ~ Exp(μ)``; its survival function and
  density are closed forms (a hypo-exponential mixture) evaluated in log-safe form, so an overload
  ``θ ≪ 0`` never overflows. Exact for stationary Poisson traffic.

* **Load-balancing policies.** ``least_connections`` is the central queue above (M/M/c): a replica
  takes the next request as soon as it is free. ``round_robin`` is modelled as random splitting:
  ``c`` independent M/M/1+D queues with ``λ/c`` each — exact for random choice (what kube-proxy's
  iptables mode does), slightly pessimistic for strict rotation. ``power_of_two`` (join the shorter
  of two sampled queues) uses Mitzenmacher's supermarket model (IEEE TPDS 12(10), 2001): the fraction
  of queues holding at least ``i`` requests is ``ρ^(2^i − 1)``, so the mean wait is
  ``Σ_{i≥1} ρ^(2^(i+1) − 2) / μ``. The simulator represents power-of-two as a mixture of the
  least-connections and round-robin distributions weighted so that its mean wait matches the
  supermarket value (evaluated at ρ ≤ 0.99, where the series converges). The mean is exact in the
  many-replica limit; the percentiles of this mixture are an approximation, and the weight is
  clipped to [0, 1] so the policy never beats least-connections (the mean-field value does for
  few replicas), and at a fixed load it is the largest weight over 1..c servers, so adding a
  replica never makes the approximation worse (the raw weight is not monotone in c).

Quantiles of mixtures (one step, one chart bucket, or a whole day) are found with a safeguarded
Newton iteration on the log-survival, vectorised over all the quantiles solved at once; it stops
when a step is below one part in a million and applies that step, so quantiles are accurate to
about 1e-12 relative (far below the model's own approximations, but tight enough that comparisons
such as "one more replica never raises p95" are not decided by solver noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_TINY = 1e-300


def erlang_b(c, a):
    """Blocking probability of an M/M/c/c loss system, vectorised; ``c`` integer ≥ 0, ``a`` ≥ 0."""
    c = np.asarray(c, dtype=np.int64)
    a = np.maximum(np.asarray(a, dtype=float), _TINY)
    c, a = np.broadcast_arrays(c, a)
    inv_b = np.ones(a.shape)
    top = int(c.max(initial=0))
    with np.errstate(over="ignore"):
        for k in range(1, top + 1):
            # Once k passes a step's server count its value is frozen.
            inv_b = np.where(k <= c, 1.0 + (k / a) * inv_b, inv_b)
    return 1.0 / inv_b


def erlang_c(c, a):
    """Probability that an arrival waits in M/M/c (1 when ``a ≥ c``, i.e. no steady state)."""
    c = np.asarray(c, dtype=np.int64)
    a = np.asarray(a, dtype=float)
    b = erlang_b(c, a)
    rho = a / np.maximum(c, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = b / (1.0 - rho * (1.0 - b))
    return np.where(rho < 1.0, out, 1.0)


def _h(u, x):
    """(1 − e^{−u x}) / u for u ≥ 0, x ≥ 0, equal to x at u = 0; never overflows."""
    ux = np.maximum(u * x, _TINY)
    return x * (-np.expm1(-ux) / ux)


@dataclass(frozen=True)
class TimeoutQueue:
    """Stationary M/M/c+D state for arrays of (λ, c); fields are arrays of one shape.

    ``q_free``: an arrival finds a free server; ``k``: λ·p_{c−1} in the log-safe scaling;
    ``p_drop``: an arrival would wait longer than the timeout and is dropped."""

    mu: float
    timeout: float
    theta: np.ndarray
    lam_shift: np.ndarray  # e^{-L} scaling exponent L = max(−θ, 0)·T
    nu: np.ndarray  # μ − θ
    q_free: np.ndarray
    k: np.ndarray
    p_drop: np.ndarray
    mean_wait: np.ndarray  # mean wait of served requests

    def __post_init__(self):
        # Terms of ``survival`` that do not depend on t: a quantile solve calls it dozens of times.
        terms = (-np.maximum(self.theta, 0.0), np.abs(self.theta), np.abs(self.nu), self.nu > 0, -self.lam_shift)
        object.__setattr__(self, "_terms", terms + (bool(np.all(terms[3])),))

    @property
    def served(self) -> np.ndarray:
        return 1.0 - self.p_drop

    def take(self, index) -> "TimeoutQueue":
        """The same queue restricted to the steps ``index``."""
        return TimeoutQueue(self.mu, self.timeout, *(getattr(self, name)[index] for name in _QUEUE_ARRAYS))

    def survival(self, t):
        """(U, u): U(t) = P(served and response > t) per arrival, u = −dU/dt. ``t`` broadcasts."""
        mu, T = self.mu, self.timeout
        neg_pos_theta, abs_theta, abs_nu, nu_pos, neg_shift, all_nu_pos = self._terms
        t = np.maximum(t, 0.0)
        m = np.minimum(t, T)
        mu_t = mu * t
        first = self.q_free * np.exp(-mu_t)
        # Requests still waiting at time t (only while t < T).
        waiting = self.k * np.exp(neg_pos_theta * t) * _h(abs_theta, np.maximum(T - t, 0.0))
        # Requests that started service at w < t and are still in service.
        expo = neg_shift - mu_t
        expo = expo + self.nu * m if all_nu_pos else np.where(nu_pos, expo + self.nu * m, expo)
        in_service = self.k * np.exp(expo) * _h(abs_nu, m)
        return first + waiting + in_service, mu * (first + in_service)


_QUEUE_ARRAYS = ("theta", "lam_shift", "nu", "q_free", "k", "p_drop", "mean_wait")


def timeout_queue(lam, c, mu: float, timeout: float) -> TimeoutQueue:
    """M/M/c+D for arrays ``lam`` (requests/s) and ``c`` (servers ≥ 1), service rate ``mu``,
    timeout ``timeout`` (s)."""
    lam = np.asarray(lam, dtype=float)
    c = np.asarray(c, dtype=np.int64)
    lam, c = np.broadcast_arrays(lam, c)
    T = float(timeout)
    a = lam / mu
    b_prev = erlang_b(c - 1, a)  # p_{c−1} / P(n < c)
    cmu = c * mu
    theta = cmu - lam
    shift = np.maximum(-theta, 0.0) * T
    lam_b = lam * b_prev
    h_T = _h(np.abs(theta), T)
    tail = np.exp(-np.maximum(theta, 0.0) * T) / cmu
    denom = np.exp(-shift) + lam_b * (h_T + tail)
    q_free = np.exp(-shift) / denom
    k = lam_b / denom
    p_drop = k * tail
    # Mean wait of joined requests: ∫_0^T w g(w) dw / P(served), in the same scaling.
    # ∫_0^T w e^{-θw} dw = (h(θ,T) − T e^{−θT}) / θ; use the shifted exponent for θ < 0.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a_th = np.abs(theta)
        small = a_th * T < 1e-6
        pos = theta > 0
        # θ > 0: (h − T e^{−θT})/θ ; θ < 0 (scaled by e^{−|θ|T}): (T − h)/|θ|
        moment_pos = (h_T - T * np.exp(-a_th * T)) / np.where(small, 1.0, a_th)
        moment_neg = (T - h_T) / np.where(small, 1.0, a_th)
        moment = np.where(small, 0.5 * T * T, np.where(pos, moment_pos, moment_neg))
        served = q_free + k * h_T
        mean_wait = np.where(served > 0, k * moment / np.maximum(served, _TINY), T)
    return TimeoutQueue(mu, T, theta, shift, mu - theta, q_free, k, p_drop, mean_wait)


def supermarket_mean_wait(rho, mu: float, terms: int = 16):
    """Mean wait under power-of-two choices in the many-queue limit (Mitzenmacher 2001)."""
    rho = np.asarray(rho, dtype=float)
    total = np.zeros(rho.shape)
    power = rho  # ρ^(2^i − 1); the i-th term is its square
    for _ in range(terms):
        square = power * power
        total = total + square
        power = square * rho
    return total / mu


_RHO_CAP = 0.99  # where the supermarket series is still summed accurately by 16 terms


def _mixture_weight(rho, c, erlang_c_value):
    """Least-connections weight that gives the supermarket mean wait at utilisation ``rho`` < 1 with
    ``c`` servers (μ cancels out), clipped to [0, 1]."""
    w_lc = erlang_c_value / (c * (1.0 - rho))
    w_rr = rho / (1.0 - rho)
    w_p2 = supermarket_mean_wait(rho, 1.0)
    span = w_rr - w_lc
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(span > 1e-12 * (w_rr + 1e-12), (w_rr - w_p2) / span, 1.0)
    return np.clip(weight, 0.0, 1.0)


_saturated_cache: dict[int, np.ndarray] = {}


def _saturated_weights(top: int) -> np.ndarray:
    """Weights at the utilisation cap for 1..top servers (index = servers); they depend on nothing
    else, so they are computed once."""
    if top not in _saturated_cache:
        servers = np.arange(1, top + 1)
        rho = np.full(top, _RHO_CAP)
        weights = _mixture_weight(rho, servers, erlang_c(servers, _RHO_CAP * servers))
        _saturated_cache[top] = np.concatenate(([0.0], weights))
    return _saturated_cache[top]


def power_of_two_weight(lam, c, mu: float):
    """Weight of the least-connections component in the power-of-two mixture (see module doc).

    The mean-matching weight at utilisation min(λ/(kμ), 0.99) is taken as a running maximum over
    k = 1..c: at a fixed load a larger pool never gets a weight further from least-connections.
    Both components improve as servers are added and least-connections is never worse than
    round-robin, so this keeps "one more replica never hurts" true of the mixture; the raw
    mean-field weight is not monotone in c (it falls sharply past the clip near saturation)."""
    lam = np.asarray(lam, dtype=float)
    c = np.asarray(c, dtype=np.int64)
    lam, c = np.broadcast_arrays(lam, c)
    a = np.maximum(lam / mu, _TINY)
    top = int(c.max(initial=0))
    saturated = _saturated_weights(max(top, 1))
    best = np.zeros(lam.shape)
    inv_b = np.ones(lam.shape)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        for k in range(1, top + 1):
            inv_b = 1.0 + (k / a) * inv_b  # Erlang B recursion: 1/B(k, a)
            rho = a / k
            below_cap = rho < _RHO_CAP
            b = 1.0 / inv_b
            rho_c = np.where(below_cap, rho, 0.5)
            erlang_c_value = b / (1.0 - rho_c * (1.0 - b))
            w_k = np.where(below_cap, _mixture_weight(rho_c, k, erlang_c_value), saturated[k])
            best = np.where(k <= c, np.maximum(best, w_k), best)
    return np.where(c >= 1, best, 1.0)


@dataclass(frozen=True)
class PolicyQueue:
    """Per-step response-time distribution under a load-balancing policy: a mixture of at most two
    TimeoutQueue components, with per-arrival weights."""

    parts: tuple[tuple[np.ndarray, TimeoutQueue], ...]
    up: np.ndarray  # at least one serving replica

    @property
    def p_drop(self) -> np.ndarray:
        out = sum(w * q.p_drop for w, q in self.parts)
        return np.where(self.up, out, 1.0)

    @property
    def mean_wait(self) -> np.ndarray:
        served = sum(w * q.served for w, q in self.parts)
        total = sum(w * q.served * q.mean_wait for w, q in self.parts)
        return np.where(self.up & (served > 0), total / np.maximum(served, _TINY), np.nan)

    def take(self, index) -> "PolicyQueue":
        """The same mixture restricted to the steps ``index``."""
        return PolicyQueue(tuple((w[index], q.take(index)) for w, q in self.parts), self.up[index])

    def survival(self, t):
        U = 0.0
        u = 0.0
        for w, q in self.parts:
            Uj, uj = q.survival(t)
            U = U + w * Uj
            u = u + w * uj
        return np.where(self.up, U, 0.0), np.where(self.up, u, 0.0)


POLICIES = ("round_robin", "least_connections", "power_of_two")


def policy_queue(lam, c, mu: float, timeout: float, policy: str) -> PolicyQueue:
    """Response-time model for ``c`` serving replicas (0 = outage) under ``policy``."""
    lam = np.asarray(lam, dtype=float)
    c = np.asarray(c, dtype=np.int64)
    lam, c = np.broadcast_arrays(lam, c)
    up = c > 0
    cs = np.maximum(c, 1)
    if policy == "least_connections":
        parts = ((np.ones(lam.shape), timeout_queue(lam, cs, mu, timeout)),)
    elif policy == "round_robin":
        parts = ((np.ones(lam.shape), timeout_queue(lam / cs, 1, mu, timeout)),)
    elif policy == "power_of_two":
        w = power_of_two_weight(lam, cs, mu)
        parts = (
            (w, timeout_queue(lam, cs, mu, timeout)),
            (1.0 - w, timeout_queue(lam / cs, 1, mu, timeout)),
        )
    else:
        raise ValueError(f"lb_policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    return PolicyQueue(parts, up)


def mixture_quantiles(queue, weights, probs, starts=None, max_iter: int = 40):
    """Response-time quantiles of served requests, pooled over groups of steps.

    ``weights``: arrivals per step; ``probs``: quantile levels (e.g. 0.95); ``starts``: first step
    of each contiguous group (default: one group of all steps). Returns shape (len(probs), groups);
    NaN where a group served nothing."""
    weights = np.asarray(weights, dtype=float)
    n = weights.shape[-1]
    starts = np.array([0] if starts is None else starts, dtype=np.intp)  # reduceat needs intp indices (int32 in Pyodide)
    counts = np.diff(np.append(starts, n))
    probs = np.asarray(probs, dtype=float).reshape(-1, 1)

    def pooled(t_groups, active):
        # Row by row (numpy's broadcasting of (steps,) against (levels, steps) is several times
        # slower than a few one-dimensional passes), and only the rows still being solved. Once
        # most groups of a row have converged, only the steps of the open ones are evaluated: the
        # same elements summed over the same groups, so the same numbers, for a fraction of the work.
        # Entries of converged groups keep 1; the solver never reads them again.
        U_rows = np.ones(t_groups.shape)
        u_rows = np.ones(t_groups.shape)
        for r in np.flatnonzero(active.any(axis=1)).tolist():
            row = t_groups[r]
            open_groups = np.flatnonzero(active[r])
            if 2 * len(open_groups) > len(starts):
                t_steps = row[0] if len(row) == 1 else np.repeat(row, counts)
                U, u = queue.survival(t_steps)
                U_rows[r] = np.add.reduceat(weights * U, starts)
                u_rows[r] = np.add.reduceat(weights * u, starts)
            else:
                sub_counts = counts[open_groups]
                sub_starts = np.concatenate(([0], np.cumsum(sub_counts)[:-1])).astype(np.intp)
                steps = np.arange(int(sub_counts.sum())) + np.repeat(starts[open_groups] - sub_starts, sub_counts)
                U, u = queue.take(steps).survival(np.repeat(row[open_groups], sub_counts))
                sub_weights = weights[steps]
                U_rows[r, open_groups] = np.add.reduceat(sub_weights * U, sub_starts)
                u_rows[r, open_groups] = np.add.reduceat(sub_weights * u, sub_starts)
        return U_rows, u_rows

    U0, _ = pooled(np.zeros((1, len(starts))), np.ones((1, len(starts)), dtype=bool))
    target = (1.0 - probs) * U0
    # S(t) ≤ e^{−μ(t−T)} beyond the timeout, so this bracket always holds the quantile.
    mu, T = queue.parts[0][1].mu, queue.parts[0][1].timeout
    lo = np.zeros(target.shape)
    hi = np.full(target.shape, T + np.log(1.0 / (1.0 - probs.max())) / mu + 1.0 / mu)
    t = np.broadcast_to(-np.log(1.0 - probs) / mu, target.shape).copy()
    log_target = np.log(np.maximum(target, _TINY))
    finished = np.broadcast_to(U0 <= 0, target.shape).copy()
    for _ in range(max_iter):
        U, u = pooled(t, ~finished)
        above = U > target
        lo = np.where(above, t, lo)
        hi = np.where(above, hi, t)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = (np.log(np.maximum(U, _TINY)) - log_target) * U / u
        t_new = t + step
        bad = ~np.isfinite(t_new) | (t_new < lo) | (t_new > hi)
        # Converged once the Newton step is below 0.1 µs or one part in a million; that last step
        # is still taken, which (quadratic convergence) leaves an error near 1e-12 relative.
        # Converged entries are then frozen.
        done = np.abs(step) <= 1e-7 + 1e-6 * t
        t = np.where(finished, t, np.where(bad, np.where(done, t, 0.5 * (lo + hi)), t_new))
        finished |= done
        if finished.all():
            break
    return np.where(U0 > 0, t, np.nan)
