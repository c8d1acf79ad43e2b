# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Book-aware TradeFM (issue 13): the book context is computed the same way in training and in rollouts.

Known answers for the formulas and bins; the features' book context against a LOBSTER orderbook file
read independently; real sessions driven through the closed loop (the real orders, then a model's
own) compared, element by element, with the training features of the simulator's own log; paper
mode unchanged; a book-aware checkpoint through save / AutoModelForCausalLM (remote code, no
package) / rollout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch
from conftest import real_path

import modeling_tradefm as tf
from modeling_tradefm.book import SOURCE_ORDERBOOK, SOURCE_REPLAY, BookSource
from modeling_tradefm.book_context import (
    depth_from_best,
    own_best_reference,
    price_from_best,
    queue_imbalance,
    spread_in_ticks,
)
from modeling_tradefm.configuration_tradefm import BOOK_AWARE_CONTEXT_FIELDS, TradeFMConfig
from modeling_tradefm.data.splits import file_session_features
from modeling_tradefm.events import ACTION_ADD, ACTION_CANCEL, F_LAST, SIDE_ASK, SIDE_BID
from modeling_tradefm.features import FeatureConfig, build_features, modeled_events
from modeling_tradefm.io import read_events, read_file
from modeling_tradefm.modeling_tradefm import TradeFMForCausalLM
from modeling_tradefm.proposer import OrderBatch
from modeling_tradefm.proposer_tradefm import TradeFMProposer, book_reference_mid
from modeling_tradefm.simulator import Simulator
from modeling_tradefm.tokenization_tradefm import TradeFMTokenizer

AMZN = ("lobster", "AMZN_2012-06-21_34200000_57600000_message_1.csv")
AAPL = ("lobster", "AAPL_2012-06-21_34200000_37800000_message_50.csv")
ES = ("databento", "glbx-esh4", "esh4-glbx-mdp3-20231225.mbo.csv.zst")
BOOK = ("spread", "imbalance")
MIDDLE = FeatureConfig(adv_fallback="middle")  # tier 1 for a prefix and for the log that continues it


# ---------------------------------------------------------------------------------------------
# formulas and bins: known answers
# ---------------------------------------------------------------------------------------------
def test_book_formulas_known_answers():
    nan = np.nan
    bid = np.array([99.0, nan, 101.0, 100.0, nan])
    ask = np.array([102.0, 100.0, 100.0, 100.0, nan])
    np.testing.assert_array_equal(spread_in_ticks(bid, ask, 0.5), [6.0, nan, nan, nan, nan])  # crossed, locked: NaN
    np.testing.assert_array_equal(queue_imbalance(bid, ask, [300, 1, 1, 1, 0], [100, 1, 1, 1, 0]),
                                  [0.5, nan, nan, nan, nan])
    # own best; else one tick inside the opposite best; else the mid on the grid
    side = np.array([0, 1, 0, 1, 0])
    ref = own_best_reference(side, [99.0, 98.0, nan, nan, nan], [102.0, nan, 102.0, nan, nan],
                             [100.0, 100.0, 100.0, 100.0, 100.6], 0.5)
    np.testing.assert_array_equal(ref, [99.0, 98.5, 101.5, 100.0, 100.5])
    # aggressiveness: buys above their best and sells below theirs are positive
    d = depth_from_best([0, 0, 1, 1], [100.0, 98.0, 101.0, 103.0], [99.0, 99.0, 102.0, 102.0], 0.5)
    np.testing.assert_array_equal(d, [2.0, -2.0, 2.0, -2.0])
    # the inverse rounds the depth to whole ticks on the reference's grid
    np.testing.assert_array_equal(price_from_best([0, 0, 1, 1], d + [0.3, -0.2, 0.4, 0.1], [99, 99, 102, 102], 0.5),
                                  [100, 98, 101, 103])


@pytest.fixture(scope="module")
def aapl_slice():
    """The first 20,000 AAPL records with their replayed book context, and a book tokenizer ("best") on them."""
    ev = read_events(real_path(*AAPL), progress=False)[:20_000]
    sessions = build_features(ev, books=BookSource(ev))
    return ev, sessions, _book_tokenizer(sessions)


