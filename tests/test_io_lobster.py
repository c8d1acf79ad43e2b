"""LOBSTER reader/writer on the real AMZN/AAPL samples."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import real_path
from modeling_tradefm.events import ACTION_CANCEL, ACTION_FILL, ACTION_TRADE, F_LAST, SIDE_ASK, SIDE_BID, SIDE_NONE
from modeling_tradefm.io import read_file, write_lobster, write_mbo_csv
from modeling_tradefm.io.lobster import (
    events_to_lobster_messages,
    ny_seconds_to_utc_ns,
    read_lobster_messages,
    symbol_instrument_id,
)

AMZN = "lobster/AMZN_2012-06-21_34200000_57600000_message_1.csv"
AAPL10 = "lobster/aapl10-head/AAPL_2012-06-21_34200000_57600000_message_10.csv"


def _raw_rows(path):
    raw = read_lobster_messages(path)
    return np.column_stack([raw["time_ns"], raw["type"], raw["order_id"], raw["size"], raw["price"], raw["direction"]])


def test_amzn_mapping_counts_and_times():
    path = real_path(AMZN)
    r = read_file(path)
    raw = _raw_rows(path)
    types = {t: int((raw[:, 1] == t).sum()) for t in range(1, 8)}
    assert r.report.records == len(raw) == 57_515
    assert r.report.skipped == ({"halt": types[7]} if types[7] else {})
    assert len(r.events) == types[1] + types[2] + types[3] + 3 * types[4] + types[5] + types[6]
    ev = r.events
    assert ev.symbols == {symbol_instrument_id("AMZN"): "AMZN"}
    # 09:30:00.017459617 EDT == 13:30 UTC
    assert ev.ts_recv[0] == np.datetime64("2012-06-21T13:30:00.017459617", "ns").astype(np.int64)
    # first type-4 row → T (aggressor = opposite side, id 0) + F + C, same sequence, F_LAST on C only
    i4 = int(np.flatnonzero(raw[:, 1] == 4)[0])
    g = ev[ev.sequence == i4 + 1]
    assert g.action.tolist() == [ACTION_TRADE, ACTION_FILL, ACTION_CANCEL]
    rest = SIDE_BID if raw[i4, 5] == 1 else SIDE_ASK
    assert g.side.tolist() == [SIDE_ASK if rest == SIDE_BID else SIDE_BID, rest, rest]
    assert g.order_id.tolist() == [0, raw[i4, 2], raw[i4, 2]]
    assert (g.size == raw[i4, 3]).all() and (g.price == raw[i4, 4] * 100_000).all()
    assert g.flags.tolist() == [0, 0, F_LAST]
    # unknown ids are counted, nothing dropped
    assert r.report.info["unknown_order_id"] > 6_000 and r.report.used == r.report.records - types[7]


def test_dst_aware_time_conversion():
    # 2012-01-05 is EST (UTC-5); 2012-06-21 is EDT (UTC-4); 2012-03-11 switches at 02:00 local.
    s = np.array([34_200 * 10**9])
    assert ny_seconds_to_utc_ns("2012-01-05", s)[0] == np.datetime64("2012-01-05T14:30", "ns").astype(np.int64)
    assert ny_seconds_to_utc_ns("2012-06-21", s)[0] == np.datetime64("2012-06-21T13:30", "ns").astype(np.int64)
    t = np.array([3_600, 10_800]) * 10**9  # 01:00 EST, 03:00 EDT
    assert (ny_seconds_to_utc_ns("2012-03-11", t) == np.array(["2012-03-11T06:00", "2012-03-11T07:00"], "datetime64[ns]").astype(np.int64)).all()


@pytest.mark.parametrize("name", [AMZN, AAPL10])
def test_lobster_to_mbo_csv_to_lobster_round_trip(tmp_path, name):
    """LOBSTER → events → MBO CSV → events → LOBSTER rows.

    Every column is reproduced exactly (time to the ns) except, in level-1 files, the 2-vs-3 type
    of a cancel whose order's tracked size is wrong because the file does not show all of the
    order's events: AMZN has exactly one such row (order 35699321: submitted 400, deleted with
    200 remaining, the other 200 left the order outside the level-1 view).
    """
    path = real_path(name)
    ev = read_file(path).events
    write_mbo_csv(ev, tmp_path / "x.csv.zst")
    back = read_file(tmp_path / "x.csv.zst").events
    assert back.equals(ev) and back.symbols == ev.symbols
    rows, at, date = events_to_lobster_messages(back)
    orig = _raw_rows(path)
    orig = orig[orig[:, 1] != 7]
    assert date == "2012-06-21" and rows.shape == orig.shape
    diff = rows != orig
    assert not diff[:, [0, 2, 3, 4, 5]].any()
    bad = np.flatnonzero(diff[:, 1])
    expected = 1 if name == AMZN else 0
    assert len(bad) == expected
    if expected:
        assert orig[bad[0], 1] == 3 and rows[bad[0], 1] == 2 and orig[bad[0], 2] == 35699321
    # file writer: the same rows, parsed back
    write_lobster(back, tmp_path / "AAPL_2012-06-21_0_0_message_10.csv")
    again = _raw_rows(tmp_path / "AAPL_2012-06-21_0_0_message_10.csv")
    assert (again == rows).all()


def test_write_lobster_with_orderbook_matches_simulator(tmp_path):
    pytest.importorskip("modeling_tradefm.simulator")
    from modeling_tradefm.simulator import lobster_orderbook

    ev = read_file(real_path(AAPL10)).events
    msg, book = tmp_path / "A_2012-06-21_0_0_message_5.csv", tmp_path / "A_2012-06-21_0_0_orderbook_5.csv"
    info = write_lobster(ev, msg, book, levels=5)
    r = read_file(msg, orderbook=True)
    assert r.orderbook.shape == (info["messages"], 20)
    full = lobster_orderbook(ev, levels=5)
    last_of_row = np.flatnonzero(ev.flags & F_LAST)  # LOBSTER reader sets F_LAST on each row's last event
    assert (r.orderbook == full[last_of_row]).all()


def test_cross_and_hidden_executions(tmp_path):
    p = tmp_path / "XYZ_2012-06-21_0_0_message_1.csv"
    p.write_text("34200.5,5,0,10,1000000,1\n34201,6,123,50,1010000,-1\n34202,7,0,0,-1,-1\n34203,1,9,5,1000000,-1\n")
    r = read_file(p)
    assert r.report.skipped == {"halt": 1} and r.report.used == 3
    ev = r.events
    assert ev.action.tolist() == [ACTION_TRADE, ACTION_TRADE, ord("A")]
    assert ev.side.tolist() == [SIDE_ASK, SIDE_NONE, SIDE_ASK]  # hidden buy order hit by a sell; cross N
    assert ev.order_id.tolist() == [0, 123, 9]
    rows, _, _ = events_to_lobster_messages(ev)
    assert rows[:, 1].tolist() == [5, 6, 1] and rows[0, 5] == 1
