"""Scaling strategy simulator: Kubernetes HPA rules, properties of the three strategies, bad input."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from widgets_py import scaling_strategy as ss
from widgets_py.core import ParamError, metric_value
from widgets_py.scenarios import load

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "docs" / "widgets" / "scaling_strategy.titanic.json"
METRICS = (
    "p50_ms", "p95_ms", "p99_ms", "slo_attainment", "dropped_requests", "availability",
    "cost_usd", "cost_per_million", "mean_utilization", "peak_replicas",
)
# Small, steady runs for property tests: one hour in one-minute steps, no spike, no noise.
qu_policies = list(ss.queueing.POLICIES)
STEADY = {"hours": 1, "step_s": 60, "noise": 0, "spike_multiplier": 1, "failure_rate_per_hour": 0}


def run(**overrides):
    return ss.WIDGET.run(overrides)


# ---------------------------------------------------------------- HPA


def hpa(lam, step_s=15.0, mu=100.0, **kw):
    kw.setdefault("min_replicas", 1)
    kw.setdefault("max_replicas", 200)
    kw.setdefault("target_utilization", 0.5)
    return ss.autoscale(np.asarray(lam, dtype=float), step_s, mu, **kw)


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    steps=st.sampled_from([1, 7, 400, 2000]),
    step_s=st.sampled_from([1.0, 15.0, 60.0]),
    swing=st.sampled_from([0.0, 0.5, 3.0]),
    noise=st.sampled_from([0.0, 0.05, 0.3]),
    spike=st.sampled_from([1.0, 4.0, 20.0]),
    mu=st.sampled_from([1.0, 250.0]),
    failures=st.sampled_from([0.0, 0.05, 2.0]),
    bounds=st.sampled_from([(1, 5), (2, 30), (5, 200)]),
    target=st.sampled_from([0.3, 0.6, 0.85]),
    tolerance=st.sampled_from([0.0, 0.1, 0.3]),
    sync_period_s=st.sampled_from([1.0, 15.0, 60.0]),
    up_window=st.sampled_from([0.0, 60.0, 300.0]),
    down_window=st.sampled_from([0.0, 300.0, 900.0]),
    up_policy=st.sampled_from([(0.0, 1, 15.0), (100.0, 4, 15.0), (500.0, 0, 120.0)]),
    down_policy=st.sampled_from([(10.0, 15.0), (100.0, 15.0), (50.0, 300.0)]),
    cold_start_s=st.sampled_from([0.0, 60.0, 600.0]),
    metric=st.sampled_from(["cpu", "requests_per_second"]),
)
def test_skipping_quiet_stretches_changes_no_step(seed, steps, step_s, swing, noise, spike, mu, failures, bounds,
                                                  target, tolerance, sync_period_s, up_window, down_window, up_policy,
                                                  down_policy, cold_start_s, metric):
    """``autoscale`` skips stretches where nothing changes in bulk; every step must still equal the plain
    step-by-step loop's (``skip_quiet=False``), failures, windows and rate limits included."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps) * step_s
    lam = 20.0 * mu * (1.0 + swing * np.sin(t / 7200.0) ** 2) * np.exp(noise * rng.standard_normal(steps))
    lam[steps // 3: steps // 2] *= spike
    if metric == "cpu" and target * (1.0 + tolerance) >= 1.0:
        target = 0.5
    thresholds = np.append(np.cumsum(rng.exponential(1.0 / failures, 500)), np.inf) if failures else None
    kw = dict(min_replicas=bounds[0], max_replicas=bounds[1], target_utilization=target, tolerance=tolerance,
              sync_period_s=sync_period_s, scale_up_stabilization_s=up_window, scale_down_stabilization_s=down_window,
              scale_up_percent=up_policy[0], scale_up_pods=up_policy[1], scale_up_period_s=up_policy[2],
              scale_down_percent=down_policy[0], scale_down_period_s=down_policy[1], cold_start_s=cold_start_s,
              recovery_s=300.0, thresholds_h=thresholds, metric=metric)
    fast, plain = ss.autoscale(lam, step_s, mu, **kw), ss.autoscale(lam, step_s, mu, skip_quiet=False, **kw)
    np.testing.assert_array_equal(fast[0], plain[0])
    np.testing.assert_array_equal(fast[1], plain[1])


@pytest.mark.parametrize("window", [300.0, 600.0])
def test_first_scale_down_waits_for_the_stabilization_window(window):
    step = 15.0
    high, low = 2000.0, 200.0
    n_high, n_low = 240, 240
    lam = np.r_[np.full(n_high, high), np.full(n_low, low)]
    prov, _ = hpa(lam, step, scale_down_stabilization_s=window, cold_start_s=30.0)
    t_drop = n_high * step
    assert prov[n_high - 1] == 40  # 2000 req/s at 50 % of 100 req/s per replica
    first_down = int(np.flatnonzero(np.diff(prov) < 0)[0]) + 1
    # The last high recommendation was made one sync period before the drop; it must leave the
    # window before the count may fall.
    assert first_down * step >= t_drop - step + window
    assert first_down * step <= t_drop + window + step  # and it does fall once it has left
    assert prov[-1] == 4


def test_scale_up_obeys_the_default_policies():
    lam = np.r_[np.full(20, 50.0), np.full(200, 20000.0)]
    prov, ready = hpa(lam, 15.0, max_replicas=300, cold_start_s=0.0)
    increases = prov[1:] > prov[:-1]
    assert increases.any()
    # Default: at most max(+100 %, +4 pods) per 15 s period.
    allowed = np.maximum(2 * prov[:-1], prov[:-1] + 4)
    assert (prov[1:] <= allowed).all()
    assert (prov[1:][increases] == allowed[increases]).any()  # the limit binds at least once
    assert prov.max() == 300  # and max_replicas caps it


def test_scale_up_obeys_custom_policies_and_counts_changes_over_the_period():
    lam = np.r_[np.full(4, 50.0), np.full(400, 20000.0)]
    prov, _ = hpa(lam, 15.0, scale_up_percent=50.0, scale_up_pods=2, scale_up_period_s=60.0, cold_start_s=0.0)
    for k in range(4, len(prov)):
        start = prov[max(k - 4, 0)]  # replicas at the start of the 60 s period
        assert prov[k] <= max(math.ceil(start * 1.5), start + 2)


def test_pods_still_starting_hold_back_a_second_scale_up():
    lam = np.r_[np.full(4, 50.0), np.full(100, 1000.0)]
    prov, ready = hpa(lam, 15.0, cold_start_s=120.0)
    first_up = int(np.flatnonzero(np.diff(prov) > 0)[0]) + 1
    # While the new pods start (counted at 0 %), the controller does not pile on more.
    assert (prov[first_up : first_up + 8] == prov[first_up]).all()
    assert (ready[first_up : first_up + 8] < prov[first_up]).all()


@pytest.mark.parametrize("lam,mu,target", [(1000.0, 100.0, 0.5), (150.0, 100.0, 0.6), (730.0, 100.0, 0.6), (4321.0, 250.0, 0.7)])
def test_sustained_load_reaches_the_replica_count_of_the_formula(lam, mu, target):
    prov, ready = hpa(np.full(2 * 240, lam), 15.0, mu=mu, target_utilization=target, cold_start_s=45.0,
                      initial_replicas=1)
    r = int(prov[-1])
    assert ready[-1] == r
    ratio = lam / (r * mu) / target
    # A fixed point of desired = ceil(current × metric / target), with no change inside the tolerance.
    assert abs(ratio - 1.0) <= 0.1 or math.ceil(r * ratio - 1e-9) == r
    exact = lam / (mu * target)
    band = [k for k in range(1, 400) if abs(exact / k - 1.0) <= 0.1]
    if len(band) <= 1:  # only one count is acceptable: it must be exactly the formula's
        assert r == math.ceil(exact)
    else:
        assert r in band or r == math.ceil(exact)


def test_failures_are_replaced_after_the_recovery_time():
    thresholds = np.array([0.5, np.inf])  # one failure after half an instance-hour
    prov, ready = hpa(np.full(240, 400.0), 15.0, thresholds_h=thresholds, recovery_s=300.0, cold_start_s=0)
    assert prov.min() == prov.max() == 8
    down = np.flatnonzero(ready < prov)
    assert len(down) == 300 / 15  # exactly the recovery time, one replica short


# ---------------------------------------------------------------- simulator properties


def test_default_run_has_every_metric_for_every_strategy_and_is_deterministic():
    a, b = run(), run()
    assert a["metrics"] == b["metrics"]
    for strategy in ss.STRATEGIES:
        for name in METRICS:
            value = metric_value(a["metrics"], f"{strategy}.{name}")
            assert isinstance(value, (int, float)) and math.isfinite(value), (strategy, name)
            assert f"{strategy}.{name}" in a["units"]
    for m in ss.WIDGET.metrics:
        metric_value(a["metrics"], m.name)
    assert a["tables"]["comparison"]["rows"][0][0] == "vertical"
    charts = ss.WIDGET.charts(a)
    assert [c["name"] for c in charts] == ["demand_capacity", "replicas", "p95", "drops", "cost_vs_slo"]


@settings(max_examples=20, deadline=None)
@given(
    rps=st.floats(1, 3000),
    replicas=st.integers(1, 30),
    policy=st.sampled_from(qu_policies),
)
def test_more_replicas_never_raise_p95_at_fixed_load(rps, replicas, policy):
    fewer = run(**STEADY, base_rps=rps, peak_rps=rps, replicas=replicas, lb_policy=policy)
    more = run(**STEADY, base_rps=rps, peak_rps=rps, replicas=replicas + 1, lb_policy=policy)
    f, m = fewer["metrics"]["horizontal_fixed"], more["metrics"]["horizontal_fixed"]
    assert m["dropped_requests"] <= f["dropped_requests"] * (1 + 1e-9) + 1e-9
    assert m["slo_attainment"] >= f["slo_attainment"] - 1e-9
    if f["dropped_fraction"] < 1e-6:  # below saturation; over it see the overload test
        assert m["p95_ms"] <= f["p95_ms"] * (1 + 1e-9)


@settings(max_examples=15, deadline=None)
@given(
    price=st.floats(0.01, 50),
    replicas=st.integers(1, 20),
    hours=st.sampled_from([1.0, 6.0, 24.0]),
    size=st.sampled_from(sorted(ss.SIZES)),
)
def test_cost_is_proportional_to_replica_hours(price, replicas, hours, size):
    r = run(price_per_hour=price, replicas=replicas, hours=hours, step_s=60, spike_start_h=0.5, vertical_size=size)
    for name in ("horizontal_fixed", "autoscaled"):
        m = r["metrics"][name]
        assert m["cost_usd"] == pytest.approx(m["replica_hours"] * price, rel=1e-9)
    assert r["metrics"]["horizontal_fixed"]["replica_hours"] == pytest.approx(replicas * hours)
    assert r["metrics"]["vertical"]["cost_usd"] == pytest.approx(hours * ss.SIZES[size]["price_per_hour"], rel=1e-9)


# Every output finite, shares in [0, 1]: tests/test_simulator_properties.py (schema-driven).


@pytest.mark.parametrize("policy", qu_policies)
def test_overload_shows_as_drops_and_long_latency(policy):
    # Twice what every strategy can serve: 4 workers × 250 req/s, demand 2000 req/s all hour.
    r = run(**STEADY, base_rps=2000, peak_rps=2000, service_ms=4, replicas=4, min_replicas=4,
            max_replicas=4, vertical_size="c7i.2xlarge", lb_policy=policy, queue_timeout_ms=1000)
    for strategy in ss.STRATEGIES:
        m = r["metrics"][strategy]
        assert m["dropped_fraction"] >= 0.45, strategy
        assert m["p50_ms"] >= 500.0, strategy
        assert m["slo_attainment"] < 0.5, strategy


def test_vertical_scaling_stops_at_the_hardware_limit():
    sf = load(SCENARIOS, expected_type=ss.WIDGET.type)
    params = dict(sf.get("gpu-hardware-limit").params)
    params["vertical_resize"] = True
    r = ss.WIDGET.run(params)
    v, a = r["metrics"]["vertical"], r["metrics"]["autoscaled"]
    assert v["dropped_fraction"] > 0.02  # the spike does not fit on 8 GPUs
    assert a["dropped_fraction"] < v["dropped_fraction"]
    capacity = [c for c, s in zip(r["series"]["timeline"]["capacity_rps"], r["series"]["timeline"]["strategy"]) if s == "vertical"]
    assert max(capacity) <= 8 * 1000.0 / params["service_ms"] + 1e-9


def test_a_vertical_failure_is_an_outage_but_a_replica_failure_is_not():
    r = run(spike_multiplier=1, failure_rate_per_hour=0.3, recovery_s=600, replicas=4, min_replicas=3, seed=1)
    assert r["metrics"]["vertical"]["availability"] < 1.0
    assert r["metrics"]["horizontal_fixed"]["availability"] == 1.0


def test_scenario_file_validates_and_its_default_runs():
    sf = load(SCENARIOS, expected_type=ss.WIDGET.type)
    assert sf.default == "titanic-launch"
    assert {"titanic-launch", "gpu-hardware-limit"} <= {s.name for s in sf.scenarios}
    r = ss.WIDGET.run(sf.get().params)
    m = r["metrics"]
    # The launch spike overruns the fixed capacity and the autoscaler absorbs most of it.
    assert m["autoscaled"]["slo_attainment"] > m["horizontal_fixed"]["slo_attainment"]
    assert m["autoscaled"]["cost_usd"] < m["horizontal_fixed"]["cost_usd"]
    assert m["vertical"]["cost_usd"] == pytest.approx(m["horizontal_fixed"]["cost_usd"])


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "overrides,param",
    [
        ({"min_replicas": 10, "max_replicas": 3}, "min_replicas"),
        ({"base_rps": -5}, "base_rps"),
        ({"failure_rate_per_hour": -0.1}, "failure_rate_per_hour"),
        ({"service_ms": 0}, "service_ms"),
        ({"base_rps": 500, "peak_rps": 100}, "base_rps"),
        ({"step_s": 1, "hours": 168}, "step_s"),
        ({"lb_policy": "fastest"}, "lb_policy"),
        ({"target_utilization": 0.95}, "target_utilization"),
        ({"target_utilization": 0.8, "tolerance": 0.25}, "target_utilization"),
        ({"vertical_size": "c7i.huge"}, "vertical_size"),
    ],
)
def test_bad_parameters_are_rejected_with_one_line_naming_them(overrides, param):
    with pytest.raises(ParamError) as err:
        ss.WIDGET.validate(overrides)
    assert err.value.param == param
    text = str(err.value)
    assert text.startswith(param + ":") and "\n" not in text and "allowed" in text