def test_book_bins_known_answers(aapl_slice):
    tok = aapl_slice[2]
    spreads = [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 63, 64, 200, 0.3, np.nan]
    np.testing.assert_array_equal(tok.spread_bin(spreads), [1, 2, 3, 4, 4, 5, 5, 6, 6, 7, 11, 12, 12, 1, 0])
    np.testing.assert_array_equal(tok.imbalance_bin([-1, -0.76, -0.01, 0, 0.2, 1, np.nan]), [1, 1, 4, 5, 5, 8, 0])
    assert tok.field_vocab_sizes == [16384, 3, 32, 2, 13, 9]
    assert tok.context_fields == list(BOOK_AWARE_CONTEXT_FIELDS)


def _book_tokenizer(sessions, price_reference="best", **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fewer calibration days than calib_days
        return TradeFMTokenizer(book_fields=BOOK, price_reference=price_reference, **kw).calibrate(sessions)


def test_depth_bins_of_the_best_reference_and_state_round_trip(aapl_slice):
    _, sessions, tok = aapl_slice
    # ticks from the own best: 0 joins (bin 8), -1 / +1 one tick behind / inside, beyond ±64 the outer bins
    np.testing.assert_array_equal(tok.price_depth_bin([0, -1, 1, 2, 3, 4, 5, -2, -3, -64, -65, 32, 33, 500]),
                                  [8, 7, 9, 10, 11, 11, 12, 6, 5, 1, 0, 14, 15, 15])
    state = json.loads(json.dumps(tok.to_dict()))
    assert state["format_version"] == 3 and state["book_fields"] == list(BOOK) and state["price_reference"] == "best"
    again = TradeFMTokenizer.from_dict(state)
    assert again == tok
    a, b = tok.encode(sessions[0]), again.encode(sessions[0])
    np.testing.assert_array_equal(a["input_ids"], b["input_ids"])
    np.testing.assert_array_equal(a["context_ids"], b["context_ids"])
    # in-bin decoding stays in the bin (encode(decode(t)) gives t's δp digit back)
    ids = np.arange(0, tok.vocab_size, 5)
    dec = tok.decode(ids, np.random.default_rng(0))
    np.testing.assert_array_equal(tok.price_depth_bin(dec["price_depth"]), tok.decompose(ids)[2])


def test_a_book_tokenizer_refuses_features_without_the_book(aapl_slice):
    ev, _, tok = aapl_slice
    with pytest.raises(ValueError, match="has no book context.*BookSource"):
        tok.encode(build_features(ev)[0])


# ---------------------------------------------------------------------------------------------
# the features' book context against the venue's orderbook file, read independently
# ---------------------------------------------------------------------------------------------
def test_book_context_is_the_orderbook_row_of_the_message_after_and_before_the_event():
    r = read_file(real_path(*AMZN), orderbook=True)
    sf, = build_features(r.events, books=BookSource(r.events, r.orderbook))
    assert sf.book_source == SOURCE_ORDERBOOK and sf.tick_size == 10_000_000
    ob = r.orderbook.astype(np.float64)  # LOBSTER: ask_px, ask_sz, bid_px, bid_sz (dollars x 10,000)
    # after: the row of the event's own message (row = sequence - 1); before: the previous message's row
    seq = r.events.sequence.astype(np.int64)
    after = seq[sf.source_row] - 1
    me, = modeled_events(r.events)
    before = seq[me.first_row] - 2
    assert before.min() >= 0
    np.testing.assert_array_equal(sf.spread_ticks, (ob[after, 0] - ob[after, 2]) / 100.0)  # 1 tick = 100 units
    np.testing.assert_array_equal(sf.imbalance, (ob[after, 3] - ob[after, 1]) / (ob[after, 3] + ob[after, 1]))
    own = np.where(sf.side == 0, ob[before, 2], ob[before, 0]) * 100_000.0
    aggressive = np.where(sf.side == 0, sf.price - own, own - sf.price) / 1e7
    np.testing.assert_allclose(sf.price_depth_best, aggressive, rtol=0, atol=1e-9)
    # real answers: AMZN's spread is wide (median 13 ticks) and level-1 flow sits at or inside the best
    assert np.median(sf.spread_ticks) == 13.0 and (sf.price_depth_best >= 0).all()
    assert (sf.price_depth_best > 0).mean() > 0.3


def test_the_data_builder_reads_a_sibling_orderbook_and_replays_other_files():
    amzn = file_session_features(real_path(*AMZN), FeatureConfig(), book=True)
    es = file_session_features(real_path(*ES), FeatureConfig.cme(), book=True)
    assert [s.book_source for s in amzn] == [SOURCE_ORDERBOOK]
    assert {s.book_source for s in es} == {SOURCE_REPLAY}
    assert {s.tick_size for s in es} == {250_000_000}
    # without the orderbook a level-1 file's replay has almost never both sides
    r = read_file(real_path(*AMZN))
    replayed, = build_features(r.events, books=BookSource(r.events))
    assert np.isnan(replayed.spread_ticks).mean() > 0.9 and not np.isnan(amzn[0].spread_ticks).any()
    # paper mode reads no orderbook and computes no book
    assert not file_session_features(real_path(*AMZN), FeatureConfig())[0].has_book


# ---------------------------------------------------------------------------------------------
# training features == closed-loop contexts
# ---------------------------------------------------------------------------------------------
def _tiny_model(tok: TradeFMTokenizer, seed: int = 0, max_pos: int = 64) -> TradeFMForCausalLM:
    config = TradeFMConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                           num_key_value_heads=1, intermediate_size=64, max_position_embeddings=max_pos,
                           context_fields=tok.context_fields, field_vocab_sizes=tok.field_vocab_sizes,
                           tokenizer_config=tok.to_dict())
    torch.manual_seed(seed)
    return TradeFMForCausalLM(config).eval()


