# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Unit tests of the LOB simulator: priority, matching, log pattern, modify semantics, seeds, real days."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import real_path
from oracles import EWVWAP

from modeling_tradefm.events import (
    ACTION_CANCEL,
    ACTION_FILL,
    ACTION_TRADE,
    F_LAST,
    F_SNAPSHOT,
    SIDE_ASK,
    EventTable,
)
from modeling_tradefm.proposer import MARKET_PRICE_ASK, MARKET_PRICE_BID
from modeling_tradefm.simulator import Simulator, lobster_orderbook

T = 1_000_000_000  # 1 s in ns
P = 1_000_000_000  # $1 in 1e-9 units


def ev(rows, **extra):
    """EventTable from (action, side, price, size, order_id) tuples, one ns apart."""
    a = np.array([(ord(r[0]), ord(r[1]), r[2], r[3], r[4]) for r in rows], dtype=np.int64).reshape(-1, 5)
    return EventTable.from_columns(ts_recv=np.arange(len(a)) + T, action=a[:, 0], side=a[:, 1], price=a[:, 2],
                                   size=a[:, 3], order_id=a[:, 4], sequence=np.arange(1, len(a) + 1), **extra)


def queue(sim, side, price):
    anon, orders = sim.level_queue(side, price)
    return anon, [(int(o), int(s)) for o, s, _ in orders]


# ---- matching (submit) -------------------------------------------------------------------------
def test_price_time_priority_and_log_pattern():
    sim = Simulator()
    a = sim.submit(T, "A", "A", 101 * P, 5)
    b = sim.submit(T + 1, "A", "A", 101 * P, 3)
    c = sim.submit(T + 2, "A", "A", 102 * P, 4)
    n0 = sim.log_len()
    r = sim.submit(T + 3, "A", "B", 102 * P, 10)  # marketable: 5 (a), 3 (b) at 101, 2 of c at 102
    assert (r.executed_size, r.resting_size, r.last_price, r.void_reason) == (10, 0, 102 * P, None)
    assert queue(sim, SIDE_ASK, 102 * P) == (0, [(c.order_id, 2)])
    assert sim.best_ask() == 102 * P and sim.best_bid() is None
    log = sim.log(n0)
    # one T per level (aggressor side, level total), then F + C per resting order, oldest first
    assert [chr(x) for x in log.action] == list("TFCFCTFC")
    assert log.size.tolist() == [8, 5, 5, 3, 3, 2, 2, 2]
    assert log.order_id.tolist() == [r.order_id, a.order_id, a.order_id, b.order_id, b.order_id, r.order_id,
                                     c.order_id, c.order_id]
    assert chr(log.side[0]) == "B" and set(log.side[1:5].tolist()) == {SIDE_ASK}
    assert len(set(log.sequence.tolist())) == 1 and log.flags.tolist() == [0] * 7 + [F_LAST]


def test_marketable_limit_rests_remainder_and_market_discards():
    sim = Simulator()
    sim.submit(T, "A", "A", 101 * P, 5)
    r = sim.submit(T + 1, "A", "B", 101 * P, 8)
    assert (r.executed_size, r.resting_size) == (5, 3)
    assert sim.best_bid() == 101 * P and sim.best_ask() is None and sim.level_size("B", 101 * P) == 3
    assert chr(sim.log().action[-1]) == "A" and sim.log().size[-1] == 3
    m = sim.submit(T + 2, "A", "A", MARKET_PRICE_ASK, 10)
    assert (m.executed_size, m.unfilled_size, m.resting_size) == (3, 7, 0)
    assert sim.best_bid() is None and sim.counters["market_discarded_volume"] == 7
    assert sim.submit(T + 3, "A", "B", MARKET_PRICE_BID, 1).void_reason == "market_empty_side"


