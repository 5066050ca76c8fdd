"""Cluster model for training a GPT-style transformer with data, tensor and pipeline parallelism.

Every function accepts numpy arrays (or scalars) and broadcasts, so a scaling curve over thousands of
GPU counts is one call. Units: bytes, FLOPs, seconds unless a name says otherwise.

Sources
-------
* Narayanan et al. 2021, "Efficient Large-Scale Language Model Training on GPU Clusters Using
  Megatron-LM", arXiv 2104.04473 (SC'21).
  - parameters P = 12·l·h²·(1 + 13/(12h) + (V+s)/(12·l·h))  (l layers, hidden h, vocabulary V,
    sequence s; position embeddings included);
  - FLOPs per iteration with full activation recomputation F = 96·B·s·l·h²·(1 + s/(6h) + V/(16·l·h)).
    Its derivation counts a layer's forward pass as 24·B·s·h² + 4·B·s²·h FLOPs and the logit layer
    as 2·B·s·h·V; the backward pass costs twice the forward and full recomputation adds one more
    forward of every layer (not of the logit layer): 4·24 = 96 for the layers, 3·2 = 6 for the logits.
    Dropping the recomputed forward gives the model FLOPs used for MFU:
    F_model = 72·B·s·l·h²·(1 + s/(6h) + V/(12·l·h)).
    Selective recomputation (Korthikanti et al.) recomputes only the attention core (Q·Kᵀ, softmax,
    dropout, attention·V), i.e. the 4·B·s²·h FLOPs per layer: F_selective = F_model + 4·B·s²·h·l.
    With ``n_params`` = N given directly we use 6·N FLOPs per token (8·N with full recomputation).
  - training time ≈ 8·T·P/(n·X) (6·T·P/(n·X) without recomputation), T tokens, n GPUs, X achieved
    FLOP/s per GPU — 175e9 parameters, 300e9 tokens, 1024 GPUs at 140 TFLOP/s: about 34 days;
  - pipeline bubble (p−1)/m of the ideal time for GPipe and 1F1B, (p−1)/(v·m) for the interleaved
    schedule with v model chunks per GPU; 1F1B keeps at most p micro-batches of activations alive on
    the first stage, GPipe all m;
  - tensor parallelism: 2 all-reduces of b·s·h values in the forward and 2 in the backward pass of each
    layer and micro-batch, 8·b·s·h·(t−1)/t values per GPU in all (two more with full recomputation).
* Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models",
  arXiv 2205.05198: activation memory per layer and micro-batch in 16-bit training
  s·b·h·(34 + 5·a·s/h) bytes; with tensor parallelism t: s·b·h·(10 + 24/t + 5·a·s/(h·t)); with
  sequence parallelism too: s·b·h·(34 + 5·a·s/h)/t; selective recomputation drops the 5·a·s/h term;
  full recomputation keeps only the layer input, 2·s·b·h (÷t with sequence parallelism). The first
  pipeline stage holds p micro-batches of its l/p layers, i.e. l layers' worth under 1F1B, and
  (1 + (p−1)/(p·v)) times that under the interleaved schedule. We leave out the embedding and logit
  buffers, which for GPT-3-like shapes are worth less than one layer.
* Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion Parameter Models",
  arXiv 1910.02054: mixed-precision Adam keeps 2Ψ (fp16 weights) + 2Ψ (fp16 gradients) + 12Ψ (fp32
  weights, momentum, variance) bytes. Over N_d data-parallel GPUs stage 1 shards the optimizer
  (4Ψ + 12Ψ/N_d), stage 2 also the gradients (2Ψ + 14Ψ/N_d), stage 3 also the weights (16Ψ/N_d).
  Communication per GPU and optimizer step with m micro-batches of gradient accumulation (DeepSpeed's
  behaviour): stages 0 and 1 accumulate locally and exchange once, 2Ψ (reduce-scatter + all-gather);
  stage 2 reduce-scatters the gradients of every micro-batch (it keeps only its shard) and all-gathers
  the weights once, (m + 1)Ψ; stage 3 all-gathers the weights in the forward and again in the
  backward pass and reduce-scatters the gradients, every micro-batch, 3mΨ. DeepSpeed refuses stages 2
  and 3 with pipeline parallelism, and so does the lab.
* Ring all-reduce (Patarasuk & Yuan 2009; NCCL's nccl-tests "bus bandwidth" definition): each GPU
  sends 2(g−1)/g of the buffer and the ring takes 2(g−1) hops, so time = 2(g−1)·α + 2(g−1)/g·S/busbw.
  Inside a node the bus is NVLink (or PCIe), at half the datasheet's bidirectional figure per
  direction. A group spread over nodes with k members per node runs k rings in parallel, one per
  NIC, so its bus bandwidth is min(intra-node, k × per-GPU network bandwidth).
* Parameter server (Li et al. 2014, "Scaling Distributed Machine Learning with the Parameter
  Server", OSDI): every worker pushes its gradients to the servers and pulls the new weights; the
  servers' links carry all workers' traffic, so a push takes max(S/B_worker, workers·S/(servers·
  B_server)). The servers are CPU instances from ``data/gpus.json`` (``parameter_server_instances``,
  network bandwidth and price with sources), paid for the whole run. With bounded staleness (Ho et al. 2013, "More Effective Distributed ML via a Stale
  Synchronous Parallel Parameter Server", NIPS) workers compute on weights up to ``staleness`` steps
  old, which lets communication overlap the next step's compute.
* Checkpoint/restart under preemption: Daly 2006 ("A higher order estimate of the optimum
  checkpoint interval for restart dumps", Future Generation Computer Systems 22(3)). With checkpoint
  time δ, restart time R, exponential interruptions with mean M and a checkpoint every τ of work, the
  expected wall time per unit of work is exactly ``M·e^{R/M}·(e^{(τ+δ)/M} − 1)/τ``; Daly's optimum is
  ``τ = √(2δM)·(1 + √(δ/2M)/3 + (δ/2M)/9) − δ`` for δ < 2M and ``τ = M`` beyond. For δ, R ≪ M this is
  Young's 1974 first-order result (τ = √(2δM), overhead ≈ √(2δ/M) + R/M). When δ ≥ M or R ≥ M a
  checkpoint or a restart is expected to be interrupted before it completes: the job no longer makes
  steady progress (Daly's expectation, still finite for exponential interruptions, is then dominated
  by rare long quiet spells and grows like e^{(R+δ)/M}), and the lab reports "never".

GPU figures (peak dense bf16/fp16 TFLOP/s, memory, NVLink/PCIe, network per GPU, price) come from
``data/gpus.json``, each with its source and date.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

GPU_FILE = Path(__file__).with_name("data") / "gpus.json"
BYTES_16BIT = 2
SECONDS_PER_DAY = 86400.0


@lru_cache(maxsize=1)
def _catalog() -> dict[str, Any]:
    return json.loads(GPU_FILE.read_text(encoding="utf-8"))


def gpu_catalog() -> dict[str, dict[str, Any]]:
    return _catalog()["gpus"]


def ps_instance_catalog() -> dict[str, dict[str, Any]]:
    """CPU instances a parameter server can run on: network bandwidth and price, with sources."""
    return _catalog()["parameter_server_instances"]


# ---------------------------------------------------------------- model size and FLOPs (Megatron)


def transformer_params(layers, hidden, vocab, seq_len):
    """Narayanan et al. 2021, eq. for P (weights, biases, layer norms, token and position embeddings)."""
    l, h = np.asarray(layers, float), np.asarray(hidden, float)
    return 12 * l * h**2 * (1 + 13 / (12 * h) + (vocab + seq_len) / (12 * l * h))


def iteration_flops(batch, seq_len, layers, hidden, vocab, recompute="full"):
    """FLOPs of one training iteration over ``batch`` sequences (see module docstring)."""
    B, s = np.asarray(batch, float), float(seq_len)
    l, h, V = float(layers), float(hidden), float(vocab)
    model = 72 * B * s * l * h**2 * (1 + s / (6 * h) + V / (12 * l * h))
    if recompute == "full":
        return 96 * B * s * l * h**2 * (1 + s / (6 * h) + V / (16 * l * h))
    if recompute == "selective":
        return model + 4 * B * s**2 * h * l
    return model


def training_days(tokens, params, n_gpus, achieved_flops, flops_per_param_token=8.0):
    """Narayanan et al.'s estimate 8·T·P/(n·X) (6 without recomputation), in days."""
    return flops_per_param_token * tokens * params / (n_gpus * achieved_flops) / SECONDS_PER_DAY


