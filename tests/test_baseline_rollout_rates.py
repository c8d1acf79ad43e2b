# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The baselines' rollouts run at their parameters: event-type shares, rates and marks within sampling error.

Fitting is checked elsewhere (rates recovered from a known Poisson stream, the Hawkes MLE from a
simulated process); here the other half: a proposer with KNOWN parameters, rolled out long enough,
must produce each event type at the share and the rate its parameters say. A zero-intelligence
proposer that ignored its rates (uniform types), or a Hawkes proposer whose rollouts did not feed
their own events back into the intensity, passes every shape and determinism test but fails these.
Fixed seeds; the bounds are several standard errors wide, so the sizes below keep them both tight
and far from flaky.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from modeling_tradefm.baselines import HawkesParams, HawkesProposer, ZIProposer
from modeling_tradefm.baselines.common import (
    KIND_CANCEL,
    KIND_LIMIT,
    KIND_MARKET,
    PLACE_NONE,
    PLACE_TOUCH,
    EmpiricalDistribution,
    EventType,
)
from modeling_tradefm.baselines.zero_intelligence import STREAMS, zi_price
from modeling_tradefm.events import ACTION_ADD, ACTION_CANCEL, NS_PER_SECOND, SIDE_ASK, SIDE_BID, EventTable
from modeling_tradefm.proposer import MARKET_PRICE_ASK, MARKET_PRICE_BID

TICK = 10_000_000  # $0.01
BID, ASK = 100 * 10**9, 100 * 10**9 + 4 * TICK  # a 4-tick spread: the mid (100.02) is on the grid


class StaticBook:
    """A book that never changes (both baselines only read its touch and tick to price their orders)."""

    tick_size = TICK

    def best_bid(self):
        return BID

    def best_ask(self):
        return ASK


def propose_many(proposer, n_rollouts: int, steps: int, seed: int) -> dict[str, np.ndarray]:
    """``steps`` proposals of each of ``n_rollouts`` rollouts on static books, observed as applied."""
    books = [StaticBook() for _ in range(n_rollouts)]
    proposer.start(EventTable.empty(), books, seed)
    cols = {k: [] for k in ("dt_ns", "action", "side", "price", "size")}
    for _ in range(steps):
        batch = proposer.propose(books)
        for k in cols:
            cols[k].append(getattr(batch, k).copy())
        proposer.observe(batch, books)
    return {k: np.stack(v, axis=1).astype(np.int64) for k, v in cols.items()}  # [rollout, step]


def kind_of(out: dict[str, np.ndarray]) -> np.ndarray:
    market = (out["action"] == ACTION_ADD) & np.isin(out["price"], [MARKET_PRICE_BID, MARKET_PRICE_ASK])
    return np.where(out["action"] == ACTION_CANCEL, KIND_CANCEL, np.where(market, KIND_MARKET, KIND_LIMIT))


# ---------------------------------------------------------------------------------------------
# zero intelligence
# ---------------------------------------------------------------------------------------------
ZI_RATES = np.array([2.0, 1.5, 1.0, 0.8, 0.3, 0.4])  # STREAMS order: add b/a, cancel b/a, market b/a (1/s)
ZI_WINDOW = 3


@pytest.fixture(scope="module")
def zi_rollouts():
    # marks that tell the kinds apart: adds of 1 or 2, cancels of 5, market orders of 100
    marks = [EmpiricalDistribution([1, 2], [1, 1]), EmpiricalDistribution([5], [1]), EmpiricalDistribution([100], [1])]
    zi = ZIProposer(ZI_RATES, ZI_WINDOW, marks, TICK)
    return propose_many(zi, 4, 5_000, seed=21)


def test_zi_event_type_shares_are_its_rates_shares(zi_rollouts):
    out = zi_rollouts
    kind, side = kind_of(out), (out["side"] == SIDE_ASK).astype(int)
    counts = np.array([np.count_nonzero((kind == k) & (side == s)) for k, s in STREAMS])
    n = counts.sum()
    assert n == 20_000
    expected = n * ZI_RATES / ZI_RATES.sum()
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    # 5 degrees of freedom: P(χ² > 35) ≈ 1.5e-6 under the fitted shares; uniform types would give ≈ 3,800
    assert chi2 < 35.0, (counts.tolist(), expected.round(0).tolist())
    assert chi2 == pytest.approx(stats.chisquare(counts, expected).statistic)


def test_zi_event_rate_and_waiting_times_are_exponential_at_the_total_rate(zi_rollouts):
    dt = zi_rollouts["dt_ns"].ravel() / NS_PER_SECOND
    total = ZI_RATES.sum()
    # events per simulated second: 1/mean(Δt), with the mean within 4 standard errors of 1/total
    se = (1 / total) / np.sqrt(len(dt))
    assert abs(dt.mean() - 1 / total) < 4 * se, (1 / dt.mean(), total)
    assert stats.kstest(dt, stats.expon(scale=1 / total).cdf).pvalue > 1e-4


