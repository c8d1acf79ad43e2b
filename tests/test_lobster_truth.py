"""LOBSTER level-1 data as a new user has it: the real book from the orderbook file, a true starting
book for rollouts and replays, and a liquidity tier for a partial day without hand-holding.

Every test here fails on the code before issue 12: the evaluation found no mid in the AMZN level-1
day (its book was replayed from messages that do not determine it), rollouts started from that
replay (crossed, 2,355 stale orders at 11:00 instead of the venue's 225.11 / 225.20), and the 11:00
prefix's 240,108 shares put AMZN into tier 0 (the ES holiday's) instead of its full days' tier 1.
"""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
from conftest import real_path

from modeling_tradefm.cli import main
from modeling_tradefm.events import ACTION_ADD, ACTION_CANCEL, F_LAST, SIDE_ASK, SIDE_BID, EventTable
from modeling_tradefm.prefix import load_prefix, parse_clock
from modeling_tradefm.simulator import Simulator, lobster_orderbook

NY = "America/New_York"
AMZN = "AMZN_2012-06-21_34200000_57600000_{}_1.csv"
AAPL10 = "AAPL_2012-06-21_34200000_57600000_{}_10.csv"


def amzn(kind: str = "message"):
    other = "orderbook" if kind == "message" else "message"
    real_path("lobster", AMZN.format(other))  # both files side by side (rebuilt together without shared/)
    return real_path("lobster", AMZN.format(kind))


def aapl10(kind: str = "message"):
    return real_path("lobster", "aapl10-head", AAPL10.format(kind))


# ---- 2. a true starting book -------------------------------------------------------------------
def test_reconcile_rule_known_answer():
    """Known orders keep ids and places while they fit the row; the rest of a level is one synthetic
    order at the front; levels inside the row's window that the row does not show go; deeper stay."""
    ns = 10**9
    rows = [(0, ACTION_ADD, SIDE_BID, 100, 100, 1), (1, ACTION_ADD, SIDE_BID, 100, 200, 2),
            (2, ACTION_ADD, SIDE_BID, 99, 50, 3), (3, ACTION_ADD, SIDE_BID, 97, 70, 4),
            (4, ACTION_ADD, SIDE_ASK, 101, 30, 5)]
    t, a, s, p, q, o = map(np.array, zip(*rows, strict=True))
    ev = EventTable.from_columns(ts_recv=t * ns, action=a, side=s, price=p * 10**9, size=q, order_id=o,
                                 flags=np.full(len(t), F_LAST), instrument_id=np.ones(len(t)))
    sim = Simulator.from_events(ev)
    # a level-2 row (LOBSTER units = price × 10,000): bids 100 x 250, 98 x 40; asks 101 x 30, 102 x 10
    row = [1010000, 30, 1000000, 250, 1020000, 10, 980000, 40]
    assert sim.reconcile(row) == {"added": 150 + 40 + 10, "removed": 200 + 50}
    anon, q100 = sim.level_queue("B", 100 * 10**9)
    # order 1 (100) fits 250, order 2 (200) does not: it goes; 150 becomes one synthetic order in front
    assert anon == 0 and q100[:, 1].tolist() == [150, 100] and q100[1, 0] == 1 and q100[0, 0] >= 1 << 62
    assert sim.level_size("B", 99 * 10**9) == 0  # inside the window [100, 98], not shown: removed
    assert sim.level_size("B", 98 * 10**9) == 40  # shown, unknown before: a synthetic order
    assert sim.level_size("B", 97 * 10**9) == 70  # beyond the row's deepest bid: kept (uncertain)
    assert sim.level_size("A", 102 * 10**9) == 10
    assert sim.frontier == (98 * 10**9, 102 * 10**9)
    # a cancel of an order the book never saw comes out of the synthetic volume, not the known order
    cancel = EventTable.from_columns(ts_recv=[9 * ns], action=[ACTION_CANCEL], side=[SIDE_BID], price=[100 * 10**9],
                                     size=[60], order_id=[777], flags=[F_LAST], instrument_id=[1])
    sim.apply(cancel)
    assert sim.level_queue("B", 100 * 10**9)[1][:, 1].tolist() == [90, 100]
    with pytest.raises(ValueError, match="row 1: the bid side has prices not strictly ordered"):
        sim.reconcile([1010000, 30, 1000000, 250, 1020000, 10, 1000000, 40])



