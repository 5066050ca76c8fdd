"""Scaling strategy simulator: one model served through a day of traffic three ways.

* ``vertical``: one machine of ``vertical_size`` (a catalog of real instance sizes in
  ``data/instance_sizes.json``; the family's largest size is the hardware limit). Its workers share
  one queue. A failure is an outage until ``recovery_s`` has passed. With ``vertical_resize`` the
  machine is resized to the smallest size of its family that meets demand at
  ``target_utilization`` (same recommendation and stabilisation rules as the autoscaler below);
  every resize is a stop–change type–start, an outage of ``resize_downtime_s``.
* ``horizontal_fixed``: ``replicas`` copies of the family's smallest size behind a load balancer.
  A failure removes one replica until its replacement is serving ``recovery_s`` later.
* ``autoscaled``: the same replicas under the Kubernetes Horizontal Pod Autoscaler.

Traffic. A daily cycle ``base + (peak − base)·(1 − cos(2π(h − 4)/24))/2`` (quietest at 04:00,
busiest at 16:00), times ``spike_multiplier`` for ``spike_minutes`` from ``spike_start_h`` (a launch),
times mean-one log-normal noise per step with spread ``noise``. Arrivals within a step are Poisson.

Latency and drops. Each step is treated as stationary at its arrival rate and serving capacity
(quasi-static): the M/M/c queue with a timeout of ``queue_timeout_ms`` (``queueing.py``). That model
has a steady state at every load, so overload (λ ≥ cμ) fills the queue up to the timeout: requests
that would wait longer are dropped and counted, and the ones that are served wait close to the
timeout — overload always shows as drops and long latency. The backlog is bounded by the timeout
(at most cμ·T requests), so it builds and drains within T/|ρ − 1| seconds; treating each step as
stationary ignores that transient, which is shorter than a step unless ρ is within a few percent of
1. Percentiles pool all served requests of the day (or of a chart bucket); SLO attainment is the
share of all requests served within ``slo_ms`` (dropped ones count as misses). Percentiles describe
served requests only: during an outage they leave out the requests that were dropped, which the
drop count and SLO attainment include. In a step or chart point where nothing is served (an outage)
the latency shown is the timeout, when clients give up. Shares (SLO attainment, drops, utilisation)
are clipped to [0, 1] where they are computed, so rounding at extreme loads never shows a negative.

Autoscaler. As documented in "Horizontal Pod Autoscaling" (kubernetes.io/docs/tasks/run-application/
horizontal-pod-autoscale/) and its implementation (pkg/controller/podautoscaler): every
``sync_period_s`` the controller measures mean utilisation of the ready pods (capped at 100 %: a
saturated pod cannot show more), computes ``desired = ceil(ready × utilisation / target)`` and keeps
the current count when the ratio is within ``tolerance`` of 1. Because of the cap, a target at or
above ``1/(1 + tolerance)`` could never leave the tolerance band, so an overloaded fleet would never
grow: such targets are refused with ``hpa_metric = cpu``. ``hpa_metric = requests_per_second`` scales
instead on demand per ready pod against ``target_utilization`` × a pod's capacity (a custom or
external metric, as HPA users do for model servers); it is not capped, so one sync can size the fleet
for a spike. The vertical resize follows the same metric. While pods are still starting, a
scale-up is re-checked with those pods counted at 0 % (as Kubernetes does) so it does not overshoot.
Recommendations are stabilised: scale-down uses the highest recommendation within
``scale_down_stabilization_s``, scale-up the lowest within ``scale_up_stabilization_s``. Rate
policies (selectPolicy Max): scale-up may add ``max(scale_up_percent %, scale_up_pods)`` per
``scale_up_period_s``; scale-down may remove ``scale_down_percent %`` per ``scale_down_period_s``.
Defaults are Kubernetes' defaults. New pods serve only after ``cold_start_s``; scale-down removes
starting pods first. Metrics are taken as instantaneous (real metrics-server readings lag by up to
a scrape interval, which would delay scaling further).

Failures. Each provisioned instance fails at ``failure_rate_per_hour`` (a Poisson process in
instance-hours, seeded; all strategies share the same random stream, so they are compared on the
same luck).

Cost. Provisioned instance-seconds × price (starting and failed-and-replacing instances are paid).
``cost_per_million`` is per million requests received. ``mean_utilization`` is busy worker-time over
paid worker-time.

What is exact: the stationary M/M/c+D and M/M/1+D distributions (least-connections, random),
Erlang B/C, and strict rotation without a timeout (E_c/M/1). Approximated: quasi-static steps,
exponential service times (a model server's times are less variable, so real queues are somewhat
shorter), rotation with a timeout and the power-of-two estimate (errors against simulation in
``queueing.py``) and linear speed-up within an instance family.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import numpy.random  # noqa: F401 - numpy imports it lazily; in Pyodide that first use costs ~0.15 s, so it is
# paid here, when the page preloads the widget, instead of on the reader's first change

from . import queueing
from .core import VEGA_LITE_SCHEMA, Comparison, Memo, Metric, Param, ParamError, Widget, format_value

CATALOG_FILE = Path(__file__).with_name("data") / "instance_sizes.json"
STRATEGIES = ("vertical", "horizontal_fixed", "autoscaled")
STRATEGY_LABELS = {
    "vertical": "Vertical (one big machine)",
    "horizontal_fixed": "Horizontal, fixed replicas",
    "autoscaled": "Horizontal, autoscaled (HPA)",
}
MAX_STEPS = 40_320  # a week at 15 s steps keeps one run well under a second
CHART_BUCKETS = 288  # 5-minute points over a day


def _load_catalog() -> dict[str, dict[str, Any]]:
    doc = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    sizes: dict[str, dict[str, Any]] = {}
    for family, spec in doc["families"].items():
        for size in spec["sizes"]:
            sizes[size["name"]] = {**size, "family": family}
    return sizes


SIZES = _load_catalog()


def family_sizes(name: str) -> list[dict[str, Any]]:
    family = SIZES[name]["family"]
    return sorted((s for s in SIZES.values() if s["family"] == family), key=lambda s: s["workers"])


# --------------------------------------------------------------------------------------------
# Traffic and failures


def demand(params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Step start times (s) and arrival rates (requests/s)."""
    step = float(params["step_s"])
    n = int(round(params["hours"] * 3600.0 / step))
    t = np.arange(n) * step
    hour = t / 3600.0
    cycle = 0.5 * (1.0 - np.cos(2.0 * np.pi * (hour - 4.0) / 24.0))
    lam = params["base_rps"] + (params["peak_rps"] - params["base_rps"]) * cycle
    start = params["spike_start_h"] * 3600.0
    in_spike = (t >= start) & (t < start + params["spike_minutes"] * 60.0)
    lam = np.where(in_spike, lam * params["spike_multiplier"], lam)
    sigma = float(params["noise"])
    if sigma > 0:
        rng = np.random.default_rng([int(params["seed"]), 1])
        lam = lam * np.exp(sigma * rng.standard_normal(n) - 0.5 * sigma * sigma)
    return t, lam


