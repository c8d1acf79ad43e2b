# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Property tests (hypothesis): random order sequences through ``Simulator.submit``.

Invariants: the book is never crossed after matching; shares are conserved (in terms of the orders
submitted, and in terms of the log); two runs give byte-identical logs; and the log replayed through
``apply`` (venue semantics, no matching) rebuilds the same book.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modeling_tradefm.events import ACTION_ADD, ACTION_CANCEL, ACTION_FILL, ACTION_TRADE
from modeling_tradefm.proposer import MARKET_PRICE_ASK, MARKET_PRICE_BID
from modeling_tradefm.simulator import Simulator

TICK = 10_000_000  # $0.01

order = st.tuples(
    st.sampled_from("AAAAC"),  # action (adds more frequent than cancels)
    st.sampled_from("BA"),  # side
    st.integers(-1, 20),  # price in ticks around 100; -1 = market order
    st.integers(1, 50),  # size
    st.integers(0, 1),  # participant
    st.integers(0, 3),  # dt (ns)
)
seed_row = st.lists(st.integers(1, 30), min_size=0, max_size=3)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(orders, seed_sizes=(), **kwargs):
    if seed_sizes:
        # anonymous seed: asks at $100.11, 100.12, ..., bids at $99.89, 99.88, ... (LOBSTER units: $ × 10,000)
        row = []
        for k in range(3):
            ask = (1_001_100 + 100 * k, seed_sizes[k]) if k < len(seed_sizes) else (9999999999, 0)
            bid = (998_900 - 100 * k, seed_sizes[k]) if k < len(seed_sizes) else (-9999999999, 0)
            row += [*ask, *bid]
        sim = Simulator.from_lobster_row(row, levels=3, visible=False, tick_size=TICK, **kwargs)
    else:
        sim = Simulator(tick_size=TICK, **kwargs)
    seeded = sim.resting_volume()
    totals = dict(submitted=0, executed=0, cancelled=0, unfilled=0)
    ts = 0
    for action, side, px, size, part, dt in orders:
        ts += dt
        if px < 0:
            price = MARKET_PRICE_BID if side == "B" else MARKET_PRICE_ASK
        else:
            price = (10_000 + px - 10) * TICK  # $100 ± 10 ticks
        r = sim.submit(ts, action, side, price, size, part)
        assert not sim.is_crossed()
        if r.void_reason is None and action == "A":
            totals["submitted"] += size
            assert r.executed_size + r.resting_size + r.unfilled_size == size
        totals["executed"] += r.executed_size
        totals["cancelled"] += r.cancelled_size
        totals["unfilled"] += r.unfilled_size
    return sim, seeded, totals


@SETTINGS
@given(st.lists(order, max_size=120), seed_row)
def test_never_crossed_and_shares_conserved(orders, seed_sizes):
    sim, seeded, t = run(orders, seed_sizes)
    # every executed share leaves the book once on each side
    assert seeded + t["submitted"] == sim.resting_volume() + t["cancelled"] + 2 * t["executed"] + t["unfilled"]
    c = sim.counters
    assert c["executed_volume"] == t["executed"] and c["market_discarded_volume"] == t["unfilled"]
    log = sim.log()
    size = log.size.astype(np.int64)
    fills = size[log.action == ACTION_FILL].sum()
    assert size[log.action == ACTION_TRADE].sum() == fills == t["executed"]
    # log view: added (A rows + seed) = resting + all C rows (cancels and execution bookkeeping)
    assert seeded + size[log.action == ACTION_ADD].sum() == sim.resting_volume() + size[log.action == ACTION_CANCEL].sum()
    bids, asks = sim.depth(100)
    assert (np.diff(bids[:, 0]) < 0).all() and (np.diff(asks[:, 0]) > 0).all()
    assert (bids[:, 1] > 0).all() and (asks[:, 1] > 0).all()


@SETTINGS
@given(st.lists(order, max_size=120), st.sampled_from(["size", "newest", "oldest"]), st.booleans())
def test_deterministic_and_log_replays_to_the_same_book(orders, priority, spill):
    a, _, _ = run(orders, cancel_priority=priority, cancel_spill=spill)
    b, _, _ = run(orders, cancel_priority=priority, cancel_spill=spill)
    la, lb = a.log(), b.log()
    assert la.equals(lb)
    assert all(getattr(la, n).tobytes() == getattr(lb, n).tobytes() for n in la.columns())
    again = Simulator.from_events(la)
    assert np.array_equal(again.lobster_row(50, price_divisor=1), a.lobster_row(50, price_divisor=1))
    assert again.n_orders() == a.n_orders()
    assert again.counters["unknown_id_cancel"] == 0 and again.counters["duplicate_add"] == 0
    # a copy continues exactly like the original
    c = a.copy()
    for sim in (a, c):
        sim.submit(10**6, "A", "B", MARKET_PRICE_BID, 25)
    assert a.log().equals(c.log())
