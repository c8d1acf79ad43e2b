# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""LOB-Bench export: ``data_gen`` holds the rollouts, ``data_real`` the real continuation, ``data_cond`` the prefix.

The rollouts are not real data: a scripted proposer drives the simulator from the real ES prefix
with orders of known content (a passive bid one tick deeper per rollout, a market buy into the
prefix's asks, the cancel of the bid), so a file written from the wrong source cannot match. Each
file read back is compared row by row with the LOBSTER conversion of its own source
(``io.lobster.lobster_messages_and_book`` after the prefix) and its first rows with the hand-known
orders.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from conftest import real_path

from modeling_tradefm.events import ACTION_ADD, ACTION_CANCEL, NS_PER_SECOND, SIDE_BID
from modeling_tradefm.io.lobster import utc_ns_to_ny_seconds_ns
from modeling_tradefm.proposer import MARKET_PRICE_BID, OrderBatch, OrderProposer
from modeling_tradefm.simulator import Simulator

ES = ("databento", "glbx-esh4", "esh4-glbx-mdp3-20231225.mbo.csv.zst")
TICK = 250_000_000  # ES: 0.25 index points
LOBSTER_UNIT = 100_000  # 1e-9 units per LOBSTER price unit
N_ROLLOUTS = 3
WINDOW_S = 20  # the real window; every scripted rollout lasts 6 ms, so it is exported whole


class ScriptedOrders(OrderProposer):
    """Rollout k: a bid (k + 1) ticks under the best bid for 7 + k, a market buy of 2 + k, the cancel of that bid."""

    name = "scripted"

    def start(self, prefix, books, seed, rollout_ids=None):
        self.ids = list(rollout_ids if rollout_ids is not None else range(len(books)))
        self.bid_price = [int(b.best_bid()) - (k + 1) * TICK for b, k in zip(books, self.ids, strict=True)]
        self.step = 0

    def propose(self, books):
        n, k = len(books), np.asarray(self.ids)
        action = [ACTION_ADD, ACTION_ADD, ACTION_CANCEL][self.step]
        price = self.bid_price if self.step != 1 else np.full(n, MARKET_PRICE_BID)
        size = 7 + k if self.step != 1 else 2 + k
        return OrderBatch(np.full(n, 1_000_000 * (self.step + 1)), np.full(n, action), np.full(n, SIDE_BID), price,
                          size, np.zeros(n))

    def observe(self, applied, books):
        self.step += 1


def _read_messages(path):
    """int64 [m, 6] rows of an exported message file, the time back in ns after New York midnight."""
    rows = []
    for line in path.read_text().splitlines():
        t, *rest = line.split(",")
        sec, frac = t.split(".")
        rows.append([int(sec) * NS_PER_SECOND + int(frac), *map(int, rest)])
    return np.array(rows, dtype=np.int64).reshape(-1, 6)


def _conversion(events, prefix, date):
    """What the export must write for ``events`` after ``prefix``: message rows and 10-level books."""
    from modeling_tradefm.io.lobster import lobster_messages_and_book

    rows, _, book, _ = lobster_messages_and_book(events, 10, date, initial=prefix if prefix is not None else None)
    keep = rows[:, 0] >= 0
    return rows[keep], book[keep]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from modeling_tradefm.cli import main
    from modeling_tradefm.features import split_sessions
    from modeling_tradefm.generation_tradefm import rollout
    from modeling_tradefm.io import read_events, write_mbo_csv
    from modeling_tradefm.prefix import select_prefix

    path = real_path(*ES)
    session = split_sessions(read_events(path, progress=False))[0]
    _, prefix, _ = select_prefix(session.events, dt.time(23, 30), "UTC", str(path))
    rest = session.events[len(prefix):]
    results = rollout(ScriptedOrders(), prefix, 3, num_rollouts=N_ROLLOUTS, seed=0)
    tmp = tmp_path_factory.mktemp("lb-provenance")
    gen = tmp / "gen"
    gen.mkdir()
    for k, res in enumerate(results):
        write_mbo_csv(res.events, gen / f"rollout_{k:03d}.mbo.csv.zst")
    (gen / "meta.json").write_text(json.dumps({
        "data": [str(path)], "start": "23:30:00", "tz": "UTC", "prefix_events": len(prefix),
        "session": {"instrument_id": int(session.instrument_id), "symbol": session.symbol, "date": session.date}}))
    root = tmp / "root"
    # one real_id per rollout (--all-rollouts), the real window the first WINDOW_S seconds after the prefix
    assert main(["export-lobbench", "--real", str(path), "--generated", f"Scripted={gen}", "-o", str(root),
                 "--all-rollouts", "--window-seconds", str(WINDOW_S)]) == 0
    (folder,) = root.glob("*/*/*")
    return folder, prefix, rest, [r.events for r in results]


def _files(folder, sub, k):
    suffix = "_gen_id_0" if sub == "gen" else ""
    (msg,) = (folder / f"data_{sub}").glob(f"*_message_real_id_{k}{suffix}.csv")
    book = np.loadtxt(str(msg).replace("_message_", "_orderbook_"), delimiter=",", dtype=np.int64, ndmin=2)
    return _read_messages(msg), book


def _same_up_to_renumbering(got, want, ids: dict):
    """Equal rows, order ids renumbered by one consistent map (``ids``: original → exported, shared across files)."""
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.delete(got, 2, axis=1), np.delete(want, 2, axis=1))
    for new, old in zip(got[:, 2].tolist(), want[:, 2].tolist(), strict=True):
        assert (new == 0) == (old == 0)
        if old:
            assert ids.setdefault(old, new) == new, f"order {old} exported as {ids[old]} and {new}"
    assert len(set(ids.values())) == len(ids)  # no two orders share an exported id