# ---------------------------------------------------------------- memory (ZeRO, Korthikanti)


def zero_model_states(psi, n_dp, stage):
    """Bytes per GPU of (fp16 weights, fp16 gradients, fp32 optimizer states) under ZeRO ``stage``."""
    psi, n_dp, stage = np.asarray(psi, float), np.asarray(n_dp, float), np.asarray(stage)
    weights = np.where(stage >= 3, 2 * psi / n_dp, 2 * psi)
    grads = np.where(stage >= 2, 2 * psi / n_dp, 2 * psi)
    optimizer = np.where(stage >= 1, 12 * psi / n_dp, 12 * psi)
    return weights, grads, optimizer


def activation_bytes_per_layer(seq_len, micro_batch, hidden, heads, tp, recompute, sequence_parallel):
    """Korthikanti et al. 2022: bytes one layer keeps for one micro-batch on one GPU."""
    s, b, h, a = float(seq_len), float(micro_batch), float(hidden), float(heads)
    t = np.asarray(tp, float)
    sbh = s * b * h
    attention = 5 * a * s / h  # the s² attention scores, softmax and dropout mask
    if recompute == "full":
        return 2 * sbh / np.where(sequence_parallel, t, 1.0)
    if recompute == "selective":
        attention = 0.0
    if sequence_parallel:
        return sbh * (34 + attention) / t
    return sbh * (10 + 24 / t + attention / t)


