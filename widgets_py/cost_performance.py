"""Cost-performance dashboard: compress the lesson's Titanic model for real, then price serving it.

Part A — optimise a real model (numpy, :mod:`widgets_py.ml` for data and training,
:mod:`widgets_py.compression` for the arithmetic):

* fp32 baseline: logistic regression or a one-hidden-layer MLP trained with a fixed seed; every accuracy
  is measured on the held-out test split of ``ml.titanic(seed)``;
* fp16 cast, and int8 post-training quantization ``r = S·(q − Z)`` (Jacob et al. 2018) per tensor or per
  output channel, evaluated with integer-only inference;
* global magnitude pruning to a sparsity, optionally fine-tuned with the pruned weights held at zero;
* knowledge distillation (Hinton, Vinyals & Dean 2015): a smaller MLP trained on a weighted sum of the
  loss against the teacher MLP's temperature-softened probabilities and the loss against the true
  labels. The paper found a considerably lower weight on the hard labels works best but gives no
  single value; ``hard_label_weight`` defaults to 0.1 (our choice, the common one in practice).
Trained models are cached per training parameters (``_TRAINED``) so changes that need no training
(precision, serving, prices) re-run in milliseconds.

Part B — serving economics (all vectorised over hardware × precision × batch size × fleet size):

* Catalog ``data/serving_hardware.json``: AWS us-east-1 on-demand and spot prices with source and date;
  datasheet peak rates per precision (NVIDIA T4/A10/L4/A100/H100 datasheets; Intel AVX-512 width for
  the CPU) and edge devices (phone NPU and CPU, Raspberry Pi 5, Jetson Orin Nano, Arduino Uno).
* Time of one batched call of ``b`` requests (a roofline with fixed costs):
  ``t(b) = batch_overhead + b·request_overhead/vCPUs + max(model_bytes / bandwidth, b·2·MACs / (f·peak))``
  with ``f`` the achievable fraction of peak. The precision speed factor is the datasheet ratio of
  peaks (e.g. T4: 8.1 TFLOPS fp32, 65 fp16, 130 TOPS int8). For the Titanic model (≈100 MACs) the
  compute term is nanoseconds: the fixed overheads dominate, so precision changes size and memory far
  more than latency — the honest lesson for a model this small. It matters for the ladder's large model.
* Dynamic batching as in Triton's dynamic batcher / TF Serving's ``batch_timeout_micros``: an idle
  batcher launches when ``batch_size`` (B) requests are waiting or ``max_queue_delay_ms`` (d) after its
  first request; a busy one launches the next batch with whatever has queued (at most B) as soon as
  the current batch ends. Per instance with λ misses per second: the fill window of an idle batcher
  is ``w = min(d, (B−1)/λ)``; the mean batch solves ``b = min(B, max(1 + λw, λ·t(b)))`` (requests that
  arrive during a batch form the next); the share of time busy is ``ρ = min(1, λ·t(b)/b)`` (plus
  cache hits' handling). The batcher is stable while a full batch clears faster than it fills,
  ``λ·t(B)/B < 1``: below that a greedy batcher may be busy all the time and still keep up. A request's
  wait before its batch starts is, with probability 1 − ρ (idle batcher), uniform on [0, w] and, with
  probability ρ, the rest of the batch in flight (uniform on [0, t(b)]) plus an exponential wait
  behind full batches whose rate γ comes from the bulk-service queue M/D^B/1 (Bailey 1954: the number
  waiting has tail z^{−n}, z > 1 the root of ``z^B = e^{λt(B)(z−1)}``, so γ = B·ln z / t(B)); for B = 1
  this is the Kingman-type M/D/1 tail and its mean is exact in heavy traffic. p95 is the quantile of
  that wait plus ``t(b)``, request handling and the network. For a memory-bandwidth-bound model (the
  ladder's large model: weights / bandwidth ≫ compute) ``t(b)`` hardly grows with b, so a batch of B
  costs about one step and a bigger B never needs more instances; at equal load the fill window is
  the price of batching, and it vanishes with d = 0 (Triton's default).
* Exact-match prediction cache: request inputs follow Zipf(s) over the distinct inputs; a cache of the
  ``k`` most frequent holds ``H(k, s) / H(N, s)`` of requests (generalised harmonic numbers, exact up to
  1,000 terms, Euler–Maclaurin beyond). That is a static cache of the top k, the best any cache of k
  entries can do: an LRU cache of the same size holds less (Che et al. 2002's approximation would
  give it), so ``cache_hit_rate`` is labelled as the static-cache bound. Fewer misses per instance
  also lengthen an idle batcher's fill window ``min(d, (B−1)/λ)``: with a delay d > 0 the cache can
  raise p95 (the default dashboard: 21.2 ms without it, 22.3 ms with it), a real effect of waiting
  for companions that d = 0 removes. Titanic rows have only a few hundred distinct feature
  combinations, so the cache wins; with continuous features (N in the millions) it would not. The cache
  lives in the serving process: a hit still pays the request handling, and only skips the model call.
  For a model of about a hundred multiply-accumulates that call is microseconds, so the cache mostly cuts
  tail latency here; it cuts cost when the model is expensive. Edge devices get no shared cache.
* Fleet size: the smallest number of instances whose utilisation is below 1 and whose p95 (including the
  network round trip) meets the SLO. Spot: extra instances cover the capacity lost while interrupted
  instances are replaced (``interruptions/day × 5 min``; AWS gives a two-minute notice). Autoscaling to
  zero bills only the active hours of the day.
* ``cost_per_million = price_per_hour × instances / (request_rps × 3600) × 1e6`` — the cost while
  serving; ``monthly_cost_usd`` adds idle hours unless the fleet scales to zero.
* Edge: on-device inference has no cloud bill or network hop; the device's peak rate and overhead
  decide latency, and its memory budget whether the model fits (``fits_on_device``).
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from . import compression as comp
from . import ml
from .core import VEGA_LITE_SCHEMA, Memo, Metric, Param, ParamError, Widget, format_value

CATALOG_FILE = Path(__file__).with_name("data") / "serving_hardware.json"


@functools.lru_cache(maxsize=1)
def catalog() -> dict[str, Any]:
    with CATALOG_FILE.open(encoding="utf-8") as fh:
        return json.load(fh)


CLOUD = {h["id"]: h for h in catalog()["cloud"]}
EDGE = {d["id"]: d for d in catalog()["edge"]}
PRECISIONS = ("fp32", "fp16", "int8")
VALUE_BYTES = {"fp32": comp.FP32_BYTES, "fp16": comp.FP16_BYTES, "int8": comp.INT8_BYTES}

# Training recipe (fixed so results are reproducible; small enough to train in a browser tab).
TRAIN_STEPS = {"logistic": 400, "mlp": 800}
TRAIN_LR = {"logistic": 0.5, "mlp": 0.1}
BATCH = 64
FINETUNE_LR = 0.05
DISTILL_STEPS = 800
SPARSITY_SWEEP = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95)

# Serving constants (assumptions, see the module docstring).
HOURS_PER_MONTH = 730.0
SPOT_RECOVERY_H = 5.0 / 60.0  # time to replace an interrupted spot instance
P95 = 0.95
BATCH_GRID = 2 ** np.arange(0, 10)  # 1 … 512, the batch sizes of the Pareto chart
OFFLINE_BATCH = 256  # batch jobs run full batches
CACHE_TABLE_LIMIT = 1_000_000  # a precomputed prediction table of at most this many rows
CACHE_ENTRY_BYTES = 64  # key (5 features), value and hash-table overhead per cached prediction
LARGE_MODEL_HARDWARE = "p5_h100"
LARGE_MODEL_MEMORY_HEADROOM = 1.2  # weights plus activations and runtime buffers


# ==================================================================================================
# Part A: train, prune, distil, quantize
# ==================================================================================================
# Bounded: a reader sweeping the sparsity or student size creates a new model per value.
_TRAINED = Memo(64)
# Fine-tuned pruned models, also every FINETUNE_CHECKPOINT steps on the way: moving the fine-tuning
# slider continues from the nearest checkpoint below instead of starting again (the batches of step k
# are the same whatever the number of steps, so the result is the same as an uninterrupted run).
FINETUNE_CHECKPOINT = 50
_FINETUNED = Memo(512)
# Accuracy (and size) of a model in one precision, by the model's key: a precision, int8 scheme or
# sparsity change re-evaluates no model it has seen.
_SCORES = Memo(512)


def base_key(model: str, hidden: int, seed: int) -> tuple:
    return ("base", model, hidden if model == "mlp" else 0, seed)


def base_model(model: str, hidden: int, seed: int) -> tuple[tuple, ml.Layers]:
    key = base_key(model, hidden, seed)
    return key, _TRAINED.get(key, lambda: _finish(train_base(model, hidden, seed, TRAIN_STEPS[model])))


def _finish(pieces):
    """Runs a generator of pieces to its end; returns what it returns."""
    while True:
        try:
            next(pieces)
        except StopIteration as done:
            return done.value


def train_base(model: str, hidden: int, seed: int, piece_steps: int):
    """``base_model``'s training, ``piece_steps`` steps at a time: a generator that yields between pieces
    and returns the trained layers (the same as in one piece: step k sees the same batch either way)."""
    data = ml.titanic(seed)
    n = data.X_train.shape[1]
    sizes = [n, 1] if model == "logistic" else [n, hidden, 1]
    steps = TRAIN_STEPS[model]
    stack = [ml.init_layers(sizes, seed)]
    for start in range(0, steps, piece_steps):
        stop = min(steps, start + piece_steps)
        if start:
            yield
        stack = ml.train_stack(stack, data.X_train, data.y_train, stop, BATCH, TRAIN_LR[model], seed,
                               start_step=start)[stop]
    return stack[0]


WARM_UP_TRAIN_STEPS = 100  # a piece of the browser's warm-up: ~15 ms in Pyodide under Node


def warm_up_steps():
    """The defaults' expensive part in pieces (``Widget.warm_up_steps``): the model's training, then the
    rest of Part A, left in the caches for the warm-up run of the defaults that follows."""
    p = WIDGET.validate({})
    key = base_key(p["model"], p["mlp_hidden"], p["seed"])
    if key not in _TRAINED.entries:  # (it is already, e.g. restored from a snapshot)
        ml.titanic(p["seed"])
        yield
        layers = yield from train_base(p["model"], p["mlp_hidden"], p["seed"], WARM_UP_TRAIN_STEPS)
        _TRAINED.get(key, lambda: layers)
        yield
    optimise(p)
    yield


def student_model(hidden: int, seed: int, student_hidden: int, temperature: float,
                  hard_weight: float = 0.0) -> tuple[tuple, ml.Layers]:
    data = ml.titanic(seed)
    key = ("student", hidden, seed, student_hidden, float(temperature), float(hard_weight))

    def build() -> ml.Layers:
        _, teacher = base_model("mlp", hidden, seed)
        soft = ml.predict_proba(teacher, data.X_train, temperature)
        init = ml.init_layers([data.X_train.shape[1], student_hidden, 1], seed + 1)
        return ml.train_stack([init], data.X_train, data.y_train, DISTILL_STEPS, BATCH, TRAIN_LR["mlp"], seed,
                              soft_targets=soft, temperature=temperature,
                              hard_weight=hard_weight)[DISTILL_STEPS][0]

    return key, _TRAINED.get(key, build)


def pruned_key(source_key: tuple, sparsity: float, steps: int) -> tuple:
    """The cache key of ``pruned_model``'s result (the source's own key when nothing is pruned)."""
    s = round(float(sparsity), 6)
    return source_key if s == 0 else ("pruned", source_key, s, int(steps))


def pruned_model(source_key: tuple, layers: ml.Layers, sparsity: float, steps: int, seed: int) -> ml.Layers:
    """The source with the ``sparsity`` smallest weights removed, fine-tuned ``steps`` steps with them
    held at zero."""
    return pruned_models(source_key, layers, [sparsity], steps, seed)[round(float(sparsity), 6)]


def pruned_models(source_key: tuple, layers: ml.Layers, sparsities, steps: int, seed: int) -> dict[float, ml.Layers]:
    """``pruned_model`` for several sparsities (keyed by the sparsity rounded to 1e-6). The ones not
    cached are fine-tuned together, on the same batches, each from its latest cached checkpoint."""
    steps = int(steps)
    out: dict[float, ml.Layers] = {}
    todo: dict[int, list[float]] = {}  # first step -> sparsities continuing from it
    for s in dict.fromkeys(round(float(v), 6) for v in sparsities):
        if s == 0:
            out[s] = layers
            continue
        start = next((k for k in [steps] + list(range((steps - 1) // FINETUNE_CHECKPOINT * FINETUNE_CHECKPOINT, 0,
                                                             -FINETUNE_CHECKPOINT))
                      if pruned_key(source_key, s, k) in _FINETUNED.entries), 0)
        if start == steps and steps:
            out[s] = _FINETUNED.get(pruned_key(source_key, s, steps), _unreachable)
        else:
            todo.setdefault(start, []).append(s)
    for start, group in todo.items():
        masks = [_FINETUNED.get(("masks", source_key, s), lambda s=s: comp.magnitude_masks(layers, s)) for s in group]
        if start:
            models = [_FINETUNED.get(pruned_key(source_key, s, start), _unreachable) for s in group]
        else:
            models = [comp.apply_masks(layers, m) for m in masks]
        if steps == start:  # no fine-tuning
            trained = {0: models}
        else:
            data = ml.titanic(seed)
            checkpoints = range(start + FINETUNE_CHECKPOINT - start % FINETUNE_CHECKPOINT, steps, FINETUNE_CHECKPOINT)
            trained = ml.train_stack(models, data.X_train, data.y_train, steps, BATCH, FINETUNE_LR, seed,
                                     masks=masks, start_step=start, checkpoints=checkpoints)
        for step, stack in trained.items():
            for s, model in zip(group, stack):
                _FINETUNED.get(pruned_key(source_key, s, step), lambda model=model: model)
        for s, model in zip(group, trained[steps] if steps != start else models):
            out[s] = model
    return out


def _unreachable():
    raise AssertionError("a checkpoint found in the cache is no longer there")


def variant_score(model_key: tuple, layers: ml.Layers, seed: int, variant: str) -> dict[str, Any]:
    """Accuracy on the held-out split and bytes of one model in one precision (``fp32``, ``fp16``,
    ``int8_per_tensor`` or ``int8_per_channel``), memoised on the model's key."""
    def score() -> dict[str, Any]:
        data = ml.titanic(seed)
        if variant == "fp32":
            return {"accuracy": ml.accuracy(layers, data.X_test, data.y_test),
                    "bytes": comp.float_model_bytes(layers, comp.FP32_BYTES)}
        if variant == "fp16":
            return {"accuracy": comp.fp16_accuracy(layers, data.X_test, data.y_test),
                    "bytes": comp.float_model_bytes(layers, comp.FP16_BYTES)}
        q = comp.quantize_model(layers, data.X_train, per_channel=variant == "int8_per_channel")
        return {"accuracy": q.accuracy(data.X_test, data.y_test), "bytes": comp.int8_model_bytes(q)}

    return _SCORES.get((model_key, variant), score)


