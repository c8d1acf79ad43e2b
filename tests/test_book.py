"""``book.top_of_book``: the venue's orderbook file where there is one, else the simulator's replay."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import real_path

from modeling_tradefm.book import SOURCE_ORDERBOOK, SOURCE_REPLAY, top_of_book
from modeling_tradefm.errors import DataError
from modeling_tradefm.events import F_LAST
from modeling_tradefm.io import read_file
from modeling_tradefm.simulator import Simulator

AMZN = ("lobster", "AMZN_2012-06-21_34200000_57600000_message_1.csv")
AAPL10 = ("lobster", "aapl10-head", "AAPL_2012-06-21_34200000_57600000_message_10.csv")


def test_level1_orderbook_gives_the_book_that_replay_cannot():
    """AMZN level 1: the messages do not determine the book (replay almost never has both sides);
    the orderbook file gives every message's best quotes exactly, in 1e-9 units."""
    r = read_file(real_path(*AMZN), orderbook=True)
    truth = top_of_book(r.events, r.orderbook)
    replay = top_of_book(r.events)
    assert truth.source == SOURCE_ORDERBOOK and replay.source == SOURCE_REPLAY
    assert truth.two_sided.mean() > 0.99 and replay.two_sided.mean() < 0.01
    # record j carries the row of its message (sequence = 1-based row), all three records of a type-4
    last = (r.events.flags & F_LAST) != 0
    rows = r.orderbook[r.events.sequence[last].astype(np.int64) - 1]
    np.testing.assert_array_equal(truth.ask[last], rows[:, 0] * 100_000.0)
    np.testing.assert_array_equal(truth.ask_size[last], rows[:, 1])
    np.testing.assert_array_equal(truth.bid[last], rows[:, 2] * 100_000.0)
    np.testing.assert_array_equal(truth.bid_size[last], rows[:, 3])
    # the first message of the day: ask 223.95 x 100, bid 223.18 x 100 (row 1 of the file)
    assert (truth.bid[0], truth.ask[0], truth.bid_size[0], truth.ask_size[0]) == (223.18e9, 223.95e9, 100, 100)
    assert truth.spread()[0] == pytest.approx(0.77e9) and truth.mid()[0] == pytest.approx(223.565e9)


def test_replay_from_a_seeded_book_equals_the_orderbook_where_it_is_determined():
    """AAPL level-10 head: seeded with the book before message 1, the replay's best quotes equal the
    orderbook file's after every message whose level 1 the data determine (the simulator's known
    levels; volume entering from beyond level 10 is never in the messages)."""
    from modeling_tradefm.simulator import lobster_orderbook

    r = read_file(real_path(*AAPL10), orderbook=True)
    ev, ob = r.events, r.orderbook
    first = ev[: int(np.flatnonzero(ev.sequence == 1)[-1]) + 1]
    initial = Simulator.from_lobster_row(ob[0], undo=first)
    truth = top_of_book(ev, ob)
    replay = top_of_book(ev, initial=initial)
    _, known = lobster_orderbook(ev, levels=10, initial=initial, return_known=True)
    last = (ev.flags & F_LAST) != 0
    bid_ok, ask_ok = last & (known[:, 0] >= 1), last & (known[:, 1] >= 1)
    # not vacuous: the ask's best level is determined on every message, the bid's on the first ones
    assert ask_ok.sum() == last.sum() and bid_ok.sum() > 100
    np.testing.assert_array_equal(replay.ask[ask_ok], truth.ask[ask_ok])
    np.testing.assert_array_equal(replay.ask_size[ask_ok], truth.ask_size[ask_ok])
    np.testing.assert_array_equal(replay.bid[bid_ok], truth.bid[bid_ok])
    np.testing.assert_array_equal(replay.bid_size[bid_ok], truth.bid_size[bid_ok])


def test_a_slice_after_a_prefix_keeps_its_message_rows():
    r = read_file(real_path(*AMZN), orderbook=True)
    full = top_of_book(r.events, r.orderbook)
    part = top_of_book(r.events[1000:2000], r.orderbook)
    np.testing.assert_array_equal(part.bid, full.bid[1000:2000])
    np.testing.assert_array_equal(part.ask_size, full.ask_size[1000:2000])


def test_an_orderbook_shorter_than_the_messages_is_an_error():
    r = read_file(real_path(*AMZN), orderbook=True)
    with pytest.raises(DataError, match="orderbook has 100 rows"):
        top_of_book(r.events[:500], r.orderbook[:100], orderbook_path="book.csv")


def test_crossed_or_one_sided_books_have_no_mid_or_spread():
    from modeling_tradefm.book import TopOfBook

    t = TopOfBook(np.array([99.0, np.nan, 101.0, 100.0]), np.array([100.0, 100.0, 100.0, 100.0]),
                  np.ones(4), np.ones(4), SOURCE_REPLAY)
    np.testing.assert_array_equal(t.two_sided, [True, False, False, False])
    np.testing.assert_array_equal(np.isnan(t.mid()), [False, True, True, True])
    assert t.spread()[0] == 1.0