def failure_thresholds(params: dict[str, Any], max_exposure_h: float) -> np.ndarray:
    """Cumulative instance-hours at which successive failures happen (shared by all strategies)."""
    rate = float(params["failure_rate_per_hour"])
    if rate <= 0:
        return np.array([np.inf])
    rng = np.random.default_rng([int(params["seed"]), 2])
    expected = rate * max_exposure_h
    count = int(expected + 6.0 * math.sqrt(expected) + 10)
    return np.append(np.cumsum(rng.exponential(1.0 / rate, count)), np.inf)


def _reachable(thresholds_h: np.ndarray, exposure_h: float) -> np.ndarray:
    """The failure thresholds a run whose exposure never exceeds ``exposure_h`` can reach (then ∞):
    what a memo key must hold, so a change that only draws more thresholds (``replicas`` raising
    the exposure bound) does not rerun the stages that never reach them."""
    cut = int(np.searchsorted(thresholds_h, exposure_h * (1.0 + 1e-9) + 1e-9, side="right"))
    return np.append(thresholds_h[:cut], np.inf)


def _down_count(t: np.ndarray, fail_times: np.ndarray, recovery_s: float) -> np.ndarray:
    """Failures whose recovery is still running at each time in ``t``."""
    return np.searchsorted(fail_times, t, side="right") - np.searchsorted(
        fail_times, t - recovery_s, side="right"
    )


# --------------------------------------------------------------------------------------------
# Horizontal Pod Autoscaler


class _Window:
    """Values recorded within the last ``span`` seconds (Kubernetes keeps entries strictly newer
    than now − span), with their running sum."""

    __slots__ = ("span", "times", "values", "total")

    def __init__(self, span: float):
        self.span = span
        self.times: deque = deque()
        self.values: deque = deque()
        self.total = 0

    def sum(self, now: float) -> int:
        times, values, cutoff = self.times, self.values, now - self.span
        while times and times[0] <= cutoff:
            times.popleft()
            self.total -= values.popleft()
        return self.total

    def push(self, now: float, value: int) -> None:
        if self.span > 0:
            self.times.append(now)
            self.values.append(value)
            self.total += value


class _Extreme:
    """Largest (``largest=True``) or smallest recommendation within the last ``span`` seconds, the
    new one included. A monotonic deque keeps only the values that can still be the extreme, so
    each update is O(1) amortised instead of a scan of the whole window."""

    __slots__ = ("span", "largest", "times", "values")

    def __init__(self, span: float, largest: bool):
        self.span = span
        self.largest = largest
        self.times: deque = deque()
        self.values: deque = deque()

    def update(self, now: float, value: int) -> int:
        times, values, cutoff = self.times, self.values, now - self.span
        while times and times[0] <= cutoff:
            times.popleft()
            values.popleft()
        if self.span <= 0:
            return value
        if self.largest:
            out = values[0] if values and values[0] > value else value
            while values and values[-1] <= value:
                values.pop()
                times.pop()
        else:
            out = values[0] if values and values[0] < value else value
            while values and values[-1] >= value:
                values.pop()
                times.pop()
        times.append(now)
        values.append(value)
        return out

    def clear(self) -> None:
        self.times.clear()
        self.values.clear()


def _stabilized(up_window: _Extreme, down_window: _Extreme, now: float, rec: int, current: int) -> int:
    """Kubernetes' stabilizeRecommendationWithBehaviors: clamp between the lowest recommendation in
    the scale-up window and the highest in the scale-down window (the current one included)."""
    up = up_window.update(now, rec)
    down = down_window.update(now, rec)
    out = current
    if out < up:
        out = up
    if out > down:
        out = down
    return out


_FIRST_BLOCK, _LARGEST_BLOCK = 1024, 4096  # steps per _quiet_stretch attempt
_QUIET_STEPS = 32  # steps without a change before one
_PAYING_STRETCH = 150  # steps an attempt must skip to pay for itself in Pyodide


def _rebuild_window(window: _Extreme, times: np.ndarray, values: np.ndarray, now: float) -> None:
    """``window`` as ``update`` would leave it after recording ``values`` at ``times`` (after what it
    holds) up to ``now``: the entries newer than now − span that no later entry equals or beats."""
    times = np.concatenate((np.array(window.times, dtype=float), times))
    values = np.concatenate((np.array(window.values, dtype=np.int64), values))
    live = times > now - window.span
    times, values = times[live], values[live]
    if window.largest:
        later = np.maximum.accumulate(values[::-1])[::-1]
        keep = np.append(values[:-1] > later[1:], True)
    else:
        later = np.minimum.accumulate(values[::-1])[::-1]
        keep = np.append(values[:-1] < later[1:], True)
    window.clear()
    window.times.extend(times[keep].tolist())
    window.values.extend(values[keep].tolist())


def _last_time(window: _Extreme, times: np.ndarray, hits: np.ndarray, threshold: int) -> np.ndarray:
    """At each of ``times``: the latest time, up to it, of an entry of ``window`` (held, or recorded at
    ``times`` where ``hits``) that is at least (largest) or at most (smallest) ``threshold``."""
    held = [t for t, v in zip(window.times, window.values) if (v >= threshold if window.largest else v <= threshold)]
    latest = np.maximum.accumulate(np.where(hits, times, -np.inf))
    return np.maximum(latest, held[-1]) if held else latest


