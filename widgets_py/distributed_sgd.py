"""Data-parallel SGD on Titanic passengers with K simulated workers (the lab half of the widget).

The model code, data and loss are ``widgets_py.ml``; this module only decides which worker sees which
rows, when gradients are averaged and which weights they were computed on.

* Sharding follows PyTorch's DistributedSampler: each epoch the rows are shuffled once and worker r
  takes every K-th of them (r, r+K, ...), b at a time. The K batches of a step are then exactly the
  K·b consecutive rows that one worker with batch K·b would take from the same shuffle, with the same
  random stream as ``ml.train`` — which is why synchronous data parallelism reproduces single-worker
  training with batch K·b (tests check it to float tolerance).
* Synchronous data parallel: every worker computes the gradient of its own shard batch on the current
  weights; the gradients are averaged (an all-reduce) and every replica applies the same update.
* Parameter server with bounded staleness (Ho et al. 2013, SSP): the servers hold the weights; each
  step every worker's gradient is computed on the weights of ``staleness`` steps earlier (what it
  last pulled), the servers average the pushes and update. Staleness 0 is synchronous SGD.

``train_workers`` computes each worker's gradient separately, as the description reads: it is the
reference. The lab runs ``train_runs``, the same model made cheap enough for the reader's browser,
where numpy's per-call cost and the arithmetic of a Python loop over workers and steps dominated:

* Averaging K per-shard mean gradients, each over b rows, gives the mean gradient over all K·b rows
  (and the mean of the K shard losses the mean loss), so one gradient over the global batch stands
  for the K workers' all-reduce, stale or not.
* Passengers who share all five features share every activation. Each step's batch becomes a count
  of rows (and of survivors) per distinct feature row, so a step costs the ~300 distinct rows of the
  training set, whatever the batch, and the held-out set is evaluated on its distinct rows alongside.
* Several runs (worker counts, learning rates) advance in lockstep as stacked weight tensors, their
  batch rows taken for many steps at once from the same seeded shuffles as ``ml.batch_indices``
  (cached per seed: drawing them is slow in Pyodide); held-out losses are computed per block
  of steps, and a run that only has to reach a target loss stops at the first block where it does.

Tests hold ``train_runs`` to ``train_workers`` (and so to ``ml.train``) to float tolerance.
"""

from __future__ import annotations

import functools
from collections import deque
from dataclasses import dataclass

import numpy as np

from . import ml


def worker_batches(batch: np.ndarray, workers: int) -> np.ndarray:
    """Split a global batch into the K per-worker batches (worker r gets rows r, r+K, ...)."""
    return batch.reshape(-1, workers).T


def _average(grads_per_worker):
    k = len(grads_per_worker)
    return [{key: sum(g[i][key] for g in grads_per_worker) / k for key in grads_per_worker[0][i]}
            for i in range(len(grads_per_worker[0]))]


def _heldout(layers, X, y) -> tuple[float, float]:
    """Held-out cross-entropy (as in ml.loss_and_grads) and accuracy (as in ml.accuracy), one forward pass."""
    z = ml.logits(layers, X)
    return float((np.logaddexp(0.0, z) - y * z).mean()), float(((z > 0) == (y > 0.5)).mean())


def train_workers(layers, X, y, workers: int, batch: int, steps: int, lr: float, seed: int = 0,
                  staleness: int = 0, X_test=None, y_test=None):
    """K workers, each computing its shard's gradient separately; returns final layers and per-step
    training loss (mean over workers), held-out loss and held-out accuracy (NaN without a test set)."""
    history = deque([layers], maxlen=staleness + 1)  # weights of the last staleness+1 steps
    train_loss = np.empty(steps)
    test_loss = np.full(steps, np.nan)
    test_acc = np.full(steps, np.nan)
    for step, rows in enumerate(ml.batch_indices(X.shape[0], steps, workers * batch, seed)):
        seen = history[0]  # oldest kept: `staleness` steps old (or the start, early on)
        results = [ml.loss_and_grads(seen, X[idx], y[idx]) for idx in worker_batches(rows, workers)]
        train_loss[step] = sum(loss for loss, _ in results) / workers
        layers = ml.sgd_step(history[-1], _average([g for _, g in results]), lr)
        history.append(layers)
        if X_test is not None:
            test_loss[step], test_acc[step] = _heldout(layers, X_test, y_test)
    return layers, train_loss, test_loss, test_acc


# ---------------------------------------------------------------- the fast path (module docstring)


