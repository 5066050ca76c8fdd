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
"""

from __future__ import annotations

from collections import deque

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


def steps_to_reach(layers, X, y, global_batch: int, steps: int, lr: float, seed: int, staleness: int,
                   X_test, y_test, target: float) -> int | None:
    """First step after which the held-out loss is at most ``target`` (None if not within ``steps``).

    One gradient per step over the whole global batch: by the equivalence above, the same run as K
    workers with batch global_batch/K, K times cheaper, which is what the worker-count sweep needs."""
    history = deque([layers], maxlen=staleness + 1)
    for step, rows in enumerate(ml.batch_indices(X.shape[0], steps, global_batch, seed)):
        _, grads = ml.loss_and_grads(history[0], X[rows], y[rows])
        history.append(ml.sgd_step(history[-1], grads, lr))
        if _heldout(history[-1], X_test, y_test)[0] <= target:
            return step + 1
    return None