def test_reconcile_keeps_an_order_that_exactly_fills_what_is_left_of_the_row():
    """Orders 100 + 200 + 50 at a bid the row shows as 300: the 200 fills the room left after the 100
    exactly, so it keeps its id and place; only the 50 behind it goes, and nothing synthetic is added."""
    ns = 10**9
    rows = [(0, ACTION_ADD, SIDE_BID, 100, 100, 1), (1, ACTION_ADD, SIDE_BID, 100, 200, 2),
            (2, ACTION_ADD, SIDE_BID, 100, 50, 3), (3, ACTION_ADD, SIDE_ASK, 101, 30, 4)]
    t, a, s, p, q, o = map(np.array, zip(*rows, strict=True))
    ev = EventTable.from_columns(ts_recv=t * ns, action=a, side=s, price=p * 10**9, size=q, order_id=o,
                                 flags=np.full(len(t), F_LAST), instrument_id=np.ones(len(t)))
    sim = Simulator.from_events(ev)
    assert sim.reconcile([1010000, 30, 1000000, 300]) == {"added": 0, "removed": 50}
    anon, queue = sim.level_queue("B", 100 * 10**9)
    assert anon == 0 and queue[:, :2].tolist() == [[1, 100], [2, 200]]  # (id, size) front to back

def test_reconciled_replay_is_the_venues_book_after_every_message():
    """AMZN level 1 (57,515 messages) and the AAPL level-10 head, replayed from an EMPTY book: every
    cell of every row equals the orderbook file (a plain replay gets 53 AMZN rows right)."""
    from modeling_tradefm.io import read_file

    for path, levels in ((amzn(), 1), (aapl10(), 10)):
        r = read_file(path, orderbook=True)
        ev, ob = r.events, r.orderbook
        last = (ev.flags & F_LAST) != 0
        truth = ob[ev.sequence.astype(np.int64) - 1][last]
        rows, known = lobster_orderbook(ev, levels, orderbook=ob, return_known=True)
        np.testing.assert_array_equal(rows[last], truth)
        assert (known[last] == levels).all()
        plain = lobster_orderbook(ev, levels)
        assert (plain[last] == truth).all(axis=1).mean() < 0.12


