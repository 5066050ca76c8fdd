"""Queueing formulas for replicated model servers, vectorised over arrays of load and server counts.

Everything is numpy-only (it runs in Pyodide) and stable for hundreds of servers: the Erlang
functions go through the Erlang B recursion, never through factorials.

Models (exponential service with rate ``mu`` per server, Poisson arrivals at rate ``lam``):

* **Erlang B and C.** ``B(0, a) = 1``, ``1/B(k, a) = 1 + (k/a)/B(k-1, a)`` and
  ``C(c, a) = B / (1 - ρ(1 - B))`` with ``a = λ/μ`` and ``ρ = a/c`` (e.g. Kleinrock, *Queueing
  Systems* vol. 1, 1975, §3.5 and §3.6; Gross & Harris, *Fundamentals of Queueing Theory*). Exact.

* **M/M/c with a queue timeout (M/M/c+D).** Requests that would wait longer than ``T`` are dropped
  (equivalently, they give up after ``T``; with first-come-first-served order the two are the same
  for everyone else). Its stationary distribution exists for every load, overload included, which is
  what lets one formula cover a quiet night and a launch-day spike. Level crossing on the virtual
  waiting time ``V`` (Baccelli & Hébuterne 1981, "On queues with impatient customers"; Zeltyn &
  Mandelbaum 2005, Queueing Systems 51, for M/M/n+G) gives, with ``θ = cμ − λ``:

      P(n = k) = p₀ aᵏ/k!  for k < c (all arrivals then start at once),
      density of V on (0, T):   g(w) = λ p_{c−1} e^{−θ w},
      density of V above T:     g(T) e^{−cμ (w − T)},
      P(dropped) = P(V > T) = g(T) / (cμ).

  With ``T → ∞`` and ``θ > 0`` this is M/M/c: ``P(V > 0) = C(c, a)`` and ``P(V > t) = C e^{−θt}``.
  A served request's response time is ``V + S`` with ``S ~ Exp(μ)``; its survival function and
  density are closed forms (a hypo-exponential mixture) evaluated in log-safe form, so an overload
  ``θ ≪ 0`` never overflows. Exact for stationary Poisson traffic.

* **Load-balancing policies.** ``least_connections`` is the central queue above (M/M/c): a replica
  takes the next request as soon as it is free. Exact.

  ``random`` sends each request to a replica chosen at random (what kube-proxy does in iptables mode):
  a Poisson stream split at random stays Poisson, so each replica is an M/M/1+D queue with ``λ/c``.
  Exact.

  ``round_robin`` is strict rotation (nginx, Envoy, most load balancers): replica ``j`` gets requests
  ``j, j+c, j+2c, …``, so its inter-arrival times are Erlang(c, λ) and it is an E_c/M/1 queue. For
  GI/M/1 (Kleinrock vol. 1, §6.4; Gross & Harris §6.3) an arrival waits with probability σ and
  ``P(W > w) = σ e^{−μ(1−σ)w}``, where σ is the root in (0, 1) of ``σ = A*(μ(1−σ))`` and
  ``A*(s) = (λ/(λ+s))^c`` is the Laplace transform of the inter-arrival time. Without a timeout this
  is exact. With the timeout we keep that shape below T: an arrival finds the server free with
  probability ∝ 1 − σ and a virtual wait w ∈ (0, T) with density ∝ σμ(1−σ)·e^{−μ(1−σ)w} (in overload σ
  is the root above 1, so the density grows as in M/M/1+D). Above T the arrival-epoch density is
  exactly ``D·e^{−μw}`` (only joiners add work, each an Exp(μ)), and balancing the joiners' flux gives
  the drop share ``p₀·R·e^{−μ(1−σ)T}`` with ``R = A*(μ)/(1 − A*(μ))``. For c = 1 this is exactly
  M/M/1+D; for c ≥ 2 the shape below T is an approximation. Against a numpy Lindley recursion of the
  rotation with drops (``tests/queue_sim.py``; c ∈ {2, 3, 4, 6}, ρ from 0.8 to 1.3, timeouts of 0.5
  to 5 service times) the served requests' p95 was within 2 % and the drop share 1–7 % high; in deep
  overload with a timeout of 50 service times, where it should approach 1 − 1/ρ, it was 5–10 % high
  (0.0995 for 0.091 at ρ = 1.1, c = 4).

  ``power_of_two`` (join the shorter of two replicas sampled at random, with replacement) has no
  closed form for a finite number of replicas. Mitzenmacher's supermarket model (IEEE TPDS 12(10),
  2001) solves the many-replica limit from the balance of the fractions ``s_k`` of replicas holding at
  least ``k`` requests: ``s_{k+1} = ρ·P(a joining request finds ≥ k)``. With ``c`` replicas the two
  samples coincide with probability ``1/c``, so we use ``P(finds ≥ k) = s_k/c + (1 − 1/c)·s_k²``
  (exact for c = 1, Mitzenmacher's ``s_k = ρ^(2^k − 1)`` as c → ∞), whose mean wait is
  ``W_mf = Σ_{k≥2} s_k / (ρμ)``. That mean-field value treats replicas as independent and so
  understates the wait at high load, and no dispatcher can beat a central queue, so the estimate is
  ``W_p2 = max(W_mf, W_LC + (W_RR − W_LC)/c²)`` (the second term is our heuristic floor strictly
  above least-connections). The response-time distribution is the mixture of the least-connections
  and round-robin (rotation) distributions whose mean wait is ``W_p2``; the least-connections weight
  is at most 1 − 1/c², so for c ≥ 2 power of two lies strictly between least-connections and
  rotation, and so below random. Weights are evaluated at ρ ≤ 0.99 in overload. Its percentiles are
  an approximation: against the discrete-event simulation in ``tests/queue_sim.py`` (Poisson
  traffic, exponential service, c ∈ {2, 4, 10}, ρ ∈ {0.5, 0.7, 0.85, 0.95}) the p95 error was
  between −11 % and +21 %; the exact policies agreed with the same simulation within its noise.

Quantiles of mixtures (one step, one chart bucket, or a whole day) are found with a safeguarded
Newton iteration on the log-survival, vectorised over all the quantiles solved at once; it stops
when a step is below one part in a million and applies that step, so quantiles are accurate to
about 1e-12 relative (far below the model's own approximations, but tight enough that comparisons
such as "one more replica never raises p95" are not decided by solver noise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_TINY = 1e-300


def erlang_b(c, a):
    """Blocking probability of an M/M/c/c loss system, vectorised; ``c`` integer ≥ 0, ``a`` ≥ 0."""
    c = np.asarray(c, dtype=np.int64)
    a = np.maximum(np.asarray(a, dtype=float), _TINY)
    c, a = np.broadcast_arrays(c, a)
    inv_b = np.ones(a.shape)
    top = int(c.max(initial=0))
    with np.errstate(over="ignore"):
        for k in range(1, top + 1):
            # Once k passes a step's server count its value is frozen.
            inv_b = np.where(k <= c, 1.0 + (k / a) * inv_b, inv_b)
    return 1.0 / inv_b


def erlang_c(c, a):
    """Probability that an arrival waits in M/M/c (1 when ``a ≥ c``, i.e. no steady state)."""
    c = np.asarray(c, dtype=np.int64)
    a = np.asarray(a, dtype=float)
    b = erlang_b(c, a)
    rho = a / np.maximum(c, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = b / (1.0 - rho * (1.0 - b))
    return np.where(rho < 1.0, out, 1.0)


def _h(u, x):
    """(1 − e^{−u x}) / u for u ≥ 0, x ≥ 0, equal to x at u = 0; never overflows."""
    ux = np.maximum(u * x, _TINY)
    return x * (-np.expm1(-ux) / ux)


@dataclass(frozen=True)
class TimeoutQueue:
    """Stationary M/M/c+D state for arrays of (λ, c); fields are arrays of one shape.

    ``q_free``: an arrival finds a free server; ``k``: λ·p_{c−1} in the log-safe scaling;
    ``p_drop``: an arrival would wait longer than the timeout and is dropped."""

    mu: float
    timeout: float
    theta: np.ndarray
    lam_shift: np.ndarray  # e^{-L} scaling exponent L = max(−θ, 0)·T
    nu: np.ndarray  # μ − θ
    q_free: np.ndarray
    k: np.ndarray
    p_drop: np.ndarray
    mean_wait: np.ndarray  # mean wait of served requests

    def __post_init__(self):
        # What ``survival`` needs that does not depend on t, made on its first call (a quantile solve
        # calls it dozens of times; a queue cut down by ``take`` inherits it).
        object.__setattr__(self, "_sums", None)

    @property
    def served(self) -> np.ndarray:
        return 1.0 - self.p_drop

    def take(self, index) -> "TimeoutQueue":
        """The same queue restricted to the steps ``index``."""
        part = TimeoutQueue(self.mu, self.timeout, *(getattr(self, name)[index] for name in _QUEUE_ARRAYS))
        if self._sums is not None and self.theta.ndim == 1:  # the same per-step coefficients, not recomputed
            coefficients, exact = self._sums
            object.__setattr__(part, "_sums", (tuple(x[index] for x in coefficients), exact[index]))
        return part

    def _exponential_sums(self):
        """Per-step coefficients of ``survival`` as sums of exponentials (see ``survival``) and the
        steps where those sums would cancel badly (θ or ν = μ − θ near 0), which keep the term-by-term
        form."""
        if self._sums is None:
            theta, nu, k, q, T = self.theta, self.nu, self.k, self.q_free, self.timeout
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                k_nu = k / nu
                scaled_k_nu = k_nu * np.exp(-self.lam_shift)
                a = q - scaled_k_nu
                b = -k * np.exp(-np.maximum(theta, 0.0) * T) / theta
                c = k / theta + k_nu
                # t ≥ T: nobody is still waiting; what is in service started at w ≤ T. As a
                # logarithm, since e^{(ν − μ)T}-sized factors overflow apart but not together.
                # In overload (θ < 0) that factor's exponent −L + νT is exactly μT: written so, it
                # does not carry the rounding of two terms of size |θ|T.
                overload = theta < 0
                log_g = np.logaddexp(np.log(q), np.log(k) + np.log(_h(np.abs(nu), T))
                                     + np.where(overload, self.mu, np.maximum(nu, 0.0)) * T)
                size = (np.abs(a) + np.abs(b) + np.abs(c)) / (q + k * _h(np.abs(theta), T))
                exact = ~(size <= _CANCELLATION)  # NaN and ∞ (θ or ν exactly 0) included
            coefficients = tuple(np.where(exact, 0.0, x) for x in (a, b, c, k_nu))
            # e^{−θt − L} = e^{−θ(t − T)} in overload: the same rounding argument
            object.__setattr__(self, "_sums", (coefficients + (log_g, -theta, np.where(overload, T, 0.0)), exact))
        return self._sums

    def survival(self, t):
        """(U, u): U(t) = P(served and response > t) per arrival, u = −dU/dt. ``t`` broadcasts.

        Below the timeout U is a sum of three exponentials in t, ``a·e^{−μt} + b + c·e^{−θt}`` (the
        integrals of the term-by-term form, ``_term_by_term_survival``, done in closed form), and at or
        above it ``g·e^{−μt}``: one exponential per step instead of four, which is most of a quantile
        solve's time. Where a step's coefficients are large against what it serves, their sum would
        lose digits to cancellation (relative error ≈ 1e-16 × that ratio); those steps, rare, keep the
        term-by-term form. Both agree to about 1e-13 of a step's served share below saturation; in
        overload the term-by-term form rounds exponents of size |θ|T that cancel (this one writes
        them as the difference they are), and they differ by up to about 1e-9 of the served share
        (1e-8 with a two-minute timeout at tens of times the capacity)."""
        (a, b, c, k_nu, log_g, neg_theta, shift_T), exact = self._exponential_sums()
        mu, T = self.mu, self.timeout
        t = np.maximum(t, 0.0)
        if np.ndim(t) == 0 and t >= T:
            U = np.exp(log_g - mu * t)
            u = mu * U
        else:
            e_mu = np.exp(-mu * t)
            # e^{−θt} with the e^{−L} scaling of an overload folded in: the exponent is ≤ 0 below T.
            e_theta = np.exp(neg_theta * (np.minimum(t, T) - shift_T))
            first = a * e_mu
            U = first + b + c * e_theta
            u = mu * (first + k_nu * e_theta)
            if np.ndim(t):
                below = t < T
                late = np.exp(log_g - mu * np.maximum(t, T))
                U = np.where(below, U, late)
                u = np.where(below, u, mu * late)
        if exact.any():
            if exact.ndim != 1:
                U_exact, u_exact = self._term_by_term_survival(t)
                return np.where(exact, U_exact, U), np.where(exact, u_exact, u)
            # U and u are new arrays of the broadcast shape of t and the steps (np.broadcast_shapes
            # would cost about a millisecond in Pyodide)
            idx = np.flatnonzero(exact)
            t_part = np.broadcast_to(t, U.shape)[..., idx] if np.ndim(t) else t
            U[..., idx], u[..., idx] = self.take(idx)._term_by_term_survival(t_part)
        return U, u

    def _term_by_term_survival(self, t):
        """``survival`` term by term: the share served at once, still waiting, and in service."""
        mu, T = self.mu, self.timeout
        neg_pos_theta, abs_theta, abs_nu, nu_pos = -np.maximum(self.theta, 0.0), np.abs(self.theta), np.abs(self.nu), self.nu > 0
        neg_shift, all_nu_pos = -self.lam_shift, bool(np.all(nu_pos))
        t = np.maximum(t, 0.0)
        m = np.minimum(t, T)
        mu_t = mu * t
        first = self.q_free * np.exp(-mu_t)
        # Requests still waiting at time t (only while t < T).
        waiting = self.k * np.exp(neg_pos_theta * t) * _h(abs_theta, np.maximum(T - t, 0.0))
        # Requests that started service at w < t and are still in service.
        expo = neg_shift - mu_t
        expo = expo + self.nu * m if all_nu_pos else np.where(nu_pos, expo + self.nu * m, expo)
        in_service = self.k * np.exp(expo) * _h(abs_nu, m)
        return first + waiting + in_service, mu * (first + in_service)


_CANCELLATION = 1e3  # largest ratio of a step's exponential-sum coefficients to its served share

_QUEUE_ARRAYS = ("theta", "lam_shift", "nu", "q_free", "k", "p_drop", "mean_wait")


def timeout_queue(lam, c, mu: float, timeout: float) -> TimeoutQueue:
    """M/M/c+D for arrays ``lam`` (requests/s) and ``c`` (servers ≥ 1), service rate ``mu``,
    timeout ``timeout`` (s)."""
    lam = np.asarray(lam, dtype=float)
    c = np.asarray(c, dtype=np.int64)
    lam, c = np.broadcast_arrays(lam, c)
    b_prev = erlang_b(c - 1, lam / mu)  # p_{c−1} / P(n < c)
    return _virtual_wait_queue(lam * b_prev, c * mu - lam, c * mu, mu, timeout)


def rotation_queue(lam, c, mu: float, timeout: float) -> TimeoutQueue:
    """One of ``c`` single-server replicas fed in strict rotation from Poisson traffic ``lam``: an
    E_c/M/1 queue (module docstring), with the timeout handled as in M/M/1+D."""
    x = rotation_root(lam, c, mu)  # 1 − σ
    lam = np.maximum(np.asarray(lam, dtype=float), _TINY)
    lam, x, c = np.broadcast_arrays(lam, x, np.asarray(c, dtype=float))
    # Above T the arrival-epoch density of the virtual wait is exactly D·e^{−μw}, fed by joiners:
    # D = μ·R·(p₀ + ∫_0^T e^{μv} dF(v)) with R = A*(μ)/(1 − A*(μ)); this sets the drop share.
    # σ and σ/A*(μ) from logs: at light load both underflow, their ratio does not.
    sigma = np.exp(c * (np.log(lam) - np.log(lam + mu * x)))
    sigma_over_a = np.exp(c * (np.log(lam + mu) - np.log(lam + mu * x)))
    a_star = np.exp(c * (np.log(lam) - np.log(lam + mu)))
    return _virtual_wait_queue(mu * sigma, mu * x, mu * sigma_over_a * (1.0 - a_star), mu, timeout)


def rotation_root(lam, c, mu: float, max_iterations: int = 100):
    """``1 − σ`` for E_c/M/1, where σ ≠ 1 solves ``σ = (λ/(λ + μ(1−σ)))^c`` (each replica's arrivals
    are Erlang(c, λ)). Positive below saturation (ρ = λ/(cμ) < 1), negative above, 0 at ρ = 1.

    F(x) = ln(1 − x) + c·ln(1 + μx/λ) is concave with roots 0 and x*. Safeguarded Halley iteration
    (Newton's step with the second-derivative correction, cubic convergence: two full passes fewer
    than Newton's over a day of steps) on the bracket of x* ((0, 1) below saturation, (−λ/μ, 0)
    above); a step that leaves the bracket is replaced by bisection. Below saturation it starts from
    the second fixed-point iterate of σ = A*(μ(1−σ)) from σ = 0, which lies between 0 and x*; above
    saturation it starts mid-bracket. It stops once a step is below 1e-14 relative (the last step
    leaves an error near the rounding of F itself); where the root is ill-conditioned (ρ within 1e-6
    of 1) it agrees with a full bisection to about 1e-8 relative, elsewhere to 1e-12."""
    lam = np.maximum(np.asarray(lam, dtype=float), _TINY)
    c = np.asarray(c, dtype=float)
    lam, c = np.broadcast_arrays(lam, c)
    shape = lam.shape
    lam, c = lam.ravel(), c.ravel()
    r = mu / lam
    below = c * mu > lam  # F'(0) = c·μ/λ − 1 > 0: the root is in (0, 1)
    lo = np.where(below, 0.0, -1.0 / r)
    hi = np.where(below, 1.0, 0.0)
    log_lam = np.log(lam)
    sigma = np.zeros(lam.shape)
    with np.errstate(under="ignore"):
        for _ in range(2):
            sigma = np.exp(c * (log_lam - np.log(lam + mu * (1.0 - sigma))))
    x = np.where(below, 1.0 - sigma, 0.5 * lo)
    # Where 1 − σ rounds to 1 the root is within half an ulp of 1 as well: nothing to solve.
    idx = np.flatnonzero(~below | (x < 1.0))
    if idx.size == x.size:
        idx = slice(None)
    xs, lo, hi, r, cs, bel = x[idx], lo[idx], hi[idx], r[idx], c[idx], below[idx]
    for _ in range(max_iterations):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            f = np.log1p(-xs) + cs * np.log1p(r * xs)
            slope_a, slope_b = r / (1.0 + r * xs), 1.0 / (1.0 - xs)
            slope = cs * slope_a - slope_b
            newton = f / slope
            # Halley's correction (F'' = −c·a² − b²): cubic convergence, one pass fewer or two
            step = newton / (1.0 + 0.5 * newton * (cs * slope_a * slope_a + slope_b * slope_b) / slope)
            new = xs - step
        # Below saturation F > 0 between 0 and x*; above it F < 0 between −1/r and x*.
        left = np.where(bel, f > 0, f < 0)
        lo = np.where(left, xs, lo)
        hi = np.where(left, hi, xs)
        bad = ~np.isfinite(new) | (new < lo) | (new > hi)
        new = np.where(bad, 0.5 * (lo + hi), new)
        x[idx] = new
        still = bad | (np.abs(step) > 1e-14 * np.abs(xs))
        open_count = int(np.count_nonzero(still))
        if not open_count:
            break
        if open_count <= _SCALAR_STRAGGLERS:  # each pass costs ~30 array calls: finish these one by one
            keep = np.flatnonzero(still)
            at = (np.arange(x.size) if isinstance(idx, slice) else idx)[keep]
            for i, args in zip(at.tolist(), zip(*(a[keep].tolist() for a in (new, lo, hi, r, cs, bel)))):
                x[i] = _rotation_root_one(*args, max_iterations)
            break
        if 2 * open_count < still.size:  # a few stragglers: carry on with them only
            keep = np.flatnonzero(still)
            idx = (np.arange(x.size) if isinstance(idx, slice) else idx)[keep]
            new, lo, hi, r, cs, bel = (a[keep] for a in (new, lo, hi, r, cs, bel))
        xs = new
    return np.where(c * mu == lam, 0.0, x).reshape(shape)


_SCALAR_STRAGGLERS = 16


def _rotation_root_one(x, lo, hi, r, c, below, max_iterations):
    """``rotation_root``'s safeguarded Halley passes for one root, in plain floats."""
    for _ in range(max_iterations):
        try:
            f = math.log1p(-x) + c * math.log1p(r * x)
            slope_a, slope_b = r / (1.0 + r * x), 1.0 / (1.0 - x)
            slope = c * slope_a - slope_b
            newton = f / slope
            step = newton / (1.0 + 0.5 * newton * (c * slope_a * slope_a + slope_b * slope_b) / slope)
        except (ValueError, ZeroDivisionError, OverflowError):
            f = step = math.nan
        new = x - step
        if (f > 0) if below else (f < 0):
            lo = x
        else:
            hi = x
        bad = not math.isfinite(new) or new < lo or new > hi
        if bad:
            new = 0.5 * (lo + hi)
        if not (bad or abs(step) > 1e-14 * abs(x)):
            return new
        x = new
    return x


