# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Order injection in closed-loop TradeFM rollouts: the order hits the book and the model's context."""

from __future__ import annotations

import numpy as np
import pytest
from test_generation_tradefm import es_prefix, tiny_proposer  # noqa: E402  (tests/ is on sys.path)

from modeling_tradefm.events import ACTION_ADD, ACTION_CANCEL, ACTION_FILL, ACTION_TRADE, SIDE_ASK, SIDE_BID
from modeling_tradefm.generation_tradefm import InjectedOrder, rollout


@pytest.fixture(scope="module")
def prefix():
    return es_prefix()


def _mid_path(proposer_cls_kwargs, prefix, n, seed, inject):
    """Run one rollout and record the simulated EW-VWAP mid after every step."""
    proposer = tiny_proposer(**proposer_cls_kwargs)
    mids = []
    observe = proposer.observe

    def spy(applied, books):
        mids.append(float(books[0].vwap_mid()))
        observe(applied, books)

    proposer.observe = spy
    (res,) = rollout(proposer, prefix, n, seed=seed, inject=inject)
    return res, np.asarray(mids)


def test_large_injected_market_buy_moves_the_mid_up_and_shows_in_the_context(prefix):
    t0 = int(prefix.ts_recv[-1])
    inject = [InjectedOrder(t0, "buy", 3_000)]  # due at once: replaces the first step's proposal
    base, base_mids = _mid_path({}, prefix, 12, 4, None)
    res, mids = _mid_path({}, prefix, 12, 4, inject)
    assert res.meta["injected"] == 1

    # the simulator log: the executions of our market order (participant 1; a market order that
    # fills completely leaves no resting A), aggressor side buy, walking the ask side upwards
    from modeling_tradefm.simulator import Simulator

    book = Simulator.from_events(prefix)
    ours = res.events[res.events.participant == 1]
    assert set(ours.action.tolist()) == {ACTION_TRADE}
    assert (ours.side == SIDE_BID).all() and int(ours.size.sum()) == 3_000
    assert len(np.unique(ours.price)) > 1 and ours.price.min() >= book.best_ask()
    assert (np.diff(ours.price.astype(np.int64)) > 0).all()  # one T per level, best level first
    fills = res.events[(res.events.action == ACTION_FILL) & np.isin(res.events.sequence, ours.sequence)]
    assert (fills.side == SIDE_ASK).all() and int(fills.size.sum()) == 3_000

    # the simulated EW-VWAP mid jumped up at the injected step (step 0), well above the control run
    assert mids[0] > base_mids[0] + 4 * 250_000_000 and mids[0] > book.vwap_mid()
    # the model's context at that position: participant flag 1 and a higher Δp bin than the control
    assert res.contexts[0, 2] == 1 and (res.contexts[1:, 2] == 0).all()
    assert res.contexts[0, 1] > base.contexts[0, 1]
    # and the injected position's token is the encoded market buy (an add on the buy side)
    assert res.tokens[0] // 8192 == 0 and (res.tokens[0] // 4096) % 2 == 0


def test_injection_is_applied_when_the_clock_reaches_it(prefix):
    """An order timed mid-rollout replaces the first proposal whose time reaches it, at its own time."""
    base, _ = _mid_path({}, prefix, 20, 6, None)
    gen = base.events[np.isin(base.events.action, [ACTION_ADD, ACTION_CANCEL])]
    # pick a time strictly between the 5th and 6th generated order of the control run
    target = int(gen.ts_recv[4]) + max(1, int(gen.ts_recv[5] - gen.ts_recv[4]) // 2)
    from modeling_tradefm.simulator import Simulator

    price = Simulator.from_events(prefix).best_bid() - 4 * 250_000_000  # a passive bid: it rests
    res, _ = _mid_path({}, prefix, 20, 6, [InjectedOrder(target, "buy", 7, price=price)])
    ours = res.events[res.events.participant == 1]
    assert ours.action.tolist() == [ACTION_ADD] and ours.side[0] == SIDE_BID
    assert ours.ts_recv[0] == target and ours.price[0] == price and ours.size[0] == 7
    k = int(np.flatnonzero(res.contexts[:, 2] == 1)[0])
    # the control run's steps before the injection are untouched (same seed, same draws)
    assert np.array_equal(res.tokens[:k], base.tokens[:k])
    assert res.events[res.events.ts_recv < target].equals(base.events[base.events.ts_recv < target])
