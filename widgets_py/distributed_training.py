"""distributed_training_lab: build a GPU cluster and a parallelism strategy, see memory, step time,
throughput, time and cost to train a transformer, and run real data-parallel training on Titanic.

Part A, the cluster model, is ``widgets_py.parallelism`` (formulas and sources in its docstring:
Narayanan et al. 2021, Korthikanti et al. 2022, Rajbhandari et al. 2020, ring all-reduce, parameter
servers, Young 1974). How the pieces add up to a training step, per GPU:

    step = compute + tensor-parallel comm + pipeline p2p + bubble + exposed data-parallel comm

* compute = hardware FLOPs of the iteration / (GPUs × matmul_efficiency × peak). MFU counts model
  FLOPs only (no recomputation). ``achieved_tflops`` instead fixes the end-to-end rate, as in
  Narayanan et al.'s 8·T·P/(n·X): the step takes hardware FLOPs / (GPUs × X) and the breakdown keeps
  the model's proportions.
* tensor-parallel all-reduces and pipeline sends sit on the critical path; the bubble is (p−1)/(v·m)
  of everything a stage does per flush; data-parallel gradient traffic (ring all-reduce, ZeRO's 2Ψ or
  3Ψ, or push/pull through parameter servers) runs after the flush. With a parameter server and
  staleness ≥ 1 it overlaps the next step's compute, so only the excess shows.
* Spot capacity: price × (1 − spot_discount); ``preemptions_per_day`` interruptions of the whole job;
  checkpoints of ``checkpoint_minutes`` at Daly's interval, ``restart_minutes`` after each interruption;
  expected wall time from Daly's full expression. When a checkpoint or a restart takes at least the
  mean time between interruptions the job cannot progress: time and cost are "never".
* Memory: vendors' "80 GB" cards hold 80 GiB (2^30 bytes). A GPU's usable memory is its GiB capacity
  minus an explicit reserve: 1 GiB for the CUDA context and 5 % for allocator fragmentation (PyTorch's
  caching allocator; both are our assumptions, order of magnitude from common practice). Sizes are
  shown in GB (10^9 bytes); ``fits_in_memory`` compares bytes with the usable bytes.
* Activation recomputation: the backward pass of one layer rebuilds what was not kept. With full
  recomputation that is the whole layer's activations; with selective recomputation only the
  attention core (the 5·a·s/h term of Korthikanti et al.), the rest being stored.
* Pipeline sends: ranks are laid out as Megatron-LM does (tensor-parallel ranks adjacent, then data
  parallel, then pipeline stages), so stage i + 1 is t·dp ranks after stage i. A hop between stages on
  the same node uses NVLink/PCIe, one that crosses nodes the network; each stage sends one activation
  forward and one gradient back per micro-batch and chunk, and the slowest stage sets the pace.
* Parameter servers are CPU instances (``ps_instance``) with their own network bandwidth and price,
  paid for the whole run alongside the GPUs.

Part B, the lab, is ``widgets_py.distributed_sgd`` on ``widgets_py.ml``: K simulated workers train a
logistic regression or a 16-unit MLP on Titanic passengers, synchronously (all-reduce) or through a
parameter server whose workers see weights ``staleness`` steps old. Simulated wall-clock per step =
``lab_batch`` × ``lab_sample_us`` of compute + the gradient exchange on Part A's links (the chosen
GPU's NVLink/PCIe inside a node of ``gpus_per_node``, its network beyond; ``link_latency_us`` per
ring hop). A sweep over worker counts finds how long each takes to reach the held-out loss one worker
reaches by the end, which is where adding workers stops paying.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from . import distributed_sgd, ml
from . import parallelism as par
from .core import VEGA_LITE_SCHEMA, Metric, Param, ParamError, Widget, format_value

GPUS = tuple(par.gpu_catalog())
PS_INSTANCES = tuple(par.ps_instance_catalog())
CUDA_CONTEXT_BYTES = 2**30  # reserved per GPU for the CUDA context (assumption, module docstring)
FRAGMENTATION_RESERVE = 0.05  # share of capacity the allocator cannot hand out (assumption)
SCALING_GPU_COUNTS = 2 ** np.arange(13)  # 1 ... 4096
TIMELINE_MAX_STAGES, TIMELINE_MAX_MICRO = 8, 12
LAB_HIDDEN = 16
LAB_SWEEP = (1, 2, 4, 8, 16, 32, 64)

_G_MODEL, _G_BATCH, _G_CLUSTER, _G_STRATEGY = "Model", "Batch and data", "Cluster", "Parallelism"
_G_SYNC, _G_EFF, _G_SPOT, _G_LAB = "Synchronisation", "Efficiency", "Spot capacity", "Titanic lab"

PARAMS = (
    Param("n_layers", "Transformer layers", "int", 24, min=1, max=512, group=_G_MODEL,
          help="l: number of transformer layers"),
    Param("hidden", "Hidden size", "int", 2048, min=64, max=65536, step=64, group=_G_MODEL,
          help="h: width of the residual stream"),
    Param("heads", "Attention heads", "int", 16, min=1, max=512, group=_G_MODEL,
          help="a: must divide the hidden size, and tp must divide it"),
    Param("seq_len", "Sequence length", "int", 2048, unit="tokens", min=16, max=131072, group=_G_MODEL),
    Param("vocab", "Vocabulary", "int", 51200, unit="tokens", min=2, max=1_000_000, group=_G_MODEL),
    Param("n_params", "Parameter count override", "float", 0.0, min=0, max=1e14, group=_G_MODEL, log=True,
          help="0 = derive from the architecture; otherwise model-state memory follows this count and "
               "compute is 6·N FLOPs per token (8·N with full recomputation)"),
    Param("global_batch", "Global batch", "int", 256, unit="sequences", min=1, max=1_048_576, group=_G_BATCH,
          help="B: sequences per optimizer step across all replicas"),
    Param("micro_batch", "Micro-batch", "int", 4, unit="sequences", min=1, max=4096, group=_G_BATCH,
          help="b: sequences per pipeline micro-batch per data-parallel replica"),
    Param("tokens", "Training tokens", "float", 26e9, unit="tokens", min=1e6, max=1e14, group=_G_BATCH, log=True),
    Param("gpu", "GPU", "choice", "A100-80GB", choices=GPUS, group=_G_CLUSTER,
          help="catalog figures with sources: widgets_py/data/gpus.json"),
    Param("gpus_per_node", "GPUs per node", "int", 8, min=1, max=16, group=_G_CLUSTER),
    Param("nodes", "Nodes", "int", 1, min=1, max=4096, group=_G_CLUSTER, log=True),
    Param("network_gbps", "Network per GPU override", "float", 0.0, unit="Gbit/s", min=0, max=3200,
          group=_G_CLUSTER, help="0 = the catalog instance's network divided by its GPUs"),
    Param("link_latency_us", "Latency per ring hop", "float", 5.0, unit="µs", min=0, max=1000, group=_G_CLUSTER,
          help="assumed start-up cost of every message step of a collective"),
    Param("tp", "Tensor parallel (t)", "int", 1, min=1, max=64, group=_G_STRATEGY),
    Param("pp", "Pipeline parallel (p)", "int", 1, min=1, max=512, group=_G_STRATEGY),
    Param("zero_stage", "ZeRO stage", "int", 1, min=0, max=3, group=_G_STRATEGY,
          help="0 none, 1 shard optimizer states, 2 + gradients, 3 + weights (sync mode only)"),
    Param("schedule", "Pipeline schedule", "choice", "1f1b", choices=("gpipe", "1f1b", "interleaved"),
          group=_G_STRATEGY),
    Param("virtual_stages", "Model chunks per GPU (v)", "int", 2, min=1, max=16, group=_G_STRATEGY,
          help="used by the interleaved schedule only"),
    Param("recompute", "Activation recomputation", "choice", "selective",
          choices=("none", "selective", "full"), group=_G_STRATEGY),
    Param("sequence_parallel", "Sequence parallelism", "bool", True, group=_G_STRATEGY,
          help="shard layer-norm and dropout activations across the tensor-parallel group"),
    Param("mode", "Gradient exchange", "choice", "sync", choices=("sync", "parameter_server"), group=_G_SYNC),
    Param("ps_servers", "Parameter servers", "int", 1, min=1, max=1024, group=_G_SYNC,
          help="CPU instances of type ps_instance, each with that instance's network bandwidth"),
    Param("ps_instance", "Parameter server instance", "choice", "c6in.32xlarge", choices=PS_INSTANCES,
          group=_G_SYNC, help="CPU instance type of each server (catalog: widgets_py/data/gpus.json)"),
    Param("staleness", "Staleness", "int", 0, unit="steps", min=0, max=16, group=_G_SYNC,
          help="parameter server: workers compute on weights this many steps old"),
    Param("matmul_efficiency", "Kernel efficiency", "float", 0.6, min=0.01, max=1.0, step=0.01, group=_G_EFF,
          help="share of peak FLOP/s a layer's kernels reach"),
    Param("achieved_tflops", "Achieved TFLOP/s override", "float", 0.0, unit="TFLOP/s", min=0, max=5000,
          group=_G_EFF, help="measured end-to-end FLOP/s per GPU (recomputation included, as Megatron-LM "
                             "reports it); fixes the step time. 0 = model it from kernel efficiency, links "
                             "and bubble"),
    Param("spot", "Spot / preemptible", "bool", False, group=_G_SPOT),
    Param("spot_discount", "Spot discount", "float", 0.65, min=0, max=0.95, step=0.05, group=_G_SPOT,
          help="assumed; AWS advertises up to 90% off on-demand"),
    Param("preemptions_per_day", "Preemptions per day", "float", 2.0, min=0, max=100, group=_G_SPOT,
          help="interruptions of the whole job (spot only)"),
    Param("checkpoint_minutes", "Checkpoint write", "float", 5.0, unit="min", min=0.1, max=600, group=_G_SPOT),
    Param("restart_minutes", "Restart after preemption", "float", 10.0, unit="min", min=0, max=600,
          group=_G_SPOT, help="re-acquire capacity and reload the last checkpoint"),
    Param("lab_model", "Lab model", "choice", "mlp", choices=("logistic", "mlp"), group=_G_LAB,
          help="logistic regression or an MLP with one hidden layer of 16 ReLU units"),
    Param("lab_workers", "Lab workers (K)", "int", 4, min=1, max=64, group=_G_LAB),
    Param("lab_batch", "Lab batch per worker", "int", 16, unit="rows", min=1, max=512, group=_G_LAB),
    Param("lab_steps", "Lab steps", "int", 100, min=1, max=2000, group=_G_LAB),
    Param("lab_lr", "Lab learning rate", "float", 0.2, min=1e-4, max=10, group=_G_LAB, log=True),
    Param("lab_lr_scaling", "Learning rate with K workers", "choice", "linear", choices=("linear", "none"),
          group=_G_LAB, help="linear: lab_lr × K, the linear scaling rule of Goyal et al. 2017 (arXiv "
                             "1706.02677); none: lab_lr whatever the batch"),
    Param("lab_sample_us", "Lab compute per row", "float", 20.0, unit="µs", min=0, max=1e6, group=_G_LAB,
          help="simulated compute time per training row on one worker"),
    Param("lab_seed", "Lab seed", "int", 0, min=0, max=2**31 - 1, group=_G_LAB),
)


def _derived(p: dict[str, Any]) -> dict[str, Any]:
    n_gpus = p["gpus_per_node"] * p["nodes"]
    return {"n_gpus": n_gpus, "dp": n_gpus // (p["tp"] * p["pp"]) if n_gpus % (p["tp"] * p["pp"]) == 0 else 0,
            "v": p["virtual_stages"] if p["schedule"] == "interleaved" else 1}


def check(p: dict[str, Any]) -> None:
    d = _derived(p)
    n, tp, pp = d["n_gpus"], p["tp"], p["pp"]
    # The model's own shape first: tp = 32 with 16 heads is wrong whatever the cluster.
    if p["hidden"] % p["heads"]:
        raise ParamError("heads", f"{p['heads']} heads do not divide hidden size {p['hidden']}")
    if p["heads"] % tp:
        raise ParamError("tp", f"tp = {tp} does not divide the {p['heads']} attention heads (allowed: a "
                         f"divisor of heads)")
    if n % (tp * pp):
        raise ParamError("tp", f"tp·pp = {tp * pp} does not divide the {n} GPUs (gpus_per_node × nodes)")
    if p["zero_stage"] >= 2 and pp > 1:
        raise ParamError("zero_stage", f"ZeRO stage {p['zero_stage']} with pp = {pp}: DeepSpeed supports "
                         "stages 2 and 3 only without pipeline parallelism (allowed: 0 or 1, or pp = 1)")
    if p["n_layers"] % (pp * d["v"]):
        what = "pp" if p["n_layers"] % pp else "virtual_stages"
        raise ParamError(what, f"{p['n_layers']} layers do not split into pp × chunks = {pp * d['v']} equal stages")
    per_step = p["micro_batch"] * d["dp"]
    if p["global_batch"] % per_step:
        raise ParamError("global_batch", f"{p['global_batch']} sequences do not split into micro_batch × "
                         f"data-parallel replicas = {p['micro_batch']} × {d['dp']}")
    m = p["global_batch"] // per_step
    if p["schedule"] == "interleaved":
        if pp < 2:
            raise ParamError("schedule", "interleaved needs pp ≥ 2 (allowed with pp = 1: gpipe, 1f1b)")
        if m % pp:
            raise ParamError("global_batch", f"the interleaved schedule needs the {m} micro-batches per "
                             f"replica to be a multiple of pp = {pp}")
    if p["mode"] == "parameter_server" and p["zero_stage"]:
        raise ParamError("zero_stage", "ZeRO shards state across data-parallel GPUs; with mode = "
                         "parameter_server the servers hold it (allowed: 0)")
    peak = par.gpu_catalog()[p["gpu"]]["peak_tflops"]
    if p["achieved_tflops"] > peak:
        raise ParamError("achieved_tflops", f"{p['achieved_tflops']:g} exceeds the {p['gpu']} peak of "
                         f"{peak:g} TFLOP/s (allowed: 0 to {peak:g})")
    n_train = ml.titanic().X_train.shape[0]
    if p["lab_workers"] * p["lab_batch"] > n_train:
        raise ParamError("lab_batch", f"lab_workers × lab_batch = {p['lab_workers'] * p['lab_batch']} exceeds "
                         f"the {n_train} training passengers")


# ---------------------------------------------------------------- Part A, vectorised


def _links(p: dict[str, Any]) -> tuple[float, float, float]:
    gpu = par.gpu_catalog()[p["gpu"]]
    intra = gpu["intra_node_gbs"] / 2 * 1e9  # datasheet figures are both directions together
    net_gbps = p["network_gbps"] or gpu["network_gbps_per_gpu"]
    return intra, net_gbps / 8 * 1e9, p["link_latency_us"] * 1e-6


def usable_memory_bytes(gpu: dict[str, Any]) -> float:
    """The catalog's capacity read as GiB, less the CUDA context and the fragmentation reserve."""
    return gpu["memory_gb"] * 2**30 * (1 - FRAGMENTATION_RESERVE) - CUDA_CONTEXT_BYTES


