"""Titanic passengers and the small numpy models the widgets train, compress and serve.

One implementation shared by the distributed training lab (which splits training across simulated
workers) and the cost dashboard (which quantizes, prunes and distils the trained models).

Data: ``data/titanic_survival.csv`` (1,309 passengers; provenance in ``data/README.md``). Features:
``male``, ``age`` (standardised with the training split's mean and spread; a missing age takes the
training median), ``age_missing``, ``class_2``, ``class_3`` (first class is the baseline).

Models are lists of dense layers ``{"W": (in, out), "b": (out,)}`` with ReLU between layers and one
output logit: ``[n_features, 1]`` is logistic regression, ``[n_features, 16, 1]`` a one-hidden-layer
MLP. The loss is mean binary cross-entropy on the logit; targets may be soft probabilities, which is
how knowledge distillation (Hinton, Vinyals & Dean 2015, arXiv 1503.02531) trains a student on a
teacher's temperature-softened outputs. With temperature T the soft loss is T² · BCE(σ(z/T), t) so that
gradient magnitudes stay comparable across temperatures, as that paper recommends; like the paper, the
student's objective is a weighted sum with the ordinary loss on the true labels,
(1 − w) · T² · BCE(σ(z/T), t) + w · BCE(σ(z), y), with a small hard-label weight w.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

DATA_FILE = Path(__file__).with_name("data") / "titanic_survival.csv"
FEATURES = ("male", "age", "age_missing", "class_2", "class_3")

Layers = list[dict[str, np.ndarray]]


@dataclass(frozen=True)
class Dataset:
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]


@functools.lru_cache(maxsize=1)
def _read_rows() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """survived, male, age (NaN when unknown), pclass; read once (every seed splits the same rows)."""
    with DATA_FILE.open(newline="", encoding="utf-8") as fh:
        rows = csv.reader(fh)
        col = {name: i for i, name in enumerate(next(rows))}
        survived, sex, age, pclass = (col[k] for k in ("survived", "sex", "age", "pclass"))
        table = [(r[survived], r[sex], r[age], r[pclass]) for r in rows]
    arrays = (np.array([int(r[0]) for r in table], float), np.array([r[1] == "male" for r in table], float),
              np.array([float(r[2]) if r[2] else np.nan for r in table], float),
              np.array([int(r[3]) for r in table], int))
    for a in arrays:
        a.flags.writeable = False
    return arrays


def _median(values: np.ndarray) -> float:
    """``np.median`` of a 1-D array without NaNs (that function imports numpy.ma, ~80 ms in Pyodide)."""
    s = np.sort(values)
    mid = s.size // 2
    return float(s[mid]) if s.size % 2 else float((s[mid - 1] + s[mid]) / 2.0)


@functools.lru_cache(maxsize=8)
def titanic(seed: int = 0, test_fraction: float = 0.25) -> Dataset:
    """Features and labels split at random (fixed ``seed``) into train and held-out test rows.
    Scaling statistics come from the training rows only, so the test split stays unseen."""
    y, male, age, pclass = _read_rows()
    order = np.random.default_rng(seed).permutation(y.size)
    n_test = int(round(test_fraction * y.size))
    test, train = order[:n_test], order[n_test:]
    age_missing = np.isnan(age)
    train_ages = age[train][~age_missing[train]]
    filled = np.where(age_missing, _median(train_ages), age)
    age_z = (filled - train_ages.mean()) / train_ages.std()
    X = np.column_stack([male, age_z, age_missing, pclass == 2, pclass == 3]).astype(float)
    arrays = [X[train], y[train], X[test], y[test]]
    for a in arrays:
        a.flags.writeable = False  # cached and shared: nobody may change them
    return Dataset(*arrays, feature_names=FEATURES)


@functools.lru_cache(maxsize=1)
def distinct_feature_rows() -> int:
    """Distinct feature rows among all passengers (train and test). Counted on the source columns (sex,
    age or unknown, class), which the features recode one to one for every seed (an increasing map of
    the known ages, a flag for the unknown), so it is one number, not one per split."""
    _, male, age, pclass = _read_rows()
    return int(np.unique(np.column_stack([male, np.where(np.isnan(age), -1.0, age), pclass]), axis=0).shape[0])


def init_layers(sizes: Sequence[int], seed: int = 0) -> Layers:
    """He-initialised dense layers (zero weights for a single logistic layer, which is convex)."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        scale = np.sqrt(2.0 / fan_in) if len(sizes) > 2 else 0.0
        layers.append({"W": rng.normal(0.0, 1.0, (fan_in, fan_out)) * scale, "b": np.zeros(fan_out)})
    return layers