class _Steps:
    """Per step of a rollout: did the simulator log the order (not void), and under which sequence."""

    def record(self, books):
        self.logged = getattr(self, "logged", [])
        self.seq = getattr(self, "seq", [])
        n = books[0].log_len()
        grew = n > getattr(self, "_n", n)
        self._n = n
        self.logged.append(grew)
        self.seq.append(int(books[0].log(n - 1).sequence[0]) if grew else -1)


class ReplayProposer(TradeFMProposer):
    """Proposes exactly the given real orders; tokens and contexts are TradeFMProposer's own.

    Every stored proposal is marked as changed (participant 255), so ``observe`` encodes the order
    as applied against the live book, the path of an injected order.
    """

    def __init__(self, model, tokenizer, orders: dict, **kw):
        super().__init__(model, tokenizer, **kw)
        self.orders, self.k, self.steps = orders, 0, _Steps()

    def start(self, prefix, books, seed, rollout_ids=None):
        super().start(prefix, books, seed, rollout_ids)
        self.steps._n = books[0].log_len()

    def propose(self, books):
        o, i = self.orders, self.k
        self.k += 1
        batch = OrderBatch([o["dt_ns"][i]], [o["action"][i]], [o["side"][i]], [o["price"][i]], [o["size"][i]], [0])
        mids = np.array([book_reference_mid(books[0]) or self._last_mid[0]])
        refs = self._best_references(books, mids) if self._best else None
        stored = batch.copy()
        stored.participant[:] = 255
        self._proposal = (stored, np.zeros(1, np.int64), mids, refs)
        return batch

    def observe(self, applied, books):
        super().observe(applied, books)
        self.steps.record(books)


def _prefix_and_orders(path, until_ns: int, n_orders: int):
    """A real session cut at a message boundary before ``until_ns``, and its next modeled orders."""
    ev = read_events(path, progress=False)
    last = np.flatnonzero(((ev.flags & F_LAST) != 0) & (ev.ts_recv < until_ns))[-1]
    prefix = ev[: int(last) + 1]
    me, = modeled_events(ev, MIDDLE)
    nxt = np.flatnonzero(me.source_row > last)[:n_orders]
    ts = me.ts_recv[nxt]
    orders = {
        "dt_ns": np.diff(ts, prepend=int(prefix.ts_recv[-1])),
        "action": np.where(me.action[nxt] == 0, ACTION_ADD, ACTION_CANCEL),
        "side": np.where(me.side[nxt] == 0, SIDE_BID, SIDE_ASK),
        "price": me.price[nxt], "size": me.size[nxt],
    }
    return prefix, orders


def _features_of_log(book, tok: TradeFMTokenizer, prefix_len: int, tick: int):
    """The training path on the simulator's log: features (replayed book), encoding, one row per event.

    The tick is the rollout's (the proposer's): a real AAPL session executes some orders at
    half-cent prices; re-submitted as limits they put half-cent adds into the log, which would
    halve a tick inferred from the log.
    """
    log = book.log()
    sf, = build_features(log, MIDDLE, books=BookSource(log), tick_size=tick)
    enc = tok.encode(sf)
    new = sf.source_row >= prefix_len
    return sf, log.sequence[sf.source_row].astype(np.int64), enc, new