VARIANTS = ("fp32", "fp16", "int8_per_tensor", "int8_per_channel")


def precision_variants(layers: ml.Layers, seed: int, model_key: tuple) -> dict[str, dict[str, Any]]:
    """Accuracy on the held-out split and bytes of one model (cached as ``model_key``) in every precision."""
    return {v: variant_score(model_key, layers, seed, v) for v in VARIANTS}


# Part A's inputs. Its result is memoised on them: a serving control (traffic, SLO, prices, cache)
# must not redo the quantisation and the sparsity sweep (a third of a run in Pyodide).
PART_A_KEYS = ("seed", "mlp_hidden", "model", "distill", "student_hidden", "temperature", "hard_label_weight",
               "sparsity", "finetune_steps", "quantization", "precision")
DISTILL_KEYS = ("student_hidden", "temperature", "hard_label_weight")
_PART_A = Memo(16)


def optimise(p: dict[str, Any]) -> dict[str, Any]:
    """Part A for the chosen parameters (memoised: callers must not change the result)."""
    sub = {k: p[k] for k in PART_A_KEYS}
    # Inputs that cannot change the result do not split the cache: the student's settings without
    # distillation, the MLP's width for logistic regression.
    ignored = set(DISTILL_KEYS) if not p["distill"] else set()
    if p["model"] != "mlp":
        ignored.add("mlp_hidden")
    key = tuple(None if k in ignored else v for k, v in sub.items())
    return _PART_A.get(key, lambda: _optimise(sub))