def _virtual_wait_queue(lam_b, theta, drain, mu: float, timeout: float) -> TimeoutQueue:
    """The timeout queue from the density of the virtual wait on (0, T), ``lam_b·e^{−θw}`` (per
    unit p₀), whose mass beyond T is its value at T over ``drain`` (cμ for Poisson arrivals)."""
    lam_b, theta, drain = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (lam_b, theta, drain)))
    T = float(timeout)
    shift = np.maximum(-theta, 0.0) * T
    h_T = _h(np.abs(theta), T)
    tail = np.exp(-np.maximum(theta, 0.0) * T) / drain
    denom = np.exp(-shift) + lam_b * (h_T + tail)
    q_free = np.exp(-shift) / denom
    k = lam_b / denom
    p_drop = np.clip(k * tail, 0.0, 1.0)
    # Mean wait of joined requests: ∫_0^T w g(w) dw / P(served), in the same scaling.
    # ∫_0^T w e^{-θw} dw = (h(θ,T) − T e^{−θT}) / θ; use the shifted exponent for θ < 0.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a_th = np.abs(theta)
        small = a_th * T < 1e-6
        pos = theta > 0
        # θ > 0: (h − T e^{−θT})/θ ; θ < 0 (scaled by e^{−|θ|T}): (T − h)/|θ|
        moment_pos = (h_T - T * np.exp(-a_th * T)) / np.where(small, 1.0, a_th)
        moment_neg = (T - h_T) / np.where(small, 1.0, a_th)
        moment = np.where(small, 0.5 * T * T, np.where(pos, moment_pos, moment_neg))
        served = q_free + k * h_T
        mean_wait = np.where(served > 0, k * moment / np.maximum(served, _TINY), T)
    return TimeoutQueue(mu, T, theta, shift, mu - theta, q_free, k, p_drop, mean_wait)


