# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Rollouts: sampling utilities, the closed-loop driver, and TradeFM rollouts on a tiny model.

The sampling and driver tests run on synthetic logits and a small fake book so that they pin the
driver's own behaviour; the TradeFM tests use a tiny randomly initialised model with a tokenizer
calibrated on a real slice, and the real simulator.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from modeling_tradefm.errors import DataError
from modeling_tradefm.events import (
    ACTION_ADD,
    ACTION_CANCEL,
    ACTION_FILL,
    ACTION_TRADE,
    SIDE_ASK,
    SIDE_BID,
    EventTable,
)
from modeling_tradefm.generation_tradefm import InjectedOrder, InjectionSchedule, rollout
from modeling_tradefm.proposer import MARKET_PRICE_BID, OrderBatch, OrderProposer
from modeling_tradefm.proposer_tradefm import price_from_depth
from modeling_tradefm.sampling import (
    SamplingConfig,
    penalised_window,
    process_logits,
    rollout_generators,
    sample_tokens,
)

# ---------------------------------------------------------------------------------------------
# sampling utilities
# ---------------------------------------------------------------------------------------------

NO_PENALTY = SamplingConfig(repetition_penalty=1.0)


def _penalty_reference(logits, seen, penalty):
    """transformers' documented repetition penalty, written out: x / penalty if x > 0 else x * penalty."""
    score = torch.gather(logits, 1, seen)
    score = torch.where(score < 0, score * penalty, score / penalty)
    return logits.scatter(1, seen, score)


def _nucleus_reference(logits, top_p):
    """Nucleus mask from the top of the distribution in float64: keep tokens until their mass reaches top_p."""
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits.double(), dim=-1)
    before = torch.cumsum(probs, dim=-1) - probs
    drop_sorted = before >= top_p
    drop_sorted[..., 0] = False
    return ~torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)


def test_repetition_penalty_matches_transformers():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 50, generator=g)
    seen = torch.randint(0, 50, (3, 20), generator=g)
    ours = process_logits(logits, seen, SamplingConfig(repetition_penalty=1.2))
    ref = _penalty_reference(logits, seen, 1.2)
    torch.testing.assert_close(ours, ref, rtol=0, atol=0)
    # unseen tokens untouched, seen ones pushed towards lower probability
    mask = torch.zeros_like(logits, dtype=torch.bool).scatter(1, seen, True)
    assert torch.equal(ours[~mask], logits[~mask])
    assert (ours[mask] < logits[mask]).all()
    # the penalised window: the model's whole window, or its last repetition_window positions
    assert torch.equal(penalised_window(seen, SamplingConfig()), seen)
    assert torch.equal(penalised_window(seen, SamplingConfig(repetition_window=5)), seen[:, -5:])


def test_top_k_and_top_p_match_transformers():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(4, 100, generator=g) * 3
    ids = torch.zeros(4, 1, dtype=torch.long)
    kth = torch.topk(logits, 7, dim=-1).values[..., -1:]
    assert torch.equal(process_logits(logits, ids, NO_PENALTY.replace(top_k=7)),
                       logits.masked_fill(logits < kth, float("-inf")))
    for p in (0.3, 0.9):
        ours = torch.isfinite(process_logits(logits, ids, NO_PENALTY.replace(top_p=p)))
        assert torch.equal(ours, _nucleus_reference(logits, p)), p
        probs = torch.softmax(logits, -1)
        assert ((probs * ours).sum(-1) >= p - 1e-6).all()


def test_processing_is_what_generate_builds_from_the_same_generation_config():
    """Our processors equal those transformers' ``generate`` builds from ``to_generation_config()``."""
    cfg = SamplingConfig(temperature=0.7, top_k=20, top_p=0.8, repetition_penalty=1.3)
    g = torch.Generator().manual_seed(5)
    logits = torch.randn(3, 64, generator=g) * 2
    seen = torch.randint(0, 64, (3, 30), generator=g)
    ref = tiny_model()._get_logits_processor(cfg.to_generation_config(), input_ids_seq_length=30, device="cpu")
    assert [type(p).__name__ for p in ref] == [type(p).__name__ for p in cfg.logits_processor()] == [
        "RepetitionPenaltyLogitsProcessor", "TemperatureLogitsWarper", "TopKLogitsWarper", "TopPLogitsWarper"]
    torch.testing.assert_close(process_logits(logits, seen, cfg), ref(seen, logits.clone()), rtol=0, atol=0)


def test_sampling_config_round_trips_through_generation_config(tmp_path):
    from transformers import GenerationConfig

    cfg = SamplingConfig(temperature=0.7, top_k=20, top_p=0.9, repetition_penalty=1.3, repetition_window=64)
    cfg.to_generation_config().save_pretrained(tmp_path)
    loaded = GenerationConfig.from_pretrained(tmp_path)
    assert (loaded.do_sample, loaded.temperature, loaded.top_k, loaded.top_p, loaded.repetition_penalty) == (
        True, 0.7, 20, 0.9, 1.3)
    assert SamplingConfig.from_generation_config(loaded) == cfg
    # greedy is do_sample=False (transformers' spelling), not temperature 0
    greedy = SamplingConfig(temperature=0).to_generation_config()
    assert greedy.do_sample is False and greedy.temperature is None
    assert SamplingConfig.from_generation_config(greedy) == SamplingConfig(temperature=0)
    # unset fields take the package defaults (sampling, penalty 1.2)
    assert SamplingConfig.from_generation_config(GenerationConfig()) == SamplingConfig()
    assert SamplingConfig.from_generation_config(GenerationConfig(top_k=5)) == SamplingConfig(top_k=5)
    # a flag we do not implement is refused, not silently dropped
    with pytest.raises(ValueError, match="min_p"):
        SamplingConfig.from_generation_config(GenerationConfig(do_sample=True, min_p=0.1))
    with pytest.raises(ValueError, match="num_beams"):
        SamplingConfig.from_generation_config(GenerationConfig(num_beams=4))


