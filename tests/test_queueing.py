"""Queueing formulas: published values, limits, and discrete-event simulations (Ciw, and the numpy
Markov-chain and Lindley simulations of tests/queue_sim.py)."""

from __future__ import annotations

import math

import ciw
import numpy as np
import pytest

from widgets_py import queueing as qu

from . import queue_sim


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


@pytest.mark.parametrize("policy", qu.POLICIES)
@pytest.mark.parametrize("load", ["light", "near_one", "overload"])
def test_survival_as_sums_of_exponentials_agrees_term_by_term(policy, load):
    """``survival`` sums three exponentials per step; the term-by-term form it replaced must give the
    same numbers (relative to what each step serves), θ = 0 and ν = 0 exactly included. In overload
    the term-by-term form itself carries a rounding of about |θ|T·1e-16 (exponents of that size that
    cancel), hence 1e-9 and not 1e-13."""
    rng = np.random.default_rng(len(policy) + len(load))
    for mu, timeout in [(250.0, 2.0), (50.0, 0.2), (1000.0, 10.0)]:
        c = rng.integers(1, 60, 400)
        rho = {"light": rng.uniform(0.01, 0.95, 400), "near_one": rng.uniform(0.9, 1.1, 400),
               "overload": rng.uniform(1.0, 20.0, 400)}[load]
        lam = rho * c * mu
        lam[:4], lam[4:8] = (c[:4] - 1) * mu, c[4:8] * mu  # ν = μ − θ = 0 and θ = cμ − λ = 0
        q = qu.policy_queue(lam, c, mu, timeout, policy)
        served = sum(w * part._term_by_term_survival(0.0)[0] for w, part in q.parts)
        for t in [0.0, 0.7 / mu, 3.0 / mu, 0.999 * timeout, timeout, timeout + 2.0 / mu, rng.uniform(0, 1.2 * timeout, 400)]:
            U, u = q.survival(t)
            U_ref = sum(w * part._term_by_term_survival(t)[0] for w, part in q.parts)
            u_ref = sum(w * part._term_by_term_survival(t)[1] for w, part in q.parts)
            np.testing.assert_allclose(U / served, U_ref / served, rtol=0, atol=1e-9)
            np.testing.assert_allclose(u / (mu * served), u_ref / (mu * served), rtol=0, atol=1e-9)


@pytest.mark.parametrize("policy", qu.POLICIES)
def test_pooled_survival_sums_the_survival_of_each_group(policy):
    """The quantile solver's pooled sums (weights folded into the coefficients once) equal the weighted
    survival summed per group, for all groups or a few, below and beyond the timeout, with outages
    (no serving replica) and steps at θ = 0 or ν = 0 (the term-by-term ones) among them."""
    rng = np.random.default_rng(7)
    mu, timeout = 250.0, 0.5
    c = rng.integers(0, 12, 600)
    lam = rng.uniform(0.2, 1.6, 600) * np.maximum(c, 1) * mu
    lam[:3], lam[3:6] = c[:3] * mu, (c[3:6] - 1) * mu
    queue = qu.policy_queue(lam, c, mu, timeout, policy)
    weights = lam * 15.0
    starts = np.arange(0, 600, 40)
    pooled = qu._PooledSurvival(queue, weights, starts)
    for t in [rng.uniform(0, 0.05, len(starts)), rng.uniform(0, 2 * timeout, len(starts)), np.full(len(starts), 0.6)]:
        steps_t = np.repeat(t, 40)
        U_ref = np.add.reduceat(weights * queue.survival(steps_t)[0], starts)
        u_ref = np.add.reduceat(weights * queue.survival(steps_t)[1], starts)
        U, u = pooled(t)
        np.testing.assert_allclose(U, U_ref, rtol=1e-11, atol=1e-9 * weights.max())
        np.testing.assert_allclose(u, u_ref, rtol=1e-11, atol=1e-9 * mu * weights.max())
        few = np.array([1, 4, 9])
        U_few, u_few = pooled(t, few)
        np.testing.assert_allclose(U_few, U[few], rtol=1e-13)
        np.testing.assert_allclose(u_few, u[few], rtol=1e-13)


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