_RHO_CAP = 0.99  # where the supermarket series is still summed accurately by 16 terms


def supermarket_finite_mean_wait(rho, c, mu: float, max_levels: int = 400):
    """Mean wait under power-of-two choices with ``c`` replicas in the mean-field balance
    ``s_{k+1} = ρ(s_k/c + (1 − 1/c)s_k²)``, ``s_1 = ρ`` (module docstring); ``rho`` < 1."""
    rho = np.asarray(rho, dtype=float)
    c = np.asarray(c, dtype=float)
    rho, c = np.broadcast_arrays(rho, c)
    s = rho.copy()
    total = np.zeros(rho.shape)
    for _ in range(max_levels):
        s = rho * (s / c + (1.0 - 1.0 / c) * s * s)
        total = total + s
        if not (s > 1e-16 * np.maximum(total, 1e-300)).any():
            break
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rho > 0, total / np.maximum(rho, _TINY), 0.0) / mu


def power_of_two_weight(lam, c, mu: float):
    """Weight of the least-connections component in the power-of-two mixture (the rest is rotation):
    the one that gives the mean wait ``max(W_mf, W_LC + (W_RR − W_LC)/c²)`` of the module docstring,
    at utilisation min(ρ, 0.99). It lies in [0, 1 − 1/c²]: 0 for one replica."""
    lam = np.asarray(lam, dtype=float)
    c = np.asarray(c, dtype=np.int64)
    lam, c = np.broadcast_arrays(lam, c)
    cs = np.maximum(c, 1)
    rho = np.minimum(lam / (cs * mu), _RHO_CAP)
    # Mean waits with μ = 1: central queue, rotation (GI/M/1: σ/(1 − σ)), mean field.
    w_central = erlang_c(cs, rho * cs) / (cs * (1.0 - rho))
    x = rotation_root(rho * cs, cs, 1.0)
    w_rotation = (1.0 - x) / np.maximum(x, _TINY)
    w_field = supermarket_finite_mean_wait(rho, cs, 1.0)
    span = w_rotation - w_central
    target = np.maximum(w_field, w_central + span / (cs * cs))
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = (w_rotation - target) / span
    return np.where(span > 1e-12 * np.maximum(w_rotation, 1e-300), np.clip(weight, 0.0, 1.0), 0.0)