def test_sampling_defaults_are_written_once():
    """The CLI, the demo and the proposer take their sampling defaults from ``SamplingConfig``."""
    from modeling_tradefm.cli import build_parser
    from modeling_tradefm.demo import DemoConfig

    default = SamplingConfig()
    assert (default.temperature, default.top_k, default.top_p, default.repetition_penalty) == (1.0, 0, 1.0, 1.2)
    args = build_parser().parse_args(["generate", "--model", "m", "--data", "f", "--start", "10:00", "-o", "o"])
    assert (args.temperature, args.top_k, args.top_p, args.repetition_penalty) == (
        default.temperature, default.top_k, default.top_p, default.repetition_penalty)
    demo = DemoConfig()
    assert (demo.temperature, demo.top_p, demo.repetition_penalty) == (
        default.temperature, default.top_p, default.repetition_penalty)
    assert tiny_proposer().sampling == default
    assert tiny_proposer(top_k=5, repetition_window=None).sampling == SamplingConfig(top_k=5)
    base = SamplingConfig(temperature=0.5)
    assert tiny_proposer(sampling=base, top_p=0.9).sampling == SamplingConfig(temperature=0.5, top_p=0.9)


def test_top_p_keeps_the_argmax_even_when_it_alone_exceeds_p():
    logits = torch.tensor([[10.0, 0.0, 0.0, 0.0]])
    kept = torch.isfinite(process_logits(logits, torch.zeros(1, 1, dtype=torch.long), NO_PENALTY.replace(top_p=0.1)))
    assert kept.tolist() == [[True, False, False, False]]


def test_sample_tokens_follows_the_distribution():
    probs = torch.tensor([0.1, 0.0, 0.6, 0.3], dtype=torch.float64)
    logits = probs.log().float().expand(1, -1)
    (g,), _ = rollout_generators(7, [0])
    draws = torch.stack([sample_tokens(logits, [g]) for _ in range(4000)]).flatten()
    freq = torch.bincount(draws, minlength=4).double() / len(draws)
    assert freq[1] == 0  # zero-probability token never drawn
    assert torch.allclose(freq, probs, atol=0.03)


def test_sample_tokens_is_row_independent():
    """A row's draw depends on its logits and its generator only, not on its batch mates."""
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(5, 300, generator=g)
    gens, _ = rollout_generators(11, range(5))
    batch = sample_tokens(logits, gens)
    singles = []
    for i in range(5):
        (gi,), _ = rollout_generators(11, [i])
        singles.append(int(sample_tokens(logits[i:i + 1], [gi])))
    assert batch.tolist() == singles
    # and the streams differ between rollouts (else "independent" rollouts would be copies)
    draws = [torch.rand(8, generator=gg).tolist() for gg in rollout_generators(11, range(5))[0]]
    assert len({tuple(d) for d in draws}) == 5


def test_greedy_and_processing_order():
    logits = torch.tensor([[1.0, 3.0, 2.0], [0.5, -1.0, 0.4]])
    cfg = SamplingConfig(temperature=0, repetition_penalty=1.0)
    nothing_seen = torch.zeros(2, 0, dtype=torch.long)
    assert sample_tokens(process_logits(logits, nothing_seen, cfg), [], greedy=True).tolist() == [1, 0]
    # penalising token 1 of row 0 with a huge penalty makes token 2 the argmax
    cfg = SamplingConfig(temperature=0, repetition_penalty=10.0)
    seen = torch.tensor([[1], [2]])
    out = process_logits(logits, seen, cfg)
    assert torch.argmax(out, -1).tolist() == [2, 0]


def test_sampling_config_validation():
    with pytest.raises(ValueError):
        SamplingConfig(top_p=0)
    with pytest.raises(ValueError):
        SamplingConfig(temperature=-1)
    with pytest.raises(ValueError):
        SamplingConfig(repetition_penalty=0)


def test_price_from_depth_rounds_to_nearest_tick():
    mid = np.array([100.0e9, 100.0e9, 50.0e9])
    depth = np.array([0.00124, -0.00126, 0.0])
    tick = np.array([250_000_000, 250_000_000, 10_000_000])  # 0.25, 0.25, 0.01
    out = price_from_depth(mid, depth, tick)
    assert out.tolist() == [100_000_000_000, 99_750_000_000, 50_000_000_000]
    assert (out % tick == 0).all()


# ---------------------------------------------------------------------------------------------
# injection schedule
# ---------------------------------------------------------------------------------------------