def test_cli_reports_a_bad_parameter_in_one_line():
    proc = subprocess.run(
        [sys.executable, "-m", "widgets_py", "run", ss.WIDGET.type, "--set", "min_replicas=9", "--set", "max_replicas=2"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "min_replicas" in proc.stderr and "Traceback" not in proc.stderr


# ---------------------------------------------------------------- memo of the expensive stages


@pytest.fixture
def counted_stages(monkeypatch):
    """Count the autoscaler loops and queueing solves that really run, from an empty memo."""
    calls = {"autoscale": 0, "policy_queue": 0}
    real_autoscale, real_queue = ss.autoscale, ss.queueing.policy_queue

    def autoscale(*args, **kwargs):
        calls["autoscale"] += 1
        return real_autoscale(*args, **kwargs)

    def policy_queue(*args, **kwargs):
        calls["policy_queue"] += 1
        return real_queue(*args, **kwargs)

    monkeypatch.setattr(ss, "autoscale", autoscale)
    monkeypatch.setattr(ss.queueing, "policy_queue", policy_queue)
    ss.clear_memo()
    yield calls
    ss.clear_memo()


def fresh_run(overrides):
    ss.clear_memo()
    return ss.WIDGET.run(overrides)


@pytest.mark.parametrize(
    "change, autoscale_runs, queue_solves",
    [
        ({"replicas": 6}, 0, 1),  # only the fixed strategy's capacity changes
        ({"replicas": 104}, 0, 1),  # above max_replicas: more failure draws, none the autoscaler reaches
        ({"price_per_hour": 0.5}, 0, 0),  # cost only
        ({"slo_ms": 30}, 0, 0),  # a new SLO share for each strategy from its kept queue
        ({"target_utilization": 0.3}, 1, 1),  # the autoscaler and its own queue
        ({"peak_rps": 200}, 1, 3),  # new traffic: everything
    ],
)
def test_a_change_recomputes_only_what_depends_on_it(counted_stages, change, autoscale_runs, queue_solves):
    base = {"hours": 6, "spike_start_h": 3}
    first = ss.WIDGET.run(base)
    before = dict(counted_stages)
    changed = ss.WIDGET.run({**base, **change})
    assert counted_stages["autoscale"] - before["autoscale"] == autoscale_runs
    assert counted_stages["policy_queue"] - before["policy_queue"] == queue_solves
    assert changed == fresh_run({**base, **change})  # the memo never changes a result
    assert ss.WIDGET.run(base) == first


def test_memo_results_are_not_shared_with_callers():
    base = {"hours": 2, "spike_start_h": 1}
    ss.clear_memo()
    first = ss.simulate(ss.WIDGET.validate(base))
    first["metrics"]["autoscaled"]["p95_ms"] = -1.0
    first["series"]["timeline"]["p95_ms"][:] = -1.0
    again = ss.simulate(ss.WIDGET.validate(base))
    assert again["metrics"]["autoscaled"]["p95_ms"] > 0
    assert (again["series"]["timeline"]["p95_ms"] > 0).all()


def test_a_utilisation_target_the_capped_metric_can_reach_is_required_and_a_rate_metric_scales():
    """CPU utilisation stops at 100 %: a target ≥ 1/(1 + tolerance) would never scale up (the 8× spike
    used to be served by the minimum 2 replicas). The rate metric is not capped."""
    scenario = load(SCENARIOS).get("titanic-launch").params
    with pytest.raises(ParamError) as err:
        ss.WIDGET.run({**scenario, "target_utilization": 0.95})
    assert err.value.param == "target_utilization" and "\n" not in str(err.value)
    r = ss.WIDGET.run({**scenario, "target_utilization": 0.95, "hpa_metric": "requests_per_second"})
    a = r["metrics"]["autoscaled"]
    # The spike (about 940 req/s at 12:00) needs 940 / (0.95 × 250) → 4 replicas, not the minimum 2.
    assert a["peak_replicas"] >= 4
    assert a["dropped_fraction"] < 0.01


def test_shares_stay_in_zero_one_at_extreme_traffic():
    """1e6 req/s on one replica used to print an SLO share of −1.55e−20."""
    r = run(peak_rps=1e6, base_rps=1e5, replicas=1)
    for strategy in ss.STRATEGIES:
        m = r["metrics"][strategy]
        for share in ("slo_attainment", "dropped_fraction", "availability", "mean_utilization"):
            assert 0.0 <= m[share] <= 1.0, (strategy, share, m[share])


def test_power_of_two_lies_strictly_between_least_connections_and_random_in_the_simulator():
    p95 = {policy: run(**STEADY, base_rps=800, peak_rps=800, replicas=4, lb_policy=policy)
           ["metrics"]["horizontal_fixed"]["p95_ms"] for policy in ("least_connections", "power_of_two",
                                                                      "round_robin", "random")}
    assert p95["least_connections"] < p95["power_of_two"] <= p95["round_robin"] < p95["random"]


# ---------------------------------------------------------------- chart rows


def _layer_rows(chart, field):
    spec = chart["spec"]
    for part in [spec, *spec.get("layer", [])]:
        rows = part.get("data", {}).get("values", [])
        if rows and field in rows[0]:
            return rows
    raise AssertionError(field)


@pytest.mark.parametrize("overrides", [{}, {"failure_rate_per_hour": 1.0, "recovery_s": 1800, "peak_rps": 900},
                                       {"vertical_resize": True, "spike_multiplier": 20}])
def test_chart_rows_keep_every_point_that_shapes_a_line(overrides):
    """Charts carry only the points where a line changes: the step lines (capacity, instances) hold
    each value until the next point, the straight lines (drops, p95) are flat between equal points, so
    the timeline read back from the rows equals the full 5-minute timeline at every hour."""
    result = ss.WIDGET.run(overrides)
    tl = result["series"]["timeline"]
    charts = {c["name"]: c for c in ss.charts(result)}
    hours = np.asarray(tl["hour"], dtype=float)
    names = np.asarray(tl["strategy"])
    for chart, field, step_after in (("demand_capacity", "capacity_rps", True), ("replicas", "replicas", True),
                                     ("drops", "dropped_rps", False), ("p95", "p95_ms", False)):
        rows = _layer_rows(charts[chart], field)
        full = np.asarray(tl[field], dtype=float)
        for strategy in ss.STRATEGIES:
            mine = [r for r in rows if r["strategy"] == strategy]
            x = np.array([r["hour"] for r in mine])
            y = np.array([r[field] for r in mine])
            at = names == strategy
            expected = full[at]
            grid = hours[at]
            if field == "p95_ms":
                grid, expected = grid[expected > 0], expected[expected > 0]
            assert x[0] == grid[0] and x[-1] == grid[-1]  # the line spans the run
            if step_after:
                read = y[np.searchsorted(x, grid, side="right") - 1]
            else:
                read = np.interp(grid, x, y)
            np.testing.assert_allclose(read, expected, rtol=1e-12, atol=0)
    assert len(_layer_rows(charts["replicas"], "replicas")) < len(tl["hour"])  # a fixed fleet is two points