def _p95(policy, lam, c, mu=100.0, timeout=1e4):
    q = qu.policy_queue(lam, np.full(lam.shape, c), mu, timeout, policy)
    return qu.mixture_quantiles(q, np.ones(lam.size), [0.95], starts=np.arange(lam.size))[0]


@pytest.mark.parametrize("c", [2, 3, 5, 10, 40])
def test_policies_are_strictly_ordered_below_saturation(c):
    """Central queue < power of two < rotation < random split, strictly, for c ≥ 2 at moderate to high
    load (power of two may equal rotation only where its estimate reaches rotation's wait)."""
    lam = np.linspace(0.3, 0.98, 18) * c * 100.0
    p95 = {p: _p95(p, lam, c) for p in qu.POLICIES}
    strictly = 1 + 1e-6
    assert (p95["power_of_two"] > p95["least_connections"] * strictly).all()
    assert (p95["round_robin"] > p95["least_connections"] * strictly).all()
    assert (p95["power_of_two"] <= p95["round_robin"] * (1 + 1e-9)).all()
    assert (p95["random"] > p95["round_robin"] * strictly).all()
    assert (p95["random"] > p95["power_of_two"] * strictly).all()


def test_one_replica_makes_every_policy_the_same_queue():
    lam = np.linspace(10.0, 180.0, 12)
    p95 = {p: _p95(p, lam, 1, timeout=0.5) for p in qu.POLICIES}
    for policy in qu.POLICIES:
        np.testing.assert_allclose(p95[policy], p95["least_connections"], rtol=1e-9)


def test_drops_in_overload_are_ordered():
    """With a timeout of two service times (where the rotation's drop share is within a few per cent,
    see queueing.py; with long timeouts all policies approach 1 − 1/ρ and the ordering is in the noise)."""
    lam = np.linspace(1.0, 1.6, 7) * 4 * 100.0
    drop = {p: qu.policy_queue(lam, np.full(lam.shape, 4), 100.0, 0.02, p).p_drop for p in qu.POLICIES}
    assert (drop["least_connections"] < drop["power_of_two"]).all()
    assert (drop["power_of_two"] < drop["random"]).all()
    assert (drop["round_robin"] < drop["random"]).all()


def test_rotation_root_solves_the_gi_m_1_equation():
    lam = np.array([30.0, 150.0, 390.0, 399.9, 500.0, 2000.0])
    for c in (1, 2, 4, 7):
        x = qu.rotation_root(lam, c, 100.0)
        sigma = 1.0 - x
        np.testing.assert_allclose(sigma, (lam / (lam + 100.0 * x)) ** c, rtol=1e-9)
        assert ((x > 0) == (lam < c * 100.0)).all()
    # One replica: σ = ρ (M/M/1).
    np.testing.assert_allclose(qu.rotation_root(lam, 1, 100.0), 1.0 - lam / 100.0, rtol=1e-12, atol=1e-15)


def test_rotation_without_timeout_is_the_exact_e_c_m_1_wait():
    """GI/M/1: an arrival waits with probability σ, and then Exp(μ(1 − σ))."""
    mu, c, lam = 1.0, 3, 2.4
    sigma = 1.0 - float(qu.rotation_root(lam, c, mu))
    q = qu.rotation_queue(lam, c, mu, 1e6)
    assert 1.0 - float(q.q_free) == pytest.approx(sigma, rel=1e-9)
    assert float(q.mean_wait) == pytest.approx(sigma / (mu * (1 - sigma)), rel=1e-9)


