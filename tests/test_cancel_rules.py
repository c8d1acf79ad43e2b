"""The id-less cancel rules of the simulator: the "fit" rule's known answers and its effect on real AAPL flow."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import real_path

from modeling_tradefm.events import ACTION_ADD, ACTION_CANCEL, SIDE_ASK, SIDE_BID
from modeling_tradefm.simulator import Simulator

T = 1_000_000_000
P = 1_000_000_000


def _queue(sim, side, price):
    anon, orders = sim.level_queue(side, price)
    return anon, [(int(o), int(s)) for o, s, _ in orders]


def test_fit_deletes_the_largest_order_the_size_covers_else_trims_the_newest():
    sim = Simulator(cancel_priority="fit")
    a = sim.submit(T, "A", "B", 100 * P, 100).order_id
    b = sim.submit(T, "A", "B", 100 * P, 18).order_id
    c = sim.submit(T, "A", "B", 100 * P, 100).order_id
    d = sim.submit(T, "A", "B", 100 * P, 300).order_id
    agent = sim.submit(T, "A", "B", 100 * P, 150, participant=1).order_id
    # 150 covers 100, 100 and 18 (not 300, nor the agent's 150): the newest 100 goes, whole
    r = sim.submit(T, "C", "B", 100 * P, 150)
    assert (r.cancelled_size, r.order_id) == (100, c)
    # an exact size wins over a newer larger order: 18 means the 18-share order
    r = sim.submit(T, "C", "B", 100 * P, 18)
    assert (r.cancelled_size, r.order_id) == (18, b)
    assert _queue(sim, "B", 100 * P)[1] == [(a, 100), (d, 300), (agent, 150)]
    # 50 covers no order of the level: the newest (d) loses 50 — never more than asked leaves the book
    r = sim.submit(T, "C", "B", 100 * P, 50)
    assert (r.cancelled_size, r.order_id) == (50, d)
    assert _queue(sim, "B", 100 * P)[1] == [(a, 100), (d, 250), (agent, 150)]
    # the agent's cancel only ever takes the agent's own order
    r = sim.submit(T, "C", "B", 100 * P, 1000, participant=1)
    assert (r.cancelled_size, r.order_id) == (150, agent)
    log = sim.log()
    assert log.size[log.action == ACTION_CANCEL].tolist() == [100, 18, 50, 150]
    # a level of anonymous seed volume only: background cancels min(size, volume) of it
    row = [101 * 10_000, 10, 100 * 10_000, 4] + [9999999999, 0, -9999999999, 0]
    seeded = Simulator.from_lobster_row(row, levels=2, cancel_priority="fit")
    assert seeded.submit(T, "C", "A", 101 * P, 3).cancelled_size == 3
    assert _queue(seeded, "A", 101 * P) == (7, [])
    with pytest.raises(ValueError, match="'fit'"):
        Simulator(cancel_priority="best")


@pytest.fixture(scope="module")
def aapl_resubmitted():
    """The real AAPL continuation after 09:45 re-submitted without order ids, under two cancel rules."""
    from modeling_tradefm.features import build_features
    from modeling_tradefm.io import read_events
    from modeling_tradefm.io.lobster import events_to_lobster_messages
    from modeling_tradefm.prefix import parse_clock, select_prefix

    path = real_path("lobster", "AAPL_2012-06-21_34200000_37800000_message_50.csv")
    session, prefix, _ = select_prefix(read_events(path, progress=False), parse_clock("09:45:00"),
                                       "America/New_York", str(path))
    n = 5000
    sf = build_features(session.events[: len(prefix) + 3 * n], progress=False)[0]
    idx = np.flatnonzero(sf.source_row >= len(prefix))[:n]
    out = {}
    for rule in ("newest", "fit"):
        sim = Simulator.from_events(prefix, cancel_priority=rule)
        start = sim.log_len()
        for j in idx:
            sim.submit(int(sf.ts_recv[j]), ACTION_ADD if sf.action[j] == 0 else ACTION_CANCEL,
                       SIDE_BID if sf.side[j] == 0 else SIDE_ASK, int(sf.price[j]), int(sf.size[j]))
        out[rule] = events_to_lobster_messages(sim.log(start), initial=prefix)[0][:, 1]
    real_rows = session.events[len(prefix): int(sf.source_row[idx[-1]]) + 1]
    out["real"] = events_to_lobster_messages(real_rows, initial=prefix)[0][:, 1]
    return out


def test_fit_keeps_real_deletes_deletes(aapl_resubmitted):
    share = {k: float(np.mean(v == 2)) for k, v in aapl_resubmitted.items()}
    # real NASDAQ flow: under 1 % of rows are partial cancels (36 of 5,000 here)
    assert 0.003 < share["real"] < 0.01
    # the same orders without ids: "newest" trims the newest order whenever the cancelled order was
    # not the newest and is larger than it (measured 2.7 %); "fit" finds an order of the cancel's size
    # (measured 0.98 %)
    assert share["newest"] > 3 * share["real"]
    assert share["fit"] < 2 * share["real"]
    deletes = {k: float(np.mean(v == 3)) for k, v in aapl_resubmitted.items()}
    assert abs(deletes["fit"] - deletes["real"]) < abs(deletes["newest"] - deletes["real"])