def test_void_reasons_are_not_logged():
    sim = Simulator(tick_size=P // 4)
    n = sim.log_len()
    assert sim.submit(T, "A", "B", 100 * P, 0).void_reason == "zero_size"
    assert sim.submit(T, "A", "B", -5, 1).void_reason == "bad_price"
    assert sim.submit(T, "A", "A", MARKET_PRICE_BID, 1).void_reason == "bad_price"
    assert sim.submit(T, "A", "B", 100 * P + 1, 1).void_reason == "off_tick"
    assert sim.submit(T, "C", "B", 100 * P, 1).void_reason == "cancel_empty_side"
    assert sim.submit(T, "M", "B", 100 * P, 1).void_reason == "bad_action"
    assert sim.submit(T, "A", "N", 100 * P, 1).void_reason == "bad_side"
    assert sim.submit(T, "C", "B", 100 * P, 1, order_id=77).void_reason == "cancel_unknown_id"
    assert sim.log_len() == n


def test_generated_cancel_rule_newest_first_nearest_level_and_participants():
    sim = Simulator()
    o1 = sim.submit(T, "A", "B", 100 * P, 5).order_id
    o2 = sim.submit(T, "A", "B", 100 * P, 5).order_id
    agent = sim.submit(T, "A", "B", 100 * P, 5, participant=1).order_id
    sim.submit(T, "A", "B", 98 * P, 7)
    # exact level, newest background order first (the agent's order is not background flow)
    r = sim.submit(T, "C", "B", 100 * P, 3)
    assert (r.cancelled_size, r.order_id) == (3, o2)
    assert queue(sim, "B", 100 * P)[1] == [(o1, 5), (o2, 2), (agent, 5)]
    # 99.25 is nearer 100 than 98 → level 100; a larger size cancels one order only (no spill)
    r = sim.submit(T, "C", "B", 99 * P + P // 4 * 3, 50)
    assert (r.cancelled_size, r.order_id) == (2, o2)
    # the agent cancels its own order even when the decoded price points at 98
    r = sim.submit(T, "C", "B", 98 * P, 1, participant=1)
    assert (r.cancelled_size, r.order_id) == (1, agent)
    sim2 = Simulator()
    sim2.submit(T, "A", "A", 100 * P, 1)
    assert sim2.submit(T, "C", "A", 100 * P, 1, participant=1).void_reason == "cancel_no_order"


def test_size_cancel_rule_removes_the_whole_order_of_nearest_size():
    assert Simulator().cancel_priority == "newest"
    sim = Simulator(cancel_priority="size")
    a = sim.submit(T, "A", "B", 100 * P, 100).order_id
    b = sim.submit(T, "A", "B", 100 * P, 30).order_id
    c = sim.submit(T, "A", "B", 100 * P, 100).order_id
    agent = sim.submit(T, "A", "B", 100 * P, 90, participant=1).order_id
    # 90 is nearest the two 100s (the agent's 90 is not background flow): the newest goes, whole
    r = sim.submit(T, "C", "B", 100 * P, 90)
    assert (r.cancelled_size, r.order_id) == (100, c)
    assert queue(sim, "B", 100 * P)[1] == [(a, 100), (b, 30), (agent, 90)]
    # a decoded size of 25 means the 30-share order; the level keeps its other orders intact
    r = sim.submit(T, "C", "B", 100 * P, 25)
    assert (r.cancelled_size, r.order_id) == (30, b)
    log = sim.log()
    assert log.size[log.action == ACTION_CANCEL].tolist() == [100, 30]  # no odd-lot residue
    # the agent's own cancel takes the agent's order, whatever its decoded size
    assert sim.submit(T, "C", "B", 100 * P, 1, participant=1).order_id == agent
    # a level of anonymous seed volume only: background cancels min(size, volume) of it
    row = [101 * 10_000, 10, 100 * 10_000, 4] + [9999999999, 0, -9999999999, 0]
    seeded = Simulator.from_lobster_row(row, levels=2, cancel_priority="size")
    assert seeded.submit(T, "C", "A", 101 * P, 3).cancelled_size == 3
    assert queue(seeded, "A", 101 * P) == (7, [])


def test_cancel_priority_oldest_and_spill():
    sim = Simulator(cancel_priority="oldest", cancel_spill=True)
    o1 = sim.submit(T, "A", "A", 100 * P, 2).order_id
    o2 = sim.submit(T, "A", "A", 100 * P, 2).order_id
    sim.submit(T, "A", "A", 100 * P, 2)
    r = sim.submit(T, "C", "A", 100 * P, 3)
    assert r.cancelled_size == 3
    assert queue(sim, "A", 100 * P)[1][:1] == [(o2, 1)] and o1 not in [o for o, _ in queue(sim, "A", 100 * P)[1]]
    with pytest.raises(ValueError):
        Simulator(cancel_priority="random")


def test_anonymous_volume_trades_first_and_is_the_oldest():
    row = [101 * 10_000, 10, 100 * 10_000, 4] + [9999999999, 0, -9999999999, 0]
    sim = Simulator.from_lobster_row(row, levels=2)
    assert sim.frontier == (None, None)  # both sides show fewer than 2 levels: fully known
    late = sim.submit(T, "A", "A", 101 * P, 3).order_id
    r = sim.submit(T, "A", "B", 101 * P, 11)
    assert r.executed_size == 11 and queue(sim, "A", 101 * P) == (0, [(late, 2)])
    fills = sim.log()[sim.log().action == ACTION_FILL]
    assert fills.order_id.tolist() == [0, late] and fills.size.tolist() == [10, 1]
    # newest-first cancels hit identified orders before the (older) anonymous volume
    sim.submit(T, "A", "B", 100 * P, 2)
    sim.submit(T, "C", "B", 100 * P, 5)
    assert queue(sim, "B", 100 * P) == (4, [])


# ---- replay (apply) ----------------------------------------------------------------------------
def test_modify_priority_semantics():
    sim = Simulator.from_events(ev([("A", "B", 100, 5, 1), ("A", "B", 100, 5, 2), ("A", "B", 100, 5, 3)]))
    sim.apply(ev([("M", "B", 100, 4, 1)]))  # size decrease keeps priority
    assert queue(sim, "B", 100)[1] == [(1, 4), (2, 5), (3, 5)]
    sim.apply(ev([("M", "B", 100, 6, 2)]))  # size increase loses it
    assert queue(sim, "B", 100)[1] == [(1, 4), (3, 5), (2, 6)]
    sim.apply(ev([("M", "B", 99, 6, 1), ("M", "B", 99, 1, 3)]))  # price change → back of the new level
    assert queue(sim, "B", 99)[1] == [(1, 6), (3, 1)] and queue(sim, "B", 100)[1] == [(2, 6)]
    sim.apply(ev([("M", "B", 98, 2, 42)]))  # unknown id: treated as an add (Databento's book)
    assert queue(sim, "B", 98)[1] == [(42, 2)] and sim.counters["unknown_id_modify"] == 1


def test_cancels_partial_full_unknown_and_clear():
    sim = Simulator.from_lobster_row([101_0000, 5, 100_0000, 10], levels=1, visible=False)
    p = 100 * P  # $100 = 1,000,000 LOBSTER units
    assert sim.level_size("B", p) == 10 and sim.frontier == (p, 101 * P)
    sim.apply(ev([("A", "B", p, 3, 7)]))
    sim.apply(ev([("C", "B", p, 1, 7)]))  # partial: the order stays with 2
    assert queue(sim, "B", p) == (10, [(7, 2)])
    sim.apply(ev([("C", "B", p, 4, 999)]))  # unknown id: off the anonymous volume
    assert queue(sim, "B", p) == (6, [(7, 2)]) and sim.counters["unknown_id_cancel"] == 1
    sim.apply(ev([("C", "B", p, 2, 7)]))  # full
    assert queue(sim, "B", p) == (6, [])
    sim.apply(ev([("C", "B", p, 9, 998)]))  # more than there: clipped and counted
    assert sim.best_bid() is None and sim.counters["unknown_shortfall_volume"] == 3
    sim.apply(ev([("R", "N", np.iinfo(np.int64).max, 0, 0)]))
    assert sim.best_ask() is None and sim.resting_volume() == 0 and sim.counters["clear"] == 1


def test_submit_log_replays_to_the_same_book():
    rng = np.random.default_rng(0)
    sim = Simulator(tick_size=1)
    for i in range(3000):
        side = "B" if rng.random() < 0.5 else "A"
        act = "C" if rng.random() < 0.3 else "A"
        px = int(rng.integers(95, 106)) if rng.random() > 0.05 else (MARKET_PRICE_BID if side == "B" else MARKET_PRICE_ASK)
        sim.submit(T + i, act, side, px, int(rng.integers(1, 20)))
    again = Simulator.from_events(sim.log())
    assert np.array_equal(again.lobster_row(20, price_divisor=1), sim.lobster_row(20, price_divisor=1))
    assert again.n_orders() == sim.n_orders() and again.counters["unknown_id_cancel"] == 0
    assert not sim.is_crossed()


def test_copy_is_independent_and_shares_prefix_log():
    sim = Simulator.from_events(ev([("A", "B", 100, 5, 1), ("A", "A", 102, 5, 2)]))
    twin = sim.copy()
    twin.submit(T, "A", "B", 102, 5)
    assert sim.best_ask() == 102 and twin.best_ask() is None
    assert sim.log_len() == 2 and twin.log_len() == 2 + 3
    assert twin.log(2).action.tolist() == [ACTION_TRADE, ACTION_FILL, ACTION_CANCEL]
    assert twin.log().equals(EventTable.concat([sim.log(), twin.log(2)]))
    sim.submit(T, "A", "A", 101, 1)
    assert twin.level_size("A", 101) == 0 and twin.log_len() == 5


def test_growth_beyond_initial_capacity():
    sim = Simulator(capacity=16)
    n = 5000
    sim.apply(ev([("A", "B" if i % 2 else "A", (1000 - i) if i % 2 else (2000 + i), 1, i + 1) for i in range(n)]))
    assert sim.n_orders() == n and sim.resting_volume() == n
    bids, asks = sim.depth(3)
    assert bids[:, 0].tolist() == [999, 997, 995] and asks[:, 0].tolist() == [2000, 2002, 2004]
    sim.apply(ev([("C", "B" if i % 2 else "A", (1000 - i) if i % 2 else (2000 + i), 1, i + 1) for i in range(n)]))
    assert sim.n_orders() == 0 and sim.best_bid() is None


def test_vwap_matches_features_recursion():
    sim = Simulator(vwap_half_life_s=2.0)
    ref = EWVWAP(2.0)
    sim.submit(0, "A", "A", 101 * P, 100)
    sim.submit(0, "A", "B", 99 * P, 100)
    assert sim.vwap_mid() == 100 * P  # book mid before any execution
    for k, (side, size) in enumerate([("B", 10), ("A", 30), ("B", 5)]):
        r = sim.submit((k + 1) * 1_700_000_000, "A", side, MARKET_PRICE_BID if side == "B" else MARKET_PRICE_ASK, size)
        ref.update((k + 1) * 1_700_000_000, r.last_price, size)
        assert sim.vwap_mid() == pytest.approx(ref.value, rel=1e-14)


def test_vwap_after_a_real_replay_is_the_features_value_bit_for_bit():
    """Simulator and features share one compiled recursion: replaying a day gives exactly ``features.ewvwap``."""
    from modeling_tradefm.features import counted_executions, ewvwap

    events = _read(real_path("lobster", "AAPL_2012-06-21_34200000_37800000_message_50.csv"))
    sim = Simulator(vwap_half_life_s=7.0)
    ex = np.flatnonzero(counted_executions(events))
    series = ewvwap(events.ts_recv[ex], events.price[ex].astype(float), events.size[ex].astype(float), 7.0)
    cut = int(ex[len(ex) // 2]) + 1  # the value after half the executions, then after all of them
    sim.apply(events[:cut])
    assert sim.vwap_mid() == series[len(ex) // 2]
    sim.apply(events[cut:])
    assert sim.vwap_mid() == series[-1] and len(ex) > 4000


def test_lobster_row_layout_and_orderbook_function():
    events = ev([("A", "B", 5853300 * 100_000, 18, 1), ("A", "A", 5859400 * 100_000, 200, 2), ("C", "B", 5853300 * 100_000, 18, 1)])
    rows = lobster_orderbook(events, levels=2)
    assert rows.tolist() == [
        [9999999999, 0, 5853300, 18, 9999999999, 0, -9999999999, 0],
        [5859400, 200, 5853300, 18, 9999999999, 0, -9999999999, 0],
        [5859400, 200, -9999999999, 0, 9999999999, 0, -9999999999, 0],
    ]


# ---- real data ---------------------------------------------------------------------------------
def _read(path):
    from modeling_tradefm.io import read_file

    return read_file(path).events


def test_es_day_replays_from_snapshot_uncrossed_with_no_unknown_ids():
    events = _read(real_path("databento", "glbx-esh4", "esh4-glbx-mdp3-20231225.mbo.dbn.zst"))
    sim = Simulator.from_snapshot(events, tick_size=250_000_000)
    n_snap = int(((events.flags & F_SNAPSHOT) != 0).sum())
    assert sim.log_len() == n_snap == 8725 and sim.best_bid() < sim.best_ask()
    live_events = events[n_snap:]
    rows = lobster_orderbook(live_events, levels=1, initial=sim, price_divisor=1)
    ask, ask_sz, bid, bid_sz = rows.T
    at_last = (live_events.flags & F_LAST) != 0
    crossed = at_last & (ask_sz > 0) & (bid_sz > 0) & (ask <= bid)
    # CME's pre-open: orders may lock/cross until the opening auction, whose print is the first T
    # (side N, 23:00:00.1 UTC). From then on the book is uncrossed at every F_LAST boundary.
    opening = int(np.flatnonzero(live_events.action == ACTION_TRADE)[0])
    assert chr(live_events.side[opening]) == "N"
    assert crossed[:opening].any() and not crossed[opening:].any()
    assert ((ask_sz > 0) & (bid_sz > 0))[opening:][at_last[opening:]].all()
    live = sim.copy()
    live.apply(events[n_snap:])
    bad = {k: v for k, v in live.counters.items() if k.startswith(("unknown", "duplicate", "bad"))}
    assert all(v == 0 for v in bad.values()), bad
    assert live.vwap_mid() is not None and abs(live.vwap_mid() - live.mid()) < 20 * 250_000_000


def test_esm4_clear_then_snapshot():
    events = _read(real_path("databento", "glbx-esm4", "orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst"))
    assert chr(events.action[0]) == "R"
    sim = Simulator.from_snapshot(events)
    assert sim.counters["clear"] == 1 and sim.n_orders() == 13_600 and not sim.is_crossed()
    sim.apply(events[sim.log_len():])
    assert not sim.is_crossed() and sim.counters["unknown_id_cancel"] == 0


def test_aapl50_full_depth_replay_is_consistent():
    events = _read(real_path("lobster", "AAPL_2012-06-21_34200000_37800000_message_50.csv"))
    sim = Simulator.from_events(events)
    # "nearly self-contained: 80 orders start with a non-submission" — their volume is unknown
    assert 0 < sim.counters["unknown_id_cancel"] <= 200
    assert not sim.is_crossed()


def test_from_snapshot_requires_a_snapshot():
    with pytest.raises(ValueError):
        Simulator.from_snapshot(ev([("A", "B", 100, 1, 1)]))
