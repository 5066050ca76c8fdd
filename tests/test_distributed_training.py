"""distributed_training_lab: published figures, properties of the cluster model, the Titanic lab."""

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

from widgets_py import api, distributed_sgd, ml, registry, scenarios
from widgets_py import distributed_training as dt
from widgets_py import parallelism as par
from widgets_py.core import ParamError

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_FILE = ROOT / "docs" / "widgets" / "distributed_training.titanic.json"
W = registry.get("distributed_training_lab")
# Part A only: keep the Titanic lab to a token size so big sweeps of the cluster model stay fast.
QUICK_LAB = {"lab_steps": 2, "lab_workers": 1}

GPT3 = {"n_layers": 96, "hidden": 12288, "heads": 96, "seq_len": 2048, "vocab": 51200}


def run(**overrides):
    return W.run({**QUICK_LAB, **overrides})["metrics"]


# ---------------------------------------------------------------- published figures


@pytest.mark.parametrize("stage, expected_gb", [(0, 120.0), (1, 31.4), (2, 16.6), (3, 1.9)])
def test_zero_paper_worked_example(stage, expected_gb):
    """Rajbhandari et al. 2020, Figure 1: Ψ = 7.5B parameters, N_d = 64."""
    weights, grads, optimizer = par.zero_model_states(7.5e9, 64, stage)
    assert round(float(weights + grads + optimizer) / 1e9, 1) == expected_gb
    # the same through the widget: 64 data-parallel GPUs, size set directly
    m = run(n_params=7.5e9, nodes=8, zero_stage=stage, global_batch=64, micro_batch=1)
    assert round(m["params_gb"] + m["grads_gb"] + m["optimizer_gb"], 1) == expected_gb


def test_gpt3_parameter_count_from_architecture():
    assert par.transformer_params(96, 12288, 51200, 2048) == pytest.approx(174.6e9, abs=0.05e9)


# Narayanan et al. 2021, Table 1: parameters (billions), heads, hidden, layers, t, p, GPUs, batch,
# achieved TFLOP/s per GPU. Vocabulary 51,200, sequences of 2,048 tokens, full recomputation.
MEGATRON_TABLE1 = [
    (1.7, 24, 2304, 24, 1, 1, 32, 512, 137), (3.6, 32, 3072, 30, 2, 1, 64, 512, 138),
    (7.5, 32, 4096, 36, 4, 1, 128, 512, 142), (18.4, 48, 6144, 40, 8, 1, 256, 1024, 135),
    (39.1, 64, 8192, 48, 8, 2, 512, 1536, 138), (76.1, 80, 10240, 60, 8, 4, 1024, 1792, 140),
    (145.6, 96, 12288, 80, 8, 8, 1536, 2304, 148), (310.1, 128, 16384, 96, 8, 16, 1920, 2160, 155),
    (529.6, 128, 20480, 105, 8, 35, 2520, 2520, 163), (1008.0, 160, 25600, 128, 8, 64, 3072, 3072, 163),
]


@pytest.mark.parametrize("row", MEGATRON_TABLE1, ids=[f"{r[0]}B" for r in MEGATRON_TABLE1])
def test_megatron_table1_parameter_counts(row):
    billions, _, hidden, layers = row[:4]
    assert par.transformer_params(layers, hidden, 51200, 2048) / 1e9 == pytest.approx(billions, abs=0.05)


@pytest.mark.parametrize("row", MEGATRON_TABLE1[2:], ids=[f"{r[0]}B" for r in MEGATRON_TABLE1[2:]])
def test_megatron_table1_throughput_within_15_percent(row):
    """End-to-end TFLOP/s per GPU predicted from kernel efficiency, links and bubble (default 0.6 of
    peak; Selene's 200 Gbit/s per GPU) against the measured figure. The two smallest models (hidden
    < 4096) run smaller, less efficient matrix multiplies than one efficiency figure captures."""
    _, heads, hidden, layers, t, p, gpus, batch, measured = row
    m = run(n_layers=layers, hidden=hidden, heads=heads, seq_len=2048, vocab=51200, tp=t, pp=p,
            nodes=gpus // 8, global_batch=batch, micro_batch=1, recompute="full", sequence_parallel=False,
            zero_stage=0, network_gbps=200)
    assert m["fits_in_memory"]
    assert m["achieved_tflops_per_gpu"] == pytest.approx(measured, rel=0.15)