def _slowest_stage_sends(stride, pp: int, v: int, gpus_per_node: int, send_intra, send_net):
    """Seconds the slowest pipeline stage spends sending, per micro-batch and model chunk: one
    activation to the next stage and one gradient to the previous, over NVLink/PCIe when the two
    stages share a node and over the network when they do not (module docstring)."""
    stride, send_intra, send_net = np.broadcast_arrays(*(np.asarray(x, float) for x in (stride, send_intra,
                                                                                          send_net)))
    if pp == 1:
        return np.zeros(stride.shape)
    s, intra, net = stride[..., None], send_intra[..., None], send_net[..., None]
    j = np.arange(pp - 1)  # boundary j joins stage j (ranks [j·s, (j+1)·s)) to stage j + 1
    # Some rank r of stage j and its partner r + s sit on different nodes iff a multiple of the node
    # size lies in (j·s, (j+2)·s − 1].
    crosses = np.floor(((j + 2) * s - 1) / gpus_per_node) > np.floor(j * s / gpus_per_node)
    hop = np.where(crosses, net, intra)
    if v > 1:  # interleaved: the last stage feeds the first stage's next chunk
        wrap = np.where(pp * s > gpus_per_node, net, intra)
        ahead, behind = np.concatenate([hop, wrap], -1), np.concatenate([wrap, hop], -1)
    else:  # an end stage sends both ways over its one link
        ahead, behind = np.concatenate([hop, hop[..., -1:]], -1), np.concatenate([hop[..., :1], hop], -1)
    return (ahead + behind).max(axis=-1)


