# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Compound Hawkes baseline: a multivariate Hawkes process of order types with empirical marks.

The paper compares TradeFM with "Compound Hawkes baselines" without specifying them (PAPER.md §7.2);
the reference family is Jain et al. 2024 (PAPER.md §D): a 12-dimensional Hawkes process over limit /
market / cancel events at inside / touch / deeper queues, with i.i.d. order sizes as marks. This
module implements that family with these documented choices:

* **Event types** (``common.default_event_types``, D = 12): limit add × side × {inside spread, at the
  touch, deeper}; cancel × side × {touch, deeper}; market order (marketable add) × side. The class of
  a real event comes from the book just before it (simulator replay, see ``common.extract_orders``).
* **Kernels: exponential**, φ_ij(t) = α_ij β_ij exp(−β_ij t), so α_ij is the branching ratio (the
  expected number of type-i events one type-j event triggers) and the process is stationary iff the
  spectral radius ρ(α) < 1. Jain et al. select power-law kernels by AIC; exponential kernels keep
  the likelihood's O(N·D²) recursion exact and the MLE tractable. The decays are tied by
  ``decay`` = ``"per_source"`` (β_ij = β_j, default: each event type has its own memory),
  ``"shared"`` (one β) or ``"per_pair"`` (D² decays).
* **Fit: maximum likelihood** with scipy's L-BFGS-B on the exact log-likelihood and its analytic
  gradient (μ, α ≥ 0; log β within ``beta_bounds``), computed by the recursion
  R_ij(t_k) = e^{−β_ij (t_k − t_{k−1})} (R_ij(t_{k−1}) + 1[u_{k−1} = j]) (numba-compiled). Sessions are
  independent realisations (their likelihoods add).
  Orders with identical timestamps do not excite each other (a burst stamped in one packet is not a
  cause-and-effect chain; this also keeps β finite on feeds with many ties).
  ``tick`` (X-DataInitiative) was tried first: tick 0.8.0.2 installs on Python 3.11, but its
  ``HawkesExpKern`` learner fails at construction (``AttributeError: ... no settable attribute
  'events'``) and in any case fits μ and α for *given* decays only, while β is fitted here.
* **Stationarity** is enforced: if the MLE has ρ(α) ≥ ``max_spectral_radius`` (default 0.99), α is
  scaled to ρ = ``max_spectral_radius`` and μ, β are refitted with α held (``stationarity_enforced``).
* **Marks** (the compound part): per event type, the depth in ticks behind the own best (inside
  spread < 0 < deeper) and the size are drawn i.i.d. from their empirical distributions; they do not
  feed back into the intensities. The price is placed against the rollout's *current* book; a
  sampled inside-spread depth is clipped to the current spread (with a one-tick spread an inside
  add becomes a touch add, counted in ``placement_clipped``).
* Not modeled (Jain et al. have them): time-of-day seasonality of μ, queue/spread-dependent
  intensities, inhibitory kernels.

Rollouts: ``start`` replays the real prefix's orders into the intensity state (excitations decay,
so the last ``warmup_s`` seconds are enough), ``propose`` samples each rollout's next event by Ogata
thinning (exponential kernels make λ non-increasing between events, so λ(t⁺) bounds it), and
``observe`` adds the applied order — proposed or injected — to the history, classified against the
book it met, so injected orders excite the flow too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.optimize import minimize

from ..events import ACTION_ADD, ACTION_CANCEL, NS_PER_SECOND, EventTable
from ..proposer import OrderBatch, OrderProposer, resolve_rollout_ids
from ..sampling import rollout_rngs
from ..ticks import book_tick_size
from .common import (
    KIND_CANCEL,
    KIND_LIMIT,
    KIND_MARKET,
    NO_PRICE,
    PLACE_INSIDE,
    PLACE_TOUCH,
    BookView,
    EmpiricalDistribution,
    EventType,
    ModeledOrders,
    classify,
    default_event_types,
    extract_orders,
    fitted_on_summary,
    market_price,
    price_at_depth,
    side01,
    side_code,
    type_index_table,
)