def test_injection_schedule_one_per_step_in_time_order():
    orders = [InjectedOrder(300, "sell", 5, price=10), InjectedOrder(100, "buy", 1), InjectedOrder(100, "B", 2)]
    s = InjectionSchedule(orders, [0, 1])
    assert len(s) == 6
    assert s.pop_due(0, 99) is None
    first = s.pop_due(0, 500)
    second = s.pop_due(0, 500)
    assert (first.size, second.size) == (1, 2)  # equal times keep the user's order
    assert s.pop_due(0, 500).side == SIDE_ASK
    assert s.pop_due(0, 10_000) is None and s.pending(0) == 0 and s.pending(1) == 3
    per = InjectionSchedule({1: [InjectedOrder(5, "buy", 1)]}, [0, 1])
    assert per.pending(0) == 0 and per.pending(1) == 1


def test_injected_order_validation():
    with pytest.raises(ValueError):
        InjectedOrder(0, "x", 1)
    with pytest.raises(ValueError):
        InjectedOrder(0, "buy", 0)
    with pytest.raises(ValueError):
        InjectedOrder(0, "buy", 1, price=-5)
    assert InjectedOrder(0, "buy", 1).order_price == MARKET_PRICE_BID


# ---------------------------------------------------------------------------------------------
# the driver, on a fake book and a scripted proposer
# ---------------------------------------------------------------------------------------------


class _Result:
    def __init__(self, void_reason=None, last_price=None):
        self.void_reason = void_reason
        self.last_price = last_price


class FakeBook:
    """Just enough book for the driver: logs accepted orders, voids cancels on an empty side."""

    tick_size = 1

    def __init__(self):
        self.rows = []
        self.resting = {SIDE_BID: 0, SIDE_ASK: 0}

    def copy(self):
        b = FakeBook()
        b.rows = list(self.rows)
        b.resting = dict(self.resting)
        return b

    def submit(self, ts_ns, action, side, price, size, participant=0):
        if action == ACTION_CANCEL and self.resting[side] == 0:
            return _Result("cancel_empty_side")
        last = None
        if price == MARKET_PRICE_BID:
            last = 105
            self.rows.append((ts_ns, ACTION_TRADE, side, last, size, participant))
        else:
            self.resting[side] += 1 if action == ACTION_ADD else -1
        self.rows.append((ts_ns, action, side, price, size, participant))
        return _Result(None, last)

    def vwap_mid(self):
        return 100.0

    def log(self):
        if not self.rows:
            return EventTable.empty()
        cols = np.array(self.rows, dtype=np.int64).T
        return EventTable.from_columns(
            ts_recv=cols[0], action=cols[1], side=cols[2], price=cols[3], size=cols[4], participant=cols[5]
        )


class ScriptedProposer(OrderProposer):
    """Alternates add bid / cancel ask every 1 µs; records what it observed."""

    name = "scripted"

    def start(self, prefix, books, seed, rollout_ids=None):
        self.observed = []
        self.rollout_ids = rollout_ids

    def propose(self, books):
        n = len(books)
        k = len(self.observed)
        action = ACTION_ADD if k % 2 == 0 else ACTION_CANCEL
        side = SIDE_BID if k % 2 == 0 else SIDE_ASK
        return OrderBatch(np.full(n, 1000), np.full(n, action), np.full(n, side), np.full(n, 99), np.full(n, 3),
                          np.zeros(n))

    def observe(self, applied, books):
        self.observed.append(applied.copy())


def _prefix(ts=1_000_000):
    return EventTable.from_columns(ts_recv=[ts], action=[ACTION_ADD], side=[SIDE_BID], price=[99], size=[1])


def test_driver_counts_voids_and_injects_in_place_of_the_proposal():
    proposer = ScriptedProposer()
    prefix = _prefix()
    books = [FakeBook(), FakeBook()]
    inject = {1: [InjectedOrder(1_000_000 + 2500, "buy", 50)]}  # due at rollout 1's third step
    out = rollout(proposer, prefix, 6, num_rollouts=2, seed=0, inject=inject, books=books)
    r0, r1 = out
    # rollout 0: cancels on the ask side (never any ask) are void; adds are logged
    assert r0.void_counts == {"cancel_empty_side": 3}
    assert len(r0.events) == 3 and (r0.events.action == ACTION_ADD).all()
    assert np.array_equal(r0.events.ts_recv, 1_000_000 + np.array([1000, 3000, 5000]))
    assert r0.meta["injected"] == 0 and r0.meta["void"] == 3 and r0.meta["end_ts_ns"] == 1_000_000 + 6000
    # rollout 1: step 3 (clock 3000 ≥ 2500) is the injected market buy, stamped at its own time
    assert r1.meta["injected"] == 1
    inj = r1.events[r1.events.participant == 1]
    assert inj.action.tolist() == [ACTION_TRADE, ACTION_ADD]
    assert inj.ts_recv.tolist() == [1_002_500, 1_002_500]
    assert (r1.events.participant[r1.events.ts_recv != 1_002_500] == 0).all()
    # the proposer observed the fill price in place of the market sentinel, and participant 1
    step3 = proposer.observed[2]
    assert step3.participant.tolist() == [0, 1]
    assert step3.price.tolist() == [99, 105]
    assert step3.dt_ns.tolist() == [1000, 500]
    # later steps resume from the injected order's time
    assert r1.meta["end_ts_ns"] == 1_002_500 + 3 * 1000