def cluster(p: dict[str, Any], n_gpus, global_batch, zero_stage=None) -> dict[str, np.ndarray]:
    """Part A for GPU counts and global batches given as arrays (tp, pp and the model fixed)."""
    gpu = par.gpu_catalog()[p["gpu"]]
    n = np.asarray(n_gpus, float)
    B = np.asarray(global_batch, float)
    zero = p["zero_stage"] if zero_stage is None else np.asarray(zero_stage)
    l, h, a, s, V = p["n_layers"], p["hidden"], p["heads"], p["seq_len"], p["vocab"]
    t, pp, b = p["tp"], p["pp"], p["micro_batch"]
    v = p["virtual_stages"] if p["schedule"] == "interleaved" else 1
    dp = n / (t * pp)
    m = B / (b * dp)
    intra, net, alpha = _links(p)
    peak = gpu["peak_tflops"] * 1e12
    achieved = p["matmul_efficiency"] * peak

    if p["n_params"] > 0:
        params = np.full_like(n, p["n_params"])
        model_flops = 6 * p["n_params"] * B * s
        extra = {"none": 0.0, "selective": 4 * B * s**2 * h * l, "full": 2 * p["n_params"] * B * s}
        hw_flops = model_flops + extra[p["recompute"]]
    else:
        params = np.full_like(n, par.transformer_params(l, h, V, s))
        model_flops = par.iteration_flops(B, s, l, h, V, "none")
        hw_flops = par.iteration_flops(B, s, l, h, V, p["recompute"])
    psi = params / (t * pp)  # parameters held by one GPU

    ps_mode = p["mode"] == "parameter_server"
    w, g, o = par.zero_model_states(psi, dp, np.where(ps_mode, 0, zero))
    if ps_mode:  # servers keep the fp32 master weights and Adam states
        o = np.zeros_like(o)
    per_layer = par.activation_bytes_per_layer(s, b, h, a, t, p["recompute"], p["sequence_parallel"] and t > 1)
    act = per_layer * par.layers_in_flight(l, pp, m, p["schedule"], v)
    if p["recompute"] != "none":  # the backward pass of one layer rebuilds what was not kept
        seq_par = p["sequence_parallel"] and t > 1
        full_layer = par.activation_bytes_per_layer(s, b, h, a, t, "none", seq_par)
        act = act + full_layer - (per_layer if p["recompute"] == "selective" else 0.0)
    memory = w + g + o + act

    compute = hw_flops / (n * achieved)
    tp_bw = par.bus_bandwidth(t, 1, p["gpus_per_node"], intra, net)
    allreduces = (4 + (2 if p["recompute"] == "full" else 0)) * (l / pp) * m
    layer_output_bytes = par.BYTES_16BIT * b * s * h  # one micro-batch's b·s·h activations
    tp_comm = allreduces * par.ring_allreduce_time(layer_output_bytes, t, tp_bw, alpha)
    # Stage-to-stage sends, split across the tensor-parallel ranks (Megatron's scatter/gather).
    pp_comm = m * v * _slowest_stage_sends(t * dp, pp, v, p["gpus_per_node"],
                                           alpha + layer_output_bytes / t / intra,
                                           alpha + layer_output_bytes / t / net)
    busy = compute + tp_comm + pp_comm
    bubble = par.bubble_ratio(pp, m, v) * busy

    grad_bytes = par.BYTES_16BIT * psi
    if ps_mode:
        server_bw = par.ps_instance_catalog()[p["ps_instance"]]["network_gbps"] / 8 * 1e9
        dp_total = par.parameter_server_time(grad_bytes, n, p["ps_servers"], net, server_bw, alpha)
        dp_comm = np.where(p["staleness"] > 0, np.maximum(0.0, dp_total - busy - bubble), dp_total)
    else:
        dp_bw = par.bus_bandwidth(dp, t, p["gpus_per_node"], intra, net)
        dp_comm = par.ring_allreduce_time(grad_bytes, dp, dp_bw, alpha, par.zero_comm_passes(zero, m))
    step = busy + bubble + dp_comm
    if p["achieved_tflops"] > 0:
        # A measured end-to-end rate (as Megatron-LM reports it) fixes the step time; the breakdown
        # keeps the model's proportions.
        scale = hw_flops / (n * p["achieved_tflops"] * 1e12) / step
        compute, tp_comm, pp_comm, bubble, dp_comm, step = (
            x * scale for x in (compute, tp_comm, pp_comm, bubble, dp_comm, step))
    tokens_per_s = B * s / step
    return {
        "n_gpus": n, "dp": dp, "micro_batches": m, "params_total": params,
        "params_gb": w / 1e9, "grads_gb": g / 1e9, "optimizer_gb": o / 1e9, "activations_gb": act / 1e9,
        "memory_per_gpu_gb": memory / 1e9, "fits_in_memory": memory <= usable_memory_bytes(gpu),
        "compute_s": compute, "tp_comm_s": tp_comm, "pp_comm_s": pp_comm, "pp_bubble_s": bubble,
        "dp_comm_s": dp_comm, "step_time_s": step,
        "bubble_fraction": bubble / (busy + bubble),
        "tokens_per_s": tokens_per_s,
        "mfu": model_flops / (step * n * peak),
        "achieved_tflops_per_gpu": hw_flops / (step * n) / 1e12,
    }