def _optimise(p: dict[str, Any]) -> dict[str, Any]:
    """Part A for the chosen parameters: the served model, its accuracy and size in every precision,
    and the accuracy-against-sparsity sweep."""
    seed, hidden = p["seed"], p["mlp_hidden"]
    base_key, base = base_model(p["model"], hidden, seed)
    if p["distill"]:
        src_key, src = student_model(hidden, seed, p["student_hidden"], p["temperature"], p["hard_label_weight"])
    else:
        src_key, src = base_key, base
    baseline_acc = variant_score(base_key, base, seed, "fp32")["accuracy"]
    sweep_points = sorted(set(SPARSITY_SWEEP) | {round(float(p["sparsity"]), 6)})
    # The served model is one of the sweep's: they are fine-tuned together.
    pruned = pruned_models(src_key, src, sweep_points, p["finetune_steps"], seed)
    served_key = pruned_key(src_key, p["sparsity"], p["finetune_steps"])
    served = pruned[round(float(p["sparsity"]), 6)]
    variants = precision_variants(served, seed, served_key)
    chosen = "int8_" + p["quantization"] if p["precision"] == "int8" else p["precision"]

    sweep = {"sparsity": [], "variant": [], "accuracy": []}
    for s in sweep_points:
        key = pruned_key(src_key, s, p["finetune_steps"])
        acc32 = variant_score(key, pruned[s], seed, "fp32")["accuracy"]
        acc8 = variant_score(key, pruned[s], seed, f"int8_{p['quantization']}")["accuracy"]
        sweep["sparsity"] += [s, s]
        sweep["variant"] += ["fp32", f"int8 {p['quantization'].replace('_', '-')}"]
        sweep["accuracy"] += [acc32, acc8]

    return {
        "layers": served,
        "baseline_accuracy": baseline_acc,
        "baseline_bytes": comp.float_model_bytes(base, comp.FP32_BYTES),
        "variants": variants,
        "chosen": chosen,
        "accuracy": variants[chosen]["accuracy"],
        "model_bytes": variants[chosen]["bytes"],
        "bytes_by_precision": {
            "fp32": variants["fp32"]["bytes"],
            "fp16": variants["fp16"]["bytes"],
            "int8": variants[f"int8_{p['quantization']}"]["bytes"],
        },
        "macs": comp.dense_macs(served),
        "n_params": ml.n_params(served),
        "nonzero_weights": int(sum(np.count_nonzero(l["W"]) for l in served)),
        "activation_width": comp.max_activation_width(served),
        "sweep": sweep,
    }


# ==================================================================================================
# Part B: caching, batching, fleets, prices
# ==================================================================================================
_HARMONIC_EXACT_TERMS = 1000


def generalized_harmonic(n: np.ndarray, s: float) -> np.ndarray:
    """``H(n, s) = Σ_{i=1..n} i^-s`` for arrays ``n`` ≥ 0: exact sums up to 1,000 terms, Euler–Maclaurin
    (integral, endpoint and first derivative terms) for the rest — error far below 1e-9 relative."""
    n = np.asarray(n, float)
    m = _HARMONIC_EXACT_TERMS
    partial = np.concatenate([[0.0], np.cumsum(np.arange(1, m + 1, dtype=float) ** -s)])
    head = partial[np.minimum(n, m).astype(np.int64)]
    a, b = float(m), np.maximum(n, m)
    if abs(1.0 - s) < 1e-12:
        integral = np.log(b / a)
    else:
        integral = (b ** (1.0 - s) - a ** (1.0 - s)) / (1.0 - s)
    tail = integral + (b**-s - a**-s) / 2.0 + s * (a ** (-s - 1.0) - b ** (-s - 1.0)) / 12.0
    return head + np.where(n > m, tail, 0.0)


def zipf_hit_rate(cache_entries, n_distinct, s: float) -> np.ndarray:
    """Share of Zipf(s) requests over ``n_distinct`` inputs answered by a cache of the most frequent."""
    k = np.minimum(np.asarray(cache_entries, float), n_distinct)
    return generalized_harmonic(k, s) / generalized_harmonic(np.asarray(n_distinct, float), s)


def batch_time_s(b, batch_overhead_s, request_share_s, weight_bytes, bandwidth_bps, macs, ops_per_s):
    """One batched call of ``b`` requests (roofline with fixed costs, module docstring)."""
    compute = np.maximum(weight_bytes / bandwidth_bps, b * 2.0 * macs / ops_per_s)
    return batch_overhead_s + b * request_share_s + compute


def fleet(
    *,
    batch_size,
    delay_s,
    miss_rps,
    hit_rps,
    slo_s,
    rtt_s,
    batch_overhead_s,
    request_latency_s,
    request_share_s,
    weight_bytes,
    bandwidth_bps,
    macs,
    ops_per_s,
) -> dict[str, np.ndarray]:
    """Smallest real-time fleet meeting the SLO for every broadcast combination of the inputs.

    Candidate fleet sizes (last axis): the saturation minimum plus 0..15, then growing geometrically to
    64× it. Returns instances, p95 (s), utilisation, expected batch, whether the SLO is met, the
    fleet's maximum sustainable request rate and the time of one full batch (s). ``slo_s`` only picks
    among the candidates and ``rtt_s`` only adds to their p95; the candidates are memoised on every
    other input: moving the SLO or the network round trip, or a control that leaves a fleet's inputs as
    they were, costs no new queue solve."""
    inputs = [np.asarray(v, float) for v in (
        batch_size, delay_s, miss_rps, hit_rps, batch_overhead_s, request_latency_s,
        request_share_s, weight_bytes, bandwidth_bps, macs, ops_per_s)]
    key = tuple((a.shape, a.tobytes()) for a in inputs)
    rtt, slo = np.asarray(rtt_s, float)[..., None], np.asarray(slo_s, float)[..., None]
    # Usually one of the smallest candidates meets the SLO: solve those first, and the rest only for
    # the combinations where none does (their pick is among all).
    c = _FLEETS.get(key, lambda: _fleet_candidates(*inputs, candidates=FIRST_CANDIDATES))
    p95 = c["p95_before_network"] + rtt
    ok = c["stable"] & (p95 <= slo)
    need = ~ok.any(axis=-1)
    if need.any():
        first = c
        c = _FLEETS.get((key, need.shape, need.tobytes()), lambda: _joined(first, need, _fleet_candidates(
            *(a[need] for a in np.broadcast_arrays(*inputs, need)[:-1]), candidates=REST_CANDIDATES)))
        p95 = c["p95_before_network"] + rtt
        ok = c["stable"] & (p95 <= slo)
    met = ok.any(axis=-1)
    pick = np.where(met, np.argmax(ok, axis=-1), np.argmin(p95, axis=-1))[..., None]

    def take(a):
        return np.take_along_axis(np.broadcast_to(a, c["candidates"].shape), pick, axis=-1)[..., 0]

    instances = take(c["candidates"])
    return {
        "instances": instances,
        "p95_s": take(p95),
        "utilisation": take(c["rho"]),
        "batch": take(c["b"]),
        "slo_met": met,
        "capacity_rps": instances / c["per_request_busy"],
        "full_batch_s": c["full_batch_s"],
    }


_FLEETS = Memo(32)  # the grid's and the cost ladder's fleets of the last few settings
# Every candidate is solved on its own (elementwise), so solving them in two parts gives the same numbers.
FIRST_CANDIDATES, REST_CANDIDATES = slice(0, 4), slice(4, None)
_PER_CANDIDATE = ("candidates", "p95_before_network", "stable", "rho", "b")