def test_korthikanti_activation_formulas():
    s, b, h, a = 2048, 1, 12288, 96
    sbh = s * b * h
    base = par.activation_bytes_per_layer(s, b, h, a, 1, "none", False)
    assert base == pytest.approx(sbh * (34 + 5 * a * s / h))
    tp_only = par.activation_bytes_per_layer(s, b, h, a, 8, "none", False)
    assert tp_only == pytest.approx(sbh * (10 + 24 / 8 + 5 * a * s / (h * 8)))
    sp_selective = par.activation_bytes_per_layer(s, b, h, a, 8, "selective", True)
    assert sp_selective == pytest.approx(sbh * 34 / 8)
    # "the combination of both techniques reduces activation memory by 5x" (paper abstract)
    assert 4.5 < tp_only / sp_selective < 6
    assert par.activation_bytes_per_layer(s, b, h, a, 8, "full", True) == pytest.approx(2 * sbh / 8)


def test_flops_formulas_agree_with_6n_and_8n_rules():
    l, h, V, s, B = 96, 12288, 51200, 2048, 1
    P = par.transformer_params(l, h, V, s)
    per_token_full = par.iteration_flops(B, s, l, h, V, "full") / (B * s)
    per_token_none = par.iteration_flops(B, s, l, h, V, "none") / (B * s)
    # within the attention (s/6h) and logit terms of 8·P and 6·P
    assert per_token_full / (8 * P) == pytest.approx(1.027, abs=0.005)
    assert per_token_none / (6 * P) == pytest.approx(1.027, abs=0.005)
    assert per_token_none < par.iteration_flops(B, s, l, h, V, "selective") / (B * s) < per_token_full


# ---------------------------------------------------------------- pipeline bubble


@pytest.mark.parametrize("p, m, v, ratio", [(4, 8, 1, 3 / 8), (8, 32, 1, 7 / 32), (2, 1, 1, 1.0),
                                            (4, 8, 2, 3 / 16), (8, 64, 4, 7 / 256), (4, 12, 3, 1 / 12)])
def test_bubble_formula_matches_simulated_schedules(p, m, v, ratio):
    assert par.bubble_ratio(p, m, v) == pytest.approx(ratio)
    schedules = ["interleaved"] if v > 1 else ["gpipe", "1f1b"]
    for schedule in schedules:
        _, makespan, _ = par.simulate_pipeline(p, m, schedule, v)
        ideal = m * (1.0 + 2.0)  # every micro-batch: forward 1 + backward 2 per GPU
        assert (makespan - ideal) / ideal == pytest.approx(ratio), schedule
        assert par.bubble_fraction(p, m, v) == pytest.approx((makespan - ideal) / makespan)


@pytest.mark.parametrize("p, m, v", [(4, 8, 1), (4, 2, 1), (8, 16, 1), (4, 8, 2), (4, 16, 4)])
def test_activation_depth_matches_simulated_schedules(p, m, v):
    """Peak activations on the first GPU: 1F1B min(p, m) micro-batches, GPipe m, interleaved
    (1 + (p−1)/(p·v)) times the 1F1B figure."""
    layers = p * v * 3
    for schedule in (["interleaved"] if v > 1 else ["gpipe", "1f1b"]):
        _, _, peak = par.simulate_pipeline(p, m, schedule, v)
        chunk_layers = layers / (p * v if schedule == "interleaved" else p)
        assert peak[0] * chunk_layers == pytest.approx(par.layers_in_flight(layers, p, m, schedule, v))
    if v > 1:
        assert par.layers_in_flight(layers, p, m, "interleaved", v) == pytest.approx(layers * (1 + (p - 1) / (p * v)))


@given(p=st.integers(2, 64), v=st.integers(1, 8), m=st.integers(1, 10_000))
def test_bubble_shrinks_to_zero_as_micro_batches_grow(p, v, m):
    assert par.bubble_fraction(p, 2 * m, v) < par.bubble_fraction(p, m, v)
    assert par.bubble_fraction(p, 1000 * p * m, v) < 1e-3


# ---------------------------------------------------------------- properties of the cluster model