NEVER = "never"  # a time or cost that does not exist: the job cannot finish


def _time_and_cost(p: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    gpu = par.gpu_catalog()[p["gpu"]]
    train_s = p["tokens"] / out["tokens_per_s"]
    price = gpu["price_per_gpu_hour"]
    interval, overhead = np.inf, 0.0
    if p["spot"]:
        price *= 1 - p["spot_discount"]
        interval, overhead = par.preemption_overhead(
            p["preemptions_per_day"], p["checkpoint_minutes"] * 60, p["restart_minutes"] * 60)
    # Parameter servers are on-demand CPU instances, paid for as long as the GPUs.
    ps_price = (p["ps_servers"] * par.ps_instance_catalog()[p["ps_instance"]]["price_per_hour"]
                if p["mode"] == "parameter_server" else 0.0)
    finishes = bool(np.isfinite(overhead))
    wall = train_s * (1 + overhead) if finishes else np.inf
    return {
        "optimizer_steps": p["tokens"] / (p["global_batch"] * p["seq_len"]),
        "finishes": finishes,
        "time_to_train_days": wall / par.SECONDS_PER_DAY if finishes else NEVER,
        "preemption_overhead": float(overhead) if finishes else NEVER,
        "checkpoint_interval_h": interval / 3600 if np.isfinite(interval) else 0.0,
        "cost_usd": (out["n_gpus"] * price + ps_price) * wall / 3600 if finishes else NEVER,
        "ps_cost_usd": ps_price * wall / 3600 if finishes else NEVER,
        "price_per_gpu_hour": price,
    }


def _scaling(p: dict[str, Any], m_now: float) -> dict[str, Any]:
    """Strong scaling (fixed global batch) and weak scaling (fixed micro-batches per replica) in ONE
    vectorised evaluation over 1…4096 GPUs; counts the strategy cannot use are dropped."""
    unit = p["tp"] * p["pp"]
    counts = SCALING_GPU_COUNTS[(SCALING_GPU_COUNTS % unit == 0)]
    dp = counts // unit
    strong_b = np.full(counts.shape, float(p["global_batch"]))
    weak_b = m_now * p["micro_batch"] * dp
    n_all = np.concatenate([counts, counts]).astype(float)
    b_all = np.concatenate([strong_b, weak_b])
    res = cluster(p, n_all, b_all)
    m_all = res["micro_batches"]
    ok = (m_all >= 1) & (np.abs(m_all - np.round(m_all)) < 1e-9)
    if p["schedule"] == "interleaved":
        ok &= np.round(m_all) % p["pp"] == 0
    kind = np.array(["strong"] * counts.size + ["weak"] * counts.size)
    per_gpu = res["tokens_per_s"] / n_all
    eff = np.full(n_all.shape, np.nan)
    for name in ("strong", "weak"):
        sel = (kind == name) & ok
        if sel.any():
            eff[sel] = per_gpu[sel] / per_gpu[sel][0]
    return {"gpus": n_all[ok], "scaling": kind[ok], "tokens_per_s": res["tokens_per_s"][ok],
            "efficiency": eff[ok], "global_batch": b_all[ok], "fits": res["fits_in_memory"][ok]}


# ---------------------------------------------------------------- Part B, the Titanic lab


def _lab_step_times(p: dict[str, Any], workers, n_weights: int):
    """Simulated compute and communication seconds per step for ``workers`` (array) workers."""
    intra, net, alpha = _links(p)
    k = np.asarray(workers, float)
    nbytes = 4.0 * n_weights  # fp32 gradients of the small model
    compute = np.full(k.shape, p["lab_batch"] * p["lab_sample_us"] * 1e-6)
    if p["mode"] == "parameter_server":
        server_bw = par.ps_instance_catalog()[p["ps_instance"]]["network_gbps"] / 8 * 1e9
        comm = par.parameter_server_time(nbytes, k, p["ps_servers"], net, server_bw, alpha)
        step = np.where(p["staleness"] > 0, np.maximum(compute, comm), compute + comm)
    else:
        comm = par.ring_allreduce_time(nbytes, k, par.bus_bandwidth(k, 1, p["gpus_per_node"], intra, net), alpha)
        step = compute + comm
    return compute, comm, step


def _lab_layers(model: str, seed: int):
    data = ml.titanic()
    sizes = [data.X_train.shape[1], 1] if model == "logistic" else [data.X_train.shape[1], LAB_HIDDEN, 1]
    return ml.init_layers(sizes, seed)


# Training is the slow part of the widget and depends only on the lab's training parameters, so a
# control change in Part A (cluster, strategy, links) must not redo it. A small LRU memo of runs keyed
# by exactly what a run depends on (model, seed, staleness, global batch, learning rate); a run asked
# for more steps than it has trains on from where it stopped (its curves so far are the prefix), one
# asked for fewer reads its prefix. The runs a call misses are trained together in one
# ``distributed_sgd.train_runs``. The simulated clock (Part A's links) is applied per call. Callers get
# copies: the cached arrays are never handed out.
_LAB_CACHE_RUNS = 24
_lab_memo: OrderedDict[tuple, distributed_sgd.Run] = OrderedDict()


def _lab_runs(model: str, seed: int, staleness: int, runs, steps: int, target: float | None = None):
    """The memo's runs for each (global batch, learning rate), trained to ``steps`` or, with a target,
    until their held-out loss reaches it (at most ``steps``)."""
    keys = [(model, seed, staleness, b, lr) for b, lr in runs]
    todo: dict[int, list[tuple]] = {}  # keys to train on, grouped by the step they are at
    for key in dict.fromkeys(keys):
        run = _lab_memo.get(key)
        trained = 0 if run is None else run.steps
        reached = run is not None and target is not None and _first_step_at_most(run.test_loss, target) is not None
        if trained < steps and not reached:
            todo.setdefault(trained, []).append(key)
    data = ml.titanic()
    for trained, group in todo.items():
        earlier = [_lab_memo[k] for k in group] if trained else None
        for key, run in zip(group, distributed_sgd.train_runs(
                _lab_layers(model, seed), data.X_train, data.y_train, data.X_test, data.y_test,
                [k[3] for k in group], [k[4] for k in group], steps, seed, staleness,
                targets=[target] * len(group), runs=earlier)):
            for curve in (run.train_loss, run.test_loss, run.test_accuracy):
                curve.flags.writeable = False
            _lab_memo[key] = run
    for key in keys:
        _lab_memo.move_to_end(key)
    while len(_lab_memo) > _LAB_CACHE_RUNS:
        _lab_memo.popitem(last=False)
    return [_lab_memo[k] for k in keys]


def lab_cache_clear() -> None:
    _lab_memo.clear()


def _first_step_at_most(curve: np.ndarray, target: float) -> int | None:
    reached = curve <= target
    return int(reached.argmax()) + 1 if reached.any() else None


def lab(p: dict[str, Any]) -> dict[str, Any]:
    data = ml.titanic()
    weights = ml.n_params(_lab_layers(p["lab_model"], p["lab_seed"]))
    staleness = p["staleness"] if p["mode"] == "parameter_server" else 0
    K, steps, batch = p["lab_workers"], p["lab_steps"], p["lab_batch"]
    trained = (p["lab_model"], p["lab_seed"], staleness)

    def run(workers):  # a run of `workers` workers is one of global batch workers × batch (distributed_sgd)
        return workers * batch, p["lab_lr"] * (workers if p["lab_lr_scaling"] == "linear" else 1)

    k_run, single = _lab_runs(*trained, [run(K), run(1)], steps)
    train_loss, test_loss, test_acc = (c[:steps].copy() for c in (k_run.train_loss, k_run.test_loss,
                                                                     k_run.test_accuracy))
    single_loss = single.test_loss[:steps]
    compute, comm, step = (float(x[0]) for x in _lab_step_times(p, np.array([K]), weights))

    # The sweep: how soon does each worker count reach the held-out loss that ONE worker reaches
    # by the end (noise averaged over the last tenth of its steps)? Runs stop once they get there.
    tail = max(1, steps // 10)
    target = float(np.mean(single_loss[-tail:]))
    n_train = data.X_train.shape[0]
    sweep = np.array(sorted({k for k in LAB_SWEEP if k * batch <= n_train} | {K}))
    others = [int(k) for k in sweep if k not in (1, K)]
    reached = {k: _first_step_at_most(r.test_loss[:steps], target)
               for k, r in zip(others, _lab_runs(*trained, [run(k) for k in others], steps, target))}
    reached[1], reached[K] = _first_step_at_most(single_loss, target), _first_step_at_most(test_loss, target)
    steps_needed = np.array([reached[int(k)] for k in sweep], dtype=float)  # None → NaN: not reached
    s_compute, s_comm, s_step = _lab_step_times(p, sweep, weights)
    time_to_target = steps_needed * s_step
    best = int(np.nanargmin(time_to_target))
    time_axis = np.arange(1, steps + 1) * step
    return {
        "metrics": {
            "lab_params": weights,
            "lab_train_loss": float(np.mean(train_loss[-tail:])),
            "lab_test_loss": float(test_loss[-1]),
            "lab_test_accuracy": float(test_acc[-1]),
            "lab_compute_ms": compute * 1e3,
            "lab_comm_ms": comm * 1e3,
            "lab_step_ms": step * 1e3,
            "lab_comm_share": (step - compute) / step if step > 0 else 0.0,  # exposed, not overlapped
            "lab_wall_clock_s": steps * step,
            "lab_target_loss": target,
            "lab_best_workers": int(sweep[best]),
            # With no simulated compute (lab_sample_us = 0) one worker takes no time at all.
            "lab_best_speedup": float(time_to_target[0] / time_to_target[best]) if time_to_target[best] > 0 else 1.0,
        },
        "series": {
            "lab_curve": {"step": np.arange(1, steps + 1), "time_s": time_axis, "train_loss": train_loss,
                          "test_loss": test_loss, "test_accuracy": test_acc},
            "lab_sweep": {"workers": sweep, "steps_to_target": steps_needed, "step_ms": s_step * 1e3,
                          "compute_ms": s_compute * 1e3, "comm_ms": s_comm * 1e3,
                          "time_to_target_s": time_to_target},
        },
    }


# ---------------------------------------------------------------- simulate


def _idle_cells(cells, stages: int, makespan: float):
    """The gaps in each GPU's row of the timeline: the pipeline bubble, made visible."""
    idle = []
    for gpu in range(stages):
        t = 0.0
        for _, _, _, start, end in sorted((c for c in cells if c[0] == gpu), key=lambda c: c[3]):
            if start > t + 1e-12:
                idle.append((gpu, "idle", -1, t, start))
            t = end
        if makespan > t + 1e-12:
            idle.append((gpu, "idle", -1, t, makespan))
    return idle


def simulate(p: dict[str, Any]) -> dict[str, Any]:
    d = _derived(p)
    res = cluster(p, d["n_gpus"], p["global_batch"])
    now = {k: (bool(x) if np.asarray(x).dtype == bool else float(x)) for k, x in res.items()}
    now.update(_time_and_cost(p, now))
    zero_rows = cluster(p, np.full(4, d["n_gpus"]), np.full(4, p["global_batch"]), np.arange(4))
    if p["mode"] == "parameter_server":
        zero_rows = {k: np.full(4, now[k]) for k in ("params_gb", "grads_gb", "optimizer_gb", "activations_gb")}

    v = d["v"]
    tl_p = min(p["pp"], TIMELINE_MAX_STAGES)
    tl_m = int(min(now["micro_batches"], TIMELINE_MAX_MICRO))
    if tl_p == 1:  # no pipeline in this set-up: illustrate the chosen schedule on 4 stages instead
        tl_p, tl_m = 4, 8
    if p["schedule"] == "interleaved":
        tl_m = max(tl_p, tl_m - tl_m % tl_p)
    cells, makespan, _ = par.simulate_pipeline(tl_p, tl_m, p["schedule"], v)
    cells = cells + _idle_cells(cells, tl_p, makespan)

    lab_out = lab(p)
    gpu = par.gpu_catalog()[p["gpu"]]
    metrics = {
        "n_gpus": d["n_gpus"], "data_parallel": d["dp"],
        **{k: now[k] for k in ("micro_batches", "params_total", "memory_per_gpu_gb", "params_gb", "grads_gb",
                               "optimizer_gb", "activations_gb", "fits_in_memory", "step_time_s", "compute_s",
                               "tp_comm_s", "pp_comm_s", "dp_comm_s", "pp_bubble_s", "bubble_fraction",
                               "tokens_per_s", "mfu", "achieved_tflops_per_gpu", "optimizer_steps",
                               "finishes", "time_to_train_days", "preemption_overhead", "checkpoint_interval_h",
                               "cost_usd", "ps_cost_usd", "price_per_gpu_hour")},
        "gpu_memory_gb": gpu["memory_gb"],
        "gpu_usable_gb": usable_memory_bytes(gpu) / 1e9,
        "timeline_stages": tl_p, "timeline_micro_batches": tl_m, "timeline_illustrative": p["pp"] == 1,
        "timeline_makespan": makespan,
        "timeline_bubble_fraction": sum(c[4] - c[3] for c in cells if c[1] == "idle") / (tl_p * makespan),
        **lab_out["metrics"],
    }
    units = {"params_total": "parameters", "memory_per_gpu_gb": "GB", "params_gb": "GB", "grads_gb": "GB",
             "optimizer_gb": "GB", "activations_gb": "GB", "gpu_memory_gb": "GB", "step_time_s": "s",
             "compute_s": "s", "tp_comm_s": "s", "pp_comm_s": "s", "dp_comm_s": "s", "pp_bubble_s": "s",
             "tokens_per_s": "tokens/s", "achieved_tflops_per_gpu": "TFLOP/s", "time_to_train_days": "days",
             "checkpoint_interval_h": "h", "cost_usd": "USD", "ps_cost_usd": "USD", "price_per_gpu_hour": "USD/h",
             "gpu_usable_gb": "GB",
             "lab_compute_ms": "ms", "lab_comm_ms": "ms", "lab_step_ms": "ms", "lab_wall_clock_s": "s"}
    return {
        "metrics": metrics,
        "units": units,
        "series": {
            "scaling": _scaling(p, now["micro_batches"]),
            "memory_by_zero_stage": {"zero_stage": np.arange(4), **{k: zero_rows[k] for k in (
                "params_gb", "grads_gb", "optimizer_gb", "activations_gb")}},
            "pipeline": {
                "gpu": [c[0] for c in cells], "kind": [c[1] for c in cells],
                "micro_batch": [c[2] for c in cells], "start": [c[3] for c in cells],
                "end": [c[4] for c in cells]},
            **lab_out["series"],
        },
        "tables": {"gpu": {"columns": ["figure", "value", "source", "date"], "rows": [
            [k, gpu[k], gpu["sources"][k]["source"], gpu["sources"][k]["date"]] for k in gpu["sources"]]}},
    }


# ---------------------------------------------------------------- charts



def _rows(series: dict[str, list], *names: str) -> list[dict[str, Any]]:
    cols = [series[n] for n in names]
    return [dict(zip(names, values)) for values in zip(*cols)]


def charts(result: dict[str, Any]) -> list[dict[str, Any]]:
    m, series, params = result["metrics"], result["series"], result["params"]
    scaling = _rows(series["scaling"], "gpus", "scaling", "tokens_per_s", "efficiency", "fits")
    x_gpus = {"field": "gpus", "type": "quantitative", "title": "GPUs", "scale": {"type": "log", "base": 2}}
    color_scaling = {"field": "scaling", "type": "nominal", "title": "Scaling",
                     "scale": {"domain": ["strong", "weak"]}}
    scaling_spec = {
        "$schema": VEGA_LITE_SCHEMA, "data": {"values": scaling},
        "hconcat": [
            {"width": 260, "height": 220, "title": "Throughput",
             "mark": {"type": "line", "point": True},
             "encoding": {"x": x_gpus, "y": {"field": "tokens_per_s", "type": "quantitative", "title": "tokens/s",
                                             "scale": {"type": "log"}},
                          "color": color_scaling,
                          "tooltip": [{"field": "gpus"}, {"field": "scaling"},
                                      {"field": "tokens_per_s", "format": ",.0f"}, {"field": "fits"}]}},
            {"width": 260, "height": 220, "title": "Scaling efficiency (per-GPU throughput vs the smallest run)",
             "mark": {"type": "line", "point": True},
             "encoding": {"x": x_gpus, "y": {"field": "efficiency", "type": "quantitative", "title": "efficiency",
                                             "axis": {"format": "%"}},
                          "color": color_scaling,
                          "tooltip": [{"field": "gpus"}, {"field": "scaling"},
                                      {"field": "efficiency", "format": ".1%"}]}},
        ],
    }

    parts = [("params_gb", "weights"), ("grads_gb", "gradients"), ("optimizer_gb", "optimizer states"),
             ("activations_gb", "activations")]
    zero = series["memory_by_zero_stage"]
    capacity_label = f"{params['gpu']}: {m['gpu_memory_gb']:g} GiB, {m['gpu_usable_gb']:.1f} GB usable"
    mem_rows = [{"setup": f"ZeRO {stage}" + (" (chosen)" if stage == params["zero_stage"] else ""),
                 "part": label, "gb": zero[key][i]}
                for i, stage in enumerate(zero["zero_stage"]) for key, label in parts]
    memory_spec = {
        "$schema": VEGA_LITE_SCHEMA, "width": 520, "height": 160,
        "layer": [
            {"data": {"values": mem_rows}, "mark": "bar",
             "encoding": {"y": {"field": "setup", "type": "nominal", "title": None},
                          "x": {"field": "gb", "type": "quantitative", "title": "GB per GPU", "stack": "zero"},
                          "color": {"field": "part", "type": "nominal", "title": None,
                                    "sort": [label for _, label in parts], "legend": {"orient": "bottom"}},
                          "tooltip": [{"field": "setup"}, {"field": "part"}, {"field": "gb", "format": ".2f"}]}},
            {"data": {"values": [{"gb": m["gpu_usable_gb"], "label": capacity_label}]},
             "mark": {"type": "rule", "color": "#c0392b", "strokeWidth": 2},
             "encoding": {"x": {"field": "gb", "type": "quantitative"}}},
            {"data": {"values": [{"gb": m["gpu_usable_gb"], "label": capacity_label}]},
             "mark": {"type": "text", "align": "right", "dx": -4, "y": -8, "color": "#c0392b"},
             "encoding": {"x": {"field": "gb", "type": "quantitative"}, "text": {"field": "label"}}},
        ],
    }

    step_parts = [("compute_s", "compute"), ("tp_comm_s", "tensor-parallel comm"), ("pp_comm_s", "pipeline sends"),
                  ("pp_bubble_s", "pipeline bubble"), ("dp_comm_s", "data-parallel comm")]
    step_rows = [{"step": "one step", "part": label, "seconds": m[key]} for key, label in step_parts]
    step_spec = {
        "$schema": VEGA_LITE_SCHEMA, "width": 520, "height": 60, "data": {"values": step_rows}, "mark": "bar",
        "encoding": {"y": {"field": "step", "type": "nominal", "title": None},
                     "x": {"field": "seconds", "type": "quantitative", "title": "seconds per optimizer step"},
                     "color": {"field": "part", "type": "nominal", "title": None,
                               "sort": [label for _, label in step_parts], "legend": {"orient": "bottom"}},
                     "order": {"field": "order"},
                     "tooltip": [{"field": "part"}, {"field": "seconds", "format": ".4g"}]},
    }
    for i, row in enumerate(step_rows):
        row["order"] = i

    pipe = series["pipeline"]
    kind_name = {"F": "forward", "B": "backward", "idle": "idle (bubble)"}
    cells = [{"gpu": f"GPU {g}", "kind": kind_name[k], "mb": "" if mb < 0 else str(mb), "start": a, "end": e}
             for g, k, mb, a, e in zip(pipe["gpu"], pipe["kind"], pipe["micro_batch"], pipe["start"], pipe["end"])]
    y_gpu = {"field": "gpu", "type": "ordinal", "title": None,
             "sort": [f"GPU {i}" for i in range(int(m["timeline_stages"]))]}
    pipeline_spec = {
        "$schema": VEGA_LITE_SCHEMA, "width": 560, "height": 28 * int(m["timeline_stages"]),
        "data": {"values": cells},
        "layer": [
            {"mark": {"type": "rect", "stroke": "white", "strokeWidth": 1},
             "encoding": {"y": y_gpu, "x": {"field": "start", "type": "quantitative",
                                            "title": "time (forward pass of one micro-batch on one stage = 1)",
                                            "scale": {"domain": [0, m["timeline_makespan"]], "nice": False}},
                          "x2": {"field": "end"},
                          "color": {"field": "kind", "type": "nominal", "title": None,
                                    "scale": {"domain": list(kind_name.values()),
                                              "range": ["#4c78a8", "#f58518", "#e8e8e8"]},
                                    "legend": {"orient": "bottom"}},
                          "tooltip": [{"field": "gpu"}, {"field": "kind"}, {"field": "mb", "title": "micro-batch"},
                                      {"field": "start"}, {"field": "end"}]}},
            # Micro-batch numbers only where a cell is wide enough to hold one.
            {"transform": [{"filter": "datum.mb != '' && datum.end - datum.start >= 0.99"},
                           {"calculate": "(datum.start + datum.end) / 2", "as": "mid"}],
             "mark": {"type": "text", "fontSize": 9, "color": "white"},
             "encoding": {"y": y_gpu, "x": {"field": "mid", "type": "quantitative"}, "text": {"field": "mb"}}},
        ],
    }

    curve = _rows(series["lab_curve"], "step", "time_s", "train_loss", "test_loss", "test_accuracy")
    long = [{"step": r["step"], "time_s": r["time_s"], "curve": name, "loss": r[key]}
            for r in curve for key, name in (("train_loss", "training loss (worker mean)"),
                                             ("test_loss", "held-out loss"))]
    lab_curve_spec = {
        "$schema": VEGA_LITE_SCHEMA, "data": {"values": long},
        "hconcat": [
            {"width": 220, "height": 200, "title": "Loss against optimizer steps", "mark": "line",
             "encoding": {"x": {"field": "step", "type": "quantitative", "title": "step"},
                          "y": {"field": "loss", "type": "quantitative", "title": "cross-entropy",
                                "scale": {"zero": False}},
                          "color": {"field": "curve", "type": "nominal", "title": None,
                                    "legend": {"orient": "bottom"}}}},
            {"width": 220, "height": 200, "title": "Loss against simulated wall-clock", "mark": "line",
             "encoding": {"x": {"field": "time_s", "type": "quantitative", "title": "seconds"},
                          "y": {"field": "loss", "type": "quantitative", "title": "cross-entropy",
                                "scale": {"zero": False}},
                          "color": {"field": "curve", "type": "nominal", "title": None,
                                    "legend": {"orient": "bottom"}}}},
            {"width": 220, "height": 200, "title": "Held-out accuracy", "data": {"values": curve},
             "mark": {"type": "line", "color": "#54a24b"},
             "encoding": {"x": {"field": "time_s", "type": "quantitative", "title": "seconds"},
                          "y": {"field": "test_accuracy", "type": "quantitative", "title": "accuracy",
                                "axis": {"format": "%"}, "scale": {"zero": False}}}},
        ],
    }

    sweep = _rows(series["lab_sweep"], "workers", "steps_to_target", "step_ms", "compute_ms", "comm_ms",
                  "time_to_target_s")
    split = [{"workers": r["workers"], "part": part, "ms": r[key]}
             for r in sweep for key, part in (("compute_ms", "compute"), ("comm_ms", "gradient exchange"))]
    x_workers = {"field": "workers", "type": "ordinal", "title": "workers (K)"}
    lab_sweep_spec = {
        "$schema": VEGA_LITE_SCHEMA,
        "hconcat": [
            {"width": 260, "height": 200, "data": {"values": [r for r in sweep if r["time_to_target_s"] is not None]},
             "title": f"Time to held-out loss {m['lab_target_loss']:.3f} (no bar: not reached)",
             "mark": {"type": "bar"},
             "encoding": {"x": x_workers, "y": {"field": "time_to_target_s", "type": "quantitative",
                                                "title": "simulated seconds"},
                          "tooltip": [{"field": "workers"}, {"field": "steps_to_target"},
                                      {"field": "time_to_target_s", "format": ".3g"}]}},
            {"width": 260, "height": 200, "data": {"values": split}, "title": "One step: compute and exchange",
             "mark": "bar",
             "encoding": {"x": x_workers, "y": {"field": "ms", "type": "quantitative", "title": "ms per step"},
                          "color": {"field": "part", "type": "nominal", "title": None},
                          "tooltip": [{"field": "workers"}, {"field": "part"}, {"field": "ms", "format": ".3g"}]}},
        ],
    }
    pipeline_title = (f"Pipeline schedule ({params['schedule']}) for {m['timeline_stages']} stages × "
                      f"{m['timeline_micro_batches']} micro-batches")
    if m["timeline_illustrative"]:
        pipeline_title += " (illustration: this set-up has pp = 1)"
    return [
        {"name": "scaling", "title": "Scaling from 1 to 4096 GPUs (tp and pp fixed, data parallelism grows)",
         "spec": scaling_spec},
        {"name": "memory", "title": "Memory per GPU by ZeRO stage, against the GPU's capacity", "spec": memory_spec},
        {"name": "step_time", "title": "Where one optimizer step goes", "spec": step_spec},
        {"name": "pipeline", "title": pipeline_title, "spec": pipeline_spec},
        {"name": "lab_curve", "title": f"Titanic lab: {params['lab_workers']} workers, {params['mode']}",
         "spec": lab_curve_spec},
        {"name": "lab_sweep", "title": "Titanic lab: where more workers stop helping", "spec": lab_sweep_spec},
    ]


def describe(result: dict[str, Any], metrics: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The result in one sentence and one line per chart (screen readers, small screens)."""
    text = {name: shown["text"] for name, shown in metrics.items()}
    m, series, params = result["metrics"], result["series"], result["params"]
    fits = "fits" if m["fits_in_memory"] else "does not fit"
    sentence = (f"{text['memory_per_gpu_gb']} per GPU ({fits}), step {text['step_time_s']}, "
                f"{text['tokens_per_s']}, MFU {text['mfu']}, {text['time_to_train_days']} to train, "
                f"{text['cost_usd']}.")
    scaling = series["scaling"]
    gpus = np.asarray(scaling["gpus"], dtype=float)
    kind = np.asarray(scaling["scaling"])
    at_most = {k: int(np.argmax(np.where(kind == k, gpus, -1))) for k in ("strong", "weak") if (kind == k).any()}
    scaling_line = "; ".join(
        f"{k} scaling at {format_value(gpus[i], ',.0f')} GPUs: {format_value(scaling['efficiency'][i], '.0%')} "
        f"efficient, {format_value(scaling['tokens_per_s'][i], '.3s', 'tokens/s')}" for k, i in at_most.items())
    zero = series["memory_by_zero_stage"]
    totals = np.sum([zero[k] for k in ("params_gb", "grads_gb", "optimizer_gb", "activations_gb")], axis=0)
    memory_line = ", ".join(f"ZeRO {stage} {format_value(total, '.1f', 'GB')}"
                            for stage, total in zip(zero["zero_stage"], totals.tolist()))
    parts = (("compute_s", "compute"), ("tp_comm_s", "tensor-parallel comm"), ("pp_comm_s", "pipeline sends"),
             ("pp_bubble_s", "pipeline bubble"), ("dp_comm_s", "data-parallel comm"))
    step_line = ", ".join(f"{label} {format_value(m[key], '.3g', 's')}" for key, label in parts)
    curve = series["lab_curve"]
    sweep = series["lab_sweep"]
    return {
        "sentence": sentence,
        "charts": {
            "scaling": f"{scaling_line[:1].upper()}{scaling_line[1:]}.",
            "memory": (f"Memory per GPU: {memory_line}, against {format_value(m['gpu_usable_gb'], '.1f', 'GB')} "
                       f"usable; ZeRO {params['zero_stage']} is chosen."),
            "step_time": f"One step takes {text['step_time_s']}: {step_line}.",
            "pipeline": (f"{m['timeline_stages']} stages, {m['timeline_micro_batches']} micro-batches, "
                         f"{params['schedule']} schedule: the GPUs are idle "
                         f"{format_value(m['timeline_bubble_fraction'], '.0%')} of the time."),
            "lab_curve": (f"Held-out loss goes from {format_value(curve['test_loss'][0], '.3f')} to "
                          f"{format_value(curve['test_loss'][-1], '.3f')} in {len(curve['step'])} steps; held-out "
                          f"accuracy ends at {format_value(curve['test_accuracy'][-1], '.1%')}."),
            "lab_sweep": (f"Fastest to the target loss: {m['lab_best_workers']} workers, "
                          f"{format_value(m['lab_best_speedup'], '.3g')} times one worker; the exchange takes "
                          f"{format_value(sweep['comm_ms'][-1], '.3g', 'ms')} per step at "
                          f"{sweep['workers'][-1]} workers."),
        },
    }


METRICS = (
    Metric("params_total", "Parameters", "", ".3s"),
    Metric("memory_per_gpu_gb", "Memory per GPU", "GB", ".1f"),
    Metric("params_gb", "Weights", "GB", ".2f"),
    Metric("grads_gb", "Gradients", "GB", ".2f"),
    Metric("optimizer_gb", "Optimizer states", "GB", ".2f"),
    Metric("activations_gb", "Activations", "GB", ".2f"),
    Metric("fits_in_memory", "Fits in GPU memory", "", ""),
    Metric("step_time_s", "Step time", "s", ".3g"),
    Metric("compute_s", "Compute", "s", ".3g"),
    Metric("tp_comm_s", "Tensor-parallel comm", "s", ".3g"),
    Metric("dp_comm_s", "Data-parallel comm", "s", ".3g"),
    Metric("pp_bubble_s", "Pipeline bubble", "s", ".3g"),
    Metric("bubble_fraction", "Bubble share", "", ".1%"),
    Metric("tokens_per_s", "Throughput", "tokens/s", ",.0f"),
    Metric("mfu", "Model FLOPs utilisation", "", ".1%"),
    Metric("time_to_train_days", "Time to train", "days", ".3g"),
    Metric("cost_usd", "Cost", "USD", ",.0f"),
    Metric("lab_test_accuracy", "Lab held-out accuracy", "", ".1%"),
    Metric("lab_step_ms", "Lab step (simulated)", "ms", ".3g"),
    Metric("lab_best_workers", "Lab: fastest worker count", "", "d"),
)


def warm_up_steps():
    """The lab's data, with numpy.random's first import, as a piece of the browser's warm-up of its own
    (``Widget.warm_up_steps``): a reader's change of another widget waits for less."""
    ml.titanic()
    yield


WIDGET = Widget(
    type="distributed_training_lab",
    title="Distributed training lab",
    summary="Data, tensor and pipeline parallelism, ZeRO and parameter servers on a GPU cluster, with "
            "numbers from the Megatron-LM, ZeRO and activation-recomputation papers; plus real "
            "data-parallel training of a Titanic survival model on simulated workers.",
    params=PARAMS,
    simulate=simulate,
    charts=charts,
    metrics=METRICS,
    check=check,
    key_metrics=("memory_per_gpu_gb", "fits_in_memory", "step_time_s", "tokens_per_s", "time_to_train_days",
                 "cost_usd"),
    describe=describe,
    # the defaults: trains the lab's runs for the usual first state (~160 ms in Pyodide under Node), so
    # neither the first Part A move nor the first lab move starts from an empty memo
    warm_up={},
    warm_up_steps=warm_up_steps,
)