def test_cli_replay_reconcile(tmp_path, capsys):
    out = tmp_path / "book.csv"
    rc = main(["replay", str(amzn()), "--lobster-orderbook", str(amzn("orderbook")), "--levels", "1",
               "--reconcile", "--check", "--strict", "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 0 and "57515 of 57515 rows equal in all 4 columns" in err and "reconciled with" in err
    np.testing.assert_array_equal(np.loadtxt(out, delimiter=",", dtype=np.int64),
                                  np.loadtxt(amzn("orderbook"), delimiter=",", dtype=np.int64))
    rc = main(["replay", str(amzn()), "--reconcile", "-o", str(out)])
    assert rc == 2 and "--reconcile adopts a LOBSTER orderbook" in capsys.readouterr().err


def test_starting_book_is_the_venues_visible_book_at_the_start():
    from modeling_tradefm.io import read_lobster_orderbook

    # AMZN level 1 at 11:00 New York: the row in force is 15,819 (ask 225.20 x 100, bid 225.11 x 100)
    pre = load_prefix(amzn(), parse_clock("11:00"), NY)
    assert pre.orderbook_row + 1 == 15_819 and pre.describe()["best_bid"] == 2_251_100
    book = pre.starting_book()
    assert (book.best_bid(), book.best_ask()) == (225_110_000_000, 225_200_000_000)
    assert (book.level_size("B", book.best_bid()), book.level_size("A", book.best_ask())) == (100, 100)
    # the plain replay of the same messages is crossed: the book the rollouts used to start from
    plain = Simulator.from_events(pre.events)
    assert plain.is_crossed()
    # AAPL level-10 head: all 10 levels of both sides at 09:30:01 are the orderbook row in force
    pre = load_prefix(aapl10(), parse_clock("09:30:01"), NY)
    row = read_lobster_orderbook(aapl10("orderbook"))[pre.orderbook_row]
    assert 0 < pre.orderbook_row < 998
    np.testing.assert_array_equal(pre.starting_book().lobster_row(10), row)


@pytest.fixture(scope="module")
def amzn_run(tmp_path_factory):
    """ZI fitted on AMZN's 09:30-11:00 prefix, 2 rollouts x 400 events from 11:00 (LOBSTER format)."""
    from modeling_tradefm.io import write_mbo_csv

    root = tmp_path_factory.mktemp("amzn")
    pre = load_prefix(amzn(), parse_clock("11:00"), NY)
    write_mbo_csv(pre.events, root / "prefix.mbo.csv.zst")
    assert main(["fit-baseline", "zi", "--data", str(root / "prefix.mbo.csv.zst"), "-o", str(root / "zi"), "-q"]) == 0
    assert main(["generate", "--model", str(root / "zi"), "--data", str(amzn()), "--start", "11:00:00", "--tz", NY,
                 "--events", "400", "--rollouts", "2", "--format", "lobster", "-o", str(root / "rollouts")]) == 0
    return root, pre


def test_rollouts_start_from_the_venues_book_and_evaluation_replays_from_the_same(amzn_run):
    from modeling_tradefm.evaluation.series import load_generated_source
    from modeling_tradefm.io import read_file

    root, pre = amzn_run
    meta = json.loads((root / "rollouts" / "meta.json").read_text())
    assert meta["start_book"]["source"] == "orderbook" and meta["start_book"]["row"] == 15_819
    g = load_generated_source(root / "rollouts")
    assert g.no_book is None
    assert (g.start_book.best_bid(), g.start_book.best_ask()) == (225_110_000_000, 225_200_000_000)
    for name, events in g.rollouts:
        # each rollout's own orderbook file (the simulator's book after every generated message)
        # equals the evaluation's replay of its messages from the rebuilt starting book, 10 levels deep
        r = read_file(root / "rollouts" / name, orderbook=True)
        last = (r.events.flags & F_LAST) != 0
        replay = lobster_orderbook(events, 10, initial=g.start_book)
        np.testing.assert_array_equal(replay[last], r.orderbook[r.events.sequence[last].astype(np.int64) - 1])
        # the first generated message meets the venue's book: its row keeps the venue's best quotes
        # on every side the message did not touch
        first = r.orderbook[0]
        touched = {int(s) for s in r.events.side[r.events.sequence == 1]}
        if SIDE_BID not in touched:
            assert first[2] == 2_251_100
        if SIDE_ASK not in touched:
            assert first[0] == 2_252_000


# ---- 1. truth from the data ----------------------------------------------------------------------
def test_evaluate_amzn_level1_reports_returns_spreads_acf_and_kurtosis(amzn_run, tmp_path, capsys):
    from modeling_tradefm.io import read_file

    root, pre = amzn_run
    out = tmp_path / "report"
    rc = main(["evaluate", "--real", str(amzn()), "--after-prefix", "--generated", f"ZI={root / 'rollouts'}",
               "-o", str(out), "--n-boot", "10", "--max-lag", "10"])
    err = capsys.readouterr().err
    assert rc == 0 and "book from the LOBSTER orderbook file (exact)" in err
    m = json.loads((out / "metrics.json").read_text())
    real = m["stylized_facts"]["real"]
    assert real["info"]["book"] == "orderbook" and m["stylized_facts"]["ZI"]["info"]["book"] == "replay"
    n = real["info"]["samples"]
    # 11:00-16:00: 5 h of 1 s returns, 1,800 of 10 s, 300 of 60 s (the last grid point at 16:00 is cut)
    assert (n["log_return_1s"], n["log_return_10s"], n["log_return_60s"]) == (17_999, 1_799, 299)
    assert real["info"]["unavailable"] == {}
    assert all(math.isfinite(real["kurtosis"][h]) for h in ("1", "10", "60"))
    assert all(math.isfinite(x) for x in real["acf_returns"] + real["acf_abs_returns"])
    # the real spreads are the orderbook file's, message by message after the start
    r = read_file(amzn(), orderbook=True)
    after = (r.events.ts_recv >= pre.start_ns) & ((r.events.flags & F_LAST) != 0)
    rows = r.orderbook[r.events.sequence[after].astype(np.int64) - 1]
    two = (rows[:, 1] > 0) & (rows[:, 3] > 0) & (rows[:, 0] > rows[:, 2])
    assert n["spread"] == two.sum() == n["top_depth"] // 2 and two.mean() > 0.99
    assert m["distances"]["ZI"]["spread"]["n_real"] == two.sum()
    assert m["distances"]["ZI"]["log_return_10s"]["ks"] is not None
    assert "LOBSTER orderbook file (exact)" in (out / "report.md").read_text()


def test_without_its_orderbook_a_level1_file_says_why_nothing_is_measured(amzn_run, tmp_path, capsys):
    """The same message file alone (the situation of the issue): after the prefix, returns, spreads
    and depth are reported as not computed, with the reason, in metrics.json, the report and stderr."""
    root, _ = amzn_run
    lone = tmp_path / AMZN.format("message")
    shutil.copyfile(amzn(), lone)
    out = tmp_path / "report"
    rc = main(["evaluate", "--real", str(lone), "--after-prefix", "--generated", f"ZI={root / 'rollouts'}",
               "-o", str(out), "--n-boot", "5"])
    err = capsys.readouterr().err
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    info = m["stylized_facts"]["real"]["info"]
    assert info["book"] == "replay" and info["samples"]["log_return_1s"] == 0
    assert set(info["unavailable"]) == {"log_return_1s", "log_return_10s", "log_return_60s", "spread", "top_depth"}
    assert "does not determine its book" in info["unavailable"]["spread"]
    assert "_orderbook_N" in info["unavailable"]["log_return_1s"]
    assert "not the venue's" in info["warnings"][0]
    assert m["distances"]["ZI"]["spread"]["unavailable"].startswith("real: the book replayed")
    assert "not computed: real log_return_1s: no mid price: the book replayed" in err
    md = (out / "report.md").read_text()
    assert "Not computed" in md and "not computed¹" in md and "Warnings" in md


# ---- 3. zero-shot without hand-holding --------------------------------------------------------------
def test_partial_day_gets_the_tier_of_a_full_day():
    from modeling_tradefm.features import (
        US_EQUITY_PROFILE,
        FeatureConfig,
        build_features,
        estimate_session_volume,
        tier_of_adv,
    )
    from modeling_tradefm.io import read_events

    pre = load_prefix(amzn(), parse_clock("11:00"), NY)
    (sf,) = build_features(pre.events)
    (day,) = build_features(read_events(amzn()))  # the whole day (a 16:00 start is after its last event)
    # 240,108 shares by 11:00 is below the 250,000 cut; the full day (810,755) is tier 1
    assert sf.daily_volume == 240_108 and day.tier[0] == 1
    (raw,) = build_features(pre.events, FeatureConfig(adv_fallback="raw"))
    assert raw.tier[0] == 0
    # the U-shape with c = 2: F(x) = (x + (2x-1)^3/3 + 1/3) / (5/3) at x = 1.5/6.5 of the session
    x = 1.5 / 6.5
    f = (x + ((2 * x - 1) ** 3 + 1) / 3) / (5 / 3)
    t0, t1 = int(pre.events.ts_recv[0]), int(pre.events.ts_recv[-1])
    assert US_EQUITY_PROFILE.fraction(t0, t1) == pytest.approx(f, abs=1e-4)
    assert sf.adv == pytest.approx(240_108 / f, rel=1e-3) and sf.tier[0] == 1
    # outside the regular session (CME's evening) nothing is scaled
    assert estimate_session_volume(9_892, t0 + 9 * 3600 * 10**9, t0 + 10 * 3600 * 10**9) == (9_892.0, 0.0)
    assert tier_of_adv(3e6) == 2 and tier_of_adv(float("nan")) == 1


def test_tradefm_proposer_tier_from_the_prefix_adv_or_pinned():
    from test_generation_tradefm import tiny_proposer

    from modeling_tradefm.generation_tradefm import rollout

    pre = load_prefix(amzn(), parse_clock("11:00"), NY)
    prefix = pre.events
    for kwargs, tier, source in (({}, 1, "features"), ({"adv": 3e6}, 2, "adv"), ({"tier": 0}, 0, "tier")):
        proposer = tiny_proposer(**kwargs)
        (res,) = rollout(proposer, prefix, 3, books=[pre.starting_book()])
        assert proposer.context_info["source"].startswith(source)
        assert proposer.tier == tier and (res.contexts[:, 0] == tier).all()
    with pytest.raises(ValueError, match="tier must be in 0..2"):
        rollout(tiny_proposer(tier=3), prefix, 1)


def test_demo_pins_no_tier():
    import dataclasses

    from modeling_tradefm.demo import PROFILES_DIR, DemoConfig

    assert "tier" not in {f.name for f in dataclasses.fields(DemoConfig)}
    for profile in PROFILES_DIR.glob("*.yaml"):
        text = profile.read_text()
        assert "tier:" not in text and "adv_fallback" not in text, profile