def test_zi_marks_and_placement_follow_their_distributions(zi_rollouts):
    out = zi_rollouts
    kind, size, price, side = kind_of(out), out["size"], out["price"], out["side"]
    assert set(size[kind == KIND_CANCEL].tolist()) == {5} and set(size[kind == KIND_MARKET].tolist()) == {100}
    adds = size[kind == KIND_LIMIT]
    assert set(adds.tolist()) == {1, 2} and abs((adds == 2).mean() - 0.5) < 4 * 0.5 / np.sqrt(len(adds))
    # market orders carry the no-limit price of their side
    mk = kind == KIND_MARKET
    assert (price[mk & (side == SIDE_BID)] == MARKET_PRICE_BID).all()
    assert (price[mk & (side == SIDE_ASK)] == MARKET_PRICE_ASK).all()
    # limit adds and cancels pick one of the W grid levels on their side of the mid, uniformly: with the
    # mid 100.02 on the grid, bids at 100.01, 100.00, 99.99 and asks at 100.03, 100.04, 100.05
    for s, code in ((0, SIDE_BID), (1, SIDE_ASK)):
        levels = [zi_price(s, k, BID, ASK, TICK) for k in range(1, ZI_WINDOW + 1)]
        assert levels == ([BID + 1 * TICK, BID, BID - TICK] if s == 0 else [ASK - TICK, ASK, ASK + TICK])
        placed = price[(kind != KIND_MARKET) & (side == code)]
        counts = np.array([np.count_nonzero(placed == p) for p in levels])
        assert counts.sum() == len(placed)
        assert stats.chisquare(counts).pvalue > 1e-4


def test_zi_rollout_through_the_simulator_runs_at_the_total_rate():
    """The driver stamps each order at clock + Δt: the rollout's simulated seconds give the rate back."""
    from modeling_tradefm.generation_tradefm import rollout
    from modeling_tradefm.simulator import Simulator

    books = []
    for _ in range(2):
        sim = Simulator(tick_size=TICK)
        for i in range(10):
            sim.submit(0, ACTION_ADD, SIDE_BID, BID - i * TICK, 50)
            sim.submit(0, ACTION_ADD, SIDE_ASK, ASK + i * TICK, 50)
        books.append(sim)
    marks = [EmpiricalDistribution([1, 2], [1, 1])] * 3
    steps = 4_000
    results = rollout(ZIProposer(ZI_RATES, ZI_WINDOW, marks, TICK), EventTable.empty(), steps, num_rollouts=2,
                      seed=5, books=books)
    seconds = sum((r.meta["end_ts_ns"] - r.meta["start_ts_ns"]) / NS_PER_SECOND for r in results)
    n = 2 * steps
    total = ZI_RATES.sum()
    assert abs(seconds / n - 1 / total) < 4 * (1 / total) / np.sqrt(n), (n / seconds, total)


# ---------------------------------------------------------------------------------------------
# Compound Hawkes
# ---------------------------------------------------------------------------------------------
HAWKES_TYPES = [EventType(KIND_LIMIT, 0, PLACE_TOUCH), EventType(KIND_LIMIT, 1, PLACE_TOUCH),
                EventType(KIND_CANCEL, 0, PLACE_TOUCH), EventType(KIND_MARKET, 1, PLACE_NONE)]
HAWKES = HawkesParams(
    mu=[0.30, 0.25, 0.20, 0.10],
    alpha=[[0.20, 0.10, 0.00, 0.15],
           [0.10, 0.25, 0.05, 0.00],
           [0.15, 0.00, 0.20, 0.10],
           [0.05, 0.10, 0.00, 0.10]],
    beta=np.array([3.0, 5.0, 2.0, 4.0]),
)


def _hawkes_type(out: dict[str, np.ndarray]) -> np.ndarray:
    """Type index of each proposal (the four types differ in kind or side; touch orders sit at the best)."""
    kind, ask = kind_of(out), out["side"] == SIDE_ASK
    u = np.full(kind.shape, -1)
    u[(kind == KIND_LIMIT) & ~ask & (out["price"] == BID)] = 0
    u[(kind == KIND_LIMIT) & ask & (out["price"] == ASK)] = 1
    u[(kind == KIND_CANCEL) & ~ask & (out["price"] == BID)] = 2
    u[(kind == KIND_MARKET) & ask] = 3
    return u


def test_hawkes_rollout_rates_are_the_stationary_rates():
    """Mean rate of each type over a long rollout vs (I − α)⁻¹ μ, within 4 standard errors.

    For a stationary Hawkes process the counts over a long time T have covariance
    ``T · (I − α)⁻¹ diag(Λ) (I − α)⁻ᵀ`` (Λ the stationary rates), which gives each rate's standard error.
    """
    marks = [EmpiricalDistribution([1], [1]) for _ in HAWKES_TYPES]
    proposer = HawkesProposer(HAWKES, HAWKES_TYPES, marks, marks, TICK)
    assert HAWKES.spectral_radius() < 0.6
    out = propose_many(proposer, 4, 5_000, seed=13)
    u = _hawkes_type(out)
    assert (u >= 0).all()
    seconds = out["dt_ns"].sum() / NS_PER_SECOND
    rates = np.bincount(u.ravel(), minlength=4) / seconds
    lam = HAWKES.stationary_rates()
    inv = np.linalg.inv(np.eye(4) - HAWKES.alpha)
    se = np.sqrt(np.diag(inv @ np.diag(lam) @ inv.T) / seconds)
    assert (np.abs(rates - lam) < 4 * se).all(), (rates.round(3).tolist(), lam.round(3).tolist(), se.round(3).tolist())
    # the excitation is what these rates measure: the baseline μ alone is far outside the bounds
    assert (lam - HAWKES.mu > 6 * se).all()