DECAY_MODES = ("per_source", "shared", "per_pair")


# ----------------------------------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------------------------------
@dataclass
class HawkesParams:
    """Exponential-kernel multivariate Hawkes parameters.

    λ_i(t) = μ_i + Σ_j Σ_{t_l < t, u_l = j} α_ij β_ij exp(−β_ij (t − t_l))   (t in seconds)

    Attributes:
        mu: float64 [D] baseline intensities (1/s).
        alpha: float64 [D, D] branching ratios, alpha[i, j] = effect of a type-j event on type i.
        beta: float64 [D, D] decay rates (1/s).
    """

    mu: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray

    def __post_init__(self) -> None:
        self.mu = np.asarray(self.mu, dtype=np.float64)
        d = len(self.mu)
        self.alpha = np.asarray(self.alpha, dtype=np.float64).reshape(d, d)
        beta = np.asarray(self.beta, dtype=np.float64)
        if beta.ndim == 0:
            beta = np.full((d, d), float(beta))
        elif beta.ndim == 1:  # per source
            beta = np.broadcast_to(beta[None, :], (d, d)).copy()
        self.beta = beta.reshape(d, d)
        if (self.mu < 0).any() or (self.alpha < 0).any() or (self.beta <= 0).any():
            raise ValueError("Hawkes parameters need mu >= 0, alpha >= 0, beta > 0")

    @property
    def dim(self) -> int:
        return len(self.mu)

    def spectral_radius(self) -> float:
        """ρ(α): the branching ratio of the process; < 1 ⇔ stationary."""
        return float(np.max(np.abs(np.linalg.eigvals(self.alpha)))) if self.dim else 0.0

    def stationary_rates(self) -> np.ndarray:
        """Mean intensities (I − α)⁻¹ μ (events/s), [D]; requires ρ(α) < 1."""
        return np.linalg.solve(np.eye(self.dim) - self.alpha, self.mu)

    def to_dict(self) -> dict:
        return {"mu": self.mu.tolist(), "alpha": self.alpha.tolist(), "beta": self.beta.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> HawkesParams:
        return cls(np.array(d["mu"]), np.array(d["alpha"]), np.array(d["beta"]))


def decay_ties(dim: int, decay: str) -> np.ndarray:
    """int64 [D, D]: which free decay parameter each β_ij is."""
    if decay == "shared":
        return np.zeros((dim, dim), dtype=np.int64)
    if decay == "per_source":
        return np.broadcast_to(np.arange(dim)[None, :], (dim, dim)).copy()
    if decay == "per_pair":
        return np.arange(dim * dim, dtype=np.int64).reshape(dim, dim)
    raise ValueError(f"decay must be one of {DECAY_MODES}, got {decay!r}")


# ----------------------------------------------------------------------------------------------
# Likelihood
# ----------------------------------------------------------------------------------------------
@njit(cache=False)
def _loglik_session(times, types, end_time, mu, alpha, ties, b, with_grad):  # pragma: no cover - compiled
    # β_ij = b[ties[i, j]]: one exp per distinct decay and step, not per pair.
    d = mu.shape[0]
    nb = b.shape[0]
    n = times.shape[0]
    R = np.zeros((d, d))
    S = np.zeros((d, d))
    e = np.zeros(nb)
    pending = np.zeros(d)
    g_mu = np.zeros(d)
    g_alpha = np.zeros((d, d))
    g_beta = np.zeros((d, d))
    ll = 0.0
    last = times[0] if n > 0 else 0.0
    for k in range(n):
        t = times[k]
        dt = t - last
        if dt > 0.0:
            for c in range(nb):
                e[c] = math.exp(-b[c] * dt)
            for i in range(d):
                for j in range(d):
                    ec = e[ties[i, j]]
                    rp = R[i, j] + pending[j]
                    if with_grad:
                        S[i, j] = ec * (S[i, j] + dt * rp)
                    R[i, j] = ec * rp
            for j in range(d):
                pending[j] = 0.0
            last = t
        u = types[k]
        lam = mu[u]
        for j in range(d):
            lam += alpha[u, j] * b[ties[u, j]] * R[u, j]
        if lam <= 0.0:
            return -np.inf, g_mu, g_alpha, g_beta
        ll += math.log(lam)
        if with_grad:
            inv = 1.0 / lam
            g_mu[u] += inv
            for j in range(d):
                bb = b[ties[u, j]]
                g_alpha[u, j] += bb * R[u, j] * inv
                g_beta[u, j] += alpha[u, j] * (R[u, j] - bb * S[u, j]) * inv
        pending[u] += 1.0
    # Compensator: Σ_i μ_i T + Σ_ij α_ij Σ_{l: u_l = j} (1 − e^{−β_ij (T − t_l)})
    t0 = times[0] if n > 0 else 0.0
    span = end_time - t0
    for i in range(d):
        ll -= mu[i] * span
        if with_grad:
            g_mu[i] -= span
    for k in range(n):
        j = types[k]
        tau = end_time - times[k]
        for c in range(nb):
            e[c] = math.exp(-b[c] * tau)
        for i in range(d):
            ec = e[ties[i, j]]
            ll -= alpha[i, j] * (1.0 - ec)
            if with_grad:
                g_alpha[i, j] -= 1.0 - ec
                g_beta[i, j] -= alpha[i, j] * tau * ec
    return ll, g_mu, g_alpha, g_beta


def log_likelihood(sessions, params: HawkesParams, with_grad: bool = False):
    """Exact log-likelihood of sessions under ``params`` (and its gradient).

    Args:
        sessions: list of (times float64 [n] seconds, ascending; types int64 [n]; end_time float).
            Each session is observed on [times[0], end_time].
        params: the model.
        with_grad: also return (g_mu [D], g_alpha [D, D], g_beta [D, D]).

    Returns:
        ll, or (ll, g_mu, g_alpha, g_beta).
    """
    d = params.dim
    ll = 0.0
    g = [np.zeros(d), np.zeros((d, d)), np.zeros((d, d))]
    # Distinct decays (ties) so the kernel computes one exponential per distinct β.
    b, inv = np.unique(params.beta, return_inverse=True)
    ties = inv.reshape(d, d).astype(np.int64)
    for times, types, end in sessions:
        out = _loglik_session(
            np.ascontiguousarray(times, dtype=np.float64), np.ascontiguousarray(types, dtype=np.int64), float(end),
            params.mu, params.alpha, ties, b, with_grad,
        )
        ll += out[0]
        for acc, part in zip(g, out[1:], strict=True):
            acc += part
    return (ll, *g) if with_grad else ll


@dataclass
class HawkesFit:
    """Result of ``fit_hawkes_mle``."""

    params: HawkesParams
    log_likelihood: float
    n_events: int
    n_parameters: int
    converged: bool
    iterations: int
    stationarity_enforced: bool
    seconds: float

    @property
    def aic(self) -> float:
        return 2.0 * self.n_parameters - 2.0 * self.log_likelihood

    def summary(self) -> dict:
        return {
            "dimension": self.params.dim,
            "log_likelihood": float(self.log_likelihood),
            "aic": float(self.aic),
            "n_events": int(self.n_events),
            "n_parameters": int(self.n_parameters),
            "spectral_radius": self.params.spectral_radius(),
            "converged": bool(self.converged),
            "iterations": int(self.iterations),
            "stationarity_enforced": bool(self.stationarity_enforced),
            "fit_seconds": float(self.seconds),
        }


def fit_hawkes_mle(
    sessions,
    dim: int,
    decay: str = "per_source",
    beta_bounds: tuple[float, float] = (1e-3, 1e5),
    max_spectral_radius: float = 0.99,
    maxiter: int = 500,
    init: HawkesParams | None = None,
    progress: bool = False,
) -> HawkesFit:
    """Maximum-likelihood fit of an exponential-kernel Hawkes process.

    Args:
        sessions: list of (times [n] s, types int [n] in [0, dim), end_time).
        dim: number of event types D.
        decay: how decays are tied: ``"per_source"`` (D), ``"shared"`` (1) or ``"per_pair"`` (D²).
        beta_bounds: bounds of every β (1/s).
        max_spectral_radius: stationarity cap on ρ(α) (see the module docstring).
        maxiter: L-BFGS-B iterations.
        init: starting point (default: μ = half the empirical rates, α = 0.5/D, β = the mean event rate).
        progress: a tqdm bar over the L-BFGS-B iterations (total ``maxiter``; a second one for the
            refit under the stationarity cap), with the current log-likelihood.

    Returns:
        HawkesFit.
    """
    t_start = time.perf_counter()
    ties = decay_ties(dim, decay)
    nb = int(ties.max()) + 1
    counts = np.zeros(dim)
    total_time = 0.0
    for times, types, end in sessions:
        counts += np.bincount(np.asarray(types, dtype=np.int64), minlength=dim)[:dim]
        if len(times):
            total_time += float(end) - float(times[0])
    n_events = int(counts.sum())
    if n_events < 2 or total_time <= 0:
        raise ValueError(f"need at least two events over a positive time span to fit (got {n_events})")
    present = counts > 0
    rate = counts / total_time
    if init is None:
        mu0 = np.maximum(0.5 * rate, 1e-6)
        alpha0 = np.full((dim, dim), 0.5 / dim) * present[None, :]
        b0 = np.full(nb, float(np.clip(n_events / total_time, *beta_bounds)))
    else:
        mu0, alpha0 = init.mu.copy(), init.alpha.copy()
        b0 = np.array([init.beta[ties == b].mean() for b in range(nb)])
    log_lo, log_hi = np.log(beta_bounds[0]), np.log(beta_bounds[1])
    # Types never seen cannot excite anything: their α columns stay 0 (and are not counted as parameters).
    alpha_free = np.broadcast_to(present[None, :], (dim, dim))

    def unpack(x, alpha_fixed=None):
        mu = x[:dim]
        if alpha_fixed is None:
            alpha = np.where(alpha_free, x[dim:dim + dim * dim].reshape(dim, dim), 0.0)
            lb = x[dim + dim * dim:]
        else:
            alpha = alpha_fixed
            lb = x[dim:]
        return mu, alpha, np.exp(lb)[ties], np.exp(lb)

    scale = float(n_events)
    last_ll = [float("nan")]  # of the latest evaluation, for the progress bar

    def objective(x, alpha_fixed=None):
        mu, alpha, beta, b = unpack(x, alpha_fixed)
        ll, gm, ga, gb = log_likelihood(sessions, HawkesParams(mu, alpha, beta), with_grad=True)
        if not np.isfinite(ll):
            return 1e30, np.zeros_like(x)
        g_lb = np.bincount(ties.ravel(), weights=gb.ravel(), minlength=nb) * b  # d/d log b
        if alpha_fixed is None:
            grad = np.concatenate([gm, np.where(alpha_free, ga, 0.0).ravel(), g_lb])
        else:
            grad = np.concatenate([gm, g_lb])
        last_ll[0] = float(ll)
        return -ll / scale, -grad / scale

    def lbfgsb(fun, x, bnds, desc):
        from tqdm.auto import tqdm

        with tqdm(total=maxiter, desc=desc, unit="it", disable=not progress) as bar:
            def step(_xk):  # L-BFGS-B calls it once per iteration (not per evaluation)
                bar.set_postfix_str(f"log-likelihood {last_ll[0]:.6g}", refresh=False)
                bar.update(1)

            return minimize(fun, x, jac=True, method="L-BFGS-B", bounds=bnds, callback=step,
                            options={"maxiter": maxiter, "ftol": 1e-12, "gtol": 1e-8})

    x0 = np.concatenate([mu0, alpha0.ravel(), np.clip(np.log(b0), log_lo, log_hi)])
    bounds = [(1e-10, None)] * dim + [(0.0, None)] * (dim * dim) + [(log_lo, log_hi)] * nb
    res = lbfgsb(objective, x0, bounds, "hawkes mle")
    mu, alpha, beta, b = unpack(res.x)
    enforced = False
    converged, iterations = bool(res.success), int(res.nit)
    rho = HawkesParams(mu, alpha, beta).spectral_radius()
    if rho >= max_spectral_radius:
        enforced = True
        alpha = alpha * (max_spectral_radius * (1 - 1e-9) / rho)
        x1 = np.concatenate([mu, np.log(b)])
        res = lbfgsb(lambda x: objective(x, alpha), x1, [(1e-10, None)] * dim + [(log_lo, log_hi)] * nb,
                     "hawkes mle (ρ capped)")
        mu, alpha, beta, b = unpack(res.x, alpha)
        converged, iterations = bool(res.success), iterations + int(res.nit)
    params = HawkesParams(np.where(present, mu, 0.0), alpha, beta)
    ll = float(log_likelihood(sessions, params))
    n_par = int(present.sum()) + int(alpha_free.sum()) + len(np.unique(ties[:, present]))
    return HawkesFit(params, ll, n_events, n_par, converged, iterations, enforced, time.perf_counter() - t_start)


# ----------------------------------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------------------------------
class HawkesState:
    """The intensity state of one realisation: exact exponential-kernel recursion.

    ``R[i, j]`` = Σ_{past type-j events} e^{−β_ij (t − t_l)} at the current time ``t``; events at the
    current time sit in ``pending`` until time moves (ties do not excite each other).
    """

    def __init__(self, params: HawkesParams, t: float = 0.0):
        self.p = params
        self._ab = params.alpha * params.beta
        self.R = np.zeros((params.dim, params.dim))
        self.pending = np.zeros(params.dim)
        self.t = float(t)

    def advance(self, t: float) -> None:
        dt = t - self.t
        if dt < 0:
            raise ValueError(f"time goes backwards ({t} < {self.t})")
        if dt > 0:
            self.R = np.exp(-self.p.beta * dt) * (self.R + self.pending[None, :])
            self.pending[:] = 0.0
            self.t = float(t)

    def add(self, event_type: int) -> None:
        self.pending[event_type] += 1.0

    def intensity_after(self, dt: float) -> np.ndarray:
        """λ [D] at ``t + dt`` (dt > 0), without changing the state."""
        R = np.exp(-self.p.beta * dt) * (self.R + self.pending[None, :])
        return self.p.mu + (self._ab * R).sum(axis=1)

    def next_event(self, rng: np.random.Generator, max_dt: float = math.inf) -> tuple[float, int]:
        """Ogata thinning: (dt, type) of the next event, or (inf, −1) if none before ``max_dt``.

        λ is non-increasing between events (exponential kernels, α ≥ 0), so λ(t⁺) bounds it.
        """
        # λ just after now: the limit dt → 0⁺ includes the pending events' full jump.
        lam_bar = float(self.intensity_after(0.0).sum())
        s = 0.0
        while True:
            if lam_bar <= 0:
                return math.inf, -1
            s += rng.exponential(1.0 / lam_bar)
            if s > max_dt:
                return math.inf, -1
            lam = self.intensity_after(s)
            total = float(lam.sum())
            if rng.random() * lam_bar <= total:
                u = int(np.searchsorted(np.cumsum(lam), rng.random() * total, side="right"))
                return s, min(u, self.p.dim - 1)
            lam_bar = total


def simulate_hawkes(params: HawkesParams, end_time: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Simulate on [0, end_time] by Ogata thinning with the exact recursion (seeded).

    Returns:
        (times float64 [n] s, types int64 [n]).
    """
    rng = np.random.default_rng(seed)
    state = HawkesState(params)
    times, types = [], []
    while True:
        dt, u = state.next_event(rng, max_dt=end_time - state.t)
        if u < 0:
            break
        state.advance(state.t + dt)
        state.add(u)
        times.append(state.t)
        types.append(u)
    return np.asarray(times, dtype=np.float64), np.asarray(types, dtype=np.int64)


# ----------------------------------------------------------------------------------------------
# The proposer
# ----------------------------------------------------------------------------------------------
def orders_to_sessions(orders: ModeledOrders, types: Sequence[EventType]):
    """ModeledOrders → Hawkes sessions (times s from session start, type index, end)."""
    table = type_index_table(types)
    u = table[orders.kind, orders.side, orders.placement]
    sessions = []
    for a, b in orders.session_bounds():
        keep = u[a:b] >= 0
        t = (orders.ts_ns[a:b][keep] - orders.ts_ns[a]) / NS_PER_SECOND
        if len(t) >= 2:
            sessions.append((t, u[a:b][keep], float(t[-1])))
    return sessions, int(np.count_nonzero(u < 0))


class HawkesProposer(OrderProposer):
    """Compound Hawkes order proposer (see the module docstring).

    Args:
        params: the fitted Hawkes process (D = len(event_types)).
        event_types: the meaning of each dimension.
        depth_marks: per type, the empirical depth-in-ticks distribution.
        size_marks: per type, the empirical size distribution.
        tick_size: price grid of the fitted instrument (1e-9); a book's own tick size wins.
        fit_summary, fitted_on: provenance written to baseline.json.
        warmup_s: how much of the prefix (seconds before its end) warms the intensity state.
    """

    name = "compound-hawkes"
    kind = "hawkes"

    def __init__(self, params: HawkesParams, event_types: Sequence[EventType], depth_marks, size_marks,
                 tick_size: int, fit_summary: dict | None = None, fitted_on: dict | None = None,
                 warmup_s: float = 600.0):
        if params.dim != len(event_types):
            raise ValueError(f"{params.dim} Hawkes dimensions but {len(event_types)} event types")
        self.params = params
        self.event_types = list(event_types)
        self.depth_marks = list(depth_marks)
        self.size_marks = list(size_marks)
        self.tick_size = int(tick_size)
        self.fit_summary = dict(fit_summary or {})
        self.fitted_on = dict(fitted_on or {})
        self.warmup_s = float(warmup_s)
        self._table = type_index_table(self.event_types)
        self._states: list[HawkesState] = []
        self._rngs: list[np.random.Generator] = []
        self._views: list[BookView] = []
        self._pending: list[tuple] = []
        self.placement_clipped = 0

    # -- rollout interface ---------------------------------------------------------------------
    def start(self, prefix: EventTable, books: Sequence, seed: int, rollout_ids: Sequence[int] | None = None) -> None:
        """Warm each rollout's intensity from the prefix's orders in the last ``warmup_s`` seconds."""
        k = len(books)
        self._rngs = rollout_rngs(seed, resolve_rollout_ids(rollout_ids, k))
        base = HawkesState(self.params)
        last_bid = last_ask = None
        if len(prefix):
            orders = extract_orders(prefix, tick_size=self.tick_size)
            end_ns = int(prefix.ts_recv.max())
            if len(orders):
                u = self._table[orders.kind, orders.side, orders.placement]
                keep = (u >= 0) & (orders.ts_ns >= end_ns - int(self.warmup_s * NS_PER_SECOND))
                base.t = (int(orders.ts_ns[keep][0]) - end_ns) / NS_PER_SECOND if keep.any() else 0.0
                for ts, ui in zip(orders.ts_ns[keep], u[keep], strict=True):
                    base.advance((int(ts) - end_ns) / NS_PER_SECOND)
                    base.add(int(ui))
                two = (orders.best_bid != NO_PRICE) & (orders.best_ask != NO_PRICE)
                if two.any():
                    i = np.flatnonzero(two)[-1]
                    last_bid, last_ask = int(orders.best_bid[i]), int(orders.best_ask[i])
            base.advance(0.0)  # the rollout starts at the prefix's last event
        self._states = []
        for _ in range(k):
            s = HawkesState(self.params, base.t)
            s.R, s.pending = base.R.copy(), base.pending.copy()
            self._states.append(s)
        self._views = [BookView(self.tick_size, last_bid, last_ask) for _ in range(k)]
        self._pending = [None] * k

    def propose(self, books: Sequence) -> OrderBatch:
        k = len(books)
        if k != len(self._states):
            raise RuntimeError(f"propose() got {k} books, start() prepared {len(self._states)} rollouts")
        out = {n: np.zeros(k, dtype=np.int64) for n in ("dt_ns", "action", "side", "price", "size")}
        for r in range(k):
            state, rng = self._states[r], self._rngs[r]
            bid, ask, _, _ = self._views[r].read(books[r])
            tick = book_tick_size(books[r], self.tick_size)
            dt, u = state.next_event(rng)
            if u < 0:
                raise RuntimeError("the Hawkes intensity is zero: no event can be proposed (all mu = 0?)")
            et = self.event_types[u]
            size = int(max(1, self.size_marks[u].sample(rng)))
            if et.kind == KIND_MARKET:
                action, price = ACTION_ADD, market_price(et.side)
            else:
                depth = int(self.depth_marks[u].sample(rng)) if et.placement != PLACE_TOUCH else 0
                spread_ticks = max((ask - bid) // tick, 1)
                if et.placement == PLACE_INSIDE:
                    depth = min(depth, -1)
                    if -depth > spread_ticks - 1:
                        self.placement_clipped += 1
                        depth = -(spread_ticks - 1)
                else:
                    depth = max(depth, 0)
                action = ACTION_ADD if et.kind == KIND_LIMIT else ACTION_CANCEL
                price = price_at_depth(et.side, depth, bid, ask, tick)
            out["dt_ns"][r] = max(int(round(dt * NS_PER_SECOND)), 1)
            out["action"][r], out["side"][r] = action, side_code([et.side])[0]
            out["price"][r], out["size"][r] = price, size
            self._pending[r] = (bid, ask, tick, u)
        return OrderBatch(out["dt_ns"], out["action"], out["side"], out["price"], out["size"],
                          np.zeros(k, dtype=np.uint8))

    def observe(self, applied: OrderBatch, books: Sequence) -> None:
        """Add each applied order to its rollout's history.

        The rollout's own proposal enters as the type that was *sampled*, whatever the book made of
        it: the point process is autonomous and the book only prices its events. Classifying it
        again against the book would feed a type other than the sampled one back into the
        intensity; the effective branching matrix then exceeds the fitted one and the closed loop
        can explode (seen on AAPL: 600 events/s from a fit whose stationary rate is 23/s). Only an
        injected order (participant flag 1), which the process did not generate, is classified
        against the book it met.
        """
        k = len(applied)
        for r in range(k):
            state = self._states[r]
            pending, self._pending[r] = self._pending[r], None
            state.advance(state.t + int(applied.dt_ns[r]) / NS_PER_SECOND)
            if pending is not None and int(applied.participant[r]) == 0:
                state.add(int(pending[3]))
                continue
            if pending is not None:
                bid, ask, tick, _ = pending
            else:  # observe without propose (e.g. an injection-only step): the book as it is now
                bid, ask, _, _ = self._views[r].read(books[r])
                tick = book_tick_size(books[r], self.tick_size)
            act = int(applied.action[r])
            if act not in (ACTION_ADD, ACTION_CANCEL):
                continue
            kind, placement, _ = classify(
                [KIND_LIMIT if act == ACTION_ADD else KIND_CANCEL], side01([applied.side[r]]),
                [applied.price[r]], [bid], [ask], tick,
            )
            u = self._table[kind[0], side01([applied.side[r]])[0], placement[0]]
            if u >= 0:
                state.add(int(u))

    # -- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "format_version": 1,
            "event_types": [t.name for t in self.event_types],
            "kernel": "exponential",
            "tick_size": self.tick_size,
            "warmup_s": self.warmup_s,
            "params": self.params.to_dict(),
            "marks": {
                t.name: {"depth_ticks": d.to_dict(), "size": s.to_dict()}
                for t, d, s in zip(self.event_types, self.depth_marks, self.size_marks, strict=True)
            },
            "fit": self.fit_summary,
            "fitted_on": self.fitted_on,
        }

    @classmethod
    def from_dict(cls, d: dict, **kwargs) -> HawkesProposer:
        if d.get("kind") != cls.kind:
            raise ValueError(f"not a Hawkes baseline (kind={d.get('kind')!r})")
        types = [EventType.from_name(n) for n in d["event_types"]]
        marks = d["marks"]
        return cls(
            HawkesParams.from_dict(d["params"]), types,
            [EmpiricalDistribution.from_dict(marks[t.name]["depth_ticks"]) for t in types],
            [EmpiricalDistribution.from_dict(marks[t.name]["size"]) for t in types],
            d["tick_size"], d.get("fit"), d.get("fitted_on"), warmup_s=kwargs.get("warmup_s", d.get("warmup_s", 600.0)),
        )

    def summary(self) -> dict:
        """Dimension, spectral radius, log-likelihood, AIC, ... (the fit record plus rates)."""
        out = dict(self.fit_summary)
        out["dimension"] = self.params.dim
        out["spectral_radius"] = self.params.spectral_radius()
        if out["spectral_radius"] < 1:
            out["stationary_rates"] = dict(zip([t.name for t in self.event_types],
                                               self.params.stationary_rates().round(6).tolist(), strict=True))
        return out


def fit_hawkes(
    events: EventTable,
    *,
    decay: str = "per_source",
    event_types: Sequence[EventType] | None = None,
    touch: tuple[np.ndarray, np.ndarray] | None = None,
    tick_size: int | None = None,
    modify: str = "split",
    session_gap_s: float = 1800.0,
    max_spectral_radius: float = 0.99,
    beta_bounds: tuple[float, float] = (1e-3, 1e5),
    maxiter: int = 500,
    files: Sequence[str] | None = None,
    progress: bool = False,
) -> HawkesProposer:
    """Fit the Compound Hawkes baseline on real events.

    Args:
        events: raw events (one or more instruments/sessions).
        decay: decay tying, see ``fit_hawkes_mle``.
        event_types: the dimensions (default ``common.default_event_types()``).
        touch: (best_bid, best_ask) before each row; default: simulator replay.
        tick_size, modify, session_gap_s: see ``common.extract_orders``.
        max_spectral_radius, beta_bounds, maxiter: see ``fit_hawkes_mle``.
        files: source file names for the provenance record.
        progress: print progress.

    Returns:
        A fitted ``HawkesProposer``.
    """
    types = list(event_types or default_event_types())
    orders = extract_orders(events, touch=touch, tick_size=tick_size, modify=modify, session_gap_s=session_gap_s)
    sessions, untyped = orders_to_sessions(orders, types)
    if progress:
        print(f"hawkes: {len(orders)} orders in {len(sessions)} sessions, D={len(types)}, decay={decay}", flush=True)
    fit = fit_hawkes_mle(sessions, len(types), decay=decay, beta_bounds=beta_bounds,
                         max_spectral_radius=max_spectral_radius, maxiter=maxiter, progress=progress)
    table = type_index_table(types)
    u = table[orders.kind, orders.side, orders.placement]
    depth_marks = [EmpiricalDistribution.fit(orders.depth_ticks[u == i], default=0) for i in range(len(types))]
    size_marks = [EmpiricalDistribution.fit(orders.size[u == i], default=1) for i in range(len(types))]
    summary = fit.summary()
    summary["decay"] = decay
    summary["orders_without_type"] = untyped
    summary["type_counts"] = {t.name: int(np.count_nonzero(u == i)) for i, t in enumerate(types)}
    return HawkesProposer(fit.params, types, depth_marks, size_marks, orders.tick_size, summary,
                          fitted_on_summary(events, orders, files))


__all__ = [
    "DECAY_MODES",
    "HawkesFit",
    "HawkesParams",
    "HawkesProposer",
    "HawkesState",
    "decay_ties",
    "fit_hawkes",
    "fit_hawkes_mle",
    "log_likelihood",
    "orders_to_sessions",
    "simulate_hawkes",
]
