"""Queueing formulas: published values, limits, and a discrete-event simulation (Ciw)."""

from __future__ import annotations

import math

import ciw
import numpy as np
import pytest

from widgets_py import queueing as qu


def erlang_b_by_sum(c: int, a: float) -> float:
    """Independent check: the textbook sum, in log space so large c does not overflow."""
    logs = [k * math.log(a) - math.lgamma(k + 1) for k in range(c + 1)]
    top = max(logs)
    return math.exp(logs[-1] - top) / sum(math.exp(x - top) for x in logs)


def test_erlang_b_and_c_match_published_values():
    # Erlang B table: 10 erlangs offered to 10 circuits block 21.46 % of calls.
    assert qu.erlang_b(10, 10.0) == pytest.approx(0.2146, abs=5e-5)
    # M/M/2 closed form (Kleinrock vol. 1, §3.5): C = 2ρ²/(1+ρ); at ρ = 0.5 that is 1/3.
    assert qu.erlang_c(2, 1.0) == pytest.approx(1.0 / 3.0, rel=1e-12)
    # M/M/1: an arrival waits with probability ρ.
    assert qu.erlang_c(1, 0.7) == pytest.approx(0.7, rel=1e-12)


@pytest.mark.parametrize("c,a", [(1, 0.3), (5, 4.2), (40, 35.0), (500, 480.0), (200, 150.0)])
def test_erlang_b_recursion_agrees_with_the_sum_and_stays_finite(c, a):
    got = float(qu.erlang_b(c, a))
    assert 0.0 < got < 1.0
    assert got == pytest.approx(erlang_b_by_sum(c, a), rel=1e-9)


def test_timeout_queue_without_timeout_is_mm_c():
    lam, mu, c = np.array([80.0, 150.0, 900.0]), 100.0, np.array([1, 2, 10])
    q = qu.timeout_queue(lam, c, mu, 1e4)
    C = qu.erlang_c(c, lam / mu)
    np.testing.assert_allclose(1.0 - q.q_free - q.p_drop, C, rtol=1e-9)
    np.testing.assert_allclose(q.mean_wait, C / (c * mu - lam), rtol=1e-9)
    # M/M/1 response time is exponential with rate μ − λ.
    t = np.array([0.0, 0.01, 0.05, 0.2])
    U, _ = qu.timeout_queue(80.0, 1, mu, 1e4).survival(t)
    np.testing.assert_allclose(U, np.exp(-(mu - 80.0) * t), rtol=1e-9)


def test_density_is_minus_the_derivative_of_the_survival():
    q = qu.timeout_queue(np.array([50.0, 950.0, 1500.0, 1000.0]), np.array([1, 10, 10, 10]), 100.0, 0.2)
    t = np.array([0.03, 0.1, 0.25, 0.15])
    U, u = q.survival(t)
    U2, _ = q.survival(t + 1e-7)
    np.testing.assert_allclose(u, (U - U2) / 1e-7, rtol=1e-4)


def test_deep_overload_drops_the_excess_and_serves_at_the_timeout():
    q = qu.timeout_queue(1e5, 1, 100.0, 2.0)
    assert float(q.p_drop) == pytest.approx(1.0 - 100.0 / 1e5, rel=1e-6)
    assert float(q.mean_wait) == pytest.approx(2.0, rel=1e-3)
    assert np.isfinite(q.survival(np.array([0.0, 1.0, 3.0]))[0]).all()


def _ciw_run(lam, mu, c, horizon, timeout=None, seed=7):
    kwargs = {}
    if timeout is not None:
        kwargs["reneging_time_distributions"] = [ciw.dists.Deterministic(timeout)]
    net = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(lam)],
        service_distributions=[ciw.dists.Exponential(mu)],
        number_of_servers=[c],
        **kwargs,
    )
    ciw.seed(seed)
    sim = ciw.Simulation(net)
    sim.simulate_until_max_time(horizon)
    warm = 0.05 * horizon
    return [r for r in sim.get_all_records() if r.arrival_date > warm]


@pytest.mark.parametrize("lam,mu,c", [(1.6, 1.0, 2), (8.0, 1.0, 10), (3.0, 1.0, 4)])
def test_erlang_c_against_discrete_event_simulation(lam, mu, c):
    records = [r for r in _ciw_run(lam, mu, c, horizon=40000.0 / lam) if r.record_type == "service"]
    waits = np.array([r.waiting_time for r in records])
    C = float(qu.erlang_c(c, lam / mu))
    # ~40k customers, strongly correlated in time near ρ = 1: the mean wait needs a wide tolerance.
    assert np.mean(waits > 1e-12) == pytest.approx(C, abs=0.04)
    assert waits.mean() == pytest.approx(C / (c * mu - lam), rel=0.2)


@pytest.mark.parametrize("lam,mu,c,timeout", [(12.0, 5.0, 2, 0.3), (9.0, 1.0, 8, 1.0), (4.5, 1.0, 4, 2.0)])
def test_timeout_queue_against_simulation_with_reneging(lam, mu, c, timeout):
    records = _ciw_run(lam, mu, c, horizon=20000.0 / lam, timeout=timeout)
    reneged = np.mean([r.record_type == "renege" for r in records])
    served_waits = np.array([r.waiting_time for r in records if r.record_type == "service"])
    q = qu.timeout_queue(lam, c, mu, timeout)
    assert reneged == pytest.approx(float(q.p_drop), abs=0.02)
    assert served_waits.mean() == pytest.approx(float(q.mean_wait), rel=0.15, abs=0.01)