def test_supermarket_balance_has_the_known_limits():
    rho = np.array([0.3, 0.7, 0.9])
    # One replica: M/M/1, ρ/(1 − ρ).
    np.testing.assert_allclose(qu.supermarket_finite_mean_wait(rho, 1, 1.0), rho / (1 - rho), rtol=1e-9)
    # Many replicas: Mitzenmacher's Σ_{i≥1} ρ^(2^(i+1) − 2).
    series = np.array([sum(r ** (2 ** (i + 1) - 2) for i in range(1, 30)) for r in rho])
    np.testing.assert_allclose(qu.supermarket_finite_mean_wait(rho, 10**9, 1.0), series, rtol=1e-6)


# Measured p95 errors (model vs this simulation) are stated in queueing.py's docstring; the bounds
# here keep them from drifting: exact policies within the simulation's noise, power of two within 25 %.
@pytest.mark.parametrize("c,rho", [(2, 0.85), (4, 0.7), (10, 0.85)])
def test_policies_against_a_markov_chain_simulation(c, rho):
    mu, lam = 1.0, rho * c
    for policy, tolerance in (("power_of_two", 0.25), ("round_robin", 0.04), ("random", 0.04)):
        counts = queue_sim.queue_ahead_counts(policy, lam, mu, c, chains=300, events=24000, burn_in=5000)
        simulated = queue_sim.response_quantile(counts, mu, c, policy)
        modelled = float(_p95(policy, np.array([lam]), c, mu=mu)[0])
        assert modelled == pytest.approx(simulated, rel=tolerance), policy


@pytest.mark.parametrize("c,rho,timeout", [(3, 0.9, 2.0), (2, 1.1, 3.0), (6, 0.8, 0.5)])
def test_rotation_with_timeout_against_a_lindley_recursion(c, rho, timeout):
    """Served requests' p95 within 5 %; the drop share at most 10 % high (queueing.py states 1–7 %)."""
    mu, lam = 1.0, rho * c
    dropped, served = queue_sim.lindley_timeout(lam, mu, c, timeout, chains=1500, arrivals=5000, burn_in=1000)
    q = qu.policy_queue(np.array([lam]), np.array([c]), mu, timeout, "round_robin")
    p95 = float(qu.mixture_quantiles(q, np.ones(1), [0.95])[0, 0])
    assert p95 == pytest.approx(np.quantile(served, 0.95), rel=0.05)
    assert dropped * 0.98 <= float(q.p_drop[0]) <= dropped * 1.10


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


def test_day_percentiles_with_drops_start_from_a_guess_and_find_the_same_root(monkeypatch):
    """A day whose afternoon is overloaded: the pooled distribution has a hump near the timeout, where
    the upper percentiles lie. Starting Newton from the coarse guess gives the root it finds from the
    service-time quantile, in fewer passes."""
    hours = np.arange(5760) * 15 / 3600.0
    lam = 150.0 + 1350.0 * ((hours > 12) & (hours < 13))  # 4 servers at 250/s: 1.5 times overloaded for an hour
    queue = qu.policy_queue(lam, np.full(lam.shape, 4), 250.0, 2.0, "least_connections")
    weights = lam * 15
    assert qu._drops_matter(queue, weights)
    calls = []  # passes over the steps: the guess's survival grid and the solver's pooled sums
    real, real_pooled = qu.TimeoutQueue.survival, qu._PooledSurvival.__call__
    monkeypatch.setattr(qu.TimeoutQueue, "survival", lambda self, t: calls.append(1) or real(self, t))
    monkeypatch.setattr(qu._PooledSurvival, "__call__", lambda self, *a: calls.append(1) or real_pooled(self, *a))
    guessed = qu.mixture_quantiles(queue, weights, [0.5, 0.95, 0.99])
    with_guess = len(calls)
    monkeypatch.setattr(qu, "_drops_matter", lambda *a: False)
    calls.clear()
    plain = qu.mixture_quantiles(queue, weights, [0.5, 0.95, 0.99])
    np.testing.assert_allclose(guessed, plain, rtol=1e-9)
    assert plain[2, 0] > 2.0 and with_guess < len(calls)  # p99 beyond the timeout; fewer evaluations