def _forward(layers: Layers, X: np.ndarray) -> list[np.ndarray]:
    """Activations entering each layer, plus the final logit column."""
    acts = [X]
    for i, layer in enumerate(layers):
        z = acts[-1] @ layer["W"] + layer["b"]
        acts.append(np.maximum(z, 0.0) if i < len(layers) - 1 else z)
    return acts


def logits(layers: Layers, X: np.ndarray) -> np.ndarray:
    return _forward(layers, X)[-1][:, 0]


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free form of 1 / (1 + e^-z)


def predict_proba(layers: Layers, X: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    return sigmoid(logits(layers, X) / temperature)


def accuracy(layers: Layers, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((logits(layers, X) > 0) == (y > 0.5)))


def loss_and_grads(
    layers: Layers,
    X: np.ndarray,
    y: np.ndarray,
    soft_targets: np.ndarray | None = None,
    temperature: float = 1.0,
    l2: float = 0.0,
    hard_weight: float = 0.0,
) -> tuple[float, Layers]:
    """Mean cross-entropy of the logit against ``y`` (or ``soft_targets``) and its gradients; with soft
    targets, ``hard_weight`` of the loss is the cross-entropy against ``y`` at temperature 1."""
    targets = y if soft_targets is None else soft_targets
    acts = _forward(layers, X)
    z = acts[-1][:, 0] / temperature
    # BCE on logits, written to be stable for large |z|: softplus(z) - t z.
    loss = temperature**2 * float(np.mean(np.logaddexp(0.0, z) - targets * z))
    delta = (temperature * (sigmoid(z) - targets) / X.shape[0])[:, None]
    if soft_targets is not None and hard_weight:
        logit = acts[-1][:, 0]
        hard = float(np.mean(np.logaddexp(0.0, logit) - y * logit))
        loss = (1.0 - hard_weight) * loss + hard_weight * hard
        delta = (1.0 - hard_weight) * delta + hard_weight * ((sigmoid(logit) - y) / X.shape[0])[:, None]
    grads: Layers = [dict() for _ in layers]
    for i in range(len(layers) - 1, -1, -1):
        grads[i]["W"] = acts[i].T @ delta
        grads[i]["b"] = delta.sum(axis=0)
        if i:
            delta = (delta @ layers[i]["W"].T) * (acts[i] > 0)
    if l2:
        loss += 0.5 * l2 * sum(float(np.sum(layer["W"] ** 2)) for layer in layers)
        for g, layer in zip(grads, layers):
            g["W"] = g["W"] + l2 * layer["W"]
    return loss, grads


def sgd_step(layers: Layers, grads: Layers, lr: float, masks: Layers | None = None) -> Layers:
    """One plain SGD update; ``masks`` (same structure, 0/1) keep pruned weights at zero."""
    new = [{k: layer[k] - lr * g[k] for k in layer} for layer, g in zip(layers, grads)]
    if masks is not None:
        new = [{k: layer[k] * mask[k] for k in layer} for layer, mask in zip(new, masks)]
    return new


def batch_indices(n_rows: int, steps: int, batch_size: int, seed: int = 0):
    """Row indices of each step's minibatch: a fresh seeded shuffle every epoch, the remainder of an
    epoch dropped. Shared by ``train`` and the data-parallel lab, which must see the same batches."""
    rng = np.random.default_rng(seed)
    batch_size = min(batch_size, n_rows)
    per_epoch = n_rows // batch_size
    order = rng.permutation(n_rows)
    for step in range(steps):
        k = step % per_epoch
        if k == 0 and step:
            order = rng.permutation(n_rows)
        yield order[k * batch_size:(k + 1) * batch_size]


def train(
    layers: Layers,
    X: np.ndarray,
    y: np.ndarray,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int = 0,
    soft_targets: np.ndarray | None = None,
    temperature: float = 1.0,
    masks: Layers | None = None,
    l2: float = 0.0,
    hard_weight: float = 0.0,
) -> tuple[Layers, np.ndarray]:
    """Minibatch SGD over shuffled epochs; returns the trained layers and the loss of every step."""
    losses = np.empty(steps)
    for step, idx in enumerate(batch_indices(X.shape[0], steps, batch_size, seed)):
        soft = None if soft_targets is None else soft_targets[idx]
        losses[step], grads = loss_and_grads(layers, X[idx], y[idx], soft, temperature, l2, hard_weight)
        layers = sgd_step(layers, grads, lr, masks)
    return layers, losses


def n_params(layers: Layers) -> int:
    return int(sum(a.size for layer in layers for a in layer.values()))


def copy_layers(layers: Layers) -> Layers:
    return [{k: v.copy() for k, v in layer.items()} for layer in layers]


@functools.lru_cache(maxsize=8)
def batch_index_array(n_rows: int, steps: int, batch_size: int, seed: int = 0) -> np.ndarray:
    """``batch_indices`` as one (steps, batch) array: the same batches, every epoch's shuffle drawn in
    one call (``permuted`` shuffles the rows in turn from the same stream, as one ``permutation`` call per
    epoch would). Cached, read-only: the models of one seed train on the same batches."""
    rng = np.random.default_rng(seed)
    batch_size = min(batch_size, n_rows)
    per_epoch = n_rows // batch_size
    epochs = max(1, -(-steps // per_epoch))
    orders = rng.permuted(np.tile(np.arange(n_rows), (epochs, 1)), axis=1)[:, :per_epoch * batch_size]
    out = orders.reshape(-1, batch_size)[:steps]
    out.flags.writeable = False
    return out


def train_stack(
    models: Sequence[Layers],
    X: np.ndarray,
    y: np.ndarray,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int = 0,
    soft_targets: np.ndarray | None = None,
    temperature: float = 1.0,
    masks: Sequence[Layers] | None = None,
    hard_weight: float = 0.0,
    start_step: int = 0,
    checkpoints: Sequence[int] = (),
) -> dict[int, list[Layers]]:
    """``train`` for several models of one shape at once, on the same minibatches, with the same update
    (equal up to float rounding: sums run in another order). Each step is a few stacked numpy calls for
    all the models, which is what costs in Pyodide; losses are not computed.

    The models are taken to have done ``start_step`` steps already (a run continued from a checkpoint
    sees the batches of the uninterrupted run). Returns the models after ``steps`` steps, and after each
    of ``checkpoints`` in between, keyed by step. One or two layers (logistic regression or the MLP)."""
    n_models, n_layers = len(models), len(models[0])
    if n_layers not in (1, 2):
        raise ValueError(f"train_stack handles 1 or 2 layers, not {n_layers}")
    w = float(hard_weight) if soft_targets is not None else 0.0
    if w == 1.0:  # only the true labels count: plain training
        soft_targets, temperature, w = None, 1.0, 0.0
    T = float(temperature) if soft_targets is not None else 1.0
    targets = y if soft_targets is None else soft_targets
    idx = batch_index_array(X.shape[0], steps, batch_size, seed)[start_step:]
    n = idx.shape[1]
    want = {int(c) - start_step for c in checkpoints if start_step < c < steps}
    hidden = models[0][0]["W"].shape[1] if n_layers == 2 else 0
    n_in = X.shape[1] + 1  # features and a constant 1 (the bias's input)

    # The step −lr·dLoss/dlogit of ``loss_and_grads``, with σ(u) = (1 + tanh(u/2))/2 expanded:
    # −lr·(1 − w)·T·(σ(z/T) − t)/n = g·(tanh(z/(2T)) + offset) with g = −lr·(1 − w)·T/(2n) and
    # offset = 2·(1/2 − t); the hard-label part likewise, relative to g. Everything is kept in units that
    # make each step a few whole-array calls: the forward pass reads the inputs times s = 1/(2T), so that
    # the output is the tanh's argument (ReLU passes a positive factor through, the bias's constant input
    # carries it to both biases), and the backward pass reads them times g (see the loop). The weights
    # themselves are kept unscaled, so a run continued from returned layers (``start_step``, or the
    # browser's warm-up in pieces) is bit for bit the uninterrupted run.
    s = 0.5 / T
    gain = -lr * (1.0 - w) * T / (2 * n)
    rows = np.take(np.concatenate([X, np.ones((X.shape[0], 1))], axis=1), idx, axis=0)  # (steps, batch, n_in)
    rows_T = np.multiply(rows.transpose(0, 2, 1), s, order="C")  # (steps, n_in, batch), contiguous
    offsets = (2.0 * (0.5 - targets) + (2.0 * w / ((1.0 - w) * T)) * (0.5 - y) if w else 2.0 * (0.5 - targets))[idx]
    rows_g = rows * gain
    hard_ratio = w / ((1.0 - w) * T) if w else 0.0  # hard gain / soft gain

    # All the parameters in one array (per model) and their update in another of the same layout, so
    # that a step ends in one addition. MLP layout: the first layer transposed, (hidden + 1) × n_in with
    # its bias as the last column and a last row that makes a hidden unit always 1 (it feeds the output
    # bias), then the output layer's hidden + 1 weights.
    n_first = (hidden + 1) * n_in if n_layers == 2 else 0
    size = n_first + (hidden + 1 if n_layers == 2 else n_in)

    def flat(model: Layers) -> np.ndarray:
        v = np.zeros(size)
        if n_layers == 2:
            f = v[:n_first].reshape(hidden + 1, n_in)
            f[:hidden, :-1], f[:hidden, -1], f[hidden, -1] = model[0]["W"].T, model[0]["b"], 1.0
        v[n_first:-1], v[-1] = model[-1]["W"][:, 0], model[-1]["b"][0]
        return v

    params = np.stack([flat(m) for m in models])
    mask = None
    if masks is not None:
        mask = np.stack([flat(m) for m in masks])
        if n_layers == 2:
            mask[:, n_first - n_in:n_first] = 1.0  # the always-1 unit is never trained
    update = np.zeros_like(params)  # stays 0 on the always-1 unit
    saved: dict[int, list[Layers]] = {}

    def unstack() -> list[Layers]:
        out = []
        for p in params:
            last = p[n_first:]
            layer = {"W": last[:-1, None].copy(), "b": last[-1:].copy()}
            if n_layers == 2:
                f = p[:n_first].reshape(hidden + 1, n_in)
                out.append([{"W": f[:hidden, :-1].T.copy(), "b": f[:hidden, -1].copy()}, layer])
            else:
                out.append([layer])
        return out

    # One model trains on 2-D arrays (the same calls: matmul broadcasts the model axis).
    one = (lambda a: a[0]) if n_models == 1 else (lambda a: a)
    P, U = one(params), one(update)
    out_layer = one(params[:, n_first:].reshape(n_models, 1, -1))
    out_update = one(update[:, n_first:].reshape(n_models, 1, -1))
    z = one(np.empty((n_models, 1, n)))
    z_hard = np.empty_like(z)
    if n_layers == 2:
        first = one(params[:, :n_first].reshape(n_models, hidden + 1, n_in))
        first_update = one(update[:, :n_first - n_in].reshape(n_models, hidden, n_in))
        out_top_col = out_layer[..., :hidden].mT  # (hidden, 1) views of the weights
        act = one(np.empty((n_models, hidden + 1, n)))
        slope = np.empty_like(act)
        grad = one(np.empty((n_models, hidden + 1, n_in)))
        grad_top = grad[..., :hidden, :]
        out_update_col = out_update.reshape(*out_update.shape[:-2], hidden + 1)

    if gain:
        keep = None if mask is None else one(mask)
        mlp = n_layers == 2
        # Local names: the loop runs hundreds of times and each global lookup costs in Pyodide.
        matmul, maximum, tanh, sign, vecdot, multiply = np.matmul, np.maximum, np.tanh, np.sign, np.vecdot, np.multiply
        for step, (xT, xg, offset) in enumerate(zip(rows_T, rows_g, offsets)):
            if mlp:
                matmul(first, xT, act)
                maximum(act, 0.0, act)
                matmul(out_layer, act, z)  # s · logit
            else:
                matmul(out_layer, xT, z)
            if w:
                multiply(z, T, z_hard)  # logit / 2
                tanh(z_hard, z_hard)
                z_hard *= hard_ratio
            tanh(z, z)
            z += offset
            if w:
                z += z_hard
            # z is now the step's dLoss/dlogit, times −lr/g. Backpropagate it:
            if mlp:
                # In the scaled units above: grad[i, k] = Σ_n [hidden[i, n] > 0] · z[n] · x[n, k] · g
                # (the ReLU's 0/1 slope as sign(hidden), hidden ≥ 0). The first layer's update is
                # w2[i]·grad[i, k]; the output layer's, Σ_n z[n]·hidden[i, n]·g, is the same as
                # Σ_k W1[i, k]·grad[i, k] (hidden is W1·x where positive), which spares the product with
                # the hidden layer. Both use the weights before the step.
                sign(act, slope)
                slope *= z
                matmul(slope, xg, grad)
                vecdot(first, grad, out_update_col)
                multiply(grad_top, out_top_col, first_update)
            else:
                matmul(z, xg, out_update)
            P += U
            if keep is not None:
                P *= keep
            if step + 1 in want:
                saved[start_step + step + 1] = unstack()
    else:  # no learning rate: nothing changes
        for c in want:
            saved[start_step + c] = unstack()
    saved[start_step + idx.shape[0]] = unstack()
    return saved