def _quiet_stretch(lam, k, end, replicas, mu, *, capped, target, tolerance, sync_every, step_s, up_recs, down_recs,
                   exposure_h, step_exposure, next_failure_h, held_at_max, held_at_min):
    """How many steps from ``k`` (before ``end``) the autoscaler leaves a settled fleet of ``replicas``
    (all ready, none starting, within min and max) as it is, and the exposure after them: each sync's
    recommendation, computed for all steps at once, stays within the stabilisation windows' bounds
    (or asks for more at the maximum, ``held_at_max``, or for less at the minimum, ``held_at_min``:
    both only when no scaling in the policy period could make the rate limits move the count), and
    no failure falls due. The windows are brought up to date as the step-by-step loop would leave
    them; the loop carries on at the first step that changes something."""
    steps = np.arange(k, end)
    now = steps * step_s
    util = lam[k:end] / (replicas * mu)
    if capped:
        util = np.minimum(util, 1.0)
    rec = np.where(np.abs(util / target - 1.0) <= tolerance, replicas,
                   np.ceil(util * replicas / target - 1e-9)).astype(np.int64)
    sync = steps % sync_every == 0
    # The stabilised recommendation stays at the current count while the scale-up window holds a
    # recommendation at or below it and the scale-down window one at or above it.
    if up_recs.span > 0:
        no_rise = _last_time(up_recs, now, sync & (rec <= replicas), replicas) > now - up_recs.span
    else:
        no_rise = rec <= replicas
    if held_at_min:
        keeps = no_rise
    elif down_recs.span > 0:
        keeps = no_rise & (_last_time(down_recs, now, sync & (rec >= replicas), replicas) > now - down_recs.span)
    else:
        keeps = no_rise & (rec >= replicas)
    if held_at_max:
        keeps = keeps | ~no_rise
    # the same sums, one at a time, as the loop's exposure_h += current × hours per step
    exposure = np.cumsum(np.append(exposure_h, np.full(len(steps), step_exposure)))[1:]
    stop = np.flatnonzero((sync & ~keeps) | (exposure >= next_failure_h))
    count = int(stop[0]) if len(stop) else len(steps)
    if count:
        synced = np.flatnonzero(sync[:count])
        if len(synced):
            last = float(now[synced[-1]])
            for window in (up_recs, down_recs):
                if window.span > 0:
                    _rebuild_window(window, now[synced], rec[synced], last)
        exposure_h = float(exposure[count - 1])
    return count, exposure_h