def test_mixture_quantiles_of_mm1_are_exponential():
    q = qu.policy_queue(np.full(5, 60.0), np.full(5, 1), 100.0, 1e4, "least_connections")
    got = qu.mixture_quantiles(q, np.ones(5), [0.5, 0.95, 0.99])[:, 0]
    np.testing.assert_allclose(got, -np.log([0.5, 0.05, 0.01]) / 40.0, rtol=1e-6)


def test_round_robin_never_beats_least_connections_at_equal_capacity():
    """At every load round-robin drops at least as many requests. Below saturation it also answers
    no larger share within any deadline and has no lower percentiles; power of two sits between.
    (In overload a central queue is full to the timeout, so its few extra served requests all wait
    close to it: drops, not deadlines, are the fair comparison there.)"""
    lam_frac = np.linspace(0.05, 1.6, 32)
    stable = lam_frac < 1.0
    deadlines = np.array([0.0, 0.002, 0.01, 0.03, 0.1, 0.3, 0.49, 0.6, 2.0]).reshape(-1, 1)
    starts = np.arange(int(stable.sum()))
    for c in (1, 2, 3, 5, 10, 40):
        lam = lam_frac * c * 100.0
        cs = np.full(lam.shape, c)
        queues = {p: qu.policy_queue(lam, cs, 100.0, 0.5, p) for p in qu.POLICIES}
        drop = {p: q.p_drop for p, q in queues.items()}
        assert (drop["round_robin"] >= drop["least_connections"] - 1e-12).all()
        assert (drop["power_of_two"] <= drop["round_robin"] + 1e-12).all()
        assert (drop["power_of_two"] >= drop["least_connections"] - 1e-12).all()
        within, pct = {}, {}
        for p in qu.POLICIES:
            q = qu.policy_queue(lam[stable], cs[stable], 100.0, 0.5, p)
            U0, _ = q.survival(0.0)
            Ut, _ = q.survival(deadlines)
            within[p] = U0 - Ut
            pct[p] = qu.mixture_quantiles(q, np.ones(len(starts)), [0.5, 0.95, 0.99], starts=starts)
        assert (within["least_connections"] >= within["round_robin"] - 1e-12).all()
        assert (within["power_of_two"] >= within["round_robin"] - 1e-12).all()
        assert (within["power_of_two"] <= within["least_connections"] + 1e-12).all()
        assert (pct["round_robin"] >= pct["least_connections"] * (1 - 1e-9)).all()
        assert (pct["power_of_two"] <= pct["round_robin"] * (1 + 1e-9)).all()


def test_supermarket_mean_wait_matches_mitzenmacher_series():
    # Mean time in system with μ = 1 is Σ_{i≥1} ρ^(2^i − 2): at ρ = 0.9 that is 1 + ρ² + ρ⁶ + ρ¹⁴ + …
    rho = 0.9
    series = sum(rho ** (2**i - 2) for i in range(1, 30))
    assert float(qu.supermarket_mean_wait(rho, 1.0)) + 1.0 == pytest.approx(series, rel=1e-9)


def test_one_more_replica_never_hurts_under_any_policy():
    """Adding a server at a fixed load never lowers the share within a deadline, never raises drops
    and never raises p95. The raw mean-matching power-of-two weight broke this (e.g. 5 req/s on 2 → 3
    replicas, and p95 rose 9 % from 12 → 13 replicas at ρ ≈ 0.95); its running maximum over c keeps it."""
    mu, timeout = 250.0, 2.0
    lam = np.r_[np.geomspace(1.0, 3000.0, 120), 5.0, 2857.0, 2899.0]
    cs = np.arange(1, 32)
    L, C = (x.ravel() for x in np.meshgrid(lam, cs, indexing="ij"))
    for policy in qu.POLICIES:
        q = qu.policy_queue(L, C, mu, timeout, policy)
        U0, _ = q.survival(0.0)
        U_slo, _ = q.survival(0.05)
        within = (U0 - U_slo).reshape(len(lam), len(cs))
        drop = q.p_drop.reshape(len(lam), len(cs))
        p95 = qu.mixture_quantiles(q, np.ones(len(L)), [0.95], starts=np.arange(len(L)))[0].reshape(len(lam), len(cs))
        assert (np.diff(within, axis=1) >= -1e-12).all(), policy
        assert (np.diff(drop, axis=1) <= 1e-12).all(), policy
        unsaturated = drop[:, :-1] < 1e-6
        rise = np.diff(p95, axis=1) / p95[:, :-1]
        assert (rise[unsaturated] <= 1e-9).all(), policy


@pytest.mark.parametrize("policy", qu.POLICIES)
def test_grouped_quantiles_equal_each_group_solved_alone(policy):
    """Once most groups have converged the solver evaluates only the steps of the open ones; every
    group must still come out exactly as if it were solved on its own."""
    rng = np.random.default_rng(3)
    lam = np.concatenate([rng.uniform(20, 180, 90), rng.uniform(350, 500, 6), rng.uniform(20, 180, 24)])
    servers = np.repeat([2, 1, 3, 2], 30)
    arrivals = rng.uniform(0.5, 2.0, lam.size)
    queue = qu.policy_queue(lam, servers, 100.0, 0.5, policy)
    starts = np.arange(0, lam.size, 6)
    grouped = qu.mixture_quantiles(queue, arrivals, [0.5, 0.95], starts=starts)
    for g, start in enumerate(starts):
        steps = np.arange(start, start + 6)
        alone = qu.mixture_quantiles(queue.take(steps), arrivals[steps], [0.5, 0.95])[:, 0]
        np.testing.assert_array_equal(grouped[:, g], alone)