def _joined(first: dict[str, np.ndarray], need: np.ndarray, rest: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``first`` (all combinations, the first candidates) with ``rest`` (the other candidates of the
    combinations where ``need``) on one candidate axis; elsewhere the rest is never picked (a first
    candidate meets the SLO there) and holds no fleet (unstable, infinite p95)."""
    out = dict(first)
    fill = {"candidates": np.nan, "p95_before_network": np.inf, "stable": False, "rho": np.nan, "b": np.nan}
    for name in _PER_CANDIDATE:
        head = np.broadcast_to(first[name], need.shape + first[name].shape[-1:])
        tail = np.full(need.shape + rest[name].shape[-1:], fill[name], dtype=rest[name].dtype)
        tail[need] = rest[name]
        out[name] = np.concatenate([head, tail], axis=-1)
        out[name].flags.writeable = False
    return out


def _fleet_candidates(batch_size, delay_s, miss_rps, hit_rps, batch_overhead_s, request_latency_s,
                      request_share_s, weight_bytes, bandwidth_bps, macs, ops_per_s,
                      candidates: slice = slice(None)) -> dict[str, np.ndarray]:
    """``fleet``'s candidate fleet sizes (the ``candidates`` part of them) with their p95 before the
    network round trip, utilisation and batch (read-only arrays)."""
    args = np.broadcast_arrays(batch_size, delay_s, miss_rps, hit_rps, batch_overhead_s, request_latency_s,
                               request_share_s, weight_bytes, bandwidth_bps, macs, ops_per_s)
    B, d, miss, hit, t0, req_lat, req_share, wbytes, bw, macs_, ops = (a[..., None] for a in args)

    def t(b):
        return batch_time_s(b, t0, req_share, wbytes, bw, macs_, ops)

    t_full = t(B)
    load = miss * t_full / B + hit * req_share  # busy instance-seconds per second at full batches
    n0 = np.maximum(1.0, np.ceil(load))
    candidates = np.concatenate(
        [n0 + np.arange(16.0), np.ceil(n0 * np.geomspace(1.1, 64.0, 16))], axis=-1)[..., candidates]
    lam = miss / candidates  # misses per second reaching one instance
    with np.errstate(divide="ignore", invalid="ignore"):
        # An idle batcher holds the first request until the batch fills or the delay runs out.
        window = np.where((B > 1) & (lam > 0), np.minimum(d, (B - 1.0) / np.where(lam > 0, lam, 1.0)), 0.0)
    b = np.minimum(B, 1.0 + lam * window)
    for _ in range(8):  # fixed point: requests arriving during a batch form the next one
        b = np.minimum(B, np.maximum(1.0 + lam * window, lam * t(b)))
    service = t(b)
    rho = np.minimum(lam / b * service + hit / candidates * req_share, 1.0)  # share of time busy
    # Stable while full batches clear faster than they fill; a greedy batcher below that can be busy
    # all the time (each batch serves what arrived during the last) and still keep up.
    stable = lam * t_full / B + hit / candidates * req_share < 1.0
    gamma = batch_wait_decay(lam * t_full, B, t_full)
    with np.errstate(divide="ignore", invalid="ignore"):
        hit_share = np.where(miss + hit > 0, hit / (miss + hit), 0.0)
        q = np.clip((P95 - hit_share) / np.maximum(1.0 - hit_share, 1e-12), 0.0, 1.0)
    wait = _wait_quantile(q, rho, window, service, gamma)
    p95_miss = np.where(stable, wait + service + req_lat, np.inf)
    p95 = np.where(hit_share >= P95, req_lat, p95_miss)  # the round trip is added by ``fleet``
    per_request_busy = np.where(miss + hit > 0, (1.0 - hit_share) * t_full / B + hit_share * req_share,
                                t_full / B)[..., 0]
    out = {"candidates": candidates, "p95_before_network": p95, "stable": stable, "rho": rho, "b": b,
           "per_request_busy": per_request_busy, "full_batch_s": t_full[..., 0]}
    for a in out.values():
        a.flags.writeable = False
    return out


def batch_wait_decay(arrivals_per_batch, max_batch, batch_time, iterations: int = 60):
    """Decay rate γ (1/s) of the wait behind full batches, ``P(wait > x) ∝ e^{−γx}``.

    With full batches of ``B`` taking ``t(B)`` and ``a = λ·t(B)`` arrivals per batch time, the number
    waiting has the geometric tail ``z^{−n}``, z > 1 the root of ``z^B = e^{a(z−1)}`` (bulk service,
    Bailey 1954), and ``n`` waiting requests wait ``n/B`` batches: γ = B·ln z / t(B). Infinite without
    arrivals; 0 when ``a ≥ B`` (no steady state)."""
    a, B, t = np.broadcast_arrays(*(np.asarray(v, float) for v in (arrivals_per_batch, max_batch, batch_time)))
    # y = ln z is the positive root of f(y) = e^y − 1 − r·y with r = B/a > 1: f is convex with its
    # minimum at ln r, and e^y = 2r(1 + L)² > 1 + r·y at y = L + 2·ln(1 + L) + ln 2 (L = ln r). Newton's
    # method from there, right of the root, falls monotonically onto it (a few steps, quadratic at the
    # end) — the same root the bisection this replaced found, to float rounding.
    r = B / np.maximum(a, 1e-300)
    big_l = np.log(np.maximum(r, 1.0))
    y = np.minimum(big_l + 2.0 * np.log1p(big_l) + math.log(2.0), 700.0)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for i in range(iterations):
            # the exact iterates only fall: a rise is rounding at the root, where y stays
            new_y = np.minimum(y, y - (np.expm1(y) - r * y) / (np.exp(y) - r))
            if i % 4 == 3 and np.array_equal(new_y, y, equal_nan=True):
                break  # converged everywhere
            y = new_y
    gamma = B * y / t
    return np.where(a <= 0, np.inf, np.where(a < B, gamma, 0.0))


def batch_wait_survival(x, busy, window, residual, gamma):
    """P(a request waits longer than ``x`` for its batch to start): an idle batcher (probability
    1 − busy) holds it for a uniform share of the fill ``window``; a busy one for a uniform share of the
    batch in flight (``residual``) plus an Exp(γ) wait behind full batches."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _wait_survival(busy, window, residual, gamma)(x)


def _wait_survival(busy, window, residual, gamma):
    """``batch_wait_survival`` as a function of ``x`` alone, with what does not depend on ``x``
    computed once (the quantile search below evaluates it 42 times). Call under np.errstate."""
    has_window = window > 0
    window_or_1 = np.where(has_window, window, 1.0)
    gt = gamma * residual
    live = np.isfinite(gt) & (gt > 0)
    scale = np.where(live, -np.expm1(-gt) / gt, 0.0)  # (1 − e^{−γt})/(γt)
    has_gamma = gamma > 0
    idle_filling = np.where(has_window, 1.0 - busy, 0.0)  # an idle batcher that holds requests
    # The arithmetic of batch_wait_survival's formula, with signs moved onto the constants
    # (−γ·m = (−γ)·m, −a/b = a/(−b) exactly) and clamps that cannot bind for x ≥ 0 left out.
    neg_gamma, neg_gt = -gamma, -gt

    def survival(x, positive: bool = False):
        """``positive``: every x > 0 (the quantile search), which makes the x ≤ 0 cases moot."""
        if not positive:
            x = np.maximum(x, 0.0)
        fill = np.maximum(1.0 - x / window_or_1, 0.0)  # ≤ 1 as x ≥ 0
        held = np.minimum(x, residual)
        if not positive:
            held = np.where(x > 0, held, 0.0)
        ramp = np.where(live, np.expm1(neg_gamma * held) / neg_gt, 0.0)
        inside = np.maximum(1.0 - x / residual, 0.0) + ramp
        beyond = np.where(has_gamma, np.exp(neg_gamma * (x - residual)) * scale, 1.0)
        busy_part = np.where(x <= residual, inside, beyond)
        return idle_filling * fill + busy * busy_part

    return survival


def _wait_quantile(q, busy, window, residual, gamma, iterations: int = 42):
    """The ``q``-quantile of the wait of ``batch_wait_survival`` (bisection, all entries at once, to
    2^-42 ≈ 2e-13 of the bracket, which is about the size of the answer unless the answer is ~0)."""
    q, busy, window, residual, gamma = np.broadcast_arrays(q, busy, window, residual, gamma)
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.where(np.isfinite(gamma) & (gamma > 0),
                        np.log(np.maximum(busy, 1e-300) / np.maximum(1.0 - q, 1e-300)) / gamma, 0.0)
    lo = np.zeros(q.shape)
    hi = window + 2.0 * residual + np.maximum(tail, 0.0) + 1e-9
    hi = np.where(np.isfinite(hi), hi, 1e9)
    level = 1.0 - q
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        survival = _wait_survival(busy, window, residual, gamma)
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            above = survival(mid, positive=True) > level  # mid > 0: lo ≥ 0 < hi
            lo = np.where(above, mid, lo)
            hi = np.where(above, hi, mid)
    return np.where(gamma > 0, 0.5 * (lo + hi), np.inf)


def hardware_arrays(ids: list[str], precision_axis: bool = True) -> dict[str, np.ndarray]:
    """Catalog columns as arrays of shape (hardware, precision) (or (hardware,) for prices)."""
    frac = catalog()["achievable_fraction_of_peak"]
    rows = [CLOUD[i] for i in ids]
    peak = np.array([[h["peak_tops"][p] for p in PRECISIONS] for h in rows]) * 1e12 * frac
    return {
        "ops_per_s": peak if precision_axis else peak[:, 0],
        "bandwidth_bps": np.array([h["mem_bandwidth_gbs"] for h in rows], float) * 1e9,
        "batch_overhead_s": np.array([h["batch_overhead_us"] for h in rows], float) * 1e-6,
        "request_latency_s": np.array([h["request_overhead_us"] for h in rows], float) * 1e-6,
        "request_share_s": np.array([h["request_overhead_us"] / h["vcpus"] for h in rows], float) * 1e-6,
        "on_demand": np.array([h["price_on_demand_usd_hr"] for h in rows], float),
        "spot": np.array([h["price_spot_usd_hr"] for h in rows], float),
    }


def spot_instances(instances, interruptions_per_day: float):
    """Instances to provision on spot so that, net of replacement gaps, ``instances`` are serving."""
    lost = interruptions_per_day / 24.0 * SPOT_RECOVERY_H
    return np.ceil(np.asarray(instances, float) / (1.0 - lost) - 1e-9)


def cost_per_million(price_per_hour, instances, request_rps):
    """The dashboard's defining identity: dollars per million requests while serving."""
    return price_per_hour * instances / (request_rps * 3600.0) * 1e6


def _price_and_fleet(p, hw, instances):
    """(price per hour of one instance, provisioned instances) for the pricing option."""
    if p["pricing"] == "spot":
        return hw["spot"], spot_instances(instances, p["spot_interruptions_per_day"])
    return hw["on_demand"], np.asarray(instances, float)


def serving_grid_request(p: dict[str, Any], part_a: dict[str, Any], hit_rate: float) -> dict[str, Any]:
    """``fleet``'s inputs for every cloud hardware × precision × batch size (broadcast to that shape)."""
    hw = hardware_arrays(list(CLOUD))
    weight_bytes = np.array([part_a["bytes_by_precision"][q] for q in PRECISIONS], float)
    rps = p["request_rps"]
    return dict(
        batch_size=BATCH_GRID[None, None, :],
        delay_s=p["max_queue_delay_ms"] / 1e3,
        miss_rps=rps * (1.0 - hit_rate),
        hit_rps=rps * hit_rate,
        slo_s=p["slo_ms"] / 1e3,
        rtt_s=p["network_rtt_ms"] / 1e3,
        batch_overhead_s=hw["batch_overhead_s"][:, None, None],
        request_latency_s=hw["request_latency_s"][:, None, None],
        request_share_s=hw["request_share_s"][:, None, None],
        weight_bytes=weight_bytes[None, :, None],
        bandwidth_bps=hw["bandwidth_bps"][:, None, None],
        macs=part_a["macs"],
        ops_per_s=hw["ops_per_s"][:, :, None],
    )


def serving_grid(p: dict[str, Any], res: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every cloud hardware × precision × batch size for the scenario's traffic, cache and SLO, from the
    fleets solved for ``serving_grid_request``."""
    ids = list(CLOUD)
    hw = hardware_arrays(ids)
    price, provisioned = _price_and_fleet(p, {k: hw[k][:, None, None] for k in ("spot", "on_demand")},
                                          res["instances"])
    shape = (len(ids), len(PRECISIONS), BATCH_GRID.size)
    return {
        "hardware": np.broadcast_to(np.array(ids)[:, None, None], shape).ravel(),
        "precision": np.broadcast_to(np.array(PRECISIONS)[None, :, None], shape).ravel(),
        "batch_size": np.broadcast_to(BATCH_GRID[None, None, :], shape).ravel(),
        "p95_ms": (res["p95_s"] * 1e3).ravel(),
        "instances": provisioned.ravel(),
        "cost_per_million": cost_per_million(price, provisioned, p["request_rps"]).ravel(),
        "slo_met": res["slo_met"].ravel(),
        "capacity_rps": res["capacity_rps"].ravel(),
        "price_per_hour": np.broadcast_to(price, shape).ravel(),
    }


def fleets(requests: list[dict[str, Any]]) -> list[dict[str, np.ndarray]]:
    """``fleet`` for several requests (each its keyword inputs, broadcast within itself) in one call.
    ``fleet`` works elementwise, so each gets the numbers a call of its own would give, for the fixed
    cost of one queue solve (most of a solve in Pyodide)."""
    names = list(requests[0])
    shapes, columns = [], {k: [] for k in names}
    for request in requests:
        arrays = np.broadcast_arrays(*(np.asarray(request[k], float) for k in names))
        shapes.append(arrays[0].shape)
        for k, a in zip(names, arrays):
            columns[k].append(a.ravel())
    solved = fleet(**{k: np.concatenate(v) for k, v in columns.items()})
    out, start = [], 0
    for shape in shapes:
        end = start + math.prod(shape)
        out.append({k: v[start:end].reshape(shape) for k, v in solved.items()})
        start = end
    return out


def serving_and_ladder(p: dict[str, Any], part_a: dict[str, Any], hit_rate: float,
                       n_distinct: int) -> tuple[dict[str, np.ndarray], dict[str, list]]:
    """The serving grid and the cost ladder. Their fleets are solved in one ``fleets`` call, but for the
    large model's rung: it does not depend on the dashboard's model, so on its own it stays memoised
    when that model changes (a retrain then costs one queue solve instead of three)."""
    rungs = ladder_rungs(p, part_a, n_distinct)
    own = [label for label, rung in rungs.items() if not rung["large"]]
    solved = fleets([serving_grid_request(p, part_a, hit_rate)] + [rungs[label]["request"] for label in own])
    results = dict(zip(own, solved[1:]))
    results.update({label: fleet(**rung["request"]) for label, rung in rungs.items() if rung["large"]})
    return serving_grid(p, solved[0]), cost_ladder(p, part_a, rungs, results)


def pareto_front(p95: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Points no other point beats on both latency and cost."""
    order = np.lexsort((cost, p95))
    best_so_far = np.minimum.accumulate(cost[order])
    on = np.zeros(p95.size, bool)
    on[order] = cost[order] <= np.concatenate([[np.inf], best_so_far[:-1]]) * (1 - 1e-12)
    return on & np.isfinite(p95)


def edge_serving(p: dict[str, Any], part_a: dict[str, Any]) -> dict[str, Any]:
    """One prediction on the reader's device. No shared prediction cache: each device sees only its own
    user's inputs, and a shared cache would put the network hop back."""
    device = EDGE[p["edge_device"]]
    frac = catalog()["achievable_fraction_of_peak"]
    precision = p["precision"]
    ops = device["peak_tops"][precision] * 1e12 * frac
    latency = device["overhead_us"] * 1e-6 + 2.0 * part_a["macs"] / ops
    p95 = latency  # one user, one request at a time: no queue
    need = part_a["model_bytes"] + 2 * part_a["activation_width"] * VALUE_BYTES[precision]
    return {
        "p95_ms": p95 * 1e3,
        "latency_ms": latency * 1e3,
        "throughput_rps": 1.0 / latency,
        "memory_needed_bytes": need,
        "memory_budget_bytes": device["memory_budget_bytes"],
        "fits_on_device": need <= device["memory_budget_bytes"],
        "energy_mj_per_prediction": device["power_w"] * latency * 1e3,
    }


LADDER_CPU, LADDER_GPU = "c7i_xlarge", "g4dn_xlarge"


def _ladder_hardware() -> tuple[dict[str, np.ndarray], dict[str, int], dict[str, int]]:
    """The ladder's hardware as arrays, the row of each hardware id and the column of each precision."""
    ids = [LADDER_CPU, LADDER_GPU, LARGE_MODEL_HARDWARE]
    return hardware_arrays(ids), {h: i for i, h in enumerate(ids)}, {q: i for i, q in enumerate(PRECISIONS)}


def ladder_rungs(p: dict[str, Any], part_a: dict[str, Any], n_distinct: int) -> dict[str, dict[str, Any]]:
    """The ladder's real-time rungs in its order: label -> hardware, precision, instance scale, whether
    it is the large model, and ``fleet``'s inputs."""
    rps = p["request_rps"]
    hw, idx, qi = _ladder_hardware()
    rungs: dict[str, dict[str, Any]] = {}

    def realtime(label, h, prec, hit_rate, *, wbytes, macs, scale=1.0, large=False):
        i = idx[h]
        rungs[label] = {"hardware": h, "precision": prec, "scale": scale, "large": large, "request": {
            "batch_size": p["batch_size"], "delay_s": p["max_queue_delay_ms"] / 1e3,
            "miss_rps": rps * (1 - hit_rate), "hit_rps": rps * hit_rate,
            "slo_s": p["slo_ms"] / 1e3, "rtt_s": p["network_rtt_ms"] / 1e3,
            "batch_overhead_s": hw["batch_overhead_s"][i], "request_latency_s": hw["request_latency_s"][i],
            "request_share_s": hw["request_share_s"][i] / scale, "weight_bytes": wbytes,
            "bandwidth_bps": hw["bandwidth_bps"][i] * scale, "macs": macs,
            "ops_per_s": hw["ops_per_s"][i, qi[prec]] * scale}}

    table_hit = float(zipf_hit_rate(min(n_distinct, CACHE_TABLE_LIMIT), n_distinct, p["zipf_s"]))
    realtime("1 cached predictions", LADDER_CPU, "int8", table_hit,
             wbytes=part_a["bytes_by_precision"]["int8"], macs=part_a["macs"])
    realtime("4 quantized real-time on CPU", LADDER_CPU, "int8", 0.0,
             wbytes=part_a["bytes_by_precision"]["int8"], macs=part_a["macs"])
    realtime("5 real-time on GPU", LADDER_GPU, "fp32", 0.0,
             wbytes=part_a["bytes_by_precision"]["fp32"], macs=part_a["macs"])
    big = large_model_gpus(p["large_model_gparams"])
    realtime(f"6 large model ({p['large_model_gparams']:g}B params) on {big['gpus']} GPUs",
             LARGE_MODEL_HARDWARE, "fp16", 0.0, wbytes=big["bytes"], macs=big["macs"],
             scale=float(big["gpus"]), large=True)
    return rungs


def cost_ladder(p: dict[str, Any], part_a: dict[str, Any], rungs: dict[str, dict[str, Any]],
                solved: dict[str, dict[str, np.ndarray]]) -> dict[str, list]:
    """The lesson's cost hierarchy, each rung evaluated for this scenario's traffic and SLO: the
    real-time ``rungs`` with their ``solved`` fleets (by label), and the offline batch rungs."""
    rps = p["request_rps"]
    hw, idx, qi = _ladder_hardware()
    rows = {"rung": [], "hardware": [], "precision": [], "mode": [], "p95_ms": [], "instances": [],
            "cost_per_million": [], "slo_met": [], "step_ms": []}

    def add_realtime(label):
        rung, res = rungs[label], solved[label]
        n = float(res["instances"])
        price = hw["on_demand"][idx[rung["hardware"]]] * rung["scale"]
        add(label, rung["hardware"], rung["precision"], "real-time", float(res["p95_s"]) * 1e3, n,
            float(cost_per_million(price, n, rps)), bool(res["slo_met"]), float(res["full_batch_s"]) * 1e3)

    def offline(label, h, prec):
        i = idx[h]
        per_batch = batch_time_s(OFFLINE_BATCH, hw["batch_overhead_s"][i], hw["request_share_s"][i],
                                 part_a["bytes_by_precision"][prec], hw["bandwidth_bps"][i],
                                 part_a["macs"], hw["ops_per_s"][i, qi[prec]])
        throughput = OFFLINE_BATCH / per_batch  # a batch job keeps the instance fully busy
        # Spot fits batch jobs: an interruption only delays the job.
        add(label, h, prec, "batch (offline, spot)", None, math.ceil(rps / throughput),
            float(cost_per_million(hw["spot"][i], 1.0, throughput)), True, float(per_batch) * 1e3)

    def add(*values):
        for key, value in zip(rows, values):
            rows[key].append(value)

    labels = list(rungs)
    add_realtime(labels[0])
    offline("2 quantized batch on CPU", LADDER_CPU, "int8")
    offline("3 batch on GPU", LADDER_GPU, "fp32")
    for label in labels[1:]:
        add_realtime(label)
    return rows


def large_model_gpus(gparams: float) -> dict[str, Any]:
    """fp16 weights of a ``gparams``-billion-parameter model, split over a power of two of H100s."""
    weights = 2.0 * gparams * 1e9
    memory = CLOUD[LARGE_MODEL_HARDWARE]["memory_gb"] * 1e9
    need = max(1, math.ceil(weights * LARGE_MODEL_MEMORY_HEADROOM / memory))
    return {"bytes": weights, "macs": gparams * 1e9, "gpus": 2 ** math.ceil(math.log2(need))}


# ==================================================================================================
# simulate
# ==================================================================================================
def simulate(p: dict[str, Any]) -> dict[str, Any]:
    part_a = optimise(p)
    n_distinct = (ml.distinct_feature_rows() if p["input_space"] == "titanic"
                  else p["distinct_inputs"])
    hit_rate = float(zipf_hit_rate(p["cache"], n_distinct, p["zipf_s"]))
    grid, ladder = serving_and_ladder(p, part_a, hit_rate, n_distinct)
    front = pareto_front(grid["p95_ms"], grid["cost_per_million"])
    meets = grid["slo_met"]
    # Cheapest configuration meeting the SLO; ties (precision rarely matters for a model this small)
    # go to the lower latency.
    cheapest = int(np.lexsort((grid["p95_ms"], np.where(meets, grid["cost_per_million"], np.inf)))[0]) \
        if meets.any() else -1

    hours_billed = HOURS_PER_MONTH * (p["active_hours_per_day"] / 24.0 if p["autoscale_to_zero"] else 1.0)
    monthly_requests = p["request_rps"] * 3600.0 * HOURS_PER_MONTH * p["active_hours_per_day"] / 24.0

    if p["deployment"] == "cloud":
        pick = ((grid["hardware"] == p["hardware"]) & (grid["precision"] == p["precision"])
                & (grid["batch_size"] == p["batch_size"]))
        if pick.any():
            i = int(np.argmax(pick))
            chosen = {k: v[i] for k, v in grid.items()}
        else:  # batch size off the chart's grid: evaluate this one configuration
            chosen = _single_config(p, part_a, hit_rate)
        instances = float(chosen["instances"])
        price = float(chosen["price_per_hour"])
        serving = {
            "p95_ms": float(chosen["p95_ms"]),
            "throughput_rps": float(chosen["capacity_rps"]),
            "instances": instances,
            "slo_met": bool(chosen["slo_met"]),
            "price_per_hour": price,
            "cost_per_million": float(cost_per_million(price, instances, p["request_rps"])),
            "monthly_cost_usd": price * instances * hours_billed,
            "fits_on_device": part_a["model_bytes"] <= CLOUD[p["hardware"]]["memory_gb"] * 1e9,
        }
    else:
        edge = edge_serving(p, part_a)
        hit_rate = 0.0
        serving = {
            "p95_ms": edge["p95_ms"],
            "throughput_rps": edge["throughput_rps"],
            "instances": 0.0,
            "slo_met": bool(edge["p95_ms"] <= p["slo_ms"] and edge["fits_on_device"]),
            "price_per_hour": 0.0,
            "cost_per_million": 0.0,  # no cloud bill: the reader's device does the work
            "monthly_cost_usd": 0.0,
            "fits_on_device": bool(edge["fits_on_device"]),
        }
    effective = serving["monthly_cost_usd"] / monthly_requests * 1e6

    metrics = {
        "accuracy": part_a["accuracy"],
        "accuracy_delta": part_a["accuracy"] - part_a["baseline_accuracy"],
        "model_bytes": part_a["model_bytes"],
        "p95_ms": serving["p95_ms"],
        "throughput_rps": serving["throughput_rps"],
        "instances": serving["instances"],
        "cache_hit_rate": hit_rate,
        "cost_per_million": serving["cost_per_million"],
        "monthly_cost_usd": serving["monthly_cost_usd"],
        "fits_on_device": serving["fits_on_device"],
        "slo_met": serving["slo_met"],
        "baseline_accuracy": part_a["baseline_accuracy"],
        "baseline_bytes": part_a["baseline_bytes"],
        "compression_ratio": part_a["baseline_bytes"] / part_a["model_bytes"],
        "distinct_inputs": n_distinct,
        "cost_per_million_incl_idle": effective,
        "price_per_hour": serving["price_per_hour"],
    }
    if p["deployment"] == "edge":
        edge_keys = ("memory_needed_bytes", "memory_budget_bytes", "energy_mj_per_prediction")
        metrics.update({k: edge[k] for k in edge_keys})
    units = {
        "accuracy": "", "accuracy_delta": "", "model_bytes": "B", "p95_ms": "ms",
        "throughput_rps": "req/s", "instances": "", "cache_hit_rate": "", "cost_per_million": "USD",
        "monthly_cost_usd": "USD", "baseline_bytes": "B", "cost_per_million_incl_idle": "USD",
        "price_per_hour": "USD/h", "memory_needed_bytes": "B", "memory_budget_bytes": "B",
        "energy_mj_per_prediction": "mJ",
    }

    variants = part_a["variants"]
    precision_table = {
        "columns": ["variant", "accuracy", "accuracy_delta", "bytes"],
        "rows": [[name, v["accuracy"], v["accuracy"] - part_a["baseline_accuracy"], v["bytes"]]
                 for name, v in variants.items()],
    }
    ladder_table = {"columns": list(ladder), "rows": [list(r) for r in zip(*ladder.values())]}

    cache_sizes = np.unique(np.round(np.geomspace(1, CACHE_TABLE_LIMIT, 37)))
    populations = [("Titanic rows", ml.distinct_feature_rows()), ("10 thousand", 10_000),
                   ("1 million", 1_000_000), ("1 billion", 1_000_000_000)]
    hit_curve = {
        "cache_entries": np.tile(cache_sizes, len(populations)),
        "distinct_inputs": np.repeat([f"{name} (N={n:,})" for name, n in populations], cache_sizes.size),
        "hit_rate": np.concatenate([zipf_hit_rate(cache_sizes, n, p["zipf_s"]) for _, n in populations]),
    }

    return {
        "metrics": metrics,
        "units": units,
        "series": {
            "pareto": {**grid, "on_front": front, "cheapest_meeting_slo": np.arange(front.size) == cheapest},
            "sparsity_sweep": part_a["sweep"],
            "cache_hit_curve": hit_curve,
            "ladder": ladder,
        },
        "tables": {"precision": precision_table, "ladder": ladder_table},
    }


def _single_config(p: dict[str, Any], part_a: dict[str, Any], hit_rate: float) -> dict[str, Any]:
    hw = hardware_arrays([p["hardware"]])
    qi = PRECISIONS.index(p["precision"])
    res = fleet(batch_size=p["batch_size"], delay_s=p["max_queue_delay_ms"] / 1e3,
                miss_rps=p["request_rps"] * (1 - hit_rate), hit_rps=p["request_rps"] * hit_rate,
                slo_s=p["slo_ms"] / 1e3, rtt_s=p["network_rtt_ms"] / 1e3,
                batch_overhead_s=hw["batch_overhead_s"][0], request_latency_s=hw["request_latency_s"][0],
                request_share_s=hw["request_share_s"][0],
                weight_bytes=part_a["bytes_by_precision"][p["precision"]],
                bandwidth_bps=hw["bandwidth_bps"][0], macs=part_a["macs"], ops_per_s=hw["ops_per_s"][0, qi])
    price, provisioned = _price_and_fleet(p, {k: hw[k][0] for k in ("spot", "on_demand")}, res["instances"])
    return {"p95_ms": float(res["p95_s"]) * 1e3, "instances": float(provisioned),
            "price_per_hour": float(price), "capacity_rps": float(res["capacity_rps"]),
            "slo_met": bool(res["slo_met"])}


# ==================================================================================================
# charts
# ==================================================================================================


def _records(columns: dict[str, Any], keep=None) -> list[dict[str, Any]]:
    keys = list(columns)
    rows = [dict(zip(keys, values)) for values in zip(*(columns[k] for k in keys))]
    return [r for r in rows if keep is None or keep(r)]


def _finite(*names):
    return lambda r: all(isinstance(r[n], (int, float)) and math.isfinite(r[n]) and r[n] > 0 for n in names)


PARETO_CHART_FIELDS = ("hardware", "precision", "batch_size", "p95_ms", "cost_per_million", "instances")


def charts(result: dict[str, Any]) -> list[dict[str, Any]]:
    params, series = result["params"], result["series"]
    slo = params["slo_ms"]
    pareto = _records(series["pareto"], _finite("p95_ms", "cost_per_million"))
    cheapest = [i for i, r in enumerate(pareto) if r["cheapest_meeting_slo"]]
    front = sorted((i for i, r in enumerate(pareto) if r["on_front"]), key=lambda i: pareto[i]["p95_ms"])
    # Each point carries only what the chart draws or its tooltip shows: the data goes to the page on
    # every change, and the pareto grid is most of it.
    pareto = [{k: r[k] for k in PARETO_CHART_FIELDS} | {"meets": "meets SLO" if r["slo_met"] else "misses SLO"}
              for r in pareto]
    cheapest, front = [pareto[i] for i in cheapest], [pareto[i] for i in front]
    log = {"type": "log"}
    tooltip = [{"field": f, "type": t} for f, t in (
        ("hardware", "nominal"), ("precision", "nominal"), ("batch_size", "quantitative"),
        ("p95_ms", "quantitative"), ("cost_per_million", "quantitative"), ("instances", "quantitative"))]
    x = {"field": "p95_ms", "type": "quantitative", "scale": {"zero": False}, "title": "p95 latency (ms)"}
    y = {"field": "cost_per_million", "type": "quantitative", "scale": log,
         "title": "cost per million predictions (USD)"}
    pareto_layers = [
        {"data": {"values": pareto}, "mark": {"type": "point", "filled": True},
         "encoding": {"x": x, "y": y, "color": {"field": "hardware", "type": "nominal"},
                      "shape": {"field": "precision", "type": "nominal"},
                      "opacity": {"field": "meets", "type": "nominal",
                                  "scale": {"domain": ["meets SLO", "misses SLO"], "range": [0.9, 0.2]}},
                      "tooltip": tooltip}},
        {"data": {"values": front}, "mark": {"type": "line", "color": "#555", "strokeDash": [4, 3]},
         "encoding": {"x": x, "y": y, "order": {"field": "p95_ms", "type": "quantitative"}}},
        {"data": {"values": [{"slo_ms": slo}]}, "mark": {"type": "rule", "color": "#c0392b"},
         "encoding": {"x": {"field": "slo_ms", "type": "quantitative"}}},
    ]
    if cheapest:
        pareto_layers += [
            {"data": {"values": cheapest},
             "mark": {"type": "point", "size": 400, "strokeWidth": 3, "color": "#000", "filled": False},
             "encoding": {"x": x, "y": y, "tooltip": tooltip}},
            {"data": {"values": [dict(r, label=f"cheapest meeting SLO: {r['hardware']} {r['precision']} "
                                          f"batch {r['batch_size']}") for r in cheapest]},
             "mark": {"type": "text", "align": "left", "dx": 12, "dy": -12},
             "encoding": {"x": x, "y": y, "text": {"field": "label"}}},
        ]
    sweep = _records(series["sparsity_sweep"])
    precision_rows = [dict(zip(result["tables"]["precision"]["columns"], row))
                      for row in result["tables"]["precision"]["rows"]]
    accs = [r["accuracy"] for r in precision_rows]
    # A fixed padding keeps equal accuracies readable (a zero-width domain renders one blank tick).
    acc_domain = [max(0.0, math.floor(min(accs) * 50 - 1) / 50), min(1.0, math.ceil(max(accs) * 50 + 1) / 50)]
    ladder = _records(series["ladder"], _finite("cost_per_million"))
    for r in ladder:
        # The time of one full batch: for the large model it is weights / memory bandwidth, whatever b.
        step = f", full batch {r['step_ms']:.3g} ms"
        r["latency"] = ("offline" if r["p95_ms"] is None else f"p95 {r['p95_ms']:.3g} ms") + step
    hits = _records(series["cache_hit_curve"])

    return [
        {"name": "pareto", "title": "Cost per million predictions against p95 latency",
         "spec": {"$schema": VEGA_LITE_SCHEMA, "width": "container", "height": 320, "layer": pareto_layers}},
        {"name": "sparsity", "title": "Test accuracy against sparsity (magnitude pruning)",
         "spec": {"$schema": VEGA_LITE_SCHEMA, "width": "container", "height": 240,
                  "layer": [
                      {"data": {"values": sweep}, "mark": {"type": "line", "point": True},
                       "encoding": {
                           "x": {"field": "sparsity", "type": "quantitative", "title": "share of weights pruned",
                                 "axis": {"format": ".0%"}},
                           "y": {"field": "accuracy", "type": "quantitative", "scale": {"zero": False},
                                 "axis": {"format": ".1%"}, "title": "held-out accuracy"},
                           "color": {"field": "variant", "type": "nominal"},
                           "tooltip": [{"field": "sparsity"}, {"field": "variant"}, {"field": "accuracy"}]}},
                      {"data": {"values": [{"sparsity": params["sparsity"]}]},
                       "mark": {"type": "rule", "strokeDash": [4, 3]},
                       "encoding": {"x": {"field": "sparsity", "type": "quantitative"}}}]}},
        {"name": "precision", "title": "Model size and accuracy per precision",
         "spec": {"$schema": VEGA_LITE_SCHEMA, "data": {"values": precision_rows},
                  "hconcat": [
                      {"width": 220, "height": 180, "mark": "bar",
                       "encoding": {"x": {"field": "variant", "type": "nominal", "sort": None},
                                    "y": {"field": "bytes", "type": "quantitative", "title": "bytes"},
                                    "tooltip": [{"field": "variant"}, {"field": "bytes"}]}},
                      {"width": 220, "height": 180, "mark": {"type": "point", "filled": True, "size": 80},
                       "encoding": {"x": {"field": "variant", "type": "nominal", "sort": None},
                                    "y": {"field": "accuracy", "type": "quantitative",
                                          "scale": {"domain": acc_domain}, "axis": {"format": ".1%"},
                                          "title": "held-out accuracy"},
                                    "tooltip": [{"field": "variant"}, {"field": "accuracy"}]}}]}},
        {"name": "ladder", "title": "The cost ladder for this scenario",
         "spec": {"$schema": VEGA_LITE_SCHEMA, "width": "container", "height": 220, "data": {"values": ladder},
                  "encoding": {"y": {"field": "rung", "type": "nominal", "sort": None, "title": None},
                               "x": {"field": "cost_per_million", "type": "quantitative", "scale": log,
                                     "title": "cost per million predictions (USD)"}},
                  "layer": [
                      {"mark": {"type": "point", "filled": True, "size": 90},
                       "encoding": {"color": {"field": "mode", "type": "nominal"},
                                    "tooltip": [{"field": "rung"}, {"field": "hardware"},
                                                {"field": "precision"}, {"field": "cost_per_million"},
                                                {"field": "latency"}, {"field": "instances"}]}},
                      {"mark": {"type": "text", "align": "left", "dx": 8},
                       "encoding": {"text": {"field": "latency"}}}]}},
        {"name": "cache", "title": "Prediction-cache hit rate against cache size (Zipf requests)",
         "spec": {"$schema": VEGA_LITE_SCHEMA, "width": "container", "height": 220,
                  "layer": [
                      {"data": {"values": hits}, "mark": "line",
                       "encoding": {"x": {"field": "cache_entries", "type": "quantitative", "scale": log,
                                          "title": "cache entries"},
                                    "y": {"field": "hit_rate", "type": "quantitative",
                                          "scale": {"domain": [0, 1]}, "title": "hit rate"},
                                    "color": {"field": "distinct_inputs", "type": "nominal",
                                              "sort": None, "title": "distinct inputs"}}},
                      {"data": {"values": [{"cache_entries": max(params["cache"], 1)}]},
                       "mark": {"type": "rule", "strokeDash": [4, 3]},
                       "encoding": {"x": {"field": "cache_entries", "type": "quantitative"}}}]}},
    ]


def describe(result: dict[str, Any], metrics: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The result in one sentence and one line per chart (screen readers, small screens)."""
    text = {name: shown["text"] for name, shown in metrics.items()}
    params, series, m = result["params"], result["series"], result["metrics"]
    sentence = (f"Accuracy {text['accuracy']} ({text['accuracy_delta']} vs fp32), p95 {text['p95_ms']}, "
                f"{text['instances']} instances, {text['cost_per_million']} per million predictions, "
                f"{text['monthly_cost_usd']} a month.")
    pareto = _records(series["pareto"], _finite("p95_ms", "cost_per_million"))
    meeting = [r for r in pareto if r["slo_met"]]
    cheapest = next((r for r in pareto if r["cheapest_meeting_slo"]), None)
    slo = format_value(params["slo_ms"], ".3g", "ms")
    best = (f"the cheapest that does: {cheapest['hardware']} {cheapest['precision']} batch {cheapest['batch_size']}, "
            f"{format_value(cheapest['cost_per_million'], ',.4g', 'USD')} per million" if cheapest else "none does")
    sweep = [r for r in _records(series["sparsity_sweep"]) if r["variant"] == "fp32"] or _records(series["sparsity_sweep"])
    first, last = min(sweep, key=lambda r: r["sparsity"]), max(sweep, key=lambda r: r["sparsity"])
    table = result["tables"]["precision"]
    precision = [dict(zip(table["columns"], row)) for row in table["rows"]]
    ladder = sorted(_records(series["ladder"], _finite("cost_per_million")), key=lambda r: r["cost_per_million"])
    ladder_line = (f"Cheapest rung: {ladder[0]['rung']}, {format_value(ladder[0]['cost_per_million'], ',.4g', 'USD')}"
                   f" per million; dearest: {ladder[-1]['rung']}, "
                   f"{format_value(ladder[-1]['cost_per_million'], ',.4g', 'USD')}." if ladder else "No rung has a cost.")
    groups = list(dict.fromkeys(series["cache_hit_curve"]["distinct_inputs"]))
    return {
        "sentence": sentence,
        "charts": {
            "pareto": f"{len(pareto)} configurations, {len(meeting)} meet the {slo} SLO; {best}.",
            "sparsity": (f"{first['variant']} accuracy {format_value(first['accuracy'], '.1%')} with "
                         f"{format_value(first['sparsity'], '.0%')} of weights pruned, "
                         f"{format_value(last['accuracy'], '.1%')} with {format_value(last['sparsity'], '.0%')}; "
                         f"the dashed line marks the chosen {format_value(params['sparsity'], '.0%')}."),
            "precision": "Size and accuracy: " + ", ".join(
                f"{r['variant']} {format_value(r['bytes'], ',.0f', 'B')} at {format_value(r['accuracy'], '.1%')}"
                for r in precision) + ".",
            "ladder": ladder_line,
            "cache": (f"Hit rate against cache size for {len(groups)} input sets; this scenario's "
                      f"{format_value(params['cache'], ',.0f')} entries hit {text['cache_hit_rate']} "
                      f"(at most {format_value(max(series['cache_hit_curve']['hit_rate'], default=None), '.1%')})."),
        },
    }


# ==================================================================================================
# widget
# ==================================================================================================
def check(p: dict[str, Any]) -> None:
    if p["distill"] and p["model"] != "mlp":
        raise ParamError("distill", "needs model=mlp (the MLP is the teacher the student learns from)")
    if p["distill"] and p["student_hidden"] >= p["mlp_hidden"]:
        raise ParamError("student_hidden", f"{p['student_hidden']} must be smaller than mlp_hidden "
                                           f"({p['mlp_hidden']}) so the student is the smaller model")


PARAMS = (
    Param("model", "Model", "choice", "mlp", choices=("logistic", "mlp"), group="model",
          help="Logistic regression or a one-hidden-layer MLP, trained on the Titanic training split."),
    Param("mlp_hidden", "MLP hidden units", "int", 16, min=2, max=64, step=1, group="model"),
    Param("precision", "Precision", "choice", "int8", choices=PRECISIONS, group="model",
          help="fp16 casts weights and arithmetic; int8 runs integer-only inference."),
    Param("quantization", "int8 scales", "choice", "per_tensor", choices=("per_tensor", "per_channel"),
          group="model", help="One scale and zero point per weight tensor or per output channel."),
    Param("sparsity", "Sparsity", "float", 0.5, min=0.0, max=0.95, step=0.05, group="model",
          help="Share of weights removed by global magnitude pruning."),
    Param("finetune_steps", "Fine-tuning steps after pruning", "int", 100, min=0, max=500, step=50,
          group="model"),
    Param("distill", "Distil into a smaller MLP", "bool", False, group="model"),
    Param("student_hidden", "Student hidden units", "int", 4, min=1, max=32, step=1, group="model"),
    Param("temperature", "Distillation temperature", "float", 4.0, min=1.0, max=10.0, step=0.5,
          group="model"),
    Param("hard_label_weight", "Distillation: weight of the true labels", "float", 0.1, min=0.0, max=1.0,
          step=0.05, group="model", help="Share of the student's loss on the true labels; the rest is on the "
                                          "teacher's softened outputs (Hinton et al. 2015)."),
    Param("seed", "Seed (split and training)", "int", 0, min=0, max=99, step=1, group="model"),
    Param("deployment", "Deployment", "choice", "cloud", choices=("cloud", "edge"), group="serving"),
    Param("hardware", "Cloud hardware", "choice", "c7i_xlarge", choices=tuple(CLOUD), group="serving"),
    Param("edge_device", "Edge device", "choice", "raspberry_pi_5", choices=tuple(EDGE), group="serving"),
    Param("pricing", "Pricing", "choice", "on_demand", choices=("on_demand", "spot"), group="serving"),
    Param("spot_interruptions_per_day", "Spot interruptions per instance-day", "float", 0.5, min=0.0,
          max=24.0, step=0.1, group="serving"),
    Param("batch_size", "Max batch size", "int", 8, min=1, max=1024, step=1, log=True, group="serving"),
    Param("max_queue_delay_ms", "Max queue delay", "float", 5.0, unit="ms", min=0.0, max=1000.0, step=0.5,
          group="serving", help="How long the dynamic batcher waits to fill a batch."),
    Param("request_rps", "Request rate", "float", 20000.0, unit="req/s", min=0.1, max=1e6, log=True,
          group="traffic"),
    Param("slo_ms", "Latency SLO (p95)", "float", 50.0, unit="ms", min=1.0, max=10000.0, log=True,
          group="traffic"),
    Param("network_rtt_ms", "Network round trip", "float", 20.0, unit="ms", min=0.0, max=500.0, step=1.0,
          group="traffic", help="Paid by every cloud request; on-device inference skips it."),
    Param("cache", "Prediction cache entries", "int", 64, min=0, max=CACHE_TABLE_LIMIT, log=True,
          group="traffic", help="Exact-match cache of the most frequent inputs; 0 turns it off."),
    Param("zipf_s", "Zipf exponent of request inputs", "float", 1.0, min=0.0, max=2.0, step=0.05,
          group="traffic", help="0 = every input equally likely; larger = a few inputs dominate."),
    Param("input_space", "Distinct inputs", "choice", "titanic", choices=("titanic", "custom"),
          group="traffic", help="titanic: the distinct passenger feature rows; custom: distinct_inputs."),
    Param("distinct_inputs", "Distinct inputs (custom)", "int", 1_000_000, min=1, max=1_000_000_000,
          log=True, group="traffic"),
    Param("active_hours_per_day", "Active hours per day", "float", 24.0, unit="h", min=1.0, max=24.0,
          step=1.0, group="traffic"),
    Param("autoscale_to_zero", "Scale to zero when idle", "bool", False, group="traffic"),
    Param("large_model_gparams", "Ladder: large model size", "float", 70.0, unit="B params", min=1.0,
          max=1000.0, log=True, group="traffic"),
)

WIDGET = Widget(
    type="cost_performance_dashboard",
    title="Cost-performance dashboard",
    summary="Quantize, prune and distil the Titanic model for real, then price serving it across "
            "hardware, batching, caching, spot and edge.",
    params=PARAMS,
    simulate=simulate,
    charts=charts,
    metrics=(
        Metric("accuracy", "Test accuracy", "", ".1%"),
        Metric("accuracy_delta", "Accuracy change vs fp32", "", "+.1%"),
        Metric("model_bytes", "Model size", "B", ",.0f"),
        Metric("p95_ms", "p95 latency", "ms", ".3g"),
        Metric("throughput_rps", "Fleet capacity", "req/s", ",.0f"),
        Metric("instances", "Instances", "", ",.0f"),
        Metric("cache_hit_rate", "Cache hit rate (static top-k bound)", "", ".1%"),
        Metric("cost_per_million", "Cost per million", "USD", ",.4g"),
        Metric("monthly_cost_usd", "Monthly cost", "USD", ",.2f"),
        Metric("fits_on_device", "Fits on device", "", ""),
    ),
    check=check,
    key_metrics=("accuracy", "p95_ms", "instances", "cost_per_million", "monthly_cost_usd", "cache_hit_rate"),
    describe=describe,
    # the defaults: compiles the training and queue code and fills their memos (~210 ms in Pyodide under
    # Node); the first move then costs 99 ms, not 250 (mlp_hidden, measured)
    warm_up={},
    warm_up_steps=warm_up_steps,
)
