"""Cost-performance dashboard: quantization arithmetic, measured accuracies, serving economics."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from widgets_py import api, ml
from widgets_py import compression as comp
from widgets_py import cost_performance as cp
from widgets_py.core import ParamError
from widgets_py.scenarios import load

ROOT = Path(__file__).resolve().parent.parent
TYPE = "cost_performance_dashboard"
WIDGET = cp.WIDGET


@pytest.fixture(scope="module")
def mlp() -> ml.Layers:
    return cp.base_model("mlp", 16, 0)[1]


@pytest.fixture(scope="module")
def default_result() -> dict:
    return WIDGET.run({})


# ---------------------------------------------------------------------------------------------- int8
@pytest.mark.parametrize("per_channel", [False, True])
def test_int8_is_a_quarter_of_fp32_plus_scales_and_zero_points(mlp, per_channel):
    data = ml.titanic(0)
    q = comp.quantize_model(mlp, data.X_train, per_channel)
    n_weights = sum(layer["W"].size for layer in mlp)
    n_biases = sum(layer["b"].size for layer in mlp)
    n_weight_scales = sum(layer["W"].shape[1] if per_channel else 1 for layer in mlp)
    n_activation_scales = len(mlp)
    expected = (n_weights * 4) // 4 + n_biases * 4 + (n_weight_scales + n_activation_scales) * (4 + 1)
    assert comp.int8_model_bytes(q, sparse=False) == expected
    assert comp.float_model_bytes(mlp, 4) == (n_weights + n_biases) * 4


@pytest.mark.parametrize("per_channel", [False, True])
def test_dequantization_error_is_at_most_half_a_step(mlp, per_channel):
    q = comp.quantize_model(mlp, ml.titanic(0).X_train, per_channel)
    for layer, lq in zip(mlp, q.layers):
        err = np.abs(comp.dequantize(lq.q_w, lq.w_scale, lq.w_zero) - layer["W"])
        assert np.all(err <= np.broadcast_to(lq.w_scale, err.shape) / 2 + 1e-12)
        assert lq.q_w.min() >= comp.QMIN and lq.q_w.max() <= comp.QMAX


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False, width=32), min_size=1, max_size=40))
def test_affine_round_trip_property(values):
    r = np.array(values, float)
    scale, zero = comp.affine_params(r)
    back = comp.dequantize(comp.quantize(r, scale, zero), scale, zero)
    assert np.all(np.abs(back - r) <= scale / 2 + 1e-9 * max(1.0, float(np.abs(r).max())))
    # Real zero is exact (Jacob et al. §2.1): pruned weights stay pruned.
    assert comp.dequantize(comp.quantize(np.zeros(1), scale, zero), scale, zero)[0] == 0.0


def test_fixed_point_requantization_matches_real_multiplier():
    m = np.array([1e-4, 0.0123, 0.5, 0.999999, 1.7])
    m0, shift = comp.fixed_point_multiplier(m)
    assert np.all((m0 >= 2**30) & (m0 < 2**31))
    np.testing.assert_allclose(m0 * 2.0 ** (-shift.astype(float)), m, rtol=2**-30)
    acc = np.array([-70000, -3, 0, 5, 123456])
    got = comp.requantize(acc[:, None], m0[None, :], shift[None, :])
    assert np.all(np.abs(got - acc[:, None] * m[None, :]) <= 0.5 + 1e-9)


def test_integer_inference_agrees_with_float_model(mlp):
    data = ml.titanic(0)
    for per_channel in (False, True):
        q = comp.quantize_model(mlp, data.X_train, per_channel)
        same = np.mean((q.logit_sign_scores(data.X_test) > 0) == (ml.logits(mlp, data.X_test) > 0))
        assert same >= 0.97
        assert q.logit_sign_scores(data.X_test).dtype == np.int64  # integer arithmetic end to end


def test_pruning_hits_the_sparsity_and_sparse_storage_is_smaller(mlp):
    masks = comp.magnitude_masks(mlp, 0.7)
    total = sum(m["W"].size for m in masks)
    zeros = sum(int((m["W"] == 0).sum()) for m in masks)
    assert zeros == round(0.7 * total)
    pruned = comp.apply_masks(mlp, masks)
    assert comp.float_model_bytes(pruned, 4) < comp.float_model_bytes(mlp, 4)
    q = comp.quantize_model(pruned, ml.titanic(0).X_train, per_channel=True)
    for lq, layer in zip(q.layers, pruned):
        deq = comp.dequantize(lq.q_w, lq.w_scale, lq.w_zero)
        assert np.all(deq[layer["W"] == 0] == 0.0)


# ------------------------------------------------------------------------------ measured accuracies
def test_accuracies_are_measured_on_the_held_out_split(default_result):
    p = default_result["params"]
    data = ml.titanic(p["seed"])
    # Retrain the baseline independently with the same recipe: same numbers, fixed seed.
    base, _ = ml.train(ml.init_layers([data.X_train.shape[1], p["mlp_hidden"], 1], p["seed"]),
                       data.X_train, data.y_train, cp.TRAIN_STEPS["mlp"], cp.BATCH, cp.TRAIN_LR["mlp"],
                       p["seed"])
    m = default_result["metrics"]
    assert m["baseline_accuracy"] == ml.accuracy(base, data.X_test, data.y_test)
    served = cp.pruned_model(("base", "mlp", p["mlp_hidden"], p["seed"]), base, p["sparsity"],
                             p["finetune_steps"], p["seed"])
    q = comp.quantize_model(served, data.X_train, per_channel=p["quantization"] == "per_channel")
    assert p["precision"] == "int8"
    assert m["accuracy"] == q.accuracy(data.X_test, data.y_test)
    assert m["model_bytes"] == comp.int8_model_bytes(q)
    assert m["accuracy_delta"] == pytest.approx(m["accuracy"] - m["baseline_accuracy"])
    for value in (m["accuracy"], m["baseline_accuracy"]):
        assert 0.74 <= value <= 0.83  # Titanic with sex, age and class


def test_logistic_baseline_and_fp32_metrics():
    r = WIDGET.run({"model": "logistic", "precision": "fp32", "sparsity": 0})
    data = ml.titanic(0)
    layers = cp.base_model("logistic", 16, 0)[1]
    assert r["metrics"]["accuracy"] == ml.accuracy(layers, data.X_test, data.y_test)
    assert r["metrics"]["accuracy_delta"] == 0.0
    assert r["metrics"]["model_bytes"] == (5 + 1) * 4


def test_distilled_student_is_smaller_and_trained_on_soft_targets():
    r = WIDGET.run({"distill": True, "student_hidden": 4, "sparsity": 0, "precision": "fp32"})
    assert r["metrics"]["model_bytes"] == (5 * 4 + 4 + 4 + 1) * 4
    assert 0.70 <= r["metrics"]["accuracy"] <= 0.85
    student = cp.student_model(16, 0, 4, 4.0)[1]
    data = ml.titanic(0)
    assert r["metrics"]["accuracy"] == ml.accuracy(student, data.X_test, data.y_test)


def test_training_is_cached_per_training_parameters():
    WIDGET.run({})
    before = dict(cp._TRAINED.entries)
    again = WIDGET.run({"hardware": "g5_xlarge", "pricing": "spot", "precision": "fp16", "cache": 0})
    assert cp._TRAINED.entries.keys() == before.keys()
    assert again["metrics"]["baseline_accuracy"] == WIDGET.run({})["metrics"]["baseline_accuracy"]


# ------------------------------------------------------------------------------ serving economics
def test_catalog_pins_published_figures_and_spot_is_cheaper():
    hw = cp.CLOUD
    assert hw["g4dn_xlarge"]["peak_tops"] == {"fp32": 8.1, "fp16": 65, "int8": 130}  # T4 datasheet
    assert hw["g6_xlarge"]["peak_tops"] == {"fp32": 30.3, "fp16": 121, "int8": 242.5}  # L4, dense
    assert hw["p4d_a100"]["peak_tops"] == {"fp32": 19.5, "fp16": 312, "int8": 624}  # A100
    assert hw["g4dn_xlarge"]["price_on_demand_usd_hr"] == 0.526
    assert hw["g5_xlarge"]["price_on_demand_usd_hr"] == 1.006
    assert hw["p5_h100"]["price_on_demand_usd_hr"] == pytest.approx(98.32 / 8, abs=0.01)
    for entry in hw.values():
        assert 0 < entry["price_spot_usd_hr"] < entry["price_on_demand_usd_hr"]
        assert entry["price_source"].startswith("https://aws.amazon.com/") and entry["price_date"]
    for device in cp.EDGE.values():
        assert device["spec_source"] and device["memory_budget_bytes"] > 0


def test_spot_is_cheaper_than_on_demand():
    for rps in (50.0, 20000.0, 300000.0):
        on = WIDGET.run({"request_rps": rps})["metrics"]
        spot = WIDGET.run({"request_rps": rps, "pricing": "spot", "spot_interruptions_per_day": 2})["metrics"]
        assert spot["monthly_cost_usd"] < on["monthly_cost_usd"]
        assert spot["cost_per_million"] < on["cost_per_million"]
        assert spot["instances"] >= on["instances"]  # spares for interruptions


def test_idle_hours_cost_unless_the_fleet_scales_to_zero():
    always = WIDGET.run({"active_hours_per_day": 6})["metrics"]
    scaled = WIDGET.run({"active_hours_per_day": 6, "autoscale_to_zero": True})["metrics"]
    assert scaled["monthly_cost_usd"] == pytest.approx(always["monthly_cost_usd"] / 4)
    assert always["cost_per_million_incl_idle"] == pytest.approx(4 * always["cost_per_million"])


def test_pareto_highlights_the_cheapest_configuration_meeting_the_slo(default_result):
    g = default_result["series"]["pareto"]
    cost = np.array(g["cost_per_million"], float)
    met = np.array(g["slo_met"])
    chosen = np.array(g["cheapest_meeting_slo"])
    assert chosen.sum() == 1 and met[chosen][0]
    assert cost[chosen][0] == cost[met].min()
    assert np.all(np.array(g["p95_ms"], float)[met] <= default_result["params"]["slo_ms"])


def test_more_traffic_needs_more_instances_and_a_tight_slo_can_fail():
    small = WIDGET.run({"request_rps": 1000})["metrics"]["instances"]
    big = WIDGET.run({"request_rps": 500000})["metrics"]["instances"]
    assert big > small >= 1
    tight = WIDGET.run({"slo_ms": 5, "network_rtt_ms": 20})["metrics"]
    assert tight["slo_met"] is False


def test_zipf_harmonic_numbers_and_hit_rates():
    for s in (0.0, 0.6, 1.0, 1.4):
        for n in (1, 7, 1000, 1001, 54321):
            exact = float(np.sum(np.arange(1, n + 1, dtype=float) ** -s))
            assert cp.generalized_harmonic(np.array([n]), s)[0] == pytest.approx(exact, rel=1e-10)
    assert cp.zipf_hit_rate(10**6, 338, 1.0) == pytest.approx(1.0)
    assert cp.zipf_hit_rate(0, 338, 1.0) == 0.0
    assert cp.zipf_hit_rate(100, 1000, 0.0) == pytest.approx(0.1)  # uniform: k / N
    rates = cp.zipf_hit_rate(np.geomspace(1, 1e6, 20), 10**8, 0.8)
    assert np.all(np.diff(rates) >= 0)
    # Few distinct Titanic rows: a small cache catches most requests; continuous inputs: it does not.
    titanic = ml.distinct_feature_rows()
    assert 100 < titanic < 1309
    for seed in (0, 7, 99):  # the same count as the feature rows of any split
        data = ml.titanic(seed)
        assert np.unique(np.vstack([data.X_train, data.X_test]), axis=0).shape[0] == titanic
    assert cp.zipf_hit_rate(256, titanic, 1.0) > 0.9
    assert cp.zipf_hit_rate(256, 10**9, 0.6) < 0.01


def test_edge_deployment_fit_and_cost():
    too_big = WIDGET.run({"deployment": "edge", "edge_device": "arduino_uno", "mlp_hidden": 64,
                          "precision": "fp32", "sparsity": 0})["metrics"]
    small = WIDGET.run({"deployment": "edge", "edge_device": "arduino_uno", "mlp_hidden": 64,
                        "precision": "int8", "sparsity": 0})["metrics"]
    assert too_big["fits_on_device"] is False and small["fits_on_device"] is True
    assert too_big["memory_needed_bytes"] > too_big["memory_budget_bytes"] >= small["memory_needed_bytes"]
    assert small["cost_per_million"] == 0 and small["instances"] == 0
    assert small["p95_ms"] < too_big["p95_ms"]  # int8 multiply-accumulates are cheap on an 8-bit MCU


def test_ladder_orders_the_lesson_rungs(default_result):
    ladder = default_result["series"]["ladder"]
    assert len(ladder["rung"]) == 6
    cost = dict(zip(ladder["rung"], ladder["cost_per_million"]))
    names = ladder["rung"]
    assert cost[names[1]] < cost[names[2]]  # quantized CPU batch below GPU batch
    assert cost[names[3]] < cost[names[4]] < cost[names[5]]  # CPU, GPU, large model real-time
    assert cost[names[0]] <= cost[names[3]]  # cached never costs more than computing
    # The large model's fleet is sized by its bandwidth-bound step (test below), not by hundreds of
    # servers idling to keep an exponential queue short: tens, not a thousand.
    assert ladder["instances"][5] < 100


# ------------------------------------------------------------------------------ properties and errors
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    model=st.sampled_from(["logistic", "mlp"]),
    precision=st.sampled_from(["fp32", "fp16", "int8"]),
    quantization=st.sampled_from(["per_tensor", "per_channel"]),
    sparsity=st.sampled_from([0.0, 0.5, 0.9, 0.95]),
    distill=st.booleans(),
    deployment=st.sampled_from(["cloud", "edge"]),
    hardware=st.sampled_from(list(cp.CLOUD)),
    edge_device=st.sampled_from(list(cp.EDGE)),
    pricing=st.sampled_from(["on_demand", "spot"]),
    batch_size=st.integers(1, 1024),
    delay=st.floats(0, 1000),
    rps=st.floats(0.1, 1e6),
    slo=st.floats(1, 10000),
    rtt=st.floats(0, 500),
    cache=st.integers(0, 1_000_000),
    zipf_s=st.floats(0, 2),
    custom=st.booleans(),
    distinct=st.integers(1, 1_000_000_000),
)
def test_every_output_is_finite_and_sane(model, precision, quantization, sparsity, distill, deployment,
                                         hardware, edge_device, pricing, batch_size, delay, rps, slo,
                                         rtt, cache, zipf_s, custom, distinct):
    overrides = dict(model=model, precision=precision, quantization=quantization, sparsity=sparsity,
                     distill=distill and model == "mlp", deployment=deployment, hardware=hardware,
                     edge_device=edge_device, pricing=pricing, batch_size=batch_size,
                     max_queue_delay_ms=delay, request_rps=rps, slo_ms=slo, network_rtt_ms=rtt,
                     cache=cache, zipf_s=zipf_s, input_space="custom" if custom else "titanic",
                     distinct_inputs=distinct)
    out = json.loads(api.run_json(TYPE, json.dumps(overrides)))
    assert out["ok"], out
    m = out["result"]["metrics"]
    for name, value in m.items():
        assert value is not None and (isinstance(value, bool) or math.isfinite(value)), name
    assert 0 <= m["accuracy"] <= 1 and 0 <= m["cache_hit_rate"] <= 1
    assert m["model_bytes"] > 0 and m["p95_ms"] > 0 and m["throughput_rps"] > 0
    assert m["instances"] >= (1 if deployment == "cloud" else 0)
    assert m["cost_per_million"] >= 0 and m["monthly_cost_usd"] >= 0
    if deployment == "cloud":
        assert m["p95_ms"] >= rtt
    assert len(out["charts"]) == 5


@pytest.mark.parametrize("overrides, param", [
    ({"precision": "int4"}, "precision"),
    ({"sparsity": 0.99}, "sparsity"),
    ({"request_rps": 0}, "request_rps"),
    ({"batch_size": 2.5}, "batch_size"),
    ({"hardware": "tpu"}, "hardware"),
    ({"model": "logistic", "distill": True}, "distill"),
    ({"distill": True, "student_hidden": 16, "mlp_hidden": 16}, "student_hidden"),
    ({"cache_size": 3}, "cache_size"),
])
def test_bad_parameters_are_rejected_in_one_line(overrides, param):
    out = json.loads(api.run_json(TYPE, json.dumps(overrides)))
    assert out["ok"] is False and out["param"] == param
    assert "\n" not in out["error"] and out["error"].startswith(param)
    with pytest.raises(ParamError):
        WIDGET.validate(overrides)


def test_cli_rejects_a_bad_value_with_one_line():
    proc = subprocess.run([sys.executable, "-m", "widgets_py", "run", TYPE, "--set", "slo_ms=-3"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "slo_ms" in proc.stderr


@pytest.mark.parametrize("name", ["cost_performance.titanic.json", "cost_performance.architecture.json"])
def test_scenario_files_validate_and_run(name):
    scenarios = load(ROOT / "docs" / "widgets" / name, expected_type=TYPE)
    for scenario in scenarios.scenarios:
        result = WIDGET.run(scenario.params)
        assert json.dumps(result, allow_nan=False)
    arch = load(ROOT / "docs" / "widgets" / "cost_performance.architecture.json", expected_type=TYPE)
    assert WIDGET.run(arch.get("edge-too-big").params)["metrics"]["fits_on_device"] is False
    assert WIDGET.run(arch.get("edge-compressed").params)["metrics"]["fits_on_device"] is True


def test_charts_are_self_contained_vega_lite(default_result):
    specs = WIDGET.charts(default_result)
    assert [c["name"] for c in specs] == ["pareto", "sparsity", "precision", "ladder", "cache"]
    text = json.dumps(specs, allow_nan=False)
    assert '"url"' not in text
    pareto = specs[0]["spec"]["layer"]
    assert any(layer["mark"].get("size") == 400 for layer in pareto if isinstance(layer["mark"], dict))


# ------------------------------------------------------------------------------ issue 9 corrections
def _large_rung(result):
    ladder = result["series"]["ladder"]
    return {k: ladder[k][5] for k in ladder}


def test_batching_never_needs_more_large_model_servers():
    """The 70B rung used to buy 1,174 servers at batch 1 and 1,318 at batch 8 for 20k req/s. A decode
    step of a bandwidth-bound model costs about weights / bandwidth at any batch size, so a full batch of
    B serves B requests in about one step: the fleet is about λ·t(B)/B servers, fewer as B grows."""
    counts = {}
    for batch in (1, 8, 64):
        rung = _large_rung(WIDGET.run({"batch_size": batch}))
        counts[batch] = rung["instances"]
        step_s = rung["step_ms"] / 1e3
        weights_over_bandwidth = 2 * 70e9 / (4 * 3350e9)
        assert step_s == pytest.approx(weights_over_bandwidth, rel=0.05)  # bandwidth-bound
        assert rung["instances"] >= math.ceil(20000 * step_s / batch)  # stability: λ·t(B)/B < 1
        if batch > 1:  # batches absorb the queue; one at a time, the 50 ms SLO needs idle servers
            assert rung["instances"] <= 2 * math.ceil(20000 * step_s / batch) + 1
    assert counts[64] <= counts[8] <= counts[1]


@pytest.mark.parametrize("hardware", list(cp.CLOUD))
def test_more_batching_never_needs_more_instances_without_a_fill_window(hardware):
    """With max_queue_delay_ms = 0 (Triton's default) a larger maximum batch only lets a busy server
    take more of its queue at once."""
    for rps in (200.0, 20000.0, 300000.0):
        counts = [WIDGET.run({"hardware": hardware, "batch_size": b, "max_queue_delay_ms": 0, "cache": 0,
                              "request_rps": rps, "precision": "fp16"})["metrics"]["instances"]
                  for b in (1, 2, 8, 32, 128)]
        assert counts == sorted(counts, reverse=True), (rps, counts)


def test_cost_per_million_from_the_catalog_by_hand():
    """One c7i.xlarge call of one int8 request takes 5 µs + 200 µs / 4 vCPUs + max(bytes / bandwidth,
    2·MACs / (half of peak)); at 20,000 req/s with no batching and a loose SLO the fleet is the smallest
    that keeps each instance below saturation, and a million requests cost price × instances × 1e6 /
    (20,000 × 3600)."""
    r = WIDGET.run({"batch_size": 1, "max_queue_delay_ms": 0, "cache": 0, "slo_ms": 10000,
                    "hardware": "c7i_xlarge", "precision": "int8"})
    m = r["metrics"]
    hw = json.loads(cp.CATALOG_FILE.read_text())["cloud"][0]
    assert hw["id"] == "c7i_xlarge"
    model_bytes, macs = m["model_bytes"], sum(int(np.prod(w)) for w in ((5, 16), (16, 1)))
    call = 5e-6 + 200e-6 / 4 + max(model_bytes / 20e9, 2 * macs / (1.64e12 * 0.5))
    instances = math.floor(20000 * call) + 1
    assert m["instances"] == instances
    assert m["cost_per_million"] == pytest.approx(hw["price_on_demand_usd_hr"] * instances / (20000 * 3600) * 1e6)


def test_the_a10g_row_uses_the_a10g_not_the_a10():
    g5 = cp.CLOUD["g5_xlarge"]
    assert g5["peak_tops"] == {"fp32": 35, "fp16": 70, "int8": 140}
    assert g5["mem_bandwidth_gbs"] == 600 and "A10G" in g5["spec_source"]


def test_the_cache_hit_rate_is_labelled_as_the_static_bound():
    label = {m.name: m.label for m in WIDGET.metrics}["cache_hit_rate"]
    assert "static" in label


def test_distillation_mixes_in_the_hard_labels():
    data = ml.titanic(0)
    layers = ml.init_layers([data.X_train.shape[1], 4, 1], 1)
    soft = np.full(data.y_train.shape, 0.5)
    X, y = data.X_train[:64], data.y_train[:64]
    loss, grads = ml.loss_and_grads(layers, X, y, soft[:64], 4.0, hard_weight=0.3)
    # Finite differences of the weighted objective (1 − w)·T²·BCE(σ(z/T), t) + w·BCE(σ(z), y).
    eps, W = 1e-6, layers[0]["W"]
    bumped = [dict(layers[0], W=W + eps * np.eye(*W.shape)), layers[1]]
    loss2, _ = ml.loss_and_grads(bumped, X, y, soft[:64], 4.0, hard_weight=0.3)
    assert (loss2 - loss) / eps == pytest.approx(float(np.trace(grads[0]["W"].T @ np.eye(*W.shape))), rel=1e-4)
    only_soft, _ = ml.loss_and_grads(layers, X, y, soft[:64], 4.0)
    assert loss != pytest.approx(only_soft)
    assert WIDGET.param("hard_label_weight").default == 0.1
    _, soft_only = cp.student_model(16, 0, 4, 4.0, 0.0)
    _, mixed = cp.student_model(16, 0, 4, 4.0, 0.1)
    assert not np.allclose(soft_only[0]["W"], mixed[0]["W"])


# ------------------------------------------------------------------------------ faster, same results
def _reference_part_a(p: dict) -> dict:
    """Part A as it was computed before the stacked trainer and the caches: every model trained alone
    with ``ml.train``, every score computed afresh."""
    data = ml.titanic(p["seed"])

    def fit(init, steps, lr, **kw):
        return ml.train(init, data.X_train, data.y_train, steps, cp.BATCH, lr, p["seed"], **kw)[0]

    sizes = [5, 1] if p["model"] == "logistic" else [5, p["mlp_hidden"], 1]
    base = fit(ml.init_layers(sizes, p["seed"]), cp.TRAIN_STEPS[p["model"]], cp.TRAIN_LR[p["model"]])
    src = base
    if p["distill"]:
        soft = ml.predict_proba(base, data.X_train, p["temperature"])
        src = fit(ml.init_layers([5, p["student_hidden"], 1], p["seed"] + 1), cp.DISTILL_STEPS, cp.TRAIN_LR["mlp"],
                  soft_targets=soft, temperature=p["temperature"], hard_weight=p["hard_label_weight"])

    def pruned(s):
        if s == 0:
            return src
        masks = comp.magnitude_masks(src, s)
        layers = comp.apply_masks(src, masks)
        return fit(layers, p["finetune_steps"], cp.FINETUNE_LR, masks=masks) if p["finetune_steps"] else layers

    per_channel = p["quantization"] == "per_channel"
    sweep = []
    for s in sorted(set(cp.SPARSITY_SWEEP) | {round(p["sparsity"], 6)}):
        layers = pruned(s)
        sweep += [ml.accuracy(layers, data.X_test, data.y_test),
                  comp.quantize_model(layers, data.X_train, per_channel).accuracy(data.X_test, data.y_test)]
    served = pruned(round(p["sparsity"], 6))
    q = comp.quantize_model(served, data.X_train, per_channel)
    return {"baseline_accuracy": ml.accuracy(base, data.X_test, data.y_test), "sweep": sweep,
            "fp32": ml.accuracy(served, data.X_test, data.y_test),
            "fp16": comp.fp16_accuracy(served, data.X_test, data.y_test),
            "int8": q.accuracy(data.X_test, data.y_test), "int8_bytes": comp.int8_model_bytes(q),
            "served": served}


@pytest.mark.parametrize("case", range(6))
def test_part_a_agrees_with_training_each_model_alone(case):
    """Random parameter sets, run in an order that uses the caches (checkpoints, shared sweep runs)."""
    rng = np.random.default_rng(100 + case)
    p = WIDGET.validate({
        "model": "logistic" if case == 0 else "mlp", "mlp_hidden": int(rng.integers(6, 40)),
        "seed": int(rng.integers(0, 100)), "sparsity": float(rng.choice([0.0, 0.35, 0.5, 0.85])),
        "finetune_steps": int(rng.choice([0, 50, 120, 200])), "quantization": str(rng.choice(["per_tensor", "per_channel"])),
        "distill": case in (2, 5), "student_hidden": int(rng.integers(1, 6)),
        "temperature": float(rng.choice([1.0, 3.5])), "hard_label_weight": float(rng.choice([0.0, 0.1]))})
    # a run with fewer fine-tuning steps first leaves checkpoints that the run under test continues from
    cp.optimise(dict(p, finetune_steps=max(0, p["finetune_steps"] - 70)))
    got, ref = cp.optimise(p), _reference_part_a(p)
    assert got["baseline_accuracy"] == ref["baseline_accuracy"]
    assert got["sweep"]["accuracy"] == ref["sweep"]
    assert got["variants"]["fp32"]["accuracy"] == ref["fp32"]
    assert got["variants"]["fp16"]["accuracy"] == ref["fp16"]
    assert got["variants"][f"int8_{p['quantization']}"] == {"accuracy": ref["int8"], "bytes": ref["int8_bytes"]}
    gap = max(float(np.max(np.abs(a[k] - b[k]))) for a, b in zip(got["layers"], ref["served"]) for k in a)
    assert gap < 1e-10


def _reference_decay(a, B, t):
    """The full-batch wait decay by 100 bisections on log y (the method Newton's replaced)."""
    a, B, t = np.broadcast_arrays(*(np.asarray(v, float) for v in (a, B, t)))
    a_pos = np.maximum(a, 1e-300)
    lo, hi = np.full(a.shape, np.log(1e-12)), np.log(np.clip(2.0 * (B - a) / a_pos, 2e-12, 1e300))
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            y = np.exp(mid)
            past = a_pos * np.expm1(y) > B * y
            lo, hi = np.where(past, lo, mid), np.where(past, mid, hi)
    return np.where(a <= 0, np.inf, np.where(a < B, B * np.exp(0.5 * (lo + hi)) / t, 0.0))


def test_wait_decay_agrees_with_bisection():
    rng = np.random.default_rng(7)
    B = rng.choice(2.0 ** np.arange(0, 11), 20000)
    a = B * rng.uniform(0, 1, B.size) ** rng.choice([1, 3, 10], B.size)
    a[:50], a[50:60] = 0.0, B[50:60] * 1.5  # no arrivals; overloaded
    t = 10 ** rng.uniform(-6, 0, B.size)
    got, ref = cp.batch_wait_decay(a, B, t), _reference_decay(a, B, t)
    assert np.array_equal(np.isinf(got), np.isinf(ref)) and np.array_equal(got == 0, ref == 0)
    # near a = B the root y ≈ 2(B − a)/a is ill-conditioned for both methods alike
    well = np.isfinite(ref) & (ref > 0) & (a < 0.999 * B)
    np.testing.assert_allclose(got[well], ref[well], rtol=1e-11)


def _reference_survival(x, busy, window, residual, gamma):
    x = np.maximum(x, 0.0)
    gt = gamma * residual
    live = np.isfinite(gt) & (gt > 0)
    scale = np.where(live, -np.expm1(-gt) / gt, 0.0)
    fill = np.where(window > 0, np.clip(1.0 - x / np.where(window > 0, window, 1.0), 0.0, 1.0), 0.0)
    decay = np.where(x > 0, gamma * np.minimum(x, residual), 0.0)
    inside = np.clip(1.0 - x / residual, 0.0, 1.0) + np.where(live, -np.expm1(-decay) / gt, 0.0)
    beyond = np.where(gamma > 0, np.exp(-gamma * (x - residual)) * scale, 1.0)
    return (1.0 - busy) * fill + busy * np.where(x <= residual, inside, beyond)


def test_wait_survival_and_quantile_agree_with_the_formula():
    rng = np.random.default_rng(3)
    n = 5000
    busy, window = rng.uniform(0, 1, n), np.where(rng.uniform(size=n) < 0.3, 0.0, rng.uniform(0, 0.01, n))
    residual = rng.uniform(1e-5, 0.01, n)
    gamma = np.where(rng.uniform(size=n) < 0.1, np.inf, 10 ** rng.uniform(0, 4, n))
    x = rng.uniform(-0.005, 0.03, n)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(cp.batch_wait_survival(x, busy, window, residual, gamma),
                                      _reference_survival(x, busy, window, residual, gamma))
        q = rng.uniform(0.5, 0.99, n)
        wait = cp._wait_quantile(q, busy, window, residual, gamma)
        finite = np.isfinite(wait) & (wait > 1e-9)
        # the quantile: the survival crosses 1 − q there (bisected to 2^-42 of its bracket)
        below = _reference_survival(wait * (1 - 1e-9), busy, window, residual, gamma)
        above = _reference_survival(wait * (1 + 1e-9) + 1e-15, busy, window, residual, gamma)
    assert np.all(below[finite] >= (1 - q[finite]) - 1e-12) and np.all(above[finite] <= (1 - q[finite]) + 1e-12)


@pytest.mark.parametrize("slo_s", [0.005, 0.03, 5.0, "mixed"])
def test_fleet_solving_candidates_in_two_parts_equals_solving_them_all(slo_s):
    if slo_s == "mixed":  # some combinations need the other candidates, some do not
        slo_s = np.linspace(0.001, 0.03, cp.BATCH_GRID.size)[None, :]
    rng = np.random.default_rng(11)
    hw = cp.hardware_arrays(list(cp.CLOUD))
    inputs = dict(batch_size=cp.BATCH_GRID[None, :], delay_s=float(rng.uniform(0, 0.05)),
                  miss_rps=float(10 ** rng.uniform(1, 5)), hit_rps=float(10 ** rng.uniform(0, 4)),
                  batch_overhead_s=hw["batch_overhead_s"][:, None], request_latency_s=hw["request_latency_s"][:, None],
                  request_share_s=hw["request_share_s"][:, None], weight_bytes=1000.0,
                  bandwidth_bps=hw["bandwidth_bps"][:, None], macs=100.0, ops_per_s=hw["ops_per_s"][:, :1])
    cp._FLEETS.clear()
    got = cp.fleet(slo_s=slo_s, rtt_s=0.02, **inputs)
    names = ("batch_size", "delay_s", "miss_rps", "hit_rps", "batch_overhead_s", "request_latency_s",
             "request_share_s", "weight_bytes", "bandwidth_bps", "macs", "ops_per_s")
    whole = cp._fleet_candidates(*(np.asarray(inputs[n], float) for n in names))
    p95 = whole["p95_before_network"] + 0.02
    ok = whole["stable"] & (p95 <= np.asarray(slo_s)[..., None])
    pick = np.where(ok.any(-1), np.argmax(ok, -1), np.argmin(p95, -1))[..., None]
    np.testing.assert_array_equal(got["p95_s"], np.take_along_axis(p95, pick, -1)[..., 0])
    np.testing.assert_array_equal(got["instances"], np.take_along_axis(whole["candidates"], pick, -1)[..., 0])
    np.testing.assert_array_equal(got["slo_met"], ok.any(-1))
    assert len(cp._FLEETS.entries) == (1 if ok.any(-1).all() else 2)


def test_fleets_in_one_call_equal_one_call_each():
    """``fleets`` (the grid and the ladder's rungs in one queue solve) gives each request exactly what a
    call of its own gives: the default grid and rungs, and the traffic of a tight SLO where some
    combinations need the larger candidate fleets."""
    for overrides in ({}, {"slo_ms": 5.0, "request_rps": 3e5, "batch_size": 64}):
        p = cp.WIDGET.validate(overrides)
        part_a = cp.optimise(p)
        rungs = cp.ladder_rungs(p, part_a, ml.distinct_feature_rows())
        requests = [cp.serving_grid_request(p, part_a, 0.4)] + [r["request"] for r in rungs.values()]
        together = cp.fleets(requests)
        for request, got in zip(requests, together):
            cp._FLEETS.clear()
            alone = cp.fleet(**request)
            assert got.keys() == alone.keys()
            for name in alone:
                np.testing.assert_array_equal(got[name], alone[name])