@dataclass(frozen=True)
class PolicyQueue:
    """Per-step response-time distribution under a load-balancing policy: a mixture of at most two
    TimeoutQueue components, with per-arrival weights."""

    parts: tuple[tuple[np.ndarray, TimeoutQueue], ...]
    up: np.ndarray  # at least one serving replica

    @property
    def p_drop(self) -> np.ndarray:
        out = sum(w * q.p_drop for w, q in self.parts)
        return np.where(self.up, out, 1.0)

    @property
    def mean_wait(self) -> np.ndarray:
        served = sum(w * q.served for w, q in self.parts)
        total = sum(w * q.served * q.mean_wait for w, q in self.parts)
        return np.where(self.up & (served > 0), total / np.maximum(served, _TINY), np.nan)

    def take(self, index) -> "PolicyQueue":
        """The same mixture restricted to the steps ``index``."""
        return PolicyQueue(tuple((w[index], q.take(index)) for w, q in self.parts), self.up[index])

    def survival(self, t):
        U = 0.0
        u = 0.0
        for w, q in self.parts:
            Uj, uj = q.survival(t)
            U = U + w * Uj
            u = u + w * uj
        return np.where(self.up, U, 0.0), np.where(self.up, u, 0.0)


POLICIES = ("round_robin", "least_connections", "power_of_two", "random")