class _Shuffles:
    """The seeded epoch orders of ``ml.batch_indices`` (one permutation per epoch, from one stream),
    drawn once per seed and extended as longer runs need more epochs."""

    def __init__(self, n_rows: int, seed: int):
        self._rng = np.random.default_rng(seed)
        self._orders: list[np.ndarray] = []
        self.n_rows = n_rows

    def epochs(self, first: int, stop: int) -> np.ndarray:
        while len(self._orders) < stop:
            self._orders.append(self._rng.permutation(self.n_rows).astype(np.int32))
        return np.stack(self._orders[first:stop])


@functools.lru_cache(maxsize=2)
def _shuffles(n_rows: int, seed: int) -> _Shuffles:
    return _Shuffles(n_rows, seed)


def batch_rows(n_rows: int, batch: int, seed: int, start: int, stop: int) -> np.ndarray:
    """Rows of steps start..stop-1 of ``ml.batch_indices(n_rows, ·, batch, seed)``, as one (steps, batch) array."""
    batch = min(batch, n_rows)
    per_epoch = n_rows // batch
    first, last = start // per_epoch, (stop - 1) // per_epoch + 1
    orders = _shuffles(n_rows, seed).epochs(first, last)[:, :per_epoch * batch]
    steps = orders.reshape(-1, batch)  # every epoch's batches in order, the remainder dropped
    return steps[start - first * per_epoch:stop - first * per_epoch]


@dataclass(frozen=True)
class _Distinct:
    """Distinct feature rows of the training and held-out sets together: training rows first, then
    rows in both, then held-out only, so each set's rows are one slice.

    The first layer is computed by parts. All columns but the one with the most values (age) take
    few values together (sex, class, age missing): rows sharing them form a group, and the rows are
    sorted so each group is a run of consecutive rows. A unit's input is then the group's part (one
    small matmul per run) plus the continuous column times its weight, and the gradients sum over
    runs: a few passes over the rows instead of a matmul as wide as the features."""

    X: np.ndarray  # (U, features + 1): the continuous column first, then the others and a ones column
    columns: np.ndarray  # X's feature columns as columns of the data (the ones column is extra)
    n_train_rows: int  # rows [0, n_train_rows) occur in the training set
    test_start: int  # rows [test_start, U) occur in the held-out set
    train_id: np.ndarray  # distinct row of each training passenger
    test_count: np.ndarray  # held-out passengers per row in [test_start, U)
    test_survivors: np.ndarray  # of whom survived
    run_lengths: np.ndarray  # rows in each run, in order
    run_X: np.ndarray  # (runs, features): each run's columns but the continuous one, and the ones column
    train_run_starts: np.ndarray  # first row of each run within the training rows

    @classmethod
    def of(cls, X, X_test, y_test) -> "_Distinct":
        rows, inverse = np.unique(np.vstack([X, X_test]), axis=0, return_inverse=True)
        inverse = inverse.ravel()
        in_train = np.bincount(inverse[:len(X)], minlength=len(rows)) > 0
        in_test = np.bincount(inverse[len(X):], minlength=len(rows)) > 0
        segment = np.where(in_train, np.where(in_test, 1, 0), 2)
        continuous = int(np.argmax([len(np.unique(col)) for col in rows.T]))
        columns = np.array([continuous] + [i for i in range(rows.shape[1]) if i != continuous])
        _, group = np.unique(rows[:, columns[1:]], axis=0, return_inverse=True)
        order = np.lexsort((rows[:, continuous], group.ravel(), segment))
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        n_train_rows, test_start = int(in_train.sum()), int((segment[order] == 0).sum())
        test_id = rank[inverse[len(X):]]
        Xs = np.column_stack([rows[order][:, columns], np.ones(len(rows))])
        key = np.column_stack([segment[order], group.ravel()[order]])
        starts = np.flatnonzero(np.r_[True, (key[1:] != key[:-1]).any(axis=1)])
        return cls(Xs, columns, n_train_rows, test_start, rank[inverse[:len(X)]],
                   np.bincount(test_id, minlength=len(rows))[test_start:].astype(float),
                   np.bincount(test_id, weights=y_test, minlength=len(rows))[test_start:],
                   np.diff(np.r_[starts, len(rows)]), Xs[starts, 1:],
                   starts[starts < n_train_rows])


_DISTINCT: dict[tuple[int, int, int], tuple[tuple, _Distinct]] = {}


def _distinct(X, X_test, y_test) -> _Distinct:
    key = (id(X), id(X_test), id(y_test))  # the lab's data are cached read-only arrays: same id, same rows
    hit = _DISTINCT.get(key)
    if hit is None or any(a is not b for a, b in zip(hit[0], (X, X_test, y_test))):
        hit = _DISTINCT[key] = ((X, X_test, y_test), _Distinct.of(X, X_test, y_test))
    return hit[1]