def _compare_step_contexts(result, steps, book, tok, prefix_len, tick):
    """Assert every logged step's context == the features' context of the last event of its sequence."""
    sf, seq, enc, new = _features_of_log(book, tok, prefix_len, tick)
    logged = np.flatnonzero(steps.logged)
    step_seq = np.asarray(steps.seq)[logged]
    ev_seq = seq[new]
    # the last modeled event of each submitted order (a marketable add with a resting remainder has two)
    last_of = {int(q): j for j, q in enumerate(ev_seq)}
    have = np.array([int(q) in last_of for q in step_seq])
    rows = np.flatnonzero(new)[[last_of[int(q)] for q in step_seq[have]]]
    np.testing.assert_array_equal(result.contexts[logged[have]], enc["context_ids"][rows])
    return sf, seq, enc, new, logged, have, rows


def test_real_orders_through_the_closed_loop_give_the_training_contexts():
    """AAPL, 09:31–: the session's real orders submitted one by one through ``rollout`` by a proposer
    that keeps TradeFMProposer's context and token code; the features of the simulator's own log
    (replayed, as in training) give the same context ids at every applied step, and the same
    tokens wherever the simulator applied the order as submitted."""
    path = real_path(*AAPL)
    until = 1340285460 * 10**9  # 2012-06-21 09:31:00 New York
    prefix, orders = _prefix_and_orders(path, until, 1500)
    pre, = build_features(prefix, MIDDLE, books=BookSource(prefix))
    tok = _book_tokenizer([pre], price_reference="best")
    book = Simulator.from_events(prefix)
    prop = ReplayProposer(_tiny_model(tok), tok, orders, feature_config=MIDDLE)
    result, = tf.rollout(prop, prefix, len(orders["price"]), books=[book])
    assert result.contexts.shape == (1500, 5)
    sf, seq, enc, new, logged, have, rows = _compare_step_contexts(result, prop.steps, book, tok, len(prefix),
                                                                   int(prop._tick[0]))
    assert len(logged) > 1400 and have.all()
    # not vacuous: the AAPL book goes through many spreads and imbalances in these 1,500 orders
    ctx = result.contexts[logged]
    assert len(np.unique(ctx[:, 3])) >= 6 and len(np.unique(ctx[:, 4])) >= 7 and len(np.unique(ctx[:, 1])) >= 2
    # tokens: where the step's one modeled event is the order as submitted (same price/size/side),
    # the proposer's encoding against the live book == the features' encoding (δp from the own best)
    k = logged[have]
    uniq, per_order = np.unique(seq[new], return_counts=True)
    same = ((sf.price[rows] == orders["price"][k]) & (sf.size[rows] == orders["size"][k])
            & (per_order[np.searchsorted(uniq, seq[rows])] == 1))
    same[1:] &= np.diff(k) == 1  # after a void step the log's Δt spans two proposer steps
    assert same.mean() > 0.8
    np.testing.assert_array_equal(result.tokens[k[same]], enc["input_ids"][rows[same]])


@pytest.mark.parametrize("price_reference", ["best", "vwap"])
def test_a_models_own_rollouts_give_the_training_contexts(price_reference):
    """A tiny random book-aware model's closed loop (its orders placed from the book under ``best``):
    the contexts it conditions on equal the training features of each rollout's simulator log."""
    path = real_path(*AAPL)
    prefix, _ = _prefix_and_orders(path, 1340285460 * 10**9, 0)
    pre, = build_features(prefix, MIDDLE, books=BookSource(prefix))
    tok = _book_tokenizer([pre], price_reference=price_reference)
    base = Simulator.from_events(prefix)
    books = [base.copy() for _ in range(2)]
    steps = [_Steps() for _ in books]

    class Recording(TradeFMProposer):
        def start(self, prefix, books, seed, rollout_ids=None):
            super().start(prefix, books, seed, rollout_ids)
            for s, b in zip(steps, books, strict=True):
                s._n = b.log_len()

        def observe(self, applied, books):
            super().observe(applied, books)
            for s, b in zip(steps, books, strict=True):
                s.record([b])

    prop = Recording(_tiny_model(tok, seed=3), tok, feature_config=MIDDLE, tier=1)
    results = tf.rollout(prop, prefix, 150, num_rollouts=2, seed=0, books=books)
    for res, st, b in zip(results, steps, books, strict=True):
        *_, logged, have, _ = _compare_step_contexts(res, st, b, tok, len(prefix), int(prop._tick[0]))
        assert len(logged) > 50 and have.all()