def policy_queue(lam, c, mu: float, timeout: float, policy: str) -> PolicyQueue:
    """Response-time model for ``c`` serving replicas (0 = outage) under ``policy``."""
    lam = np.asarray(lam, dtype=float)
    c = np.asarray(c, dtype=np.int64)
    lam, c = np.broadcast_arrays(lam, c)
    up = c > 0
    cs = np.maximum(c, 1)
    if policy == "least_connections":
        parts = ((np.ones(lam.shape), timeout_queue(lam, cs, mu, timeout)),)
    elif policy == "round_robin":
        parts = ((np.ones(lam.shape), rotation_queue(lam, cs, mu, timeout)),)
    elif policy == "random":
        parts = ((np.ones(lam.shape), timeout_queue(lam / cs, 1, mu, timeout)),)
    elif policy == "power_of_two":
        w = power_of_two_weight(lam, cs, mu)
        parts = (
            (w, timeout_queue(lam, cs, mu, timeout)),
            (1.0 - w, rotation_queue(lam, cs, mu, timeout)),
        )
    else:
        raise ValueError(f"lb_policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    return PolicyQueue(parts, up)


class _PooledSurvival:
    """``queue.survival`` summed with ``weights`` over each group of steps (``starts``), as a quantile
    solve needs it dozens of times: from the sums-of-exponentials coefficients (``TimeoutQueue.survival``)
    with the weights folded in once, so a pass costs one exponential and a few array operations per
    step. The terms that do not depend on the step's own θ are summed per group once. The same sums
    as ``np.add.reduceat(weights * queue.survival(t)[·], starts)``, to rounding."""

    def __init__(self, queue, weights, starts):
        self.starts, self.mu, self.timeout = starts, queue.parts[0][1].mu, queue.parts[0][1].timeout
        n = weights.shape[-1]
        self.counts = np.diff(np.append(starts, n))
        self.group_of_step = np.repeat(np.arange(len(starts)), self.counts)
        self.parts = []
        for part_weight, part in queue.parts:
            w = weights * np.where(queue.up, part_weight, 0.0)
            (a, b, c, k_nu, log_g, neg_theta, shift_T), exact = part._exponential_sums()
            idx = np.flatnonzero(exact)
            self.parts.append({
                "wc": w * c, "wk": w * k_nu, "w": w, "neg_theta": neg_theta, "shift_T": shift_T,
                "log_g": np.where(exact | (w == 0.0), -np.inf, log_g),
                "A": np.add.reduceat(w * a, starts), "B": np.add.reduceat(w * b, starts),
                # the steps that keep the term-by-term form (their coefficients are 0 above)
                "exact": (part.take(idx), w[idx], self.group_of_step[idx]) if len(idx) else None,
            })

    def steps_of(self, groups):
        """The steps of ``groups`` (sorted group indices) and where each group starts among them."""
        sub_counts = self.counts[groups]
        sub_starts = np.concatenate(([0], np.cumsum(sub_counts)[:-1])).astype(np.intp)
        steps = np.arange(int(sub_counts.sum())) + np.repeat(self.starts[groups] - sub_starts, sub_counts)
        return steps, sub_starts, sub_counts

    def __call__(self, t_groups, groups=None):
        """(U, u) per group at times ``t_groups`` (one per group), for all groups or only ``groups``."""
        mu, T = self.mu, self.timeout
        if groups is None:
            t_sel, sel, sub_starts, counts = t_groups, slice(None), self.starts, self.counts
        else:
            steps, sub_starts, counts = self.steps_of(groups)
            t_sel, sel = t_groups[groups], steps
        t_sel = np.maximum(t_sel, 0.0)
        t_steps = t_sel[0] if len(t_sel) == 1 else np.repeat(t_sel, counts)
        late = t_sel >= T
        any_late, all_late = bool(late.any()), bool(late.all())
        e_mu = np.exp(-mu * t_sel)
        U = np.zeros(len(t_sel))
        u = np.zeros(len(t_sel))
        for p in self.parts:
            if not all_late:
                e_theta = np.exp(p["neg_theta"][sel] * (np.minimum(t_steps, T) - p["shift_T"][sel]))
                A, B = (p["A"], p["B"]) if groups is None else (p["A"][groups], p["B"][groups])
                first = A * e_mu
                U_part = first + B + np.add.reduceat(p["wc"][sel] * e_theta, sub_starts)
                u_part = mu * (first + np.add.reduceat(p["wk"][sel] * e_theta, sub_starts))
            if any_late:
                tail = np.add.reduceat(p["w"][sel] * np.exp(p["log_g"][sel] - mu * np.maximum(t_steps, T)), sub_starts)
                U_part = tail if all_late else np.where(late, tail, U_part)
                u_part = mu * tail if all_late else np.where(late, mu * tail, u_part)
            U += U_part
            u += u_part
            if p["exact"] is not None:
                U_ex, u_ex = self._exact(p["exact"], t_groups, groups)
                U += U_ex
                u += u_ex
        return U, u

    def _exact(self, exact, t_groups, groups):
        part, w, group = exact
        U_steps, u_steps = part._term_by_term_survival(np.maximum(t_groups[group], 0.0))
        size = len(self.starts)
        U = np.bincount(group, weights=w * U_steps, minlength=size)
        u = np.bincount(group, weights=w * u_steps, minlength=size)
        return (U, u) if groups is None else (U[groups], u[groups])


_COARSE_STRIDE = 8
_GUESS_TIMES = 32


def _drops_matter(queue, weights) -> bool:
    """At least 1 % of the arrivals dropped: then part of the run is overloaded, its served requests
    wait close to the timeout, and the upper percentiles lie there, far from where Newton starts
    (otherwise it converges in about three passes and a guess costs more than it saves). Only where
    the passes start depends on it, not the answer."""
    return float(queue.p_drop @ weights) >= 1e-2 * float(np.sum(weights))


def _pooled_guess(queue, weights, probs, default, t_max):
    """First guesses of the pooled quantiles ``probs``: the pooled survival of every
    ``_COARSE_STRIDE``-th step at ``_GUESS_TIMES`` times spread geometrically up to ``t_max``, and
    closely after the timeout T (requests that waited close to T finish within a few service times
    of it: in overload the survival falls steeply there), its logarithm interpolated linearly
    between the two times around each level; ``default`` where the level lies below the first time."""
    sample = np.arange(0, len(weights), _COARSE_STRIDE)
    part, w = queue.take(sample), weights[sample]
    mu, T = queue.parts[0][1].mu, queue.parts[0][1].timeout
    spread = np.geomspace(min(0.01 * float(np.min(default)), t_max / 1e6), t_max, _GUESS_TIMES)
    times = np.unique(np.concatenate((spread, np.minimum(T + np.arange(-4, 12) / (2.0 * mu), t_max))))
    pooled = part.survival(times[:, None])[0] @ w
    level = (1.0 - probs) * float(part.survival(0.0)[0] @ w)
    at = np.searchsorted(-pooled, -level, side="left")  # first time where the survival is at or below the level
    i = np.clip(at, 1, len(times) - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = np.log(np.maximum(pooled[i - 1], _TINY)), np.log(np.maximum(pooled[i], _TINY))
        frac = np.clip(np.where(a > b, (a - np.log(np.maximum(level, _TINY))) / (a - b), 0.5), 0.0, 1.0)
    guess = times[i - 1] + frac * (times[i] - times[i - 1])
    return np.where(at == 0, default, guess)


def mixture_quantiles(queue, weights, probs, starts=None, max_iter: int = 40, served=None):
    """Response-time quantiles of served requests, pooled over groups of steps.

    ``weights``: arrivals per step; ``probs``: quantile levels (e.g. 0.95); ``starts``: first step
    of each contiguous group (default: one group of all steps); ``served``: ``queue.survival(0)[0]``
    when the caller has it already. Returns shape (len(probs), groups); NaN where a group served
    nothing.

    One group of many steps (a day's percentiles) with drops starts from a guess read off the pooled
    survival of every ``_COARSE_STRIDE``-th step on a grid of times (one evaluation): when part of the
    day is overloaded, the pooled distribution has two humps (milliseconds, and near the timeout) and Newton
    from the service-time quantile needed about eight passes over every step per level; from the
    guess it needs two or three. The answer is the same root to the same tolerance."""
    weights = np.asarray(weights, dtype=float)
    n = weights.shape[-1]
    starts = np.array([0] if starts is None else starts, dtype=np.intp)  # reduceat needs intp indices (int32 in Pyodide)
    probs = np.asarray(probs, dtype=float).reshape(-1, 1)

    survival = _PooledSurvival(queue, weights, starts)

    def pooled(t_groups, active):
        # Only the rows still being solved; once most groups of a row have converged, only the steps
        # of the open ones are evaluated (the same sums over the same groups, for a fraction of the
        # work). Entries of converged groups keep 1; the solver never reads them again.
        U_rows = np.ones(t_groups.shape)
        u_rows = np.ones(t_groups.shape)
        for r in np.flatnonzero(active.any(axis=1)).tolist():
            open_groups = np.flatnonzero(active[r])
            if 2 * len(open_groups) > len(starts):
                U_rows[r], u_rows[r] = survival(t_groups[r])
            else:
                U_rows[r, open_groups], u_rows[r, open_groups] = survival(t_groups[r], open_groups)
        return U_rows, u_rows

    if served is None:
        U0, _ = pooled(np.zeros((1, len(starts))), np.ones((1, len(starts)), dtype=bool))
    else:  # the same sums of the same terms
        U0 = np.add.reduceat(weights * served, starts).reshape(1, -1)
    target = (1.0 - probs) * U0
    # S(t) ≤ e^{−μ(t−T)} beyond the timeout, so this bracket always holds the quantile.
    mu, T = queue.parts[0][1].mu, queue.parts[0][1].timeout
    lo = np.zeros(target.shape)
    t_max = T + np.log(1.0 / (1.0 - probs.max())) / mu + 1.0 / mu
    hi = np.full(target.shape, t_max)
    t = np.broadcast_to(-np.log(1.0 - probs) / mu, target.shape).copy()
    if len(starts) == 1 and n >= 8 * _COARSE_STRIDE and _drops_matter(queue, weights):
        t[:, 0] = _pooled_guess(queue, weights, probs[:, 0], t[:, 0], t_max)
    log_target = np.log(np.maximum(target, _TINY))
    finished = np.broadcast_to(U0 <= 0, target.shape).copy()
    for _ in range(max_iter):
        U, u = pooled(t, ~finished)
        above = U > target
        lo = np.where(above, t, lo)
        hi = np.where(above, hi, t)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = (np.log(np.maximum(U, _TINY)) - log_target) * U / u
        t_new = t + step
        bad = ~np.isfinite(t_new) | (t_new < lo) | (t_new > hi)
        # Converged once the Newton step is below 0.1 µs or one part in a million; that last step
        # is still taken, which (quadratic convergence) leaves an error near 1e-12 relative.
        # Converged entries are then frozen.
        done = np.abs(step) <= 1e-7 + 1e-6 * t
        t = np.where(finished, t, np.where(bad, np.where(done, t, 0.5 * (lo + hi)), t_new))
        finished |= done
        if finished.all():
            break
    return np.where(U0 > 0, t, np.nan)