# C runs' weights are stacked per layer, transposed, with the biases as one more column: (C, out,
# in + 1); the first layer's columns follow _Distinct.X's. Activations are (C, units, rows): numpy's
# inner loops then run along the ~300 rows rather than the 16 units, which matters for the products
# that broadcast. In Pyodide numpy's per-call cost dominates arrays this small, so a step is a fixed
# handful of calls whatever the number of runs.


def _stacked(layers, copies: int, columns: np.ndarray) -> list[np.ndarray]:
    first = np.concatenate([layers[0]["W"][columns], layers[0]["b"][None, :]])
    return [np.repeat(W.T[None], copies, axis=0)
            for W in [first] + [np.concatenate([layer["W"], layer["b"][None, :]]) for layer in layers[1:]]]


def _forward(weights, rows: _Distinct):
    """-> (hidden activations (C, units, rows) per layer, logits (C, rows)) on the distinct rows."""
    W = weights[0]
    z = np.repeat(W[:, :, 1:] @ rows.run_X.T, rows.run_lengths, axis=2)  # each run's part, on its rows
    z += W[:, :, :1] * rows.X[:, 0]
    hidden = []
    for W in weights[1:]:
        hidden.append(np.maximum(z, 0.0))
        z = W[:, :, :-1] @ hidden[-1] + W[:, :, -1:]
    return hidden, z[:, 0]


def _first_layer_gradient(rows: _Distinct, delta: np.ndarray) -> np.ndarray:
    """delta Xᵀ over the training rows, by parts: the continuous column, then the sums over each run."""
    n = delta.shape[-1]
    continuous = delta @ rows.X[:n, :1]
    runs = np.add.reduceat(delta, rows.train_run_starts, axis=2) @ rows.run_X[:len(rows.train_run_starts)]
    return np.concatenate([continuous, runs], axis=2)


def _gradients(weights, rows: _Distinct, hidden, delta: np.ndarray) -> list[np.ndarray]:
    """Per-layer gradients from dloss/dlogit ``delta`` (C, 1, training rows), given the hidden
    activations of the forward pass (on ``weights``) that the delta came from."""
    n = delta.shape[-1]
    grads = [None] * len(weights)
    for i in range(len(weights) - 1, 0, -1):
        h = hidden[i - 1][:, :, :n]
        grads[i] = np.concatenate([delta @ h.transpose(0, 2, 1), np.add.reduce(delta, axis=2, keepdims=True)],
                                  axis=2)
        w = weights[i][:, :, :-1]
        if i == 1 and delta.shape[1] == 1:
            # One hidden layer under one logit: ((w δ) ⊙ M) Xᵀ = w ⊙ ((δ ⊙ M) Xᵀ), M the ReLU's on/off
            # pattern, so the first layer's sums run before the product with w.
            g = _first_layer_gradient(rows, delta * (h > 0))
            g *= w.transpose(0, 2, 1)
            grads[0] = g
            return grads
        delta = (w.transpose(0, 2, 1) @ delta) * (h > 0)
    grads[0] = _first_layer_gradient(rows, delta)
    return grads


@dataclass
class Run:
    """One run as far as it has been trained: per-step training loss (the workers' mean), held-out loss
    and accuracy, the first step whose held-out loss reached the run's target (None: not yet, or no
    target), and what training on needs (the weights and forward passes of the last staleness + 1
    steps). A run trained on to more steps has these curves as its prefix: step t's batch does not
    depend on how many steps follow."""

    train_loss: np.ndarray
    test_loss: np.ndarray
    test_accuracy: np.ndarray
    steps_to_target: int | None = None
    resume: tuple = ()

    @property
    def steps(self) -> int:
        return len(self.test_loss)


BLOCK_STEPS = 25  # steps between held-out checks (a run with a target stops at the first block reaching it)


