"""Discrete-event checks of the load-balancing models (test helper, numpy only).

With exponential service and first-come-first-served replicas, the state of ``c`` replicas is the
vector of their queue lengths (plus the rotation pointer), a continuous-time Markov chain. We simulate
it uniformised (every event at total rate λ + cμ is an arrival or a possible departure), many chains
at once, and record how many requests a joining request finds ahead of it in its replica. By
memorylessness its response time is then Erlang(k + 1, μ), so the response-time distribution is the
mixture of those, solved exactly: the only noise is in the distribution of k.

``lindley_timeout`` is the virtual-wait (Lindley) recursion of one replica fed by Erlang(c, λ)
inter-arrival times (strict rotation) with requests dropped when they would wait longer than T,
vectorised across independent chains.
"""

from __future__ import annotations

import math

import numpy as np


def queue_ahead_counts(policy: str, lam: float, mu: float, c: int, *, chains: int = 400,
                       events: int = 30000, burn_in: int = 6000, seed: int = 1) -> np.ndarray:
    """Histogram of requests found ahead (in the chosen replica) by arriving requests."""
    rng = np.random.default_rng(seed)
    rate = lam + c * mu
    rows = np.arange(chains)
    queues = np.zeros((chains, c), dtype=np.int64)
    pointer = np.zeros(chains, dtype=np.int64)
    counts = np.zeros(1, dtype=np.int64)
    for step in range(events):
        arrival = rng.random(chains) < lam / rate
        if policy == "least_connections":
            # Central queue: the request takes a free replica, else waits behind everyone queued.
            total = queues[:, 0]
            ahead = np.maximum(total - c + 1, 0)  # Erlang(k+1) with rate cμ while waiting: see below
            target = None
        elif policy == "random":
            target = rng.integers(0, c, chains)
        elif policy == "round_robin":
            target = pointer
        elif policy == "power_of_two":
            a, b = rng.integers(0, c, chains), rng.integers(0, c, chains)
            target = np.where(queues[rows, b] < queues[rows, a], b, a)
        else:
            raise ValueError(policy)
        if target is not None:
            ahead = queues[rows, target]
        if step >= burn_in and arrival.any():
            found = ahead[arrival]
            if found.max() >= counts.size:
                counts = np.pad(counts, (0, int(found.max()) + 1 - counts.size))
            counts += np.bincount(found, minlength=counts.size)
        if policy == "least_connections":
            busy = np.minimum(queues[:, 0], c)
            leave = ~arrival & (rng.random(chains) * c < busy)
            queues[:, 0] += arrival.astype(np.int64) - leave.astype(np.int64)
        else:
            server = rng.integers(0, c, chains)
            leave = ~arrival & (queues[rows, server] > 0)
            np.add.at(queues, (rows[arrival], target[arrival]), 1)
            np.add.at(queues, (rows[leave], server[leave]), -1)
            if policy == "round_robin":
                pointer = np.where(arrival, (pointer + 1) % c, pointer)
    return counts


def response_quantile(counts: np.ndarray, mu: float, c: int, policy: str, prob: float = 0.95) -> float:
    """Quantile of the response time given the histogram of requests ahead.

    For a replica's own queue: k ahead → Erlang(k + 1, μ). For the central queue, k is the number
    waiting ahead beyond the c − 1 others in service: it waits Erlang(k, cμ) (0 if k = 0), then Exp(μ)."""
    p = counts / counts.sum()
    ks = np.arange(p.size)

    def survival(t: float) -> float:
        if policy == "least_connections":
            # P(Erlang(k, cμ) + Exp(μ) > t) by numerical convolution on a fine grid is overkill: use
            # P(W + S > t) = ∫ P(W > t − s) μ e^{−μ s} ds with W's survival a Poisson sum.
            grid = np.linspace(0.0, t, 2001)
            w_surv = np.array([_erlang_survival(ks, c * mu, t - s) @ p for s in grid])
            integrand = w_surv * mu * np.exp(-mu * grid)
            return float(np.trapezoid(integrand, grid) + math.exp(-mu * t))
        return float(_erlang_survival(ks + 1, mu, t) @ p)

    lo, hi = 0.0, 1.0 / mu
    while survival(hi) > 1.0 - prob:
        hi *= 2.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if survival(mid) > 1.0 - prob else (lo, mid)
    return 0.5 * (lo + hi)


def _erlang_survival(shape: np.ndarray, rate: float, t: float) -> np.ndarray:
    """P(Erlang(shape, rate) > t) for integer shapes ≥ 0 (shape 0 is the point mass at 0)."""
    x = rate * max(t, 0.0)
    top = int(shape.max(initial=0))
    j = np.arange(top)
    log_terms = j * math.log(x) - x - np.array([math.lgamma(v + 1) for v in j]) if x > 0 else None
    if log_terms is None:
        return (shape > 0).astype(float)
    cumulative = np.concatenate(([0.0], np.cumsum(np.exp(log_terms))))
    return cumulative[shape]


def lindley_timeout(lam: float, mu: float, c: int, timeout: float, *, chains: int = 2000,
                    arrivals: int = 6000, burn_in: int = 1500, seed: int = 2):
    """(share dropped, response times of served requests) for one replica in a rotation of c."""
    rng = np.random.default_rng(seed)
    v = np.zeros(chains)
    dropped = 0
    responses = []
    for n in range(arrivals):
        joins = v < timeout
        service = rng.exponential(1.0 / mu, chains)
        if n >= burn_in:
            dropped += int((~joins).sum())
            responses.append((v + service)[joins])
        v = np.where(joins, v + service, v)
        v = np.maximum(v - rng.gamma(c, 1.0 / lam, chains), 0.0)
    served = np.concatenate(responses)
    total = (arrivals - burn_in) * chains
    return dropped / total, served