def test_generated_files_are_the_rollouts(exported):
    folder, prefix, _, rollouts = exported
    date = folder.name
    best_bid = Simulator.from_events(prefix).best_bid()
    lengths = set()
    for k, events in enumerate(rollouts):
        got, book = _files(folder, "gen", k)
        want, want_book = _conversion(events, prefix, date)
        ids: dict[int, int] = {}
        cond, _ = _files(folder, "cond", k)
        _same_up_to_renumbering(cond, _conversion(prefix, None, date)[0], ids)
        _same_up_to_renumbering(got, want, ids)  # ids consistent with the prefix's
        np.testing.assert_array_equal(book, want_book)
        # the hand-known first and last rows: the new bid (type 1, a new id), and its full cancel (type 3)
        bid = best_bid - (k + 1) * TICK
        assert [got[0, 1], *got[0, 3:]] == [1, 7 + k, bid // LOBSTER_UNIT, 1]
        # stamped 1 ms after the prefix's last record (the script's first Δt), the cancel 1 + 2 + 3 ms after it
        t_last = int(utc_ns_to_ny_seconds_ns(date, prefix.ts_recv[-1:])[0])
        assert (got[0, 0], got[-1, 0]) == (t_last + 1_000_000, t_last + 6_000_000)
        assert got[0, 2] not in cond[:, 2]
        assert got[-1, 1:].tolist() == [3, got[0, 2], 7 + k, bid // LOBSTER_UNIT, 1]
        # between them the market buy of 2 + k: type-4 rows of resting ask orders (direction −1)
        t4 = got[1:-1]
        assert (t4[:, 1] == 4).all() and (t4[:, 5] == -1).all() and t4[:, 3].sum() == 2 + k
        assert np.isin(t4[:, 2], cond[:, 2]).all()  # the prefix's orders, under their exported ids
        lengths.add(len(got))
    assert len(lengths) > 1  # the rollouts really differ (rollout k buys 2 + k)


def test_real_files_are_the_real_continuation(exported):
    folder, prefix, rest, rollouts = exported
    date = folder.name
    t_last = int(utc_ns_to_ny_seconds_ns(date, prefix.ts_recv[-1:])[0])
    every, every_book = _conversion(rest, prefix, date)
    for k in range(N_ROLLOUTS):
        ids: dict[int, int] = {}
        _same_up_to_renumbering(_files(folder, "cond", k)[0], _conversion(prefix, None, date)[0], ids)
        got, book = _files(folder, "real", k)
        # the continuation's leading rows, up to WINDOW_S after the prefix's last record, and no row of it left out
        n = len(got)
        assert n > 10 and got[-1, 0] <= t_last + WINDOW_S * NS_PER_SECOND < every[n, 0]
        _same_up_to_renumbering(got, every[:n], ids)
        np.testing.assert_array_equal(book, every_book[:n])
        # and not a rollout: the real continuation's first message is not the scripted bid
        assert not np.array_equal(got[:1, [1, 3, 4]], _files(folder, "gen", k)[0][:1, [1, 3, 4]])