def layers_in_flight(layers, pp, micro_batches, schedule, virtual_stages):
    """Layers' worth of activations the first pipeline stage holds at its peak (per micro-batch)."""
    l, p, m = float(layers), np.asarray(pp, float), np.asarray(micro_batches, float)
    if schedule == "gpipe":
        return l / p * m
    if schedule == "interleaved":
        v = float(virtual_stages)
        chunks = np.minimum((v + 1) * p - 1, m * v)  # Megatron's warm-up depth + 1 on the first GPU
        return l / (p * v) * chunks
    return l / p * np.minimum(p, m)


# ---------------------------------------------------------------- pipeline bubble


def bubble_ratio(pp, micro_batches, virtual_stages=1):
    """Idle time over ideal time, (p−1)/(v·m) (Narayanan et al. 2021)."""
    p, m, v = (np.asarray(x, float) for x in (pp, micro_batches, virtual_stages))
    return (p - 1) / (v * m)


def bubble_fraction(pp, micro_batches, virtual_stages=1):
    """Share of a pipeline flush spent idle: (p−1)/(v·m + p − 1)."""
    r = bubble_ratio(pp, micro_batches, virtual_stages)
    return r / (1 + r)


def pipeline_ops(pp: int, micro_batches: int, schedule: str, virtual_stages: int = 1):
    """Per-GPU order of (kind, micro-batch, model stage) operations for a schedule.

    Model stage ``c·p + d`` is chunk c on GPU d. The interleaved order follows Megatron-LM: forward
    micro-batches in groups of p, cycling through the chunks; warm-up of 2(p−d−1) + (v−1)·p forwards.
    """
    p, m = pp, micro_batches
    v = virtual_stages if schedule == "interleaved" else 1
    ops: list[list[tuple[str, int, int]]] = []
    for d in range(p):
        if schedule == "gpipe":
            seq = [("F", i, d) for i in range(m)] + [("B", i, d) for i in range(m)]
        else:
            def fwd(k):
                return ("F", (k // (p * v)) * p + k % p, ((k // p) % v) * p + d)

            def bwd(k):
                return ("B", (k // (p * v)) * p + k % p, (v - 1 - (k // p) % v) * p + d)

            total = m * v
            if v == 1:
                warm = min(p - d - 1, total)
            else:
                warm = min(2 * (p - d - 1) + (v - 1) * p, total)
            seq = [fwd(k) for k in range(warm)]
            for j in range(total - warm):
                seq += [fwd(warm + j), bwd(j)]
            seq += [bwd(j) for j in range(total - warm, total)]
        ops.append(seq)
    return ops


def simulate_pipeline(pp: int, micro_batches: int, schedule: str, virtual_stages: int = 1,
                      forward_time: float = 1.0, backward_time: float = 2.0):
    """Run a schedule on p GPUs with per-stage forward/backward times (for the whole layer stack of a
    GPU; a chunk takes 1/v of it). Returns the cells (gpu, kind, micro-batch, start, end), the
    makespan and, per GPU, the peak number of chunk activations alive."""
    v = virtual_stages if schedule == "interleaved" else 1
    ops = pipeline_ops(pp, micro_batches, schedule, v)
    last_stage = pp * v - 1
    done: dict[tuple[str, int, int], float] = {}
    free = [0.0] * pp
    nxt = [0] * pp
    cells = []
    alive, peak = [0] * pp, [0] * pp
    remaining = sum(len(o) for o in ops)
    while remaining:
        progressed = False
        for d in range(pp):
            while nxt[d] < len(ops[d]):
                kind, mb, stage = ops[d][nxt[d]]
                if kind == "F":
                    dep = ("F", mb, stage - 1) if stage else None
                    dur = forward_time / v
                else:
                    dep = ("B", mb, stage + 1) if stage < last_stage else ("F", mb, stage)
                    dur = backward_time / v
                if dep is not None and dep not in done:
                    break
                start = max(free[d], done[dep] if dep else 0.0)
                end = start + dur
                done[(kind, mb, stage)] = end
                free[d] = end
                cells.append((d, kind, mb, start, end))
                alive[d] += 1 if kind == "F" else -1
                peak[d] = max(peak[d], alive[d])
                nxt[d] += 1
                remaining -= 1
                progressed = True
        if not progressed:  # an order that deadlocks is a bug in pipeline_ops
            raise RuntimeError(f"pipeline schedule {schedule} deadlocked")
    return cells, max(free), peak


# ---------------------------------------------------------------- links and collectives


def bus_bandwidth(group, stride, gpus_per_node, intra_node_bytes_s, network_bytes_s_per_gpu):
    """Bus bandwidth (bytes/s) of a ring over ``group`` GPUs spaced ``stride`` ranks apart."""
    g, st = np.asarray(group, float), np.asarray(stride, float)
    per_node = np.clip(np.floor(gpus_per_node / st), 1, np.maximum(g, 1))
    inside = g * st <= gpus_per_node
    across = np.minimum(intra_node_bytes_s, per_node * network_bytes_s_per_gpu)
    return np.where(inside, intra_node_bytes_s, across)


def ring_allreduce_time(nbytes, group, busbw, latency_s, passes=2.0):
    """``passes`` = 2 for an all-reduce (reduce-scatter + all-gather), 3 for ZeRO stage 3."""
    g = np.asarray(group, float)
    hops = passes * (g - 1)
    return np.where(g > 1, hops * latency_s + passes * (g - 1) / np.maximum(g, 1) * nbytes / busbw, 0.0)


def parameter_server_time(nbytes, workers, servers, worker_bytes_s, server_bytes_s, latency_s):
    """Push gradients then pull weights; each phase limited by the worker's or the servers' links."""
    w = np.asarray(workers, float)
    one_way = latency_s + np.maximum(nbytes / worker_bytes_s, w * nbytes / (servers * server_bytes_s))
    return 2 * one_way


# ---------------------------------------------------------------- preemption


def zero_comm_passes(zero_stage, micro_batches):
    """Ring passes over the local parameters per optimizer step (module docstring: 2, 2, m + 1, 3m)."""
    z, m = np.asarray(zero_stage), np.asarray(micro_batches, float)
    return np.where(z >= 3, 3.0 * m, np.where(z == 2, m + 1.0, 2.0))


def preemption_overhead(preemptions_per_day, checkpoint_s, restart_s):
    """Daly's checkpoint interval (s) and expected extra wall time per unit of work; (inf, inf) when
    the job cannot progress (δ ≥ M or R ≥ M), (inf, 0) without preemptions."""
    rate = float(preemptions_per_day) / SECONDS_PER_DAY
    if rate <= 0:
        return np.inf, 0.0
    M, delta, R = 1.0 / rate, float(checkpoint_s), float(restart_s)
    if delta >= M or R >= M:
        return np.inf, np.inf
    x = delta / (2 * M)
    interval = np.sqrt(2 * delta * M) * (1 + np.sqrt(x) / 3 + x / 9) - delta
    # M·e^{R/M}(e^{(τ+δ)/M} − 1)/τ with expm1 so that a rare interruption keeps its precision.
    factor = M * np.exp(R / M) * np.expm1((interval + delta) / M) / interval
    # factor ≥ 1 exactly (e^{R/M} ≥ 1 and e^u − 1 ≥ u); rounding alone can put it a hair below
    return interval, max(factor - 1.0, 0.0)
