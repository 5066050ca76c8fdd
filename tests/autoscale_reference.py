"""The autoscaler as one plain loop over every step: the implementation ``scaling_strategy.autoscale``
had before it learnt to skip quiet stretches in bulk. Kept as the reference the faster one must
reproduce exactly (tests/test_scaling_strategy.py)."""

from __future__ import annotations

import bisect
import math

import numpy as np

from widgets_py.scaling_strategy import _Extreme, _Window


def autoscale_step_by_step(
    lam: np.ndarray,
    step_s: float,
    mu: float,
    *,
    min_replicas: int,
    max_replicas: int,
    target_utilization: float,
    tolerance: float = 0.1,
    sync_period_s: float = 15.0,
    scale_up_stabilization_s: float = 0.0,
    scale_down_stabilization_s: float = 300.0,
    scale_up_percent: float = 100.0,
    scale_up_pods: int = 4,
    scale_up_period_s: float = 15.0,
    scale_down_percent: float = 100.0,
    scale_down_period_s: float = 15.0,
    cold_start_s: float = 0.0,
    recovery_s: float = 300.0,
    thresholds_h: np.ndarray | None = None,
    initial_replicas: int | None = None,
    metric: str = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """Replicas under the HPA for arrival rates ``lam`` per step: (provisioned, ready) per step.
    ``metric``: "cpu" (utilisation of the ready pods, capped at 100 %) or "requests_per_second"
    (demand per ready pod against ``target_utilization`` × a pod's capacity; not capped)."""
    n = len(lam)
    lam_list = lam.tolist()
    provisioned_out: list[int] = []
    ready_out: list[int] = []
    thresholds = [math.inf] if thresholds_h is None else thresholds_h.tolist()
    if initial_replicas is None:
        first = lam_list[0] / (mu * target_utilization) if n else 0.0
        initial_replicas = math.ceil(first - 1e-9)
    ready = min(max(initial_replicas, min_replicas), max_replicas)
    pending: list[float] = []  # times at which starting pods become ready, sorted
    up_recs = _Extreme(scale_up_stabilization_s, largest=False)
    down_recs = _Extreme(scale_down_stabilization_s, largest=True)
    added_in_period, removed_in_period = _Window(scale_up_period_s), _Window(scale_down_period_s)
    sync_every = max(1, int(round(sync_period_s / step_s)))
    exposure_h = 0.0
    next_failure_h = thresholds[0]
    next_failure = 0
    hour_per_step = step_s / 3600.0
    up_factor = 1.0 + scale_up_percent / 100.0
    down_factor = 1.0 - scale_down_percent / 100.0
    upper_ratio = 1.0 + tolerance
    up_window, down_window = scale_up_stabilization_s > 0, scale_down_stabilization_s > 0
    down_times, down_values = down_recs.times, down_recs.values
    record_provisioned, record_ready = provisioned_out.append, ready_out.append
    capped = metric == "cpu"
    # Plain Python floats and ints throughout: numpy scalars are several times slower in a loop.
    for k in range(n):
        now = k * step_s
        if pending and pending[0] <= now:
            while pending and pending[0] <= now:
                pending.pop(0)
                ready += 1
        current = ready + len(pending)
        if k % sync_every == 0:
            if ready == 0:
                # No pod reports: a saturated CPU metric, or the whole demand for a per-pod rate.
                util = 1.0 if capped else lam_list[k] / mu
            else:
                util = lam_list[k] / (ready * mu)
                if capped and util > 1.0:
                    util = 1.0
            ratio = util / target_utilization
            if abs(ratio - 1.0) <= tolerance:
                rec = current
            elif ratio > 1.0 and pending and util * ready / (current * target_utilization) <= upper_ratio:
                # Starting pods counted at 0 %: the scale-up is already under way.
                rec = current
            else:
                rec = math.ceil(util * (ready if ready > 1 else 1) / target_utilization - 1e-9)
            up = up_recs.update(now, rec) if up_window else rec
            if down_window:  # down_recs.update(now, rec), inlined: this runs at every sync
                cutoff = now - scale_down_stabilization_s
                while down_times and down_times[0] <= cutoff:
                    down_times.popleft()
                    down_values.popleft()
                down = down_values[0] if down_values and down_values[0] > rec else rec
                while down_values and down_values[-1] <= rec:
                    down_values.pop()
                    down_times.pop()
                down_times.append(now)
                down_values.append(rec)
            else:
                down = rec
            desired = current
            if desired < up:
                desired = up
            if desired > down:
                desired = down
            if desired > current:
                start = current - added_in_period.sum(now)
                limit = max(math.ceil(start * up_factor - 1e-9), start + scale_up_pods)
                desired = min(desired, limit, max_replicas)
            elif desired < current:
                start = current + removed_in_period.sum(now)
                limit = math.floor(start * down_factor + 1e-9)
                desired = max(desired, limit, min_replicas)
            if desired < min_replicas:
                desired = min_replicas
            if desired > max_replicas:
                desired = max_replicas
            if desired > current:
                pending.extend([now + cold_start_s] * (desired - current))
                pending.sort()
                added_in_period.push(now, desired - current)
            elif desired < current:
                drop = current - desired
                removed_in_period.push(now, drop)
                while drop and pending:  # starting pods go first
                    pending.pop()
                    drop -= 1
                ready -= drop
            current = desired
            if cold_start_s <= 0:
                while pending and pending[0] <= now:
                    pending.pop(0)
                    ready += 1
        record_provisioned(current)
        record_ready(ready)
        exposure_h += current * hour_per_step
        while exposure_h >= next_failure_h:
            next_failure += 1
            next_failure_h = thresholds[next_failure]
            if ready > 0:
                ready -= 1
            elif pending:
                pending.pop(0)
            else:
                continue
            bisect.insort(pending, now + step_s + recovery_s)
    return np.array(provisioned_out, dtype=np.int64), np.array(ready_out, dtype=np.int64)