def autoscale(
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
    skip_quiet: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Replicas under the HPA for arrival rates ``lam`` per step: (provisioned, ready) per step.
    ``metric``: "cpu" (utilisation of the ready pods, capped at 100 %) or "requests_per_second"
    (demand per ready pod against ``target_utilization`` × a pod's capacity; not capped).
    ``skip_quiet=False`` runs every step through the loop, without skipping quiet stretches in bulk:
    the reference the tests hold the skipping to, step for step."""
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
    # Quiet stretches (a settled fleet that no sync changes) are skipped in bulk by _quiet_stretch.
    # An attempt costs some forty array operations (in Pyodide as much as ~150 steps of this loop),
    # so it is made only after quiet_needed quiet steps, when a long stretch is likely; an attempt
    # that skipped less than it cost doubles that wait (noisy traffic: short stretches).
    block, quiet_steps, last_current, quiet_needed = _FIRST_BLOCK, 0, -1, _QUIET_STEPS
    # Plain Python floats and ints throughout: numpy scalars are several times slower in a loop.
    k = -1
    while k + 1 < n:
        k += 1
        if skip_quiet and quiet_steps >= quiet_needed and not pending and min_replicas <= ready <= max_replicas and ready > 0:
            end, now = min(n, k + block), k * step_s
            count, exposure_h = _quiet_stretch(
                lam, k, end, ready, mu, capped=capped, target=target_utilization, tolerance=tolerance,
                sync_every=sync_every, step_s=step_s, up_recs=up_recs, down_recs=down_recs, exposure_h=exposure_h,
                step_exposure=ready * hour_per_step, next_failure_h=next_failure_h,
                held_at_max=ready == max_replicas and not added_in_period.sum(now),
                held_at_min=ready == min_replicas and not removed_in_period.sum(now))
            provisioned_out.extend([ready] * count)
            ready_out.extend([ready] * count)
            if k + count == end:
                block = min(2 * block, _LARGEST_BLOCK)
            else:
                block = max(block // 2, _FIRST_BLOCK)
                quiet_steps = 0
            quiet_needed = _QUIET_STEPS if count >= _PAYING_STRETCH else min(2 * quiet_needed, _LARGEST_BLOCK // 8)
            k += count
            if k >= n:
                break
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
        quiet_steps = quiet_steps + 1 if current == last_current and not pending else 0
        last_current = current
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


def vertical_resized(lam: np.ndarray, params: dict[str, Any], mu: float, thresholds_h: np.ndarray):
    """Serving workers, paid workers, price per step and resize count of one machine resized
    within its family."""
    sizes = family_sizes(params["vertical_size"])
    workers = [s["workers"] for s in sizes]
    index = [s["name"] for s in sizes].index(params["vertical_size"])
    step_s = float(params["step_s"])
    n = len(lam)
    lam_list = lam.tolist()
    serving = np.empty(n, dtype=np.int64)
    paid_workers = np.empty(n, dtype=np.int64)
    price = np.empty(n)
    up_recs = _Extreme(params["scale_up_stabilization_s"], largest=False)
    down_recs = _Extreme(params["scale_down_stabilization_s"], largest=True)
    sync_every = max(1, int(round(params["sync_period_s"] / step_s)))
    outage_until = -1.0
    thresholds = thresholds_h.tolist()
    next_failure = 0
    target, tol = params["target_utilization"], params["tolerance"]
    capped = params["hpa_metric"] == "cpu"
    resizes = 0
    for k in range(n):
        now = k * step_s
        up = now >= outage_until
        if up and k % sync_every == 0:
            w = workers[index]
            load = lam_list[k] / (w * mu)
            ratio = (min(load, 1.0) if capped else load) / target
            rec = w if abs(ratio - 1.0) <= tol else math.ceil(ratio * w - 1e-9)
            want = _stabilized(up_recs, down_recs, now, rec, w)
            new_index = next((i for i, wk in enumerate(workers) if wk >= want), len(workers) - 1)
            if new_index != index:
                index = new_index
                resizes += 1
                outage_until = now + params["resize_downtime_s"]
                up_recs.clear()
                down_recs.clear()
                up = False
        serving[k] = workers[index] if up else 0
        paid_workers[k] = workers[index]
        price[k] = sizes[index]["price_per_hour"]
        if now + step_s > thresholds[next_failure] * 3600.0:
            while now + step_s > thresholds[next_failure] * 3600.0:
                next_failure += 1
            outage_until = max(outage_until, now + step_s + params["recovery_s"])
    return serving, paid_workers, price, resizes


# --------------------------------------------------------------------------------------------
# Memo of the expensive stages
#
# A control change in the widget usually touches one strategy: a fixed replica count leaves the
# traffic, the autoscaler's loop and the other strategies' latency solves as they were. Each stage
# is memoised (a few entries, least recently used dropped) under a key made of exactly its inputs:
# the traffic parameters that generate ``lam``, scalars, and a digest of every array argument.
# Stages that take a parameter dict get one cut down to their key's names, so a missing key name
# fails loudly instead of serving a stale result. Cached arrays are read-only.

MEMO_ENTRIES = 16
TRAFFIC_KEYS = ("base_rps", "peak_rps", "spike_multiplier", "spike_start_h", "spike_minutes", "noise", "hours",
                "step_s", "seed")
RESIZE_KEYS = ("vertical_size", "step_s", "scale_up_stabilization_s", "scale_down_stabilization_s",
               "sync_period_s", "target_utilization", "tolerance", "resize_downtime_s", "recovery_s", "hpa_metric")


_MEMOS = {name: Memo(MEMO_ENTRIES) for name in ("traffic", "autoscale", "resize", "latency", "slo")}


def clear_memo() -> None:
    for memo in _MEMOS.values():
        memo.clear()


def _digest(array: np.ndarray) -> tuple:
    array = np.ascontiguousarray(array)
    return array.dtype.str, array.shape, hashlib.blake2b(array, digest_size=16).digest()


def _read_only(*arrays: np.ndarray) -> tuple:
    for a in arrays:
        a.flags.writeable = False
    return arrays


def _traffic(params: dict[str, Any]) -> tuple[tuple, np.ndarray, np.ndarray]:
    """(key, step times, arrival rates) of ``demand``, memoised on the traffic parameters."""
    key = ("traffic",) + tuple(params[k] for k in TRAFFIC_KEYS)
    t, lam = _MEMOS["traffic"].get(key, lambda: _read_only(*demand({k: params[k] for k in TRAFFIC_KEYS})))
    return key, t, lam


def _latency(lam: np.ndarray, lam_key: tuple, serving: np.ndarray, params: dict[str, Any], policy: str, mu: float):
    """The queueing solve of one strategy (drops, pooled percentiles, per-bucket p95, share within
    the SLO): nearly all of ``_evaluate``'s time, and independent of prices and paid capacity."""
    step_s = float(params["step_s"])
    timeout = params["queue_timeout_ms"] / 1000.0
    key = (lam_key, _digest(serving), mu, timeout, policy)

    def solve():
        q = queueing.policy_queue(lam, serving, mu, timeout, policy)
        arrivals = lam * step_s
        U_0, _ = q.survival(0.0)
        quantiles = queueing.mixture_quantiles(q, arrivals, [0.5, 0.95, 0.99], served=U_0)[:, 0]
        n = len(lam)
        starts = np.arange(0, n, max(1, math.ceil(n / CHART_BUCKETS)))
        bucket_p95 = queueing.mixture_quantiles(q, arrivals, [0.95], starts=starts, served=U_0)[0]
        figures = dict(zip(("p_drop", "U_0", "quantiles", "starts", "bucket_p95"),
                           _read_only(q.p_drop, U_0, quantiles, starts, bucket_p95)))
        figures["queue"] = q  # kept: a new SLO needs one more survival, not a new queue
        return figures

    figures = _MEMOS["latency"].get(key, solve)
    slo = params["slo_ms"] / 1000.0
    # U(0) − U(slo) is a share of arrivals: rounding can leave it a hair below 0 at extreme load.
    within = _MEMOS["slo"].get(key + (slo,), lambda: float(
        (lam * step_s * np.clip(figures["U_0"] - figures["queue"].survival(slo)[0], 0.0, 1.0)).sum()))
    return figures, within


def _autoscale(lam: np.ndarray, lam_key: tuple, step_s: float, mu: float, thresholds_h: np.ndarray, **kw):
    key = (lam_key, step_s, mu, _digest(thresholds_h), tuple(sorted(kw.items())))
    return _MEMOS["autoscale"].get(
        key, lambda: _read_only(*autoscale(lam, step_s, mu, thresholds_h=thresholds_h, **kw)))


def _vertical_resized(lam: np.ndarray, lam_key: tuple, params: dict[str, Any], mu: float, thresholds_h: np.ndarray):
    sub = {k: params[k] for k in RESIZE_KEYS}
    key = (lam_key, mu, _digest(thresholds_h), tuple(sub.values()))

    def compute():
        serving, paid, price, resizes = vertical_resized(lam, sub, mu, thresholds_h)
        return (*_read_only(serving, paid, price), resizes)

    return _MEMOS["resize"].get(key, compute)


# --------------------------------------------------------------------------------------------
# Simulation


def _evaluate(lam, lam_key, serving, provisioned, price_per_step, params, policy, mu, workers_per_replica=1):
    """Latency, drops, availability and cost of one strategy from its per-step capacity."""
    step_s = float(params["step_s"])
    timeout = params["queue_timeout_ms"] / 1000.0
    figures, within = _latency(lam, lam_key, serving, params, policy, mu)
    arrivals = lam * step_s
    dropped = arrivals * figures["p_drop"]
    served = arrivals - dropped
    total = float(arrivals.sum())
    # A strategy that served nothing (a run-long outage) shows the timeout: every client gave up then.
    quantiles = figures["quantiles"]
    p50, p95, p99 = np.where(np.isfinite(quantiles), quantiles, timeout) * 1000.0
    n = len(lam)
    starts = figures["starts"]
    bucket_p95 = figures["bucket_p95"]
    bucket_p95 = np.where(np.isfinite(bucket_p95), bucket_p95, timeout) * 1000.0
    cost = float(price_per_step.sum() * step_s / 3600.0)
    replica_hours = float(provisioned.sum() * step_s / 3600.0)
    paid_worker_s = float((provisioned * workers_per_replica).sum() * step_s)
    busy_s = float(served.sum() / mu)
    metrics = {
        "p50_ms": p50,
        "p95_ms": p95,
        "p99_ms": p99,
        "slo_attainment": min(within / total, 1.0) if total > 0 else 1.0,
        "dropped_requests": float(dropped.sum()),
        "dropped_fraction": min(float(dropped.sum()) / total, 1.0) if total > 0 else 0.0,
        "availability": float(np.mean(serving > 0)),
        "cost_usd": cost,
        "cost_per_million": cost / total * 1e6 if total > 0 else 0.0,
        "mean_utilization": min(busy_s / paid_worker_s, 1.0) if paid_worker_s > 0 else 0.0,
        "peak_replicas": int(provisioned.max(initial=0)),
        "replica_hours": replica_hours,
    }
    counts = np.diff(np.append(starts, n))

    def bucket_mean(x):
        return np.add.reduceat(np.asarray(x, dtype=float), starts) / counts

    series = {
        "capacity_rps": bucket_mean(serving * mu),
        "replicas": bucket_mean(provisioned),
        "p95_ms": bucket_p95,
        "dropped_rps": bucket_mean(dropped / step_s),
    }
    return metrics, series, starts


def simulate(params: dict[str, Any]) -> dict[str, Any]:
    mu = 1000.0 / params["service_ms"]
    step_s = float(params["step_s"])
    lam_key, t, lam = _traffic(params)
    n = len(lam)
    hours = n * step_s / 3600.0
    thresholds = failure_thresholds(params, max(params["max_replicas"], params["replicas"]) * hours)
    unit_price = params["price_per_hour"]
    size = SIZES[params["vertical_size"]]
    results: dict[str, tuple] = {}

    # Vertical: one machine; its workers share one queue.
    if params["vertical_resize"]:
        v_serving, v_workers_paid, v_price, resizes = _vertical_resized(
            lam, lam_key, params, mu, _reachable(thresholds, hours))
    else:
        down = _down_count(t, thresholds * 3600.0, params["recovery_s"])
        v_serving = np.where(down > 0, 0, size["workers"])
        v_price = np.full(n, size["price_per_hour"])
        v_workers_paid = np.full(n, size["workers"])
        resizes = 0
    results["vertical"] = _evaluate(
        lam, lam_key, v_serving, np.ones(n, dtype=np.int64), v_price, params, "least_connections", mu, v_workers_paid
    )

    # Horizontal, fixed: a failure takes one replica out until its replacement serves.
    replicas = params["replicas"]
    fail_times = thresholds / replicas * 3600.0
    h_serving = np.maximum(replicas - _down_count(t, fail_times, params["recovery_s"]), 0)
    h_prov = np.full(n, replicas, dtype=np.int64)
    results["horizontal_fixed"] = _evaluate(
        lam, lam_key, h_serving, h_prov, h_prov * unit_price, params, params["lb_policy"], mu
    )

    # Horizontal, autoscaled.
    a_prov, a_ready = _autoscale(
        lam,
        lam_key,
        step_s,
        mu,
        _reachable(thresholds, params["max_replicas"] * hours),
        min_replicas=params["min_replicas"],
        max_replicas=params["max_replicas"],
        target_utilization=params["target_utilization"],
        tolerance=params["tolerance"],
        sync_period_s=params["sync_period_s"],
        scale_up_stabilization_s=params["scale_up_stabilization_s"],
        scale_down_stabilization_s=params["scale_down_stabilization_s"],
        scale_up_percent=params["scale_up_percent"],
        scale_up_pods=params["scale_up_pods"],
        scale_up_period_s=params["scale_up_period_s"],
        scale_down_percent=params["scale_down_percent"],
        scale_down_period_s=params["scale_down_period_s"],
        cold_start_s=params["cold_start_s"],
        recovery_s=params["recovery_s"],
        metric=params["hpa_metric"],
    )
    results["autoscaled"] = _evaluate(
        lam, lam_key, a_ready, a_prov, a_prov * unit_price, params, params["lb_policy"], mu
    )

    metrics: dict[str, Any] = {name: results[name][0] for name in STRATEGIES}
    metrics["vertical"]["resizes"] = resizes
    metrics["total_requests"] = float(lam.sum() * step_s)
    metrics["peak_demand_rps"] = float(lam.max(initial=0.0))
    metrics["replica_capacity_rps"] = mu

    starts = results["autoscaled"][2]
    counts = np.diff(np.append(starts, n))
    demand_rps = np.add.reduceat(lam, starts) / counts
    hour_col = starts * step_s / 3600.0
    # Long format, one block of rows per strategy. Columns stay arrays: core.plain turns an array
    # into a list in one call, a list one element at a time.
    timeline: dict[str, Any] = {
        "hour": np.tile(hour_col, len(STRATEGIES)),
        "strategy": np.repeat(np.array(STRATEGIES), len(starts)),
        "demand_rps": np.tile(demand_rps, len(STRATEGIES)),
    }
    for col in ("capacity_rps", "replicas", "p95_ms", "dropped_rps"):
        timeline[col] = np.concatenate([np.asarray(results[name][1][col], dtype=float) for name in STRATEGIES])

    columns = [
        "strategy", "p50_ms", "p95_ms", "p99_ms", "slo_attainment", "dropped_requests",
        "availability", "cost_usd", "cost_per_million", "mean_utilization", "peak_replicas",
    ]
    rows = [[name] + [metrics[name][c] for c in columns[1:]] for name in STRATEGIES]
    units = {
        "total_requests": "requests",
        "peak_demand_rps": "req/s",
        "replica_capacity_rps": "req/s",
        "vertical.resizes": "resizes",
    }
    for name in STRATEGIES:
        units.update({f"{name}.{k}": u for k, u in _UNITS.items()})
    return {
        "metrics": metrics,
        "units": units,
        "series": {"timeline": timeline},
        "tables": {"comparison": {"columns": columns, "rows": rows}},
    }


_UNITS = {
    "p50_ms": "ms",
    "p95_ms": "ms",
    "p99_ms": "ms",
    "slo_attainment": "fraction",
    "dropped_requests": "requests",
    "dropped_fraction": "fraction",
    "availability": "fraction",
    "cost_usd": "USD",
    "cost_per_million": "USD per million requests",
    "mean_utilization": "fraction",
    "peak_replicas": "replicas",
    "replica_hours": "replica-hours",
}


# --------------------------------------------------------------------------------------------
# Charts


_COLOR = {
    "field": "strategy",
    "type": "nominal",
    "title": "Strategy",
    "scale": {"domain": list(STRATEGIES), "range": ["#d95f02", "#7570b3", "#1b9e77"]},
}


def _numbers(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Inline rows whose fields already have their types: without ``parse: null`` Vega-Lite adds a
    conversion of every row's x value, which the page's Vega (expressions interpreted, for the site's
    CSP) evaluates again at every update."""
    return {"values": rows, "format": {"parse": None}}


def _line_rows(tl: dict[str, list], key: str, step_after: bool) -> list[dict[str, Any]]:
    """The rows of one line per strategy, keeping only the points that shape it: in a run of equal
    values the points between its first and last draw nothing (a straight line through them, or with
    ``step_after`` a step that holds), so the picture is the same with a fraction of the rows (a
    fixed fleet's 288 capacity points are a handful). The data table and downloads list these points,
    where the value changes, which is what a reader looks for in them; the 5-minute timeline itself is
    ``result["series"]``. Rows whose value is missing or not positive (a log scale's) are left out first."""
    values = np.asarray(tl[key], dtype=float)  # None (no served request) becomes NaN
    shown = np.flatnonzero(values > 0) if key == "p95_ms" else np.flatnonzero(~np.isnan(values))
    v = values[shown]
    strategy = np.asarray(tl["strategy"])[shown]
    keep = np.ones(len(v), dtype=bool)
    if len(v) > 2:
        same_line = strategy[1:] == strategy[:-1]
        same_value = (v[1:] == v[:-1]) & same_line  # point i+1 repeats point i of its line
        # a point goes when it repeats its predecessor and (unless step-after) its successor repeats it;
        # the last point of each line stays, it holds the line to the end of the run
        drop = same_value.copy()
        drop[:-1] &= same_line[1:] & (True if step_after else same_value[1:])
        drop[-1] = False
        keep[1:] = ~drop
    index = shown[keep].tolist()
    hour, names, data = tl["hour"], tl["strategy"], tl[key]
    return [{"hour": hour[i], "strategy": names[i], key: data[i]} for i in index]


def charts(result: dict[str, Any]) -> list[dict[str, Any]]:
    tl = result["series"]["timeline"]
    hour_x = {"field": "hour", "type": "quantitative", "title": "Hour of day"}
    first = [i for i, s in enumerate(tl["strategy"]) if s == STRATEGIES[0]]
    demand_rows = [{"hour": tl["hour"][i], "demand_rps": tl["demand_rps"][i]} for i in first]
    capacity_rows = _line_rows(tl, "capacity_rps", step_after=True)
    demand_chart = {
        "$schema": VEGA_LITE_SCHEMA,
        "width": "container",
        "height": 240,
        "layer": [
            {
                "data": _numbers(demand_rows),
                "mark": {"type": "area", "color": "#bbbbbb", "opacity": 0.6},
                "encoding": {
                    "x": hour_x,
                    "y": {"field": "demand_rps", "type": "quantitative", "title": "Requests per second"},
                },
            },
            {
                "data": _numbers(capacity_rows),
                "mark": {"type": "line", "interpolate": "step-after"},
                "encoding": {"x": hour_x, "y": {"field": "capacity_rps", "type": "quantitative"}, "color": _COLOR},
            },
        ],
    }
    replicas_chart = {
        "$schema": VEGA_LITE_SCHEMA,
        "width": "container",
        "height": 200,
        "data": _numbers(_line_rows(tl, "replicas", step_after=True)),
        "mark": {"type": "line", "interpolate": "step-after"},
        "encoding": {
            "x": hour_x,
            "y": {"field": "replicas", "type": "quantitative", "title": "Instances (mean per point)"},
            "color": _COLOR,
        },
    }
    p95_rows = _line_rows(tl, "p95_ms", step_after=False)
    slo = result["params"]["slo_ms"] if "params" in result else None
    p95_layers: list[dict[str, Any]] = [
        {
            "data": _numbers(p95_rows),
            "mark": {"type": "line"},
            "encoding": {
                "x": hour_x,
                "y": {"field": "p95_ms", "type": "quantitative", "title": "p95 latency (ms, log scale)", "scale": {"type": "log"}},
                "color": _COLOR,
            },
        }
    ]
    if slo:
        p95_layers.append(
            {
                "data": {"values": [{"slo_ms": slo}]},
                "mark": {"type": "rule", "strokeDash": [4, 4], "color": "#444444"},
                "encoding": {"y": {"field": "slo_ms", "type": "quantitative"}},
            }
        )
    p95_chart = {"$schema": VEGA_LITE_SCHEMA, "width": "container", "height": 220, "layer": p95_layers}
    drops_chart = {
        "$schema": VEGA_LITE_SCHEMA,
        "width": "container",
        "height": 180,
        "data": _numbers(_line_rows(tl, "dropped_rps", step_after=False)),
        "mark": {"type": "line"},
        "encoding": {
            "x": hour_x,
            "y": {"field": "dropped_rps", "type": "quantitative", "title": "Dropped requests per second"},
            "color": _COLOR,
        },
    }
    m = result["metrics"]
    bars = [
        {"strategy": s, "cost_usd": m[s]["cost_usd"], "slo_attainment": m[s]["slo_attainment"]} for s in STRATEGIES
    ]
    y_strategy = {"field": "strategy", "type": "nominal", "title": None, "sort": list(STRATEGIES)}
    comparison_chart = {
        "$schema": VEGA_LITE_SCHEMA,
        "data": {"values": bars},
        "hconcat": [
            {
                "width": 220,
                "height": 90,
                "mark": "bar",
                "encoding": {
                    "y": y_strategy,
                    "x": {"field": "cost_usd", "type": "quantitative", "title": "Cost of the run (USD)"},
                    "color": {**_COLOR, "legend": None},
                },
            },
            {
                "width": 220,
                "height": 90,
                "mark": "bar",
                "encoding": {
                    "y": {**y_strategy, "axis": None},
                    "x": {
                        "field": "slo_attainment",
                        "type": "quantitative",
                        "title": "Requests within the SLO",
                        "scale": {"domain": [0, 1]},
                        "axis": {"format": "%"},
                    },
                    "color": {**_COLOR, "legend": None},
                },
            },
        ],
    }
    return [
        {"name": "demand_capacity", "title": "Demand and serving capacity", "spec": demand_chart},
        {"name": "replicas", "title": "Instances over time", "spec": replicas_chart},
        {"name": "p95", "title": "p95 latency over time", "spec": p95_chart},
        {"name": "drops", "title": "Dropped requests over time", "spec": drops_chart},
        {"name": "cost_vs_slo", "title": "Cost and SLO attainment", "spec": comparison_chart},
    ]


# --------------------------------------------------------------------------------------------
# Words: the result in one sentence and one line per chart (screen readers, small screens)

SHORT_NAMES = {"vertical": "vertical", "horizontal_fixed": "fixed", "autoscaled": "autoscaled"}


def _per_strategy(timeline: dict[str, list], key: str) -> dict[str, np.ndarray]:
    strategy = np.asarray(timeline["strategy"])
    values = np.asarray(timeline[key], dtype=float)  # None (no served request) becomes NaN
    return {s: values[strategy == s] for s in STRATEGIES}


def _each(values: dict[str, str]) -> str:
    return ", ".join(f"{SHORT_NAMES[s]} {values[s]}" for s in STRATEGIES)


def _extreme(values: np.ndarray, pick) -> float | None:
    finite = values[np.isfinite(values)]
    return float(pick(finite)) if finite.size else None


def describe(result: dict[str, Any], metrics: dict[str, dict[str, Any]]) -> dict[str, Any]:
    text = {name: shown["text"] for name, shown in metrics.items()}
    m, tl = result["metrics"], result["series"]["timeline"]
    others = "; ".join(f"{SHORT_NAMES[s]}: {text[f'{s}.slo_attainment']}, {text[f'{s}.cost_usd']}"
                       for s in STRATEGIES if s != "autoscaled")
    sentence = (f"Autoscaled: p95 {text['autoscaled.p95_ms']}, {text['autoscaled.slo_attainment']} within SLO, "
                f"{text['autoscaled.cost_usd']} ({others}).")
    demand = _per_strategy(tl, "demand_rps")[STRATEGIES[0]]
    hours = _per_strategy(tl, "hour")[STRATEGIES[0]]
    peak = int(np.nanargmax(demand)) if np.isfinite(demand).any() else None
    capacity = {s: format_value(_extreme(v, np.max), ",.0f") for s, v in _per_strategy(tl, "capacity_rps").items()}
    replicas = _per_strategy(tl, "replicas")
    span = {s: " to ".join(dict.fromkeys(format_value(_extreme(v, pick), ".3g") for pick in (np.min, np.max)))
            for s, v in replicas.items()}
    worst = {s: format_value(_extreme(v, np.max), ".3g", "ms") for s, v in _per_strategy(tl, "p95_ms").items()}
    dropped = {s: format_value(m[s]["dropped_requests"], ",.0f") for s in STRATEGIES}
    slo = format_value(result["params"]["slo_ms"], ".3g", "ms")
    demand_line = (f"Demand peaks at {format_value(float(demand[peak]), '.3g', 'req/s')} at hour "
                   f"{format_value(float(hours[peak]), '.1f')}" if peak is not None else "No demand")
    return {
        "sentence": sentence,
        "charts": {
            "demand_capacity": f"{demand_line}; highest capacity in req/s: {_each(capacity)}.",
            "replicas": f"Instances (mean per point): {_each(span)}.",
            "p95": f"Highest p95 latency: {_each(worst)}; the dashed line is the {slo} SLO.",
            "drops": f"Requests dropped in the run: {_each(dropped)}.",
            "cost_vs_slo": (f"Cost: {_each({s: text[f'{s}.cost_usd'] for s in STRATEGIES})}; within SLO: "
                            f"{_each({s: text[f'{s}.slo_attainment'] for s in STRATEGIES})}."),
        },
    }


# --------------------------------------------------------------------------------------------
# Parameters


def check(params: dict[str, Any]) -> None:
    if params["min_replicas"] > params["max_replicas"]:
        raise ParamError(
            "min_replicas",
            f"{params['min_replicas']} is more than max_replicas ({params['max_replicas']}) (allowed: at most max_replicas)",
        )
    if params["base_rps"] > params["peak_rps"]:
        raise ParamError("base_rps", f"{params['base_rps']:g} is above peak_rps ({params['peak_rps']:g}) (allowed: at most peak_rps)")
    steps = params["hours"] * 3600.0 / params["step_s"]
    if steps > MAX_STEPS:
        raise ParamError("step_s", f"{params['step_s']:g} s gives {steps:.0f} steps over {params['hours']:g} h (allowed: at most {MAX_STEPS} steps)")
    if steps < 1:
        raise ParamError("step_s", f"{params['step_s']:g} s is longer than the run of {params['hours']:g} h")
    if params["hpa_metric"] == "cpu" and params["target_utilization"] * (1 + params["tolerance"]) >= 1:
        limit = 1 / (1 + params["tolerance"])
        raise ParamError("target_utilization", f"{params['target_utilization']:g} can never trigger a scale-up: CPU "
                         f"utilisation stops at 100 %, within tolerance {params['tolerance']:g} of it (allowed: below "
                         f"{limit:.3g}, or hpa_metric=requests_per_second)")
    if params["spike_multiplier"] > 1 and params["spike_start_h"] >= params["hours"]:
        raise ParamError("spike_start_h", f"{params['spike_start_h']:g} h is after the end of the run (allowed: below hours = {params['hours']:g})")


SIZE_CHOICES = tuple(SIZES)

PARAMS = (
    # traffic
    Param("base_rps", "Quietest traffic", "float", 20.0, "req/s", 0, 1e6, 1, group="traffic", log=True,
          help="Requests per second at 04:00, the bottom of the daily cycle."),
    Param("peak_rps", "Daily peak traffic", "float", 150.0, "req/s", 0.1, 1e6, 1, group="traffic", log=True,
          help="Requests per second at 16:00, the top of the daily cycle (before any spike)."),
    Param("spike_multiplier", "Launch spike", "float", 8.0, "×", 1, 100, 0.5, group="traffic",
          help="Traffic is multiplied by this during the spike."),
    Param("spike_start_h", "Spike starts at", "float", 10.0, "h", 0, 168, 0.25, group="traffic"),
    Param("spike_minutes", "Spike length", "float", 45.0, "min", 0, 1440, 5, group="traffic"),
    Param("noise", "Traffic noise", "float", 0.1, "", 0, 1, 0.05, group="traffic",
          help="Spread of the mean-one log-normal factor applied to each step's rate."),
    Param("hours", "Simulated time", "float", 24.0, "h", 0.25, 168, 1, group="traffic"),
    Param("step_s", "Time step", "float", 15.0, "s", 1, 3600, 1, group="traffic"),
    Param("seed", "Random seed", "int", 0, "", 0, 2**31 - 1, 1, group="traffic"),
    # service
    Param("service_ms", "Service time", "float", 4.0, "ms", 0.01, 60000, 0.5, group="service", log=True,
          help="Mean time one worker spends on one request."),
    Param("slo_ms", "Latency SLO", "float", 50.0, "ms", 0.01, 600000, 5, group="service", log=True),
    Param("queue_timeout_ms", "Queue timeout", "float", 2000.0, "ms", 1, 120000, 100, group="service", log=True,
          help="Requests that would wait longer than this are dropped (HTTP 503)."),
    # vertical
    Param("vertical_size", "Vertical instance size", "choice", "c7i.2xlarge", choices=SIZE_CHOICES, group="vertical",
          help="One machine of this size; the last size of its family is the hardware limit."),
    Param("vertical_resize", "Resize the machine with demand", "bool", False, group="vertical",
          help="Move to the smallest size of the family that meets demand; each resize is downtime."),
    Param("resize_downtime_s", "Resize downtime", "float", 180.0, "s", 0, 3600, 10, group="vertical"),
    # horizontal
    Param("replicas", "Fixed replicas", "int", 4, "", 1, 1000, 1, group="horizontal"),
    Param("min_replicas", "Autoscaler minimum", "int", 2, "", 1, 1000, 1, group="horizontal"),
    Param("max_replicas", "Autoscaler maximum", "int", 30, "", 1, 1000, 1, group="horizontal"),
    Param("target_utilization", "Target utilisation", "float", 0.6, "", 0.05, 1.0, 0.05, group="horizontal"),
    Param("cold_start_s", "Cold start", "float", 60.0, "s", 0, 3600, 5, group="horizontal",
          help="Time from a scale-up decision until the new replica serves (schedule, pull, load model)."),
    Param("sync_period_s", "HPA sync period", "float", 15.0, "s", 1, 600, 1, group="autoscaler"),
    Param("tolerance", "HPA tolerance", "float", 0.1, "", 0, 1, 0.01, group="autoscaler"),
    Param("scale_down_stabilization_s", "Scale-down stabilisation", "float", 300.0, "s", 0, 3600, 15, group="autoscaler"),
    Param("scale_up_stabilization_s", "Scale-up stabilisation", "float", 0.0, "s", 0, 3600, 15, group="autoscaler"),
    Param("scale_up_percent", "Scale-up policy: percent", "float", 100.0, "%", 0, 1000, 10, group="autoscaler"),
    Param("scale_up_pods", "Scale-up policy: pods", "int", 4, "pods", 0, 1000, 1, group="autoscaler"),
    Param("scale_up_period_s", "Scale-up policy period", "float", 15.0, "s", 1, 1800, 15, group="autoscaler"),
    Param("scale_down_percent", "Scale-down policy: percent", "float", 100.0, "%", 0, 100, 10, group="autoscaler"),
    Param("scale_down_period_s", "Scale-down policy period", "float", 15.0, "s", 1, 1800, 15, group="autoscaler"),
    Param("lb_policy", "Load balancing", "choice", "round_robin", choices=queueing.POLICIES, group="horizontal",
          help="round_robin: strict rotation; random: a random replica (kube-proxy iptables mode); "
               "least_connections: the first free replica; power_of_two: the shorter of two sampled queues."),
    Param("hpa_metric", "Autoscaling metric", "choice", "cpu", choices=("cpu", "requests_per_second"), group="autoscaler",
          help="cpu: utilisation of the ready pods, which stops at 100 % (targets must stay below "
               "1/(1 + tolerance)); requests_per_second: demand per pod, which keeps growing past capacity."),
    # reliability and cost
    Param("failure_rate_per_hour", "Failures per instance-hour", "float", 0.02, "/h", 0, 10, 0.01, group="reliability"),
    Param("recovery_s", "Recovery time", "float", 600.0, "s", 0, 86400, 30, group="reliability",
          help="A failed instance is back (or replaced and serving) after this."),
    Param("price_per_hour", "Price per replica", "float", 0.08925, "USD/h", 0, 1000, 0.01, group="reliability",
          help="On-demand price of one horizontal replica (default: c7i.large, us-east-1)."),
)

WIDGET = Widget(
    type="scaling_strategy_simulator",
    title="Scaling strategies under real traffic",
    summary=(
        "Serve one model through a day of traffic with one big machine, a fixed set of replicas and a "
        "Kubernetes-style autoscaler side by side: queueing latency, dropped requests, failures and cost."
    ),
    params=PARAMS,
    simulate=simulate,
    charts=charts,
    metrics=tuple(
        Metric(f"{s}.{name}", f"{label} ({short})", unit, fmt)
        for s, short in (("vertical", "vertical"), ("horizontal_fixed", "fixed"), ("autoscaled", "autoscaled"))
        for name, label, unit, fmt in (
            ("p95_ms", "p95 latency of served requests", "ms", ".3g"),
            ("slo_attainment", "Within SLO", "", ".1%"),
            ("cost_usd", "Cost", "USD", ",.2f"),
            ("availability", "Availability", "", ".2%"),
        )
    ),
    check=check,
    comparison=Comparison(
        rows=tuple((s, SHORT_NAMES[s].capitalize()) for s in STRATEGIES),
        columns=(("p95_ms", "p95"), ("slo_attainment", "Within SLO"), ("cost_usd", "Cost")),
    ),
    describe=describe,
    # half an hour with a spike and failures: every stage of a day's run, on 120 steps
    warm_up={"hours": 0.5, "spike_start_h": 0.25, "failure_rate_per_hour": 2.0},
)