@st.composite
def valid_setups(draw):
    tp = draw(st.sampled_from([1, 2, 4, 8]))
    pp = draw(st.sampled_from([1, 2, 4]))
    dp = draw(st.sampled_from([1, 2, 4, 8, 16]))
    schedule = draw(st.sampled_from(["gpipe", "1f1b", "interleaved"] if pp > 1 else ["gpipe", "1f1b"]))
    v = draw(st.sampled_from([2, 3])) if schedule == "interleaved" else 1
    heads = tp * draw(st.integers(1, 4))
    n_gpus = tp * pp * dp
    micro = draw(st.sampled_from([1, 2, 4]))
    m = pp * draw(st.integers(1, 4)) if schedule == "interleaved" else draw(st.integers(1, 16))
    params = {
        "tp": tp, "pp": pp, "schedule": schedule, "virtual_stages": max(v, 1), "heads": heads,
        "hidden": heads * 64 * draw(st.integers(1, 4)), "n_layers": pp * v * draw(st.integers(1, 6)),
        "seq_len": draw(st.sampled_from([128, 1024, 4096])), "vocab": draw(st.sampled_from([1000, 51200])),
        "gpus_per_node": min(8, n_gpus), "nodes": max(1, n_gpus // 8), "micro_batch": micro,
        "global_batch": micro * dp * m, "gpu": draw(st.sampled_from(sorted(par.gpu_catalog()))),
        "zero_stage": draw(st.integers(0, 3 if pp == 1 else 1)), "recompute": draw(st.sampled_from(["none", "selective", "full"])),
        "sequence_parallel": draw(st.booleans()), "matmul_efficiency": draw(st.floats(0.05, 1.0)),
        "spot": draw(st.booleans()), "preemptions_per_day": draw(st.floats(0, 50)),
        "n_params": draw(st.sampled_from([0.0, 1e8, 7e9])),
    }
    if draw(st.booleans()):
        params.update(mode="parameter_server", zero_stage=0, staleness=draw(st.integers(0, 4)),
                      ps_servers=draw(st.integers(1, 8)))
    return params


def _walk(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, node


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_setups())
def test_outputs_finite_non_negative_and_mfu_at_most_one(setup):
    result = W.run({**QUICK_LAB, **setup})
    metrics = result["metrics"]
    assert 0 < metrics["mfu"] <= 1
    assert 0 <= metrics["bubble_fraction"] < 1
    assert metrics["step_time_s"] == pytest.approx(
        sum(metrics[k] for k in ("compute_s", "tp_comm_s", "pp_comm_s", "pp_bubble_s", "dp_comm_s")))
    for path, value in _walk(metrics):
        if isinstance(value, bool) or value == "never":  # a spot job that cannot progress
            continue
        assert isinstance(value, (int, float)) and math.isfinite(value) and value >= 0, path
    for path, value in _walk(result["series"]["scaling"]):
        if not isinstance(value, (bool, str)):
            assert value is not None and value >= 0, path


@settings(max_examples=60, deadline=None)
@given(valid_setups(), st.integers(1, 3))
def test_memory_per_gpu_never_rises_with_more_data_parallel_gpus_under_zero(setup, zero_stage):
    setup = {**setup, "mode": "sync", "zero_stage": zero_stage if setup["pp"] == 1 else 1}
    p = W.validate({**QUICK_LAB, **setup})
    unit = p["tp"] * p["pp"]
    dp = 2 ** np.arange(0, 9)
    # strong scaling: a fixed global batch that every data-parallel degree can split
    batch = p["micro_batch"] * dp[-1] * (p["pp"] if p["schedule"] == "interleaved" else 1)
    res = W_cluster(p, unit * dp, np.full(dp.shape, batch))
    assert np.all(np.diff(res["memory_per_gpu_gb"]) <= 1e-12)
    # weak scaling: the global batch grows with the replicas
    res = W_cluster(p, unit * dp, batch / dp[-1] * dp)
    assert np.all(np.diff(res["memory_per_gpu_gb"]) <= 1e-12)


def W_cluster(p, n, batch):
    from widgets_py.distributed_training import cluster

    return cluster(p, n, batch)


def test_scaling_curve_is_one_vectorised_evaluation_matching_single_points():
    from widgets_py.distributed_training import cluster

    p = W.validate({**QUICK_LAB, "tp": 2, "pp": 2, "nodes": 2})
    counts = np.array([4, 8, 16, 64])
    curve = cluster(p, counts, np.full(4, 256.0))
    for i, n in enumerate(counts):
        single = cluster(p, n, 256)
        assert float(curve["step_time_s"][i]) == pytest.approx(float(single["step_time_s"]))
    series = W.run(QUICK_LAB)["series"]["scaling"]
    assert series["gpus"][0] == 1 and max(series["gpus"]) == 4096
    assert set(series["scaling"]) == {"strong", "weak"}


def test_communication_dominates_the_tiny_preset_and_not_gpt3():
    sf = scenarios.load(SCENARIO_FILE)
    tiny = W.run({**sf.get("tiny-comm-bound").params, **QUICK_LAB})["metrics"]
    assert tiny["dp_comm_s"] > 2 * tiny["compute_s"]
    big = W.run({**sf.get("gpt3-175b-1024-a100").params, **QUICK_LAB})["metrics"]
    assert big["compute_s"] > 0.7 * big["step_time_s"] and big["fits_in_memory"]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("overrides, param", [
    ({"tp": 3}, "tp"),                                      # tp·pp does not divide 8 GPUs
    ({"tp": 2, "pp": 3}, "tp"),                             # 6 does not divide 8 GPUs
    ({"heads": 12, "hidden": 2048}, "heads"),              # heads do not divide hidden
    ({"heads": 12, "hidden": 2304, "tp": 8}, "tp"),         # tp does not divide heads
    ({"global_batch": 100}, "global_batch"),               # 100 ≠ micro 4 × dp 8 × k
    ({"n_layers": 25, "pp": 2}, "pp"),
    ({"schedule": "interleaved", "pp": 2, "virtual_stages": 5}, "virtual_stages"),
    ({"schedule": "interleaved"}, "schedule"),             # pp = 1
    ({"mode": "parameter_server", "zero_stage": 2}, "zero_stage"),
    ({"achieved_tflops": 400}, "achieved_tflops"),         # above the A100's 312
    ({"lab_workers": 64, "lab_batch": 64}, "lab_batch"),
    ({"gpu": "B200"}, "gpu"),
    ({"zero_stage": 4}, "zero_stage"),
])
def test_impossible_setups_rejected_with_one_line(overrides, param):
    with pytest.raises(ParamError) as err:
        W.validate(overrides)
    assert err.value.param == param
    assert "\n" not in str(err.value) and str(err.value).startswith(param)
    payload = json.loads(api.run_json("distributed_training_lab", json.dumps(overrides)))
    assert payload == {"ok": False, "error": str(err.value), "param": param}


def test_cli_reports_bad_input_in_one_line():
    proc = subprocess.run([sys.executable, "-m", "widgets_py", "run", "distributed_training_lab", "--set", "tp=3"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "tp:" in proc.stderr and "Traceback" not in proc.stderr


# ---------------------------------------------------------------- Part B: the Titanic lab


@pytest.mark.parametrize("sizes", [[5, 1], [5, 16, 1]], ids=["logistic", "mlp"])
@pytest.mark.parametrize("workers, batch", [(4, 8), (3, 10)])
def test_sync_data_parallel_equals_one_worker_with_k_times_the_batch(sizes, workers, batch):
    data = ml.titanic()
    init = ml.init_layers(sizes, seed=3)
    steps, lr, seed = 70, 0.3, 5  # 70 steps cross epoch boundaries, so reshuffles are covered too
    dp_layers, dp_loss, _, _ = distributed_sgd.train_workers(init, data.X_train, data.y_train, workers, batch,
                                                             steps, lr, seed)
    one_layers, one_loss = ml.train(init, data.X_train, data.y_train, steps, workers * batch, lr, seed)
    for a, b in zip(dp_layers, one_layers):
        np.testing.assert_allclose(a["W"], b["W"], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(a["b"], b["b"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dp_loss, one_loss, rtol=1e-10)
    # and the workers really did see different rows
    rows = next(ml.batch_indices(data.X_train.shape[0], 1, workers * batch, seed))
    shards = distributed_sgd.worker_batches(rows, workers)
    assert shards.shape == (workers, batch) and len(set(shards.ravel())) == workers * batch


def test_parameter_server_with_staleness_zero_is_synchronous_sgd():
    data = ml.titanic()
    init = ml.init_layers([5, 16, 1], seed=1)
    sync = distributed_sgd.train_workers(init, data.X_train, data.y_train, 4, 8, 40, 0.3, 2, staleness=0)[0]
    single = ml.train(init, data.X_train, data.y_train, 40, 32, 0.3, 2)[0]
    stale = distributed_sgd.train_workers(init, data.X_train, data.y_train, 4, 8, 40, 0.3, 2, staleness=3)[0]
    for a, b, c in zip(sync, single, stale):
        np.testing.assert_allclose(a["W"], b["W"], rtol=1e-10, atol=1e-12)
    assert not all(np.allclose(a["W"], c["W"]) for a, c in zip(sync, stale))


def test_stale_gradients_use_old_weights():
    """With staleness s the first s+1 updates all use the initial weights: for a logistic model
    starting at zero, every gradient of those steps is computed at w = 0."""
    data = ml.titanic()
    init = ml.init_layers([5, 1])
    X, y = data.X_train, data.y_train
    layers = distributed_sgd.train_workers(init, X, y, 2, 8, 3, 0.5, 0, staleness=2)[0]
    expected = ml.copy_layers(init)
    for rows in ml.batch_indices(X.shape[0], 3, 16, 0):
        expected = ml.sgd_step(expected, ml.loss_and_grads(init, X[rows], y[rows])[1], 0.5)
    np.testing.assert_allclose(layers[0]["W"], expected[0]["W"], rtol=1e-12)


def _reference(sizes, workers, batch, steps, lr, seed, staleness):
    data = ml.titanic()
    init = ml.init_layers(sizes, seed)
    return distributed_sgd.train_workers(init, data.X_train, data.y_train, workers, batch, steps, lr, seed,
                                         staleness, data.X_test, data.y_test)[1:]


def _fast(sizes, global_batches, lrs, steps, seed, staleness, **kwargs):
    data = ml.titanic()
    return distributed_sgd.train_runs(ml.init_layers(sizes, seed), data.X_train, data.y_train, data.X_test,
                                      data.y_test, global_batches, lrs, steps, seed, staleness, **kwargs)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.sampled_from([[5, 1], [5, 16, 1], [5, 4, 3, 1]]), workers=st.integers(1, 12),
       batch=st.integers(1, 80), steps=st.integers(1, 90), lr=st.floats(1e-3, 3.0), seed=st.integers(0, 2**31 - 1),
       staleness=st.integers(0, 4))
def test_lockstep_runs_match_per_worker_training(sizes, workers, batch, steps, lr, seed, staleness):
    """The lab's fast path (distinct rows, stacked runs, blocks of steps) against the per-worker loop:
    K workers of batch b and one worker of batch b, trained together, each equal to its reference."""
    batch = min(batch, 982 // workers)
    runs = _fast(sizes, [workers * batch, batch], [lr, lr / 2], steps, seed, staleness)
    for run, reference in zip(runs, [_reference(sizes, workers, batch, steps, lr, seed, staleness),
                                     _reference(sizes, 1, batch, steps, lr / 2, seed, staleness)]):
        for got, expected in zip((run.train_loss, run.test_loss, run.test_accuracy), reference):
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_hidden_units_without_an_age_weight_are_on_or_off_for_a_whole_group():
    """The MLP's fast path finds each unit's range of ages from its breakpoint −A/w; a unit whose age
    weight is exactly 0 has none (on for the whole group if its input is positive, else off)."""
    data = ml.titanic()
    init = ml.init_layers([5, 16, 1], seed=4)
    init[0]["W"][ml.FEATURES.index("age"), :6] = 0.0
    init[0]["b"][:3] = 0.5  # and some with a positive input in every group
    runs = distributed_sgd.train_runs(init, data.X_train, data.y_train, data.X_test, data.y_test, [64, 16],
                                      [0.5, 0.25], 30, 2)
    for run, (workers, batch, lr) in zip(runs, [(4, 16, 0.5), (1, 16, 0.25)]):
        expected = distributed_sgd.train_workers(init, data.X_train, data.y_train, workers, batch, 30, lr, 2, 0,
                                                 data.X_test, data.y_test)[1:]
        for got, want in zip((run.train_loss, run.test_loss, run.test_accuracy), expected):
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("batch, start, stop", [(16, 0, 200), (670, 5, 37), (982, 3, 9), (5000, 0, 4), (300, 7, 8)])
def test_batch_rows_are_the_batch_indices_stream(batch, start, stop):
    expected = np.array(list(ml.batch_indices(982, stop, batch, seed=11)))[start:]
    np.testing.assert_array_equal(distributed_sgd.batch_rows(982, batch, 11, start, stop), expected)


def test_runs_resume_where_they_stopped_and_stop_at_their_target():
    sizes, batches, lrs = [5, 16, 1], [64, 16, 320], [0.8, 0.2, 4.0]
    whole = _fast(sizes, batches, lrs, 90, 3, 2)
    half = _fast(sizes, batches, lrs, 40, 3, 2)
    resumed = _fast(sizes, batches, lrs, 90, 3, 2, runs=half)
    for a, b in zip(whole, resumed):  # identical: a run does not depend on where its blocks start
        for x, y in zip((a.train_loss, a.test_loss, a.test_accuracy), (b.train_loss, b.test_loss, b.test_accuracy)):
            np.testing.assert_array_equal(x, y)
    early = max(float(run.test_loss[5]) for run in whole)  # every run gets there in the first block
    assert [run.steps for run in _fast(sizes, batches, lrs, 90, 3, 2, targets=[early] * 3)] == [25] * 3
    target = float(whole[0].test_loss[60])
    stopped = _fast(sizes, batches, lrs, 90, 3, 2, targets=[target] * 3)
    for full, run in zip(whole, stopped):
        expected = np.flatnonzero(full.test_loss <= target)
        assert run.steps_to_target == (int(expected[0]) + 1 if expected.size else None)
        if run.steps_to_target is not None:  # stopped at the end of the block in which it got there
            assert run.steps == min(90, -(-run.steps_to_target // distributed_sgd.BLOCK_STEPS)
                                    * distributed_sgd.BLOCK_STEPS)
            np.testing.assert_array_equal(run.test_loss, full.test_loss[:run.steps])


def test_lab_reads_and_extends_its_runs_as_a_fresh_lab_would():
    """A longer lab_steps trains on from the remembered runs, a shorter one reads their prefix; both
    give what an empty memo gives."""
    outs = {}
    for steps in (60, 140, 35, 140):
        outs.setdefault(steps, []).append(W.run({"lab_steps": steps, "lab_workers": 10, "lab_batch": 40}))
    for steps in (60, 140, 35):
        dt.lab_cache_clear()
        fresh = W.run({"lab_steps": steps, "lab_workers": 10, "lab_batch": 40})
        for out in outs[steps]:
            assert out == fresh


def test_default_lab_learns_and_shows_diminishing_returns():
    m = W.run({})["metrics"]
    assert m["lab_test_accuracy"] > 0.75  # a sex + class + age model of survival
    sweep = W.run({})["series"]["lab_sweep"]
    times = [t for t in sweep["time_to_target_s"] if t is not None]
    best = int(np.argmin(times))
    assert 0 < best < len(times) - 1  # more workers help at first, then stop helping
    assert sweep["comm_ms"] == sorted(sweep["comm_ms"])


# ---------------------------------------------------------------- scenario file, charts, determinism


def test_scenario_file_runs_every_preset_and_charts_are_inline():
    sf = scenarios.load(SCENARIO_FILE, expected_type="distributed_training_lab")
    assert sf.default == "titanic-sync"
    names = {s.name for s in sf.scenarios}
    assert {"gpt3-175b-1024-a100", "7b-one-h100-node", "tiny-comm-bound"} <= names
    for sc in sf.scenarios:
        payload = json.loads(api.run_json("distributed_training_lab", json.dumps(sc.params)))
        assert payload["ok"], sc.name
        # every preset fits except the ZeRO paper's case at stage 0, which lesson 4 shows not fitting
        assert payload["result"]["metrics"]["fits_in_memory"] == (sc.name != "zero-paper-64-a100"), sc.name
        names = [c["name"] for c in payload["charts"]]
        assert names == ["scaling", "memory", "step_time", "pipeline", "lab_curve", "lab_sweep"]
        text = json.dumps(payload["charts"])
        assert '"url"' not in text


def test_charts_compile_with_vega_lite():
    vl_convert = pytest.importorskip("vl_convert")
    out = api.run("distributed_training_lab", {})
    for chart in out["charts"]:
        svg = vl_convert.vegalite_to_svg(json.loads(json.dumps(chart["spec"])))
        assert svg.lstrip().startswith("<svg"), chart["name"]


def test_deterministic():
    first = W.run({"lab_steps": 30})
    dt.lab_cache_clear()  # the second run trains again instead of reading the memo
    assert W.run({"lab_steps": 30}) == first


# ---------------------------------------------------------------- the lab's training memo


@pytest.fixture
def counted_training(monkeypatch):
    """Count the real training (runs × steps) behind the lab, from an empty memo."""
    calls = {"runs": 0}
    real = distributed_sgd.train_runs

    def counting(layers, X, y, X_test, y_test, global_batches, *args, **kwargs):
        calls["runs"] += len(global_batches)
        return real(layers, X, y, X_test, y_test, global_batches, *args, **kwargs)

    monkeypatch.setattr(distributed_sgd, "train_runs", counting)
    dt.lab_cache_clear()
    yield calls
    dt.lab_cache_clear()


LAB_RESULT_KEYS = ("lab_train_loss", "lab_test_loss", "lab_test_accuracy", "lab_target_loss", "lab_params")


def test_cluster_only_change_reuses_the_lab_training(counted_training):
    base = {"lab_steps": 40}
    first = W.run(base)
    trained = dict(counted_training)
    assert trained["runs"] > 2  # K workers, the one-worker target and the sweep
    for change in ({"zero_stage": 2}, {"nodes": 4}, {"gpu": "H100-SXM"}, {"tp": 2}, {"schedule": "gpipe"},
                   {"link_latency_us": 50.0}, {"lab_sample_us": 100.0}):
        again = W.run({**base, **change})
        assert counted_training == trained, change  # nothing retrained
        for key in LAB_RESULT_KEYS:
            assert again["metrics"][key] == first["metrics"][key], (change, key)
        curve, first_curve = again["series"]["lab_curve"], first["series"]["lab_curve"]
        for column in ("train_loss", "test_loss", "test_accuracy"):
            assert curve[column] == first_curve[column], (change, column)
        assert again["series"]["lab_sweep"]["steps_to_target"] == first["series"]["lab_sweep"]["steps_to_target"]
    # Part A's links still move the simulated clock of the lab.
    slower = W.run({**base, "lab_sample_us": 100.0})
    assert slower["metrics"]["lab_step_ms"] > first["metrics"]["lab_step_ms"]
    assert slower["series"]["lab_curve"]["time_s"] != first["series"]["lab_curve"]["time_s"]


@pytest.mark.parametrize("change", [{"lab_lr": 0.1}, {"lab_seed": 1}, {"lab_model": "logistic"}, {"lab_batch": 8},
                                    {"mode": "parameter_server", "zero_stage": 0, "staleness": 2}])
def test_changing_a_training_parameter_retrains(counted_training, change):
    base = {"lab_steps": 40}
    first = W.run(base)
    before = dict(counted_training)
    changed = W.run({**base, **change})
    assert counted_training["runs"] > before["runs"]
    assert changed["series"]["lab_curve"]["test_loss"] != first["series"]["lab_curve"]["test_loss"]
    assert W.run(base) == first  # and the first set-up is still remembered, unchanged


def test_lab_results_are_fresh_copies(counted_training):
    p = W.validate({"lab_steps": 40})
    out = dt.lab(p)
    expected = out["series"]["lab_curve"]["test_loss"].copy()
    out["series"]["lab_curve"]["test_loss"][:] = -1.0  # a caller scribbling on its result
    assert np.array_equal(dt.lab(p)["series"]["lab_curve"]["test_loss"], expected)


def test_gpu_catalog_has_sources_and_dates():
    catalog = par.gpu_catalog()
    assert {"V100-32GB", "A100-80GB", "H100-SXM", "L4", "T4"} <= set(catalog)
    for name, gpu in catalog.items():
        for figure in ("peak_tflops", "memory_gb", "intra_node_gbs", "network_gbps_per_gpu", "price_per_gpu_hour"):
            assert gpu[figure] > 0, (name, figure)
            assert gpu["sources"][figure]["source"] and gpu["sources"][figure]["date"], (name, figure)


# ---------------------------------------------------------------- issue 9 corrections


def test_spot_training_that_cannot_progress_never_finishes():
    """A checkpoint (60 min) longer than the mean time between preemptions (30 min) used to give 6.4 days."""
    m = run(spot=True, preemptions_per_day=48, checkpoint_minutes=60)
    assert m["finishes"] is False
    assert m["time_to_train_days"] == "never" and m["cost_usd"] == "never"
    m = run(spot=True, preemptions_per_day=48, checkpoint_minutes=5, restart_minutes=31)  # R ≥ M
    assert m["time_to_train_days"] == "never"
    formatted = api.compute("distributed_training_lab", {**QUICK_LAB, "spot": True, "preemptions_per_day": 48,
                                                        "checkpoint_minutes": 60})["metrics"]
    assert formatted["time_to_train_days"]["text"] == "never"


def test_spot_wall_time_is_dalys_full_expression():
    on_demand = run(spot=False)
    spot = run(spot=True, preemptions_per_day=4, checkpoint_minutes=30, restart_minutes=60)
    M, delta, R = 6 * 3600.0, 1800.0, 3600.0
    x = delta / (2 * M)
    tau = math.sqrt(2 * delta * M) * (1 + math.sqrt(x) / 3 + x / 9) - delta
    factor = M * math.exp(R / M) * (math.exp((tau + delta) / M) - 1) / tau
    assert spot["checkpoint_interval_h"] == pytest.approx(tau / 3600)
    assert spot["time_to_train_days"] == pytest.approx(on_demand["time_to_train_days"] * factor)
    assert spot["cost_usd"] == pytest.approx(on_demand["cost_usd"] * factor * (1 - 0.65))
    # Young's first-order overhead √(2δ/M) + R/M is the limit for δ, R ≪ M.
    small = run(spot=True, preemptions_per_day=0.5, checkpoint_minutes=0.5, restart_minutes=1)
    M, delta, R = 48 * 3600.0, 30.0, 60.0
    assert small["preemption_overhead"] == pytest.approx(math.sqrt(2 * delta / M) + R / M, rel=0.05)


def test_parameter_servers_are_paid_for():
    one = run(mode="parameter_server", zero_stage=0, ps_servers=1)
    many = run(mode="parameter_server", zero_stage=0, ps_servers=64)
    price = par.ps_instance_catalog()["c6in.32xlarge"]["price_per_hour"]
    hours = many["time_to_train_days"] * 24
    assert many["ps_cost_usd"] == pytest.approx(64 * price * hours)
    assert many["cost_usd"] > one["cost_usd"]  # used to be equal: servers cost nothing
    assert run()["ps_cost_usd"] == 0  # synchronous all-reduce needs no servers


def test_zero_communication_counts_every_micro_batch():
    """DeepSpeed: stage 3 gathers weights twice and reduce-scatters gradients every micro-batch,
    stage 2 reduce-scatters every micro-batch; stages 0–1 exchange once per optimizer step."""
    def dp(stage, batch):
        return run(zero_stage=stage, global_batch=batch, link_latency_us=0)["dp_comm_s"]
    assert dp(3, 256) / dp(3, 32) == pytest.approx(8.0)  # m = 8 against m = 1: 3m passes
    assert dp(2, 256) / dp(2, 32) == pytest.approx(9.0 / 2.0)  # m + 1 passes
    assert dp(1, 256) == pytest.approx(dp(1, 32))


def test_zero_2_and_3_are_refused_with_pipeline_parallelism():
    for stage in (2, 3):
        with pytest.raises(ParamError) as err:
            W.validate({"zero_stage": stage, "pp": 2})
        assert err.value.param == "zero_stage" and "pipeline" in str(err.value)
    W.validate({"zero_stage": 1, "pp": 2})


def test_gpu_memory_is_gib_less_an_explicit_reserve():
    gpu = par.gpu_catalog()["A100-80GB"]
    assert dt.usable_memory_bytes(gpu) == pytest.approx(80 * 2**30 * 0.95 - 2**30)
    for overrides in ({}, {"zero_stage": 0}, {"micro_batch": 32, "global_batch": 256}, {"n_params": 20e9}):
        m = run(**overrides)
        assert m["fits_in_memory"] == (m["memory_per_gpu_gb"] * 1e9 <= dt.usable_memory_bytes(gpu))
        assert m["gpu_usable_gb"] == pytest.approx(dt.usable_memory_bytes(gpu) / 1e9)


def test_selective_recomputation_rebuilds_only_the_attention_core():
    setup = dict(**GPT3, nodes=128, tp=8, pp=8, global_batch=1536, micro_batch=1, zero_stage=1)
    m = run(**setup, recompute="selective", sequence_parallel=True)
    args = (2048, 1, 12288, 96, 8)
    kept = par.activation_bytes_per_layer(*args, "selective", True)
    full = par.activation_bytes_per_layer(*args, "none", True)
    in_flight = par.layers_in_flight(96, 8, m["micro_batches"], "1f1b", 1)
    assert m["activations_gb"] * 1e9 == pytest.approx(in_flight * kept + (full - kept))


def test_pipeline_hops_inside_a_node_use_nvlink():
    """tp = 1, dp = 4, pp = 4 on two 8-GPU nodes: hops 0→1 and 2→3 stay inside a node, 1→2 crosses."""
    m = run(nodes=2, tp=1, pp=4, zero_stage=1, global_batch=64, micro_batch=4, link_latency_us=0)
    intra, net, _ = dt._links(W.validate({}))
    send = 2 * 4 * 2048 * 2048  # bf16 activations of one micro-batch
    expected = m["micro_batches"] * (send / intra + send / net)  # the slowest stage: one of each
    assert m["pp_comm_s"] == pytest.approx(expected)
    one_node = run(nodes=1, tp=1, pp=4, zero_stage=1, global_batch=32, micro_batch=4, link_latency_us=0)
    assert one_node["pp_comm_s"] == pytest.approx(one_node["micro_batches"] * 2 * send / intra)


def test_tensor_parallelism_beyond_the_heads_names_the_heads():
    with pytest.raises(ParamError) as err:
        W.validate({"tp": 32})  # 16 heads; 32 would not divide 8 GPUs either
    assert err.value.param == "tp" and "16 attention heads" in str(err.value)


def test_training_days_formula_matches_two_published_runs():
    """Narayanan et al. 2021 §5.1: GPT-3 (175B parameters, 300B tokens, 1024 A100s at 140 TFLOP/s)
    ≈ 34 days, and the 1T model (450B tokens, 3072 A100s at 163 TFLOP/s) ≈ 84 days."""
    assert par.training_days(300e9, 175e9, 1024, 140e12) == pytest.approx(34, abs=0.5)
    assert par.training_days(450e9, 1e12, 3072, 163e12) == pytest.approx(84, abs=1.5)