def train_runs(layers, X, y, X_test, y_test, global_batches, lrs, steps: int, seed: int = 0, staleness: int = 0,
               targets=None, runs=None) -> list[Run]:
    """Data-parallel SGD runs (global batch = workers × batch each, learning rate each) from the same
    initial ``layers`` and seed, advanced together to ``steps``; the same model as ``train_workers``.

    ``runs`` (one per run, all trained to the same step) continues earlier runs of these settings
    instead of starting afresh. ``targets`` (one per run, None = train all steps) stops a run at the
    end of the first block of steps in which its held-out loss reaches the target."""
    n_runs = len(global_batches)
    targets = [None] * n_runs if targets is None else list(targets)
    rows = _distinct(X, X_test, y_test)
    n_train, u_train, t0 = X.shape[0], rows.n_train_rows, rows.test_start
    n_test = float(rows.test_count.sum())
    test_gain = rows.test_survivors - (rows.test_count - rows.test_survivors)  # right if z > 0, minus if z ≤ 0
    test_non_survivors = n_test - rows.test_survivors.sum()
    if runs is None:
        weights = _stacked(layers, n_runs, rows.columns)
        history = deque([(weights, *_forward(weights, rows))], maxlen=staleness + 1)
        first, done = 0, [[] for _ in range(n_runs)]
    else:  # stack the runs' kept steps back together
        first = runs[0].steps
        history = deque([([np.concatenate(w) for w in zip(*(r.resume[k][0] for r in runs))],
                          [np.concatenate(h) for h in zip(*(r.resume[k][1] for r in runs))],
                          np.concatenate([r.resume[k][2] for r in runs]))
                         for k in range(len(runs[0].resume))], maxlen=staleness + 1)
        done = [[(r.train_loss, r.test_loss, r.test_accuracy)] for r in runs]
    out: list[Run | None] = [None] * n_runs
    active = np.arange(n_runs)  # runs still training, in the stacked order
    lr = np.asarray(lrs, float)
    lr3 = lr[:, None, None]

    def finish(j: int, r: int, reached: int | None) -> None:
        curves = [np.concatenate(c) for c in zip(*done[r])]
        kept = tuple(([W[j:j + 1] for W in w], [h[j:j + 1] for h in hidden], z[j:j + 1]) for w, hidden, z in history)
        out[r] = Run(*curves, steps_to_target=reached, resume=kept)

    for start in range(first, steps, BLOCK_STEPS):
        stop = min(steps, start + BLOCK_STEPS)
        n_block = stop - start
        # Rows and survivors per distinct row at each step of the block, each over its run's global
        # batch, halved: with σ(z) = (1 + tanh(z/2))/2, dloss/dz = half·tanh(z/2) + half − survivors.
        half = np.empty((len(active), n_block, u_train))
        survivors = np.empty_like(half)
        offsets = (np.arange(n_block) * u_train)[:, None]
        for j, r in enumerate(active):
            b = min(global_batches[r], n_train)
            idx = batch_rows(n_train, b, seed, start, stop)
            flat = (rows.train_id[idx] + offsets).ravel()
            half[j] = np.bincount(flat, minlength=n_block * u_train).reshape(n_block, u_train) / (2 * b)
            survivors[j] = np.bincount(flat, weights=y[idx].ravel(), minlength=n_block * u_train).reshape(
                n_block, u_train) / b
        constant = half - survivors
        seen_logits = np.empty((len(active), n_block, u_train))
        test_logits = np.empty((len(active), n_block, len(rows.X) - t0))
        delta = np.empty((len(active), 1, u_train))
        d = delta[:, 0]
        for j in range(n_block):
            seen, hidden, z = history[0]  # the weights this step's gradients are computed on
            z = z[:, :u_train]
            seen_logits[:, j] = z
            np.multiply(z, 0.5, out=d)
            np.tanh(d, out=d)
            d *= half[:, j]
            d += constant[:, j]
            grads = _gradients(seen, rows, hidden, delta)
            weights = [W - lr3 * g for W, g in zip(history[-1][0], grads)]
            hidden, z = _forward(weights, rows)
            history.append((weights, hidden, z))
            test_logits[:, j] = z[:, t0:]
        train_loss = (2 * half * np.logaddexp(0.0, seen_logits) - survivors * seen_logits).sum(axis=-1)
        # Sums along the last axis, not matmuls: numpy's matrix-vector kernel rounds a block's last rows
        # differently, and a run must not depend on where its blocks start (resumed runs).
        test_loss = (np.logaddexp(0.0, test_logits) * rows.test_count - test_logits * rows.test_survivors).sum(
            axis=-1) / n_test
        test_acc = (test_non_survivors + (test_logits > 0) @ test_gain) / n_test
        keep = np.ones(len(active), bool)
        for j, r in enumerate(active):
            done[r].append((train_loss[j], test_loss[j], test_acc[j]))
            reached = None if targets[r] is None else test_loss[j] <= targets[r]
            if stop == steps or (reached is not None and reached.any()):
                finish(j, r, start + int(reached.argmax()) + 1 if reached is not None and reached.any() else None)
                keep[j] = False
        if not keep.any():
            break
        if not keep.all():
            active, lr = active[keep], lr[keep]
            lr3 = lr[:, None, None]
            history = deque([([W[keep] for W in w], [h[keep] for h in hidden], z[keep]) for w, hidden, z in history],
                            maxlen=staleness + 1)
    for r in range(n_runs):  # already trained to `steps` when called
        if out[r] is None:
            out[r] = runs[r] if runs is not None else Run(np.empty(0), np.empty(0), np.empty(0))
    return out