def test_driver_injection_before_start_is_stamped_at_the_clock():
    out = rollout(ScriptedProposer(), _prefix(), 1, inject=[InjectedOrder(5, "buy", 2, price=101)], books=[FakeBook()])
    ev = out[0].events
    assert ev.ts_recv.tolist() == [1_000_000] and ev.price.tolist() == [101] and ev.participant.tolist() == [1]


def test_driver_hands_the_rollout_ids_to_the_proposer_and_rejects_bad_ones():
    proposer = ScriptedProposer()
    (res,) = rollout(proposer, _prefix(), 1, rollout_ids=[3], books=[FakeBook()])
    assert proposer.rollout_ids == [3] and res.meta["rollout_id"] == 3
    rollout(proposer, _prefix(), 1, num_rollouts=2, books=[FakeBook(), FakeBook()])
    assert proposer.rollout_ids == [0, 1]
    with pytest.raises(ValueError, match="rollout_ids"):
        rollout(ScriptedProposer(), _prefix(), 1, rollout_ids=[3, 3], books=[FakeBook(), FakeBook()])
    with pytest.raises(ValueError, match="rollout_ids"):
        rollout(ScriptedProposer(), _prefix(), 1, rollout_ids=[-1], books=[FakeBook()])
    with pytest.raises(ValueError):
        rollout(ScriptedProposer(), _prefix(), 1, num_rollouts=2, books=[FakeBook()])


# ---------------------------------------------------------------------------------------------
# CLI argument parsing
# ---------------------------------------------------------------------------------------------