# ---------------------------------------------------------------------------------------------
# checkpoints: paper mode unchanged, book-aware through save / load / remote code / rollout
# ---------------------------------------------------------------------------------------------
def _es_prefix():
    ev = read_events(real_path(*ES), progress=False)
    live = np.flatnonzero((ev.flags & 32) == 0)
    last = np.flatnonzero((ev.flags[: int(live[0]) + 2000] & F_LAST) != 0)
    return ev[: int(last[-1]) + 1]


def test_paper_mode_checkpoint_keeps_the_paper_layout_and_rolls_out_after_loading(tmp_path):
    prefix = _es_prefix()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tok = TradeFMTokenizer().calibrate(build_features(prefix))
    state = tok.to_dict()
    assert state["format_version"] == 2 and not {"book_fields", "price_reference", "spread_bounds"} & set(state)
    config = TradeFMConfig.from_preset("tiny", num_hidden_layers=1, max_position_embeddings=64,
                                       tokenizer_config=state)
    assert config.field_vocab_sizes == [16384, 3, 32, 2] and config.default_context_ids == [1, 16, 0]
    assert config.context_fields is None and not config.book_context
    torch.manual_seed(0)
    model = TradeFMForCausalLM(config).eval()
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["field_vocab_sizes"] == [16384, 3, 32, 2] and saved["tokenizer_config"] == state
    a = tf.rollout(TradeFMProposer(model, tok, tier=1), prefix, 40, num_rollouts=2, seed=5)
    b = tf.rollout(TradeFMProposer.from_pretrained(tmp_path, tier=1), prefix, 40, num_rollouts=2, seed=5)
    for x, y in zip(a, b, strict=True):
        assert x.contexts.shape == (40, 3)
        np.testing.assert_array_equal(x.tokens, y.tokens)
        np.testing.assert_array_equal(x.contexts, y.contexts)
        assert x.events.equals(y.events)


_REMOTE = textwrap.dedent(
    """
    import json, sys
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    ckpt, inputs, out = sys.argv[1], sys.argv[2], sys.argv[3]
    data = torch.load(inputs)
    config = AutoConfig.from_pretrained(ckpt, trust_remote_code=True)
    lm = AutoModelForCausalLM.from_pretrained(ckpt, trust_remote_code=True).eval()
    with torch.no_grad():
        logits = lm(data["ids"], data["ctx"]).logits
    torch.save({"logits": logits}, out)
    mods = [m for m in sys.modules if m == "modeling_tradefm" or m.startswith("modeling_tradefm.")]
    print("RESULT " + json.dumps({"context_fields": config.context_fields, "book": config.book_context,
                                  "sizes": config.field_vocab_sizes, "module": type(lm).__module__, "pkg": mods}))
    """
)


