# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Known answers for the TradeFM side of the closed loop: token → order → book → context → token.

A stub model forces the token of every step, a tokenizer state whose in-bin tables are point masses
makes the decoded order exact, and a small simulated market has a hand-computed EW-VWAP mid. The
expected action, side, price, size, time, book change, context row and tokens are then worked out
by hand from the bins (below) and checked against what ``TradeFMProposer`` submits, what the
simulator logs, what the model is fed next, and what the features give the log back.

The tokenizer (16 δp, 16 volume, 16 Δt, 32 Δp bins; every value below is the bin's point mass):

* δp: edges ``(i − 6)/1000``, i = 0..14, so bin k (1..14) is ``[(k − 7)/1000, (k − 6)/1000)``, decoded
  at its centre ``(k − 6.5)/1000``; bin 0 decodes to −0.007 and bin 15 (≥ 0.008) to +0.009.
* volume: edges ``log1p(k + 1.5)``, so bin k (0..14) holds exactly size k + 1 (decoded to it), bin 15 → 20.
* Δt: bin 0 is Δt = 0; edges ``2^(i − 12)`` s (i = 1..14), so bin k (2..14) is ``[2^(k−13), 2^(k−12))``,
  decoded at ``1.5 · 2^(k − 13)`` s (bin 11: 0.375 s, bin 14: 3 s); bin 15 (≥ 4 s) → 6 s.
* Δp (context): edges ``(i − 15) · 0.0005``, i = 0..30: bin 14 is ``[−0.001, −0.0005)``, bin 15 ``[−0.0005, 0)``.

The market (tick $0.01, prices in $): bid 100.00 × 5, asks 100.20 × 3 and 100.30 × 5 at t = 0; a market
buy of 3 at t = 1 s (T 100.20 × 3); a marketable sell of 1 at 100.00 at t = 11 s (T 100.00 × 1); a bid
99.90 × 2 at t = 12 s and an ask 100.40 × 2 at t = 13 s. EW-VWAP (half-life 10 s) after t = 11 s:
``(0.5 · 3 · 100.20 + 1 · 100.00) / (0.5 · 3 + 1) = 250.3 / 2.5 = 100.12``; the book mid is 100.15 (a
different number, so a proposer pricing off the book mid is caught). The session's first modeled
event is the marketable sell (the first aggressor execution only starts the EW-VWAP), so
``p_open = 100.20`` and the prefix's Δp after each event is ``(100.12 − 100.20)/100.20 = −0.000798``
(bin 14). Volume 4 → tier 0 (the session's own volume is below the first ADV cut).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from oracles import EWVWAP

from modeling_tradefm.events import (
    ACTION_ADD,
    ACTION_CANCEL,
    ACTION_FILL,
    ACTION_TRADE,
    SIDE_ASK,
    SIDE_BID,
    EventTable,
)
from modeling_tradefm.features import build_features
from modeling_tradefm.generation_tradefm import InjectedOrder, rollout
from modeling_tradefm.proposer import MARKET_PRICE_BID
from modeling_tradefm.proposer_tradefm import TradeFMProposer
from modeling_tradefm.simulator import Simulator
from modeling_tradefm.tokenization_tradefm import TradeFMTokenizer

T0 = 1_704_205_800 * 10**9  # 2024-01-02 14:30:00 UTC
S = 10**9
CENT = 10_000_000  # $0.01 in 1e-9 units
TIER, P_OPEN, MID = 0, 100.20, 100.12


def dollars(cents: int) -> int:
    """A price of ``cents`` hundredths of a dollar in 1e-9 units."""
    return cents * CENT


def point_mass_tokenizer() -> TradeFMTokenizer:
    """A frozen tokenizer state whose in-bin decode tables are the point masses of the module docstring."""
    dp_edges = [(i - 6) / 1000 for i in range(15)]
    dp_values = [-0.007] + [(k - 6.5) / 1000 for k in range(1, 15)] + [0.009]
    dt_edges = [float(np.nextafter(0.0, 1.0))] + [2.0 ** (i - 12) for i in range(1, 15)]
    dt_values = [1.5 * 2.0 ** (k - 13) for k in range(1, 15)] + [6.0]
    sizes = list(range(1, 16)) + [20]
    state = {
        "tokenizer_class": "TradeFMTokenizer", "format_version": 2, "in_bin": "empirical",
        "fields": {
            "price_depth": {"kind": "quantile", "edges": dp_edges, "low": -0.01, "high": 0.01,
                            "quantiles": [[v, v] for v in dp_values]},
            "volume": {"kind": "log_equal_width", "edges": [float(np.log1p(k + 1.5)) for k in range(15)],
                       "low": float(np.log1p(1)), "high": float(np.log1p(20)),
                       "values": [[s] for s in sizes], "counts": [[10]] * 16, "n": [10] * 16},
            "dt": {"kind": "log_equal_width_dt", "edges": dt_edges, "low": 2.0 ** -12, "high": 8.0,
                   "quantiles": [[]] + [[v, v] for v in dt_values]},
            "price_level": {"kind": "quantile", "edges": [(i - 15) * 0.0005 for i in range(31)], "low": -0.01,
                            "high": 0.01},
        },
    }
    return TradeFMTokenizer.from_dict(state)


class ForcedTokenModel(torch.nn.Module):
    """A stand-in for ``TradeFMForCausalLM`` whose next token is scripted; it records every input it is fed.

    Call ``k`` (the prefill is call 0) returns logits that put all the mass on ``script[k]``.
    """

    def __init__(self, script, vocab_size: int = 16384, max_position_embeddings: int = 64):
        super().__init__()
        self.config = SimpleNamespace(vocab_size=vocab_size, max_position_embeddings=max_position_embeddings)
        self._device_anchor = torch.nn.Parameter(torch.zeros(1))
        self.script = list(script)
        self.calls: list[tuple[np.ndarray, np.ndarray | None]] = []

    def forward(self, input_ids, context_ids=None, cache=None, use_cache=False, logits_to_keep=1):
        self.calls.append((input_ids.numpy().copy(), None if context_ids is None else context_ids.numpy().copy()))
        token = self.script[min(len(self.calls) - 1, len(self.script) - 1)]
        logits = torch.full((input_ids.shape[0], 1, self.config.vocab_size), float("-inf"))
        logits[:, :, token] = 0.0
        return SimpleNamespace(logits=logits, cache=None)


def market() -> tuple[EventTable, Simulator]:
    """The prefix of the module docstring (the simulator's own log) and a replay of it."""
    sim = Simulator(tick_size=CENT, instrument_id=7, symbol="TEST")
    for ts, side, price, size in ((0, SIDE_BID, dollars(10000), 5), (0, SIDE_ASK, dollars(10030), 5),
                                  (0, SIDE_ASK, dollars(10020), 3), (1, SIDE_BID, MARKET_PRICE_BID, 3),
                                  (11, SIDE_ASK, dollars(10000), 1), (12, SIDE_BID, dollars(9990), 2),
                                  (13, SIDE_ASK, dollars(10040), 2)):
        assert sim.submit(T0 + ts * S, ACTION_ADD, side, price, size).void_reason is None
    prefix = sim.log()
    return prefix, Simulator.from_events(prefix, tick_size=CENT)


@pytest.fixture
def known_market():
    return point_mass_tokenizer(), *market()


def test_the_hand_made_market_and_tokenizer_are_what_the_docstring_says(known_market):
    """The inputs the known answers below are computed from (if these move, the answers must be redone)."""
    tok, prefix, book = known_market
    assert book.vwap_mid() == pytest.approx(MID * 1e9, abs=1e-3) and book.mid() == dollars(10015)
    bids, asks = book.depth(5)
    assert bids.tolist() == [[dollars(10000), 4], [dollars(9990), 2]]
    assert asks.tolist() == [[dollars(10030), 5], [dollars(10040), 2]]
    (sess,) = build_features(prefix)
    assert sess.p_open == pytest.approx(P_OPEN) and (sess.tier == TIER).all()
    assert tok.compose(0, 1, 7, 7, 11) == 6011  # the paper's worked example (App. A.4)
    dec = tok.decode(np.array([6011]), np.random.default_rng(0))
    assert (dec["action"][0], dec["side"][0], dec["price_depth"][0], dec["size"][0], dec["dt"][0]) == (
        0, 1, 0.0005, 8, 0.375)


def test_forced_tokens_become_the_hand_computed_orders_book_and_contexts(known_market):
    """Three steps: a passive sell add (6011), a marketable buy, a cancel; every field by hand."""
    tok, prefix, book = known_market
    # step 2: buy add, δp bin 15 (+0.009), volume bin 9 (size 10), Δt bin 0; step 3: cancel ask,
    # δp bin 9 (+0.0025), volume bin 0 (size 1), Δt bin 14 (3 s)
    step2, step3 = int(tok.compose(0, 0, 15, 9, 0)), int(tok.compose(1, 1, 9, 0, 14))
    assert (step2, step3) == (3984, 14606)
    model = ForcedTokenModel([6011, step2, step3])
    proposer = TradeFMProposer(model, tok, use_cache=False, tick_size=CENT)
    (res,) = rollout(proposer, prefix, 3, seed=0, books=[book])
    assert res.void_counts == {}

    # step 1 at t = 13.375 s: a sell add at round(100.12 · 1.0005, 2) = round(100.17006) = 100.17, size 8; it
    # rests (best bid 100.00)
    t1 = T0 + 13 * S + 375_000_000
    ev = res.events
    first = ev[ev.sequence == ev.sequence[0]]
    assert (first.ts_recv.tolist(), first.action.tolist(), first.side.tolist(), first.price.tolist(),
            first.size.tolist()) == ([t1], [ACTION_ADD], [SIDE_ASK], [dollars(10017)], [8])

    # step 2 at the same time: a buy at round(100.12 · 1.009, 2) = round(101.02108) = 101.02 for 10 walks the
    # asks: 8 at 100.17 (the order of step 1), then 2 at 100.30 — one T per level, nothing rests
    second = ev[ev.sequence == np.unique(ev.sequence)[1]]
    trades = second[second.action == ACTION_TRADE]
    assert (trades.side.tolist(), trades.price.tolist(), trades.size.tolist()) == (
        [SIDE_BID, SIDE_BID], [dollars(10017), dollars(10030)], [8, 2])
    assert (second.ts_recv == t1).all() and not (second.action == ACTION_ADD).any()
    assert second[second.action == ACTION_FILL].size.sum() == 10
    # the EW-VWAP after it: 100.12 decayed over 2.375 s, plus the two executions
    ref = EWVWAP(10.0)
    for ts, price, size in ((T0 + S, 100.20, 3), (T0 + 11 * S, 100.00, 1), (t1, 100.17, 8), (t1, 100.30, 2)):
        mid2 = ref.update(ts, price, size)
    w = 0.5 ** (2.375 / 10)
    assert mid2 == pytest.approx((w * 250.3 + 8 * 100.17 + 2 * 100.30) / (w * 2.5 + 10), rel=1e-12)
    assert 100.18 < mid2 < 100.19

    # step 3 at t = 16.375 s: a cancel of 1 at round(mid2 · 1.0025, 2) = 100.43 on the ask side; the level
    # nearest to it holding volume is 100.40: one share of that order goes
    third = ev[ev.sequence == np.unique(ev.sequence)[2]]
    cancel_price = round(mid2 * 1.0025, 2)
    assert cancel_price == 100.43
    assert (third.ts_recv.tolist(), third.action.tolist(), third.side.tolist(), third.price.tolist(),
            third.size.tolist()) == ([t1 + 3 * S], [ACTION_CANCEL], [SIDE_ASK], [dollars(10040)], [1])
    assert book.depth(5)[1].tolist() == [[dollars(10030), 3], [dollars(10040), 1]]
    assert book.vwap_mid() == pytest.approx(mid2 * 1e9, rel=1e-12)

    # the positions the model was given: the forced tokens (each applied unchanged) with the market right
    # AFTER each order: Δp = (100.12 − 100.20)/100.20 → bin 14, then (mid2 − 100.20)/100.20 → bin 15 twice
    assert (mid2 - P_OPEN) / P_OPEN == pytest.approx(-0.00018, abs=0.00002)
    assert res.tokens.tolist() == [6011, step2, step3]
    assert res.contexts.tolist() == [[TIER, 14, 0], [TIER, 15, 0], [TIER, 15, 0]]
    # and that is what the model read: each step's window ends with the previous step's token and context
    assert len(model.calls) == 3
    prefix_ids, prefix_ctx = model.calls[0]
    for k, (ids, ctx) in enumerate(model.calls[1:]):
        assert ids.shape[1] == prefix_ids.shape[1] + k + 1
        assert ids[0, -1] == res.tokens[k] and ctx[0, -1].tolist() == res.contexts[k].tolist()
        np.testing.assert_array_equal(ids[0, :-1 - k], prefix_ids[0])

    # the prefix as the model saw it: its last two modeled events by hand — the bid 99.90 × 2 one second
    # after the previous event (δp = −0.0022 → bin 4, size 2 → bin 1, Δt = 1 s → bin 13) and the ask
    # 100.40 × 2 (δp = +0.0028 → bin 9); context (tier 0, Δp bin 14, participant 0)
    assert prefix_ids[0, -2:].tolist() == [int(tok.compose(0, 0, 4, 1, 13)), int(tok.compose(0, 1, 9, 1, 13))]
    assert (prefix_ctx[0] == [TIER, 14, 0]).all()

    # re-encoding: the features of prefix + rollout log give the passive add and the cancel their tokens
    # back; a marketable add is priced at its last fill (100.30: δp = 0.0018 → bin 8) in the features
    (sess,) = build_features(EventTable.concat([prefix, ev]))
    enc = tok.encode(sess)
    assert enc["input_ids"][-3:].tolist() == [6011, int(tok.compose(0, 0, 8, 9, 0)), step3]
    assert enc["context_ids"][-3:].tolist() == res.contexts.tolist()


def test_an_injected_order_is_encoded_from_the_pre_order_mid(known_market):
    """The injected order replaces the forced proposal; its token is re-encoded by hand."""
    tok, prefix, book = known_market
    proposer = TradeFMProposer(ForcedTokenModel([6011]), tok, use_cache=False, tick_size=CENT)
    # due at once (its time is the prefix's last), a limit sell 3 at 100.25: it rests
    order = InjectedOrder(int(prefix.ts_recv[-1]), "sell", 3, price=dollars(10025))
    (res,) = rollout(proposer, prefix, 2, seed=0, books=[book], inject=[order])
    ours = res.events[res.events.participant == 1]
    assert (ours.ts_recv.tolist(), ours.action.tolist(), ours.side.tolist(), ours.price.tolist()) == (
        [T0 + 13 * S], [ACTION_ADD], [SIDE_ASK], [dollars(10025)])
    # δp = (100.25 − 100.12)/100.12 = +0.0013 → bin 8; size 3 → bin 2; Δt = 0 → bin 0; a sell add
    assert res.tokens[0] == tok.compose(0, 1, 8, 2, 0) == 6176
    assert res.contexts[0].tolist() == [TIER, 14, 1]
    # the next (forced) step is the model's again: 6011 priced off the same mid, now the best ask
    assert res.tokens[1] == 6011 and res.contexts[1].tolist() == [TIER, 14, 0]
    assert book.depth(1)[1].tolist() == [[dollars(10017), 8]]