def test_generate_cli_parses_times_and_injections():
    import argparse

    from modeling_tradefm.commands.generate import clock_to_ns, parse_clock, parse_injection

    assert parse_clock("9:30") == parse_clock("09:30:00")
    assert parse_clock("10:00:01.25").microsecond == 250_000
    for bad in ("25:00:00", "10-00", "10:61"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_clock(bad)
    # 2012-06-21 (EDT, UTC-4): 09:30 New York = 13:30 UTC; first occurrence at/after the first event
    first = 1340265600 * 10**9  # 2012-06-21 08:00:00 UTC = 04:00 New York
    t = clock_to_ns(parse_clock("09:30:00"), first, "America/New_York")
    assert t == first + (5 * 3600 + 30 * 60) * 10**9
    # a clock earlier in the day than the first event rolls to the next day (CME evening sessions)
    t = clock_to_ns(parse_clock("03:00:00"), first, "America/New_York")
    assert t == first + 23 * 3600 * 10**9
    assert clock_to_ns(parse_clock("08:00:00"), first, "UTC") == first
    clock, side, size, price = parse_injection("10:00:00,buy,500")
    assert (side, size, price) == ("buy", 500, None)
    assert parse_injection("10:00:00,sell,5,101.25")[3] == 101.25
    for bad in ("10:00:00,buy", "10:00:00,up,5", "10:00:00,buy,-1", "10:00:00,buy,1,0"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_injection(bad)


def test_generate_cli_is_registered():
    from modeling_tradefm.cli import build_parser

    args = build_parser().parse_args(
        ["generate", "--model", "m", "--data", "f.csv", "--start", "10:00:00", "--events", "5", "--rollouts", "3",
         "--seed", "4", "-o", "out", "--format", "lobster", "--inject", "10:00:05,buy,100"]
    )
    assert (args.events, args.rollouts, args.seed, args.format, args.repetition_penalty) == (5, 3, 4, "lobster", 1.2)
    assert args.inject[0][1:] == ("buy", 100, None)


# ---------------------------------------------------------------------------------------------
# TradeFM rollouts: tiny random model, tokenizer calibrated on a real ES slice, real simulator
# ---------------------------------------------------------------------------------------------

ES_DAY = ("databento", "glbx-esh4", "esh4-glbx-mdp3-20231225.mbo.csv.zst")
_SETUP: dict = {}


def es_events():
    """The ES day (snapshot + 2 h of live MBO), read once per test process."""
    from conftest import real_path

    if "events" not in _SETUP:
        from modeling_tradefm.io import read_events

        _SETUP["events"] = read_events(real_path(*ES_DAY))
    return _SETUP["events"]


def es_prefix(n_live: int = 3000) -> EventTable:
    """The snapshot plus the first ``n_live`` live records, cut at an F_LAST boundary."""
    from modeling_tradefm.events import F_LAST, F_SNAPSHOT

    ev = es_events()
    live = np.flatnonzero((ev.flags & F_SNAPSHOT) == 0)
    end = int(live[0]) + n_live
    last = np.flatnonzero((ev.flags[:end] & F_LAST) != 0)
    return ev[: int(last[-1]) + 1]


def tiny_tokenizer():
    if "tokenizer" not in _SETUP:
        from modeling_tradefm.features import build_features
        from modeling_tradefm.tokenization_tradefm import TradeFMTokenizer

        feats = build_features(es_events()[:40_000])
        _SETUP["tokenizer"] = TradeFMTokenizer().calibrate(feats, calib_days=1)
    return _SETUP["tokenizer"]


def tiny_model(max_position_embeddings: int = 128, seed: int = 0):
    from modeling_tradefm.configuration_tradefm import TradeFMConfig
    from modeling_tradefm.modeling_tradefm import TradeFMForCausalLM

    key = ("model", max_position_embeddings, seed)
    if key not in _SETUP:
        torch.manual_seed(seed)
        config = TradeFMConfig.from_preset("tiny", max_position_embeddings=max_position_embeddings)
        _SETUP[key] = TradeFMForCausalLM(config).eval()
    return _SETUP[key]


def tiny_proposer(max_position_embeddings: int = 128, **kwargs):
    from modeling_tradefm.proposer_tradefm import TradeFMProposer

    return TradeFMProposer(tiny_model(max_position_embeddings), tiny_tokenizer(), **kwargs)


def _same(a, b) -> None:
    assert a.events.equals(b.events)
    assert a.void_counts == b.void_counts
    assert np.array_equal(a.tokens, b.tokens)
    assert np.array_equal(a.contexts, b.contexts)


@pytest.fixture(scope="module")
def prefix():
    return es_prefix()


def test_closed_loop_rollout_is_well_formed(prefix):
    from modeling_tradefm.events import F_SNAPSHOT

    n = 40
    proposer = tiny_proposer()
    (res,) = rollout(proposer, prefix, n, num_rollouts=1, seed=5)
    ev = res.events
    assert res.tokens.shape == (n,) and res.contexts.shape == (n, 3)
    assert ((res.tokens >= 0) & (res.tokens < 16384)).all()
    # every step is either one submit in the log (its rows share one new sequence number) or a
    # counted void
    assert len(np.unique(ev.sequence)) + sum(res.void_counts.values()) == n
    assert (ev.sequence > prefix.sequence.max()).all()
    # generated prices sit on the 0.25 tick grid, time never goes backwards, nothing is a snapshot
    priced = np.isin(ev.action, [ACTION_ADD, ACTION_CANCEL, ACTION_TRADE, ACTION_FILL])
    assert (ev.price[priced] % 250_000_000 == 0).all()
    assert (np.diff(ev.ts_recv) >= 0).all() and ev.ts_recv[0] >= prefix.ts_recv[-1]
    assert ((ev.flags & F_SNAPSHOT) == 0).all() and (ev.participant == 0).all()
    # context: the session's tier, no participant, Δp bins in range
    assert (res.contexts[:, 0] == proposer.tier).all() and (res.contexts[:, 2] == 0).all()
    assert ((res.contexts[:, 1] >= 0) & (res.contexts[:, 1] < 32)).all()
    assert res.meta["end_ts_ns"] >= res.meta["start_ts_ns"]


def test_cached_rollout_equals_uncached(prefix):
    cached = rollout(tiny_proposer(), prefix, 20, num_rollouts=2, seed=1)
    uncached = rollout(tiny_proposer(use_cache=False), prefix, 20, num_rollouts=2, seed=1)
    for a, b in zip(cached, uncached, strict=True):
        _same(a, b)


def test_batch_of_n_equals_n_single_rollouts(prefix):
    batch = rollout(tiny_proposer(), prefix, 16, num_rollouts=3, seed=2)
    for i in range(3):
        (single,) = rollout(tiny_proposer(), prefix, 16, seed=2, rollout_ids=[i])
        _same(batch[i], single)
    # independent rollouts really differ
    assert not np.array_equal(batch[0].tokens, batch[1].tokens)


def test_same_seed_gives_byte_identical_output(prefix, tmp_path):
    from modeling_tradefm.io import write_mbo_csv

    paths = []
    for run in range(2):
        (res,) = rollout(tiny_proposer(), prefix, 16, seed=9)
        paths.append(tmp_path / f"run{run}.mbo.csv")
        write_mbo_csv(res.events, paths[-1])
    assert paths[0].read_bytes() == paths[1].read_bytes()
    (other,) = rollout(tiny_proposer(), prefix, 16, seed=10)
    assert not np.array_equal(other.tokens, res.tokens)


def test_sliding_window_past_max_position_embeddings(prefix):
    """A 16-position model runs 40 steps: the window slides, positions stay < 16, cached == uncached."""
    max_pos = 16
    seen_lengths = []

    def spy(proposer):
        inner = proposer._forward

        def forward(ids, ctx, cache, use_cache):
            past = 0 if cache is None else cache.get_seq_length()
            seen_lengths.append(past + ids.shape[1])
            return inner(ids, ctx, cache, use_cache)

        proposer._forward = forward
        return proposer

    cached_p = spy(tiny_proposer(max_pos))
    cached = rollout(cached_p, prefix, 40, num_rollouts=2, seed=3)
    assert max(seen_lengths) == max_pos  # the window is used in full...
    assert cached_p.n_prefills == 5  # ...and slides: the prefix keeps 8, then 4 cuts every 9 steps
    seen_lengths.clear()
    uncached_p = spy(tiny_proposer(max_pos, use_cache=False))
    uncached = rollout(uncached_p, prefix, 40, num_rollouts=2, seed=3)
    assert max(seen_lengths) == max_pos
    for a, b in zip(cached, uncached, strict=True):
        _same(a, b)
    with pytest.raises(ValueError):
        tiny_proposer(max_pos, max_context=32)


def _small_day(tmp_path, n_live: int = 1500):
    """A small MBO file: the ES snapshot + the first live records, and its 22:0x UTC start time."""
    from modeling_tradefm.io import write_mbo_csv

    path = tmp_path / "es_head.mbo.csv"
    write_mbo_csv(es_prefix(n_live), path)
    return path


def test_generate_cli_tradefm_checkpoint_mbo_and_lobster(tmp_path, prefix):
    import json

    from modeling_tradefm.cli import main
    from modeling_tradefm.io import read_events

    model = tiny_model(128)
    model.config.tokenizer_config = tiny_tokenizer().to_dict()
    ckpt = tmp_path / "ckpt"
    model.save_pretrained(ckpt)
    data = _small_day(tmp_path)
    ev = read_events(data)
    # start = the time of the 1,200th live record (UTC wall clock)
    import datetime as dt

    t_start = int(ev.ts_recv[-300])
    clock = dt.datetime.fromtimestamp(t_start / 1e9, tz=dt.UTC).strftime("%H:%M:%S.%f")
    out = tmp_path / "out"
    common = ["generate", "--model", str(ckpt), "--data", str(data), "--start", clock, "--events", "12",
              "--seed", "5", "--inject", f"{clock},buy,40"]
    assert main([*common, "--rollouts", "3", "--batch-size", "2", "-o", str(out)]) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["proposer"] == "tradefm" and meta["rollouts"] == 3 and len(meta["results"]) == 3
    assert meta["prefix_events"] == int((ev.ts_recv < meta["start_ts_ns"]).sum())
    first = read_events(out / "rollout_000.mbo.csv.zst")
    assert len(first) == meta["results"][0]["events"] and (first.ts_recv >= meta["prefix_last_ts_ns"]).all()
    # the injected order is in every rollout; batching (2 + 1) did not change rollout 2
    assert all(r["injected"] == 1 for r in meta["results"])
    out_b = tmp_path / "out_b"
    assert main([*common, "--rollouts", "3", "-o", str(out_b)]) == 0
    assert (out / "rollout_002.mbo.csv.zst").read_bytes() == (out_b / "rollout_002.mbo.csv.zst").read_bytes()
    # LOBSTER: message + 10-level orderbook per rollout; the book rows start from the prefix's book
    out_l = tmp_path / "out_l"
    assert main([*common, "--rollouts", "1", "-o", str(out_l), "--format", "lobster"]) == 0
    files = json.loads((out_l / "meta.json").read_text())["results"][0]["files"]
    msg = np.loadtxt(out_l / files[0], delimiter=",", ndmin=2)
    book = np.loadtxt(out_l / files[1], delimiter=",", ndmin=2, dtype=np.int64)
    assert msg.shape[1] == 6 and book.shape == (len(msg), 40)
    assert (book[:, 0] > book[:, 2]).all()  # best ask above best bid after every message
    assert (book[:, 1] > 0).all() and (book[:, 3] > 0).all()  # never an empty touch: seeded book


def test_generate_cli_accepts_a_baseline_folder(tmp_path, prefix):
    import json

    from modeling_tradefm.baselines.zero_intelligence import fit_zi
    from modeling_tradefm.cli import main

    data = _small_day(tmp_path)
    fit_zi(es_prefix(1500)).save_pretrained(tmp_path / "zi")
    out = tmp_path / "out"
    assert main(["generate", "--model", str(tmp_path / "zi"), "--data", str(data), "--start", "23:00:00.3",
                 "--events", "20", "--rollouts", "2", "--batch-size", "1", "-o", str(out)]) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["proposer"] != "tradefm" and [r["rollout"] for r in meta["results"]] == [0, 1]
    assert (out / "rollout_001.mbo.csv.zst").is_file() and meta["cancel_rule"] == "newest"
    # the cancel rule reaches the simulator: whole-order cancels give a different log
    out2 = tmp_path / "out2"
    assert main(["generate", "--model", str(tmp_path / "zi"), "--data", str(data), "--start", "23:00:00.3",
                 "--events", "20", "--rollouts", "2", "--cancel-rule", "size", "-o", str(out2)]) == 0
    assert json.loads((out2 / "meta.json").read_text())["cancel_rule"] == "size"
    a = (out / "rollout_000.mbo.csv.zst").read_bytes()
    assert a != (out2 / "rollout_000.mbo.csv.zst").read_bytes()


def test_vectorised_decode_equals_per_row_decode():
    """Decoding a batch with one generator per row draws exactly what per-row calls draw."""
    from modeling_tradefm.tokenization_tradefm import TradeFMTokenizer

    tok = tiny_tokenizer()
    # every volume and Δt bin (the ES calibration leaves some volume bins without sizes: uniform
    # fallback; the outlier bin lists only part of its mass: the remainder rule), both in-bin rules
    bins = np.arange(16)
    tokens = np.concatenate([[0, 6011, 16383, 8192, 4242, 6011], tok.compose(bins % 2, bins // 8, (5 * bins) % 16, bins, bins),
                             tok.compose(0, 1, 15 - bins, 15, bins)])
    uniform = TradeFMTokenizer.from_dict({**tok.to_dict(), "in_bin": "uniform"})
    assert tok.in_bin_tables == ("price_depth", "volume", "dt") and uniform.in_bin == "uniform"
    n = len(tokens)
    for t in (tok, uniform):
        _, a = rollout_generators(3, range(n))
        _, b = rollout_generators(3, range(n))
        vec = t.decode(tokens, a)
        for i in range(n):
            row = t.decode(tokens[i:i + 1], b[i])
            for k in vec:
                assert vec[k][i] == row[k][0], (t.in_bin, k, i)
        # and every stream was left where its one-row call left it
        assert [g.random() for g in a] == [g.random() for g in b]
    with pytest.raises(ValueError, match="generators"):
        tok.decode(tokens, rollout_generators(3, range(n - 1))[1])


def test_orders_priced_at_or_below_zero_are_void_not_market_sells(prefix):
    """δp = −1 puts the price at 0, the market-sell sentinel: it must be voided as bad_price instead."""
    proposer = tiny_proposer()
    decode = proposer._decode

    def at_zero(tokens):
        out = decode(tokens)
        out["price_depth"] = np.full(len(tokens), -1.0)
        out["action"][:] = 0  # adds, on both sides
        return out

    proposer._decode = at_zero
    (res,) = rollout(proposer, prefix, 6, seed=0)
    assert res.void_counts == {"bad_price": 6} and len(res.events) == 0


def test_pinned_tier_applies_to_the_prefix_context_too(prefix):
    # the ES prefix's own tier (session-volume fallback on 2 h of a holiday) is 0; a session never
    # changes tier, so a pinned tier must reach the prefix's context rows as well
    (res,) = rollout(tiny_proposer(), prefix, 3, num_rollouts=1, seed=0)
    assert (res.contexts[:, 0] == 0).all()
    proposer = tiny_proposer(tier=2)
    (res,) = rollout(proposer, prefix, 3, num_rollouts=1, seed=0)
    assert (res.contexts[:, 0] == 2).all()
    assert (proposer._win_ctx[..., 0] == 2).all()


def test_generate_cli_warns_when_rollouts_end_before_an_injection(tmp_path, prefix, capsys):
    import json

    from modeling_tradefm.baselines.zero_intelligence import fit_zi
    from modeling_tradefm.cli import main

    data = _small_day(tmp_path)
    fit_zi(es_prefix(1500)).save_pretrained(tmp_path / "zi")
    out = tmp_path / "out"
    capsys.readouterr()
    # the start is just before the file's last event (23:00:00.33 UTC; a later one is an error): 20 ZI events
    # span seconds, the 23:50 order is never due
    args = ["generate", "--model", str(tmp_path / "zi"), "--data", str(data), "--start", "23:00:00.3",
            "--events", "20", "--rollouts", "2", "-o", str(out)]
    assert main(args + ["--inject", "23:50:00,B,1"]) == 0
    assert [r["injected"] for r in json.loads((out / "meta.json").read_text())["results"]] == [0, 0]
    assert "2 rollout(s) ended before all 1 injection(s) were due" in capsys.readouterr().err
    # an order due at the start is injected everywhere: no warning
    assert main(args + ["--inject", "22:00:00,B,1"]) == 0
    assert [r["injected"] for r in json.loads((out / "meta.json").read_text())["results"]] == [1, 1]
    assert "ended before" not in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# the checkpoint's generation_config.json: rollouts, the CLI and model.generate() sample alike
# ---------------------------------------------------------------------------------------------


def _checkpoint(folder, generation_config=None):
    """The tiny model saved with its tokenizer; ``generation_config`` set on a copy of the model first."""
    import copy

    model = tiny_model(128)
    model.config.tokenizer_config = tiny_tokenizer().to_dict()
    if generation_config is not None:
        model = copy.deepcopy(model)
        model.generation_config = generation_config
    model.save_pretrained(folder)
    return folder


def _clock(data) -> str:
    """The UTC wall-clock time of the 300th record from the end of ``data`` (a ``--start``)."""
    import datetime as dt

    from modeling_tradefm.io import read_events

    t_start = int(read_events(data).ts_recv[-300])
    return dt.datetime.fromtimestamp(t_start / 1e9, tz=dt.UTC).strftime("%H:%M:%S.%f")


def _read_json(path):
    import json

    return json.loads(path.read_text())


def test_every_save_writes_the_rollout_sampling_settings(tmp_path):
    from transformers import GenerationConfig

    from modeling_tradefm.modeling_tradefm import TradeFMForCausalLM

    gc = _read_json(_checkpoint(tmp_path / "ckpt") / "generation_config.json")
    # transformers alone would write no decoding flag at all (greedy to generate)
    assert {k: gc[k] for k in ("do_sample", "temperature", "top_k", "top_p", "repetition_penalty")} == {
        "do_sample": True, "temperature": 1.0, "top_k": 0, "top_p": 1.0, "repetition_penalty": 1.2}
    assert gc["use_cache"] is True  # transformers' other fields are kept
    loaded = TradeFMForCausalLM.from_pretrained(tmp_path / "ckpt")
    assert SamplingConfig.from_generation_config(loaded.generation_config) == SamplingConfig()
    # an explicitly set generation config is kept as it is, greedy included
    chosen = SamplingConfig(temperature=0, repetition_window=16)
    gc = _read_json(_checkpoint(tmp_path / "greedy", chosen.to_generation_config()) / "generation_config.json")
    assert gc["do_sample"] is False and "temperature" not in gc and gc["repetition_window"] == 16
    assert SamplingConfig.from_generation_config(GenerationConfig.from_pretrained(tmp_path / "greedy")) == chosen
    # a user's own config: its unset fields mean transformers' defaults, as generate() reads them
    user = GenerationConfig(do_sample=True, temperature=0.8)
    gc = _read_json(_checkpoint(tmp_path / "user", user) / "generation_config.json")
    assert "repetition_penalty" not in gc and "top_k" not in gc
    assert SamplingConfig.from_generation_config(GenerationConfig.from_pretrained(tmp_path / "user")) == SamplingConfig(
        temperature=0.8, top_k=50, repetition_penalty=1.0)


def _transformers_default_generation_config(folder):
    """Replace the folder's generation_config.json by what transformers writes (a checkpoint saved before)."""
    from transformers import GenerationConfig

    from modeling_tradefm.configuration_tradefm import TradeFMConfig

    (folder / "generation_config.json").unlink()
    GenerationConfig.from_model_config(TradeFMConfig.from_pretrained(folder)).save_pretrained(folder)
    gc = _read_json(folder / "generation_config.json")
    assert gc["_from_model_config"] is True and "do_sample" not in gc
    return folder


def test_an_old_checkpoint_with_transformers_default_is_not_read_as_greedy(tmp_path):
    from modeling_tradefm.modeling_tradefm import TradeFMForCausalLM
    from modeling_tradefm.proposer_tradefm import TradeFMProposer

    old = _transformers_default_generation_config(_checkpoint(tmp_path / "old"))
    assert TradeFMProposer.from_pretrained(old).sampling == SamplingConfig()
    # re-saving it (e.g. fine-tuning from it) writes the settings it is read with
    TradeFMForCausalLM.from_pretrained(old).save_pretrained(tmp_path / "resaved")
    gc = _read_json(tmp_path / "resaved" / "generation_config.json")
    assert (gc["do_sample"], gc["repetition_penalty"], gc["top_k"]) == (True, 1.2, 0)
    assert not gc.get("_from_model_config")


def test_model_generate_samples_with_the_checkpoint_settings(tmp_path):
    """generate() builds our processors from the checkpoint and draws from the rollout's distribution."""
    from modeling_tradefm.modeling_tradefm import TradeFMForCausalLM

    model = TradeFMForCausalLM.from_pretrained(_checkpoint(tmp_path / "ckpt")).eval()
    built = []
    build = model._get_logits_processor

    def spy(generation_config, *args, **kwargs):
        processors = build(generation_config, *args, **kwargs)
        built.append((generation_config.do_sample, processors))
        return processors

    model._get_logits_processor = spy
    g = torch.Generator().manual_seed(3)
    n = 24
    ids = torch.randint(0, model.config.vocab_size, (2, n), generator=g)
    ctx = torch.tensor(model.config.default_context_ids).expand(2, n, 3)
    torch.manual_seed(7)
    out = model.generate(ids, context_ids=ctx, max_new_tokens=8, output_scores=True, output_logits=True,
                         return_dict_in_generate=True)
    do_sample, processors = built[0]
    assert do_sample is True
    ours = SamplingConfig().logits_processor()
    assert [(type(p).__name__, vars(p)) for p in processors] == [(type(p).__name__, vars(p)) for p in ours]
    assert ours[0].penalty == 1.2
    # every step: the scores generate sampled from are the rollout's processing of the same logits
    # over the same window (prompt + tokens so far)
    for t, (raw, scores) in enumerate(zip(out.logits, out.scores, strict=True)):
        torch.testing.assert_close(scores, process_logits(raw, out.sequences[:, : n + t], SamplingConfig()),
                                   rtol=0, atol=0)
    greedy = model.generate(ids, context_ids=ctx, max_new_tokens=8, do_sample=False)
    assert not torch.equal(out.sequences, greedy)
    torch.manual_seed(7)
    again = model.generate(ids, context_ids=ctx, max_new_tokens=8)
    assert torch.equal(again, out.sequences)


def test_sampling_precedence_flag_over_checkpoint_over_defaults(tmp_path, prefix):
    from transformers import GenerationConfig

    from modeling_tradefm.cli import main
    from modeling_tradefm.proposer_tradefm import TradeFMProposer
    from modeling_tradefm.registry import load_proposer

    chosen = SamplingConfig(temperature=0.7, top_p=0.9)
    ckpt = _checkpoint(tmp_path / "ckpt", chosen.to_generation_config())
    assert TradeFMProposer.from_pretrained(ckpt).sampling == chosen
    assert load_proposer(ckpt, top_p=0.5).sampling == chosen.replace(top_p=0.5)
    assert load_proposer(ckpt, sampling=SamplingConfig()).sampling == SamplingConfig()
    # a flag rollouts do not implement is one DataError naming the file
    bad = _checkpoint(tmp_path / "bad", GenerationConfig(do_sample=True, min_p=0.1))
    with pytest.raises(DataError, match=r"generation_config.json: .*min_p"):
        load_proposer(bad)

    data = _small_day(tmp_path)
    common = ["generate", "--model", str(ckpt), "--data", str(data), "--start", _clock(data), "--events", "3"]
    assert main([*common, "-o", str(tmp_path / "a")]) == 0
    meta = _read_json(tmp_path / "a" / "meta.json")["sampling"]
    assert (meta["temperature"], meta["top_p"], meta["repetition_penalty"]) == (0.7, 0.9, 1.2)
    # a given flag wins, even one equal to the package default (1.0)
    assert main([*common, "--temperature", "1.0", "--top-k", "5", "-o", str(tmp_path / "b")]) == 0
    meta = _read_json(tmp_path / "b" / "meta.json")["sampling"]
    assert (meta["temperature"], meta["top_k"], meta["top_p"], meta["repetition_penalty"]) == (1.0, 5, 0.9, 1.2)
