# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The one tick rule (``modeling_tradefm.ticks``): known answers, the grid-offset case, real samples."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import real_path

from modeling_tradefm.events import UNDEF_PRICE, EventTable
from modeling_tradefm.simulator import Simulator
from modeling_tradefm.ticks import book_tick_size, infer_tick_size, tick_from_prices

CENT = 10_000_000  # $0.01 in 1e-9 units


def test_tick_from_prices_known_answers():
    assert tick_from_prices(np.array([100, 103, 101, 107]) * CENT) == CENT
    # a grid that does not start at 0: $0.05 + k·$0.10. The gap rule finds $0.10; the gcd of the
    # prices themselves would give $0.05, a grid the data never uses.
    prices = (5 + 10 * np.array([995, 996, 1000, 1003])) * CENT
    assert tick_from_prices(prices) == 10 * CENT
    assert int(np.gcd.reduce(prices)) == 5 * CENT
    # UNDEF and non-positive prices are ignored; one distinct price has no gap to measure
    assert tick_from_prices(np.array([UNDEF_PRICE, 0, -5, 250, 250, 750])) == 500
    assert tick_from_prices(np.array([250, 250, UNDEF_PRICE])) is None
    assert tick_from_prices(np.array([], dtype=np.int64)) is None


def test_infer_tick_size_uses_add_prices_only():
    a = np.array([ord("A"), ord("A"), ord("C"), ord("T")])
    ev = EventTable.from_columns(ts_recv=np.arange(4), action=a, side=[ord("B")] * 4,
                                 price=np.array([100, 102, 101, 103]) * CENT, size=[1] * 4)
    assert infer_tick_size(ev) == 2 * CENT  # the C and T prices are not the grid's evidence
    assert infer_tick_size(ev[:1]) is None


@pytest.mark.parametrize("path,tick", [
    (("databento", "glbx-esh4", "esh4-glbx-mdp3-20231225.mbo.csv.zst"), 250_000_000),  # ES: 0.25 points
    (("lobster", "AAPL_2012-06-21_34200000_37800000_message_50.csv"), CENT),
])
def test_infer_tick_size_on_real_samples(path, tick):
    from modeling_tradefm.io import read_events

    events = read_events(real_path(*path), progress=False)
    assert infer_tick_size(events) == tick
    # on real flow the gcd of the add prices agrees (the grid goes through 0)
    add = events.price[(events.action == ord("A")) & (events.price != UNDEF_PRICE)]
    assert int(np.gcd.reduce(np.unique(add))) == tick
    # and a short prefix already shows it
    assert infer_tick_size(events[:5000]) == tick


def test_book_tick_size():
    assert book_tick_size(Simulator(tick_size=250_000_000)) == 250_000_000
    assert book_tick_size(Simulator(), 7) == 7 and book_tick_size(Simulator()) is None

    class Book:
        def tick_size(self):
            return CENT

    assert book_tick_size(Book(), 7) == CENT