def test_book_aware_checkpoint_saves_loads_with_remote_code_and_rolls_out(tmp_path):
    prefix = _es_prefix()
    tok = _book_tokenizer(build_features(prefix, books=BookSource(prefix)), price_reference="best")
    config = TradeFMConfig.from_preset("tiny", num_hidden_layers=1, max_position_embeddings=64,
                                       context_fields=list(BOOK_AWARE_CONTEXT_FIELDS), tokenizer_config=tok.to_dict())
    tok.check_compatible(config)
    assert config.field_vocab_sizes == tok.field_vocab_sizes == [16384, 3, 32, 2, 13, 9] and config.book_context
    torch.manual_seed(0)
    model = TradeFMForCausalLM(config).eval()
    ckpt = tmp_path / "ckpt"
    model.save_pretrained(ckpt)
    # remote code in a process that cannot import the package
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 16384, (2, 7), generator=g)
    ctx = torch.stack([torch.randint(0, n, (2, 7), generator=g) for n in config.field_vocab_sizes[1:]], dim=-1)
    torch.save({"ids": ids, "ctx": ctx}, tmp_path / "in.pt")
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), TRANSFORMERS_VERBOSITY="error")
    proc = subprocess.run([sys.executable, "-c", _REMOTE, str(ckpt), str(tmp_path / "in.pt"), str(work / "out.pt")],
                          cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.split("RESULT ", 1)[1])
    assert res["context_fields"] == list(BOOK_AWARE_CONTEXT_FIELDS) and res["book"] is True and res["pkg"] == []
    assert res["sizes"] == [16384, 3, 32, 2, 13, 9] and res["module"].startswith("transformers_modules.")
    with torch.no_grad():
        torch.testing.assert_close(torch.load(work / "out.pt")["logits"], model(ids, ctx).logits, rtol=0, atol=0)
    # the package's loader: the same rollouts as the in-memory model, five context columns
    a = tf.rollout(TradeFMProposer(model, tok, tier=1), prefix, 40, num_rollouts=2, seed=2)
    b = tf.rollout(TradeFMProposer.from_pretrained(ckpt, tier=1), prefix, 40, num_rollouts=2, seed=2)
    for x, y in zip(a, b, strict=True):
        assert x.contexts.shape == (40, 5) and len(x.events)
        np.testing.assert_array_equal(x.tokens, y.tokens)
        np.testing.assert_array_equal(x.contexts, y.contexts)
    # a paper model refuses a book tokenizer, and the other way round
    with pytest.raises(ValueError, match="field_vocab_sizes"):
        tok.check_compatible(TradeFMConfig.from_preset("tiny"))


def test_the_builder_windows_carry_the_book_columns_of_the_features(tmp_path):
    """calibrate_tokenizer + TradeFMMBO with a book tokenizer: the AMZN level-1 file's sibling
    orderbook is read for calibration and windows, and each window's context rows are the encoded
    features' (orderbook book), five columns."""
    from modeling_tradefm.data import calibrate_tokenizer, load_tradefm_mbo

    path = str(real_path(*AMZN))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tok = calibrate_tokenizer([path], tokenizer_kwargs={"book_fields": list(BOOK), "price_reference": "best"},
                                  progress=False)
    assert tok.needs_book and tok.calibration["events"] > 50_000
    ds = load_tradefm_mbo({"train": [path]}, cache_dir=str(tmp_path), split="train", tokenizer_config=tok.to_dict(),
                          context_length=256)
    sf, = file_session_features(path, FeatureConfig(), book=True)
    assert sf.book_source == SOURCE_ORDERBOOK
    enc = tok.encode(sf)
    for i in (0, len(ds) // 2, len(ds) - 1):
        row = ds[i]
        s, m = row["window_start"], row["n_tokens"]
        ctx = np.asarray(row["context_ids"])
        assert ctx.shape == (256, 5)
        np.testing.assert_array_equal(ctx[:m], enc["context_ids"][s:s + m])
        np.testing.assert_array_equal(np.asarray(row["input_ids"])[:m], enc["input_ids"][s:s + m])
    # the book columns vary (AMZN's spread is 1 to 37+ ticks)
    assert len(np.unique(enc["context_ids"][:, 3])) >= 8


def test_training_builds_a_book_aware_model_from_a_preset_for_a_book_tokenizer(aapl_slice):
    """``tradefm train --tokenizer_options '{"book_fields": ...}'``: the paper-layout preset takes the
    tokenizer's tables (and the checkpoint records them); a paper tokenizer keeps the paper's."""
    from modeling_tradefm.training import DataTrainingArguments, ModelArguments, build_model

    tok = aapl_slice[2]
    model = build_model(ModelArguments(model_size="tiny"), DataTrainingArguments(context_length=64), tok)
    c = model.config
    assert c.context_fields == list(BOOK_AWARE_CONTEXT_FIELDS) and c.field_vocab_sizes == [16384, 3, 32, 2, 13, 9]
    assert [t.num_embeddings for t in model.model.embed_tokens.tables] == c.field_vocab_sizes
    assert c.tokenizer_config["price_reference"] == "best" and c.default_context_ids == [1, 16, 0, 6, 4]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paper = TradeFMTokenizer().calibrate(aapl_slice[1])
    c = build_model(ModelArguments(model_size="tiny"), DataTrainingArguments(context_length=64), paper).config
    assert c.context_fields is None and c.field_vocab_sizes == [16384, 3, 32, 2]
