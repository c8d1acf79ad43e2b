# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Closed-loop rollouts: a proposer emits orders, a simulator applies them, the simulated market feeds back.

The loop (``rollout``) is the paper's generation procedure (PAPER.md §6): for each step every one
of ``num_rollouts`` independent rollouts proposes one order, due user-injected orders replace the
proposal of their rollout, each order is submitted to that rollout's own ``Simulator``, and the
proposer is told what was applied so that its next proposal is conditioned on the simulated
market. Anything implementing ``proposer.OrderProposer`` can be driven (TradeFM checkpoints, the
Hawkes and zero-intelligence baselines).

``TradeFMProposer`` is the model side of the loop:

1. The real prefix is featurised and tokenised exactly like training data (``build_features`` +
   ``TradeFMTokenizer.encode``). A prefix of at most ``max_context`` tokens is prefilled whole; a
   longer one is cut by the sliding-window rule below (its last ``window_keep`` tokens). The
   prefill runs once on batch 1 and the KV cache is then repeated over the rollouts, so every
   rollout starts from bit-identical state.
2. Each step, the next-token logits of every rollout come from ONE batched forward of one new
   position per rollout through the KV cache. They are processed in the order of transformers'
   generation (repetition penalty → temperature → top-k → top-p) and sampled by inverse CDF with
   ONE uniform draw per rollout from that rollout's own ``torch.Generator`` — so a rollout's draw
   does not depend on which other rollouts share its batch ("a batch of N equals N single
   rollouts").
3. The token is decoded by the tokenizer (in-bin sampling with that rollout's own
   ``numpy.random.Generator``) into (action, side, δp, size, Δt). The order's price is
   ``mid · (1 + δp)`` rounded to the nearest tick, where ``mid`` is the simulator's EW-VWAP mid
   BEFORE the order (the same mid that defines δp in the training features); its time is the
   rollout's clock + Δt (ns, rounded); its size is the decoded size rounded to an integer ≥ 1.
4. After the simulator applied the order, the context of that position is
   ``(tier, Δp bin, participant)`` with ``Δp = (vwap_mid_after − p_open) / p_open`` — the context
   rule of the contracts: position t carries the market right AFTER event t. The tier is the
   session's (fixed within a session: it comes from the ADV of previous days) and ``p_open`` is the
   session open of the prefix's features.
5. The position's token is the sampled token when the proposal was applied unchanged; an injected
   order is encoded with ``TradeFMTokenizer.encode_orders`` (its δp from the pre-order mid) and
   carries participant flag 1 in its context.

Sliding window: the model never sees more than ``max_context`` (default
``config.max_position_embeddings``) positions. When the window is full, it is cut to its last
``window_keep`` tokens (default half of ``max_context``) and those are re-prefilled into a fresh
cache with positions restarting at 0, so RoPE never leaves the trained range. A cut costs one
prefill of ``window_keep`` positions every ``max_context − window_keep`` steps — correctness over
cleverness (no cache shifting with re-rotated keys). The uncached path (``use_cache=False``)
follows the very same window rule and re-runs the whole window each step, so both paths see the
same inputs and give the same rollout for the same seed.

Repetition penalty (transformers' definition): the logit ``x`` of every token present in the
penalised window is replaced by ``x / penalty`` if ``x > 0`` else ``x · penalty``. The window is
the model's current input window (as in ``generate``) or its last ``repetition_window`` tokens.

Seeding: rollout ``i`` of seed ``s`` draws from ``numpy.random.SeedSequence(s, spawn_key=(i,))``
(one torch stream for token sampling, one numpy stream for in-bin decoding). ``rollout(...,
rollout_ids=[i])`` therefore reproduces rollout ``i`` of a larger batch on its own.
"""

from __future__ import annotations

import inspect
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .errors import DataError
from .events import (
    ACTION_ADD,
    ACTION_CANCEL,
    NS_PER_SECOND,
    PRICE_SCALE,
    SIDE_ASK,
    SIDE_BID,
    UNDEF_PRICE,
    EventTable,
)
from .proposer import MARKET_PRICE_ASK, MARKET_PRICE_BID, OrderBatch, OrderProposer
from .ticks import book_tick_size, infer_tick_size

# --------------------------------------------------------------------------------------------
# Seeding
# --------------------------------------------------------------------------------------------


def rollout_seed_sequence(seed: int, rollout_id: int) -> np.random.SeedSequence:
    """The seed sequence of rollout ``rollout_id`` of a run seeded ``seed`` (independent streams)."""
    return np.random.SeedSequence(int(seed), spawn_key=(int(rollout_id),))


def rollout_generators(seed: int, rollout_ids: Sequence[int]):
    """Per-rollout random streams.

    Args:
        seed: the run's seed.
        rollout_ids: the global index of each rollout of the batch.

    Returns:
        ``(torch_generators, numpy_generators)``: two lists of length ``len(rollout_ids)``; the
        torch streams draw the token uniforms, the numpy streams the tokenizer's in-bin samples.
    """
    import torch

    torch_gens, np_gens = [], []
    for rid in rollout_ids:
        token_ss, decode_ss = rollout_seed_sequence(seed, rid).spawn(2)
        g = torch.Generator(device="cpu")
        g.manual_seed(int(token_ss.generate_state(1, np.uint64)[0] >> np.uint64(1)))
        torch_gens.append(g)
        np_gens.append(np.random.default_rng(decode_ss))
    return torch_gens, np_gens


# --------------------------------------------------------------------------------------------
# Sampling utilities (pure functions on [B, V] logits)
# --------------------------------------------------------------------------------------------


@dataclass
class SamplingConfig:
    """How the next token is drawn from the logits.

    Attributes:
        temperature: divides the logits; ``0`` means greedy (argmax).
        top_k: keep the ``top_k`` largest logits (``0`` = off).
        top_p: nucleus sampling; keep the smallest set of tokens whose probability reaches
            ``top_p`` (``1.0`` = off).
        repetition_penalty: transformers' repetition penalty on tokens of the penalised window;
            the paper uses 1.2 (``1.0`` = off).
        repetition_window: penalise the tokens of the last ``repetition_window`` positions of the
            model's window (``None`` = the whole window, as ``generate`` does).
    """

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    repetition_penalty: float = 1.2
    repetition_window: int | None = None

    def __post_init__(self) -> None:
        if self.temperature < 0 or not math.isfinite(self.temperature):
            raise ValueError(f"temperature must be a finite number >= 0, got {self.temperature}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.repetition_penalty <= 0:
            raise ValueError(f"repetition_penalty must be > 0, got {self.repetition_penalty}")
        if self.repetition_window is not None and self.repetition_window < 1:
            raise ValueError(f"repetition_window must be >= 1 or None, got {self.repetition_window}")


def apply_repetition_penalty(logits, seen_ids, penalty: float):
    """transformers' repetition penalty.

    Args:
        logits: float tensor [B, V].
        seen_ids: int64 tensor [B, L] of token ids to penalise (duplicates are harmless).
        penalty: > 0; 1.0 leaves the logits unchanged.

    Returns:
        A new tensor [B, V]: ``x / penalty`` where ``x > 0`` else ``x · penalty``, at the seen ids.
    """
    import torch

    if penalty == 1.0 or seen_ids.numel() == 0:
        return logits
    score = torch.gather(logits, 1, seen_ids)
    score = torch.where(score < 0, score * penalty, score / penalty)
    return logits.scatter(1, seen_ids, score)


def apply_temperature(logits, temperature: float):
    """Divide [B, V] logits by ``temperature`` (> 0)."""
    return logits if temperature == 1.0 else logits / temperature


def apply_top_k(logits, top_k: int):
    """Set every logit below the ``top_k``-th largest of its row to -inf ([B, V]; ties kept)."""
    import torch

    if top_k <= 0 or top_k >= logits.shape[-1]:
        return logits
    kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def apply_top_p(logits, top_p: float):
    """Nucleus filter on [B, V] logits: keep the most probable tokens until their mass reaches ``top_p``.

    The token that crosses ``top_p`` is kept and the most probable token always is (transformers'
    ``TopPLogitsWarper`` semantics, written from the top of the distribution).
    """
    import torch

    if top_p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits.double(), dim=-1)
    # mass strictly before each token: a token is dropped when that mass already reaches top_p
    before = torch.cumsum(probs, dim=-1) - probs
    drop_sorted = before >= top_p
    drop_sorted[..., 0] = False
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def process_logits(logits, seen_ids, config: SamplingConfig):
    """Repetition penalty → temperature → top-k → top-p (transformers' order) on [B, V] logits."""
    logits = apply_repetition_penalty(logits.float(), seen_ids, config.repetition_penalty)
    if config.temperature == 0:
        return logits
    logits = apply_temperature(logits, config.temperature)
    logits = apply_top_k(logits, config.top_k)
    return apply_top_p(logits, config.top_p)


def sample_tokens(logits, generators: Sequence, greedy: bool = False):
    """Draw one token per row by inverse CDF, one uniform per row from that row's generator.

    A row's draw depends only on its own logits and its own generator, never on the other rows of
    the batch (unlike ``torch.multinomial`` with one shared generator).

    Args:
        logits: float tensor [B, V] (already processed; ``-inf`` = excluded).
        generators: ``B`` CPU ``torch.Generator``; each advances by one draw.
        greedy: argmax instead of sampling (generators are not advanced).

    Returns:
        int64 tensor [B] on the logits' device.
    """
    import torch

    if greedy:
        return torch.argmax(logits, dim=-1)
    if len(generators) != logits.shape[0]:
        raise ValueError(f"{len(generators)} generators for {logits.shape[0]} rows")
    u = torch.cat([torch.rand(1, generator=g, dtype=torch.float64) for g in generators]).to(logits.device)
    probs = torch.softmax(logits.double(), dim=-1)
    cdf = torch.cumsum(probs, dim=-1)
    target = (u * cdf[:, -1]).unsqueeze(-1)
    # first index whose cdf exceeds the target: zero-probability tokens (flat cdf) are never picked
    idx = torch.searchsorted(cdf, target, right=True).squeeze(-1)
    return idx.clamp_(max=logits.shape[-1] - 1)


# --------------------------------------------------------------------------------------------
# Order injection
# --------------------------------------------------------------------------------------------


def _side_code(side) -> int:
    if isinstance(side, (int, np.integer)) and int(side) in (SIDE_BID, SIDE_ASK):
        return int(side)
    text = str(side).strip().lower()
    if text in ("b", "bid", "buy"):
        return SIDE_BID
    if text in ("a", "s", "ask", "sell", "offer"):
        return SIDE_ASK
    raise ValueError(f"unknown side {side!r} (use 'B'/'buy' or 'A'/'sell')")


@dataclass(frozen=True)
class InjectedOrder:
    """A user order that enters a rollout's simulator (and the model's context) with participant flag 1.

    Attributes:
        ts_ns: the time it is sent, ns since the epoch (UTC). It is applied at the first step of
            the rollout whose clock (previous event time + proposed Δt) reaches ``ts_ns``, in
            place of that step's proposal, stamped ``max(ts_ns, previous event time)``.
        side: ``"B"``/``"buy"`` or ``"A"``/``"sell"`` (or the ASCII codes).
        size: > 0.
        price: limit price in 1e-9 units, or ``None`` for a market order (walks the book).
        action: ``"A"`` (add) or ``"C"`` (cancel, matched by the simulator's rule for id-less
            cancels).
    """

    ts_ns: int
    side: Any
    size: int
    price: int | None = None
    action: str = "A"

    def __post_init__(self) -> None:
        object.__setattr__(self, "side", _side_code(self.side))
        if int(self.size) <= 0:
            raise ValueError(f"injected order size must be > 0, got {self.size}")
        if self.action not in ("A", "C"):
            raise ValueError(f"injected order action must be 'A' or 'C', got {self.action!r}")
        if self.price is None and self.action != "A":
            raise ValueError("a cancel needs a price")
        if self.price is not None and int(self.price) <= 0:
            raise ValueError(f"injected order price must be > 0 (1e-9 units), got {self.price}")

    @property
    def is_market(self) -> bool:
        return self.price is None

    @property
    def order_price(self) -> int:
        """The price submitted to the simulator (the market sentinels for market orders)."""
        if self.price is not None:
            return int(self.price)
        return MARKET_PRICE_BID if self.side == SIDE_BID else MARKET_PRICE_ASK


class InjectionSchedule:
    """Per-rollout queues of injected orders, consumed in time order (at most one per step).

    Args:
        inject: ``None``; a sequence of ``InjectedOrder`` applied to every rollout; or a mapping
            ``rollout_id -> sequence`` for rollout-specific injections.
        rollout_ids: the global ids of the rollouts of the batch.
    """

    def __init__(self, inject, rollout_ids: Sequence[int]):
        self.rollout_ids = list(rollout_ids)
        if inject is None:
            per = {rid: [] for rid in self.rollout_ids}
        elif isinstance(inject, dict):
            per = {rid: list(inject.get(rid, ())) for rid in self.rollout_ids}
        else:
            orders = list(inject)
            per = {rid: orders for rid in self.rollout_ids}
        for orders in per.values():
            for o in orders:
                if not isinstance(o, InjectedOrder):
                    raise TypeError(f"inject expects InjectedOrder items, got {type(o).__name__}")
        # stable sort: orders with equal times keep the user's order
        self._queues = [sorted(per[rid], key=lambda o: o.ts_ns) for rid in self.rollout_ids]
        self._next = [0] * len(self.rollout_ids)

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues)

    def pending(self, row: int) -> int:
        return len(self._queues[row]) - self._next[row]

    def pop_due(self, row: int, clock_ns: int) -> InjectedOrder | None:
        """The next order of ``row`` if its time is ≤ ``clock_ns`` (consumed), else ``None``."""
        k = self._next[row]
        queue = self._queues[row]
        if k < len(queue) and queue[k].ts_ns <= clock_ns:
            self._next[row] = k + 1
            return queue[k]
        return None


# --------------------------------------------------------------------------------------------
# Book helpers (duck-typed on the simulator's public API)
# --------------------------------------------------------------------------------------------


def _call_or_value(x):
    return x() if callable(x) else x


def book_reference_mid(book) -> float | None:
    """The mid used for δp: the EW-VWAP mid, else the book mid (before any execution), in 1e-9 units."""
    for name in ("vwap_mid", "mid"):
        fn = getattr(book, name, None)
        if fn is None:
            continue
        value = _call_or_value(fn)
        if value is not None and np.isfinite(value) and value > 0:
            return float(value)
    return None


def price_from_depth(mid: np.ndarray, price_depth: np.ndarray, tick: np.ndarray) -> np.ndarray:
    """``mid · (1 + δp)`` rounded to the nearest multiple of ``tick`` (all 1e-9 units; arrays [B]).

    Rounding to the nearest tick (not toward or away from the book) keeps the decoded δp bin's
    centre of mass; a price that rounds to ≤ 0 is passed on and the simulator voids it
    (``TradeFMProposer`` maps exactly 0 to −1 so it is not taken for ``MARKET_PRICE_ASK``).
    """
    raw = np.asarray(mid, dtype=np.float64) * (1.0 + np.asarray(price_depth, dtype=np.float64))
    tick = np.asarray(tick, dtype=np.float64)
    return (np.rint(raw / tick) * tick).astype(np.int64)


# --------------------------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------------------------


@dataclass
class RolloutResult:
    """One rollout.

    Attributes:
        events: the generated events as the simulator logged them: A/C of proposals and injected
            orders, and for each execution the simulator's T (aggressor) + F and C (resting order)
            rows sharing one ``sequence`` (CME's pattern, so the log replays and featurises like
            venue data); ``participant`` set (1 = injected).
        void_counts: ``reason -> count`` of submitted orders the simulator rejected (e.g. a cancel
            on an empty side); they are not in ``events`` but they did occupy a model position.
        tokens: int64 [n_events] the model's token at each generated position (``None`` for
            proposers without tokens).
        contexts: int64 [n_events, 3] the (tier, Δp bin, participant) context of each position.
        meta: rollout id, seed, proposer name, counts (steps, injected, void), start/end time.
    """

    events: EventTable
    void_counts: dict[str, int]
    tokens: np.ndarray | None = None
    contexts: np.ndarray | None = None
    meta: dict = field(default_factory=dict)


def _start_accepts_rollout_ids(proposer: OrderProposer) -> bool:
    try:
        params = inspect.signature(proposer.start).parameters
    except (TypeError, ValueError):
        return False
    # an explicit parameter only: a start(**kwargs) that silently ignored the ids would break
    # "rollout i is the same in any batch"
    return "rollout_ids" in params


def _make_books(prefix: EventTable, n: int, simulator_kwargs: dict | None):
    from .simulator import Simulator

    base = Simulator.from_events(prefix, **(simulator_kwargs or {}))
    return [base.copy() for _ in range(n)]


def _log_len(book) -> int:
    fn = getattr(book, "log_len", None)
    return int(fn()) if fn is not None else len(book.log())


def _log_from(book, start: int) -> EventTable:
    try:
        return book.log(start)
    except TypeError:  # a book whose log() takes no start
        return book.log()[start:]


def rollout(
    proposer: OrderProposer,
    prefix: EventTable,
    n_events: int,
    num_rollouts: int = 1,
    seed: int = 0,
    inject=None,
    *,
    books: Sequence | None = None,
    rollout_ids: Sequence[int] | None = None,
    simulator_kwargs: dict | None = None,
    progress: bool = False,
) -> list[RolloutResult]:
    """Run ``num_rollouts`` closed-loop rollouts of ``n_events`` steps each, in one batch.

    Every step each rollout gets exactly one order: its proposer's, or its due injected order.
    Rejected orders (``SubmitResult.void_reason``) are counted by reason and still count as a
    step. ``observe`` receives the orders as applied; a market order's price there is the price
    of its last fill (a market order that walked to P acted as a marketable limit at P, which is
    how executions appear in the training features), or the market sentinel when nothing filled.

    Args:
        proposer: any ``OrderProposer``.
        prefix: real events of one session before the start; the simulators are a replay of it
            (unless ``books`` is given) and the proposer conditions on it.
        n_events: steps per rollout (≥ 0).
        num_rollouts: batch size (ignored when ``rollout_ids`` is given).
        seed: seeds every random draw.
        inject: injected orders (see ``InjectionSchedule``).
        books: optional pre-built simulators, one per rollout (consumed: they are mutated).
        rollout_ids: global ids of the rollouts (default ``range(num_rollouts)``); rollout ``i`` is
            the same whatever batch it runs in. Needs a proposer whose ``start`` accepts
            ``rollout_ids`` when not the default.
        simulator_kwargs: passed to ``Simulator.from_events`` (e.g. ``tick_size``).
        progress: show a tqdm bar over steps.

    Returns:
        One ``RolloutResult`` per rollout, in batch order.
    """
    if n_events < 0:
        raise ValueError(f"n_events must be >= 0, got {n_events}")
    ids = list(range(num_rollouts)) if rollout_ids is None else [int(r) for r in rollout_ids]
    if not ids:
        raise ValueError("need at least one rollout")
    if len(set(ids)) != len(ids):
        raise ValueError(f"rollout_ids must be distinct, got {ids}")
    if books is None:
        books = _make_books(prefix, len(ids), simulator_kwargs)
    elif len(books) != len(ids):
        raise ValueError(f"{len(books)} books for {len(ids)} rollouts")
    n = len(ids)
    schedule = InjectionSchedule(inject, ids)

    if _start_accepts_rollout_ids(proposer):
        proposer.start(prefix, books, seed, rollout_ids=ids)
    elif ids != list(range(n)):
        raise ValueError(f"{type(proposer).__name__}.start does not accept rollout_ids; run rollouts 0..n-1")
    else:
        proposer.start(prefix, books, seed)

    log_start = [_log_len(b) for b in books]
    t0 = int(prefix.ts_recv[-1]) if len(prefix) else 0
    clock = np.full(n, t0, dtype=np.int64)
    void_counts = [Counter() for _ in range(n)]
    n_injected = np.zeros(n, dtype=np.int64)

    steps = range(n_events)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc=f"rollout x{n}", unit="step")
    for _ in steps:
        batch = proposer.propose(books)
        if len(batch) != n:
            raise ValueError(f"{type(proposer).__name__}.propose returned {len(batch)} rows for {n} rollouts")
        applied = batch
        if len(schedule):
            proposed_ts = clock + batch.dt_ns
            for i in range(n):
                if not schedule.pending(i):
                    continue
                order = schedule.pop_due(i, int(proposed_ts[i]))
                if order is None:
                    continue
                if applied is batch:
                    applied = batch.copy()
                applied.dt_ns[i] = max(0, int(order.ts_ns) - int(clock[i]))
                applied.action[i] = ACTION_ADD if order.action == "A" else ACTION_CANCEL
                applied.side[i] = order.side
                applied.price[i] = order.order_price
                applied.size[i] = int(order.size)
                applied.participant[i] = 1
                n_injected[i] += 1
        ts = clock + applied.dt_ns
        market = None
        for i, book in enumerate(books):
            res = book.submit(
                int(ts[i]), int(applied.action[i]), int(applied.side[i]), int(applied.price[i]),
                int(applied.size[i]), int(applied.participant[i]),
            )
            reason = getattr(res, "void_reason", None)
            if reason:
                void_counts[i][str(reason)] += 1
            price = int(applied.price[i])
            if applied.action[i] == ACTION_ADD and price in (MARKET_PRICE_BID, MARKET_PRICE_ASK):
                fill = _last_fill_price(res)
                if fill is not None:
                    if market is None:
                        market = {}
                    market[i] = fill
        if market:
            applied = applied.copy() if applied is batch else applied
            for i, p in market.items():
                applied.price[i] = p
        clock = ts
        proposer.observe(applied, books)

    tokens = getattr(proposer, "generated_tokens", lambda: None)()
    contexts = getattr(proposer, "generated_contexts", lambda: None)()
    out = []
    for i, (rid, book) in enumerate(zip(ids, books)):
        events = _log_from(book, log_start[i])
        out.append(
            RolloutResult(
                events=events,
                void_counts=dict(sorted(void_counts[i].items())),
                tokens=None if tokens is None else tokens[i],
                contexts=None if contexts is None else contexts[i],
                meta={
                    "rollout_id": rid,
                    "seed": int(seed),
                    "proposer": getattr(proposer, "name", type(proposer).__name__),
                    "steps": int(n_events),
                    "injected": int(n_injected[i]),
                    "void": int(sum(void_counts[i].values())),
                    "start_ts_ns": t0,
                    "end_ts_ns": int(clock[i]),
                },
            )
        )
    return out


def _last_fill_price(result) -> int | None:
    """``SubmitResult.last_price``: the price of the deepest level a submit executed at (or ``None``)."""
    p = getattr(result, "last_price", None)
    return None if p is None or p == UNDEF_PRICE else int(p)


# --------------------------------------------------------------------------------------------
# KV cache with preallocated storage
# --------------------------------------------------------------------------------------------


def _preallocated_layer_class():
    """``DynamicLayer`` whose keys/values live in a buffer of fixed capacity (built lazily: torch import)."""
    from transformers.cache_utils import DynamicLayer

    class PreallocatedLayer(DynamicLayer):
        """A cache layer that writes each step into preallocated storage instead of ``torch.cat``.

        ``DynamicLayer.update`` concatenates, i.e. copies the whole cache every step (O(T) per
        step, O(T²) per window). The rollout knows the window's maximum length, so the storage
        ``[B, H, capacity, D]`` is allocated once at (re-)prefill and each step writes one slot;
        ``keys``/``values`` are views of the filled part, so attention reads exactly the same
        numbers as with ``DynamicLayer``.
        """

        @classmethod
        def from_layer(cls, layer, capacity: int):
            self = cls()
            keys, values = layer.keys, layer.values
            b, h, n, d = keys.shape
            self.dtype, self.device = keys.dtype, keys.device
            self._k = keys.new_empty(b, h, max(capacity, n), d)
            self._v = values.new_empty(b, h, max(capacity, n), values.shape[-1])
            self._k[:, :, :n] = keys
            self._v[:, :, :n] = values
            self._n = n
            self.keys, self.values = self._k[:, :, :n], self._v[:, :, :n]
            self.is_initialized = True
            return self

        def update(self, key_states, value_states, *args, **kwargs):
            n, t = self._n, key_states.shape[-2]
            if n + t > self._k.shape[-2]:  # never with the rollout's window rule; stay correct anyway
                import torch

                self._k = torch.cat([self._k[:, :, :n], key_states], dim=-2)
                self._v = torch.cat([self._v[:, :, :n], value_states], dim=-2)
            else:
                self._k[:, :, n:n + t] = key_states
                self._v[:, :, n:n + t] = value_states
            self._n = n + t
            self.keys, self.values = self._k[:, :, :n + t], self._v[:, :, :n + t]
            return self.keys, self.values

    return PreallocatedLayer


_PREALLOCATED_LAYER = None


def preallocate_cache(cache, capacity: int):
    """Move every layer of a ``DynamicCache`` into preallocated storage of ``capacity`` positions (in place)."""
    global _PREALLOCATED_LAYER
    if _PREALLOCATED_LAYER is None:
        _PREALLOCATED_LAYER = _preallocated_layer_class()
    cache.layers = [_PREALLOCATED_LAYER.from_layer(layer, capacity) for layer in cache.layers]
    return cache


# --------------------------------------------------------------------------------------------
# TradeFM as a proposer
# --------------------------------------------------------------------------------------------


class TradeFMProposer(OrderProposer):
    """A TradeFM checkpoint driving rollouts (see the module docstring for the full procedure).

    Args:
        model: a ``TradeFMForCausalLM`` (eval mode is set here).
        tokenizer: the checkpoint's frozen ``TradeFMTokenizer``.
        temperature, top_k, top_p, repetition_penalty, repetition_window: see ``SamplingConfig``.
        use_cache: KV-cached decoding (one new position per step); ``False`` re-runs the window.
        preallocate: keep the KV cache in storage of ``max_context`` positions allocated at each
            (re-)prefill, written in place each step (same numbers as ``DynamicCache``, without its
            per-step concatenation).
        max_context: the model's window (default ``config.max_position_embeddings``).
        window_keep: tokens kept when the window slides (default ``max_context // 2``).
        feature_config: ``FeatureConfig`` for featurising the prefix (default: the tokenizer's
            calibration config when it records one, else ``FeatureConfig()``).
        tick_size: price grid of generated orders (1e-9 units); default the simulator's, else the
            GCD of the prefix's add prices.
        tier: pin the liquidity tier of every context row, prefix included (default: the tier the
            features give the prefix; with no ADV history that is the features' ``adv_fallback``
            rule, which on a prefix shorter than a day sees a fraction of the daily volume and so
            tends to a lower tier than training gave the instrument's full sessions).
        device: where the model runs (default: the model's device).
    """

    name = "tradefm"

    def __init__(
        self,
        model,
        tokenizer,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        repetition_penalty: float = 1.2,
        repetition_window: int | None = None,
        use_cache: bool = True,
        preallocate: bool = True,
        max_context: int | None = None,
        window_keep: int | None = None,
        feature_config=None,
        tick_size: int | None = None,
        tier: int | None = None,
        device=None,
    ):
        self.model = model.eval() if device is None else model.to(device).eval()
        self.tokenizer = tokenizer
        self.sampling = SamplingConfig(temperature, top_k, top_p, repetition_penalty, repetition_window)
        self.use_cache = bool(use_cache)
        self.preallocate = bool(preallocate)
        max_pos = int(getattr(model.config, "max_position_embeddings", 0) or 0)
        self.max_context = int(max_context or max_pos)
        if self.max_context < 2:
            raise ValueError(f"max_context must be >= 2, got {self.max_context}")
        if max_pos and self.max_context > max_pos:
            raise ValueError(f"max_context {self.max_context} exceeds max_position_embeddings {max_pos}")
        self.window_keep = int(window_keep or max(1, self.max_context // 2))
        if not 1 <= self.window_keep < self.max_context:
            raise ValueError(f"window_keep must be in [1, max_context), got {self.window_keep}")
        self.feature_config = feature_config
        self.tick_size = tick_size
        self.tier_override = tier
        self.device = device if device is not None else next(model.parameters()).device
        self.vocab_size = int(model.config.vocab_size)
        self._started = False
        self._vector_decode: bool | None = None  # probed on first decode

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path: str | Path, **kwargs) -> TradeFMProposer:
        """Load a checkpoint folder (weights + ``config.tokenizer_config``) as a proposer.

        The model is loaded with ``AutoModelForCausalLM`` after registering this package's classes,
        so no remote code is executed (the folder's own ``.py`` copies serve Hub users).

        ``kwargs`` go to ``__init__`` (sampling parameters, ``device``, ...); ``torch_dtype`` and
        ``device`` also go to the model loader.
        """
        from . import register_tradefm
        from .tokenization_tradefm import TradeFMTokenizer

        register_tradefm()
        from transformers import AutoModelForCausalLM

        load_kw = {}
        if "torch_dtype" in kwargs:
            load_kw["dtype"] = kwargs.pop("torch_dtype")
        model = AutoModelForCausalLM.from_pretrained(str(path), **load_kw)
        device = kwargs.get("device")
        if device is not None:
            model = model.to(device)
        tok_cfg = getattr(model.config, "tokenizer_config", None)
        if not tok_cfg:
            raise DataError(Path(path) / "config.json", "no tokenizer_config: not a complete TradeFM checkpoint")
        tokenizer = TradeFMTokenizer.from_dict(tok_cfg)
        return cls(model, tokenizer, **kwargs)

    # -- OrderProposer ---------------------------------------------------------------------------
    def start(self, prefix: EventTable, books: Sequence, seed: int, rollout_ids: Sequence[int] | None = None) -> None:
        from .features import FeatureConfig, build_features

        n = len(books)
        self.rollout_ids = list(range(n)) if rollout_ids is None else [int(r) for r in rollout_ids]
        if len(self.rollout_ids) != n:
            raise ValueError(f"{len(self.rollout_ids)} rollout_ids for {n} books")
        config = self.feature_config
        if config is None:
            config = self._tokenizer_feature_config() or FeatureConfig()
        sessions = build_features(prefix, config)
        sessions = [s for s in sessions if len(s.ts_recv)]
        if not sessions:
            raise DataError("<prefix>", "the prefix has no modeled (add/cancel/execution) events to condition on")
        if len(sessions) > 1:
            raise DataError("<prefix>", f"the prefix spans {len(sessions)} sessions; pass one session's events")
        sess = sessions[0]
        enc = self.tokenizer.encode(sess)
        ids = np.asarray(enc["input_ids"], dtype=np.int64)
        ctx = np.asarray(enc["context_ids"], dtype=np.int64)
        # the session's tier (fixed within a session) unless the caller pins it; a pinned tier
        # replaces the prefix's too, as a session never changes tier
        if self.tier_override is None:
            self.tier = int(ctx[-1, 0])
        else:
            self.tier = int(self.tier_override)
            ctx = ctx.copy()
            ctx[:, 0] = self.tier
        # p_open: the session open Δp is measured against; features give it in currency units,
        # books work in 1e-9 units
        p_open = getattr(sess, "p_open", None)
        if p_open is None or not np.isfinite(p_open):
            p_open = float(sess.mid[0])
        self.p_open = float(p_open) * PRICE_SCALE
        if not (np.isfinite(self.p_open) and self.p_open > 0):
            raise DataError("<prefix>", f"cannot derive the session open price (got {self.p_open})")
        # the EW-VWAP mid after the last prefix event: the fallback while a book has no mid
        prefix_mid = self.p_open * (1.0 + float(sess.price_level[-1]))

        # tick grid of generated prices: per book
        ticks = []
        fallback = self.tick_size or infer_tick_size(prefix)
        for b in books:
            t = self.tick_size or book_tick_size(b, fallback)
            if not t:
                raise DataError("<prefix>", "no tick size: pass tick_size= (the prefix has no priced adds)")
            ticks.append(int(t))
        self._tick = np.asarray(ticks, dtype=np.int64)
        self._last_mid = np.full(n, prefix_mid)
        for i, b in enumerate(books):
            m = book_reference_mid(b)
            if m is not None:
                self._last_mid[i] = m

        self._start_tokens(ids, ctx, seed)

    def _start_tokens(self, ids: np.ndarray, ctx: np.ndarray, seed: int) -> None:
        """Seed the per-rollout streams, set up the windows from the prefix tokens and prefill.

        Args:
            ids: int64 [n_prefix] prefix tokens; ctx: int64 [n_prefix, 3] their contexts.
            seed: the run's seed (streams per ``self.rollout_ids``).
        """
        import torch

        n = len(self.rollout_ids)
        self._torch_gens, self._np_gens = rollout_generators(seed, self.rollout_ids)
        # the window rule of the steps applied to the prefix: over-long prefixes keep window_keep
        n_prefix = len(ids)
        if n_prefix == 0:
            raise ValueError("empty prefix")
        start = 0 if n_prefix <= self.max_context else n_prefix - self.window_keep
        self._win_ids = torch.as_tensor(ids[start:], dtype=torch.long).unsqueeze(0).repeat(n, 1)
        self._win_ctx = torch.as_tensor(ctx[start:], dtype=torch.long).unsqueeze(0).repeat(n, 1, 1)
        self._gen_tokens: list[np.ndarray] = []
        self._gen_ctx: list[np.ndarray] = []
        self._cache = None
        self._pending = None  # (ids [B,1], ctx [B,1,3]) appended but not yet run through the model
        self._proposal = None
        self._started = True
        self.n_prefills = 0
        # prefill once on batch 1 and repeat: every rollout starts from bit-identical state
        self._logits = self._prefill(self._win_ids[:1], self._win_ctx[:1], repeat=n)

    def _sample(self) -> np.ndarray:
        """Advance over the pending position if any, then draw one token per rollout ([B] int64)."""
        if self._pending is not None:
            self._advance()
        seen = self._win_ids
        if self.sampling.repetition_window is not None:
            seen = seen[:, -self.sampling.repetition_window:]
        logits = process_logits(self._logits, seen.to(self._logits.device), self.sampling)
        return sample_tokens(logits, self._torch_gens, greedy=self.sampling.temperature == 0).cpu().numpy()

    def decode_open_loop(
        self, input_ids: np.ndarray, context_ids: np.ndarray, n_steps: int, num_rollouts: int = 1, seed: int = 0,
        rollout_ids: Sequence[int] | None = None,
    ) -> np.ndarray:
        """Open-loop decoding: sampling only, no tokenizer decode, no simulator.

        The same prefill, window, cache, logits processing and per-rollout sampling as the closed
        loop; each new position gets the prefix's last context (the market is frozen). This is the
        peer the closed loop is measured against, and a plain "continue the token stream" tool.

        Args:
            input_ids: int64 [n_prefix]; context_ids: int64 [n_prefix, 3].
            n_steps: tokens to generate per rollout.

        Returns:
            int64 [num_rollouts, n_steps] sampled tokens.
        """
        import torch

        self.rollout_ids = list(range(num_rollouts)) if rollout_ids is None else [int(r) for r in rollout_ids]
        ids = np.asarray(input_ids, dtype=np.int64)
        ctx = np.asarray(context_ids, dtype=np.int64)
        self._start_tokens(ids, ctx, seed)
        n = len(self.rollout_ids)
        last_ctx = torch.as_tensor(ctx[-1], dtype=torch.long).expand(n, 1, 3).contiguous()
        out = np.empty((n, n_steps), dtype=np.int64)
        for step in range(n_steps):
            tokens = self._sample()
            out[:, step] = tokens
            self._pending = (torch.as_tensor(tokens, dtype=torch.long)[:, None], last_ctx)
        self._pending = None
        return out

    def propose(self, books: Sequence) -> OrderBatch:
        if not self._started:
            raise RuntimeError("call start() before propose()")
        n = len(books)
        tokens = self._sample()

        dec = self._decode(tokens)
        mids = np.empty(n, dtype=np.float64)
        for i, b in enumerate(books):
            m = book_reference_mid(b)
            if m is not None:
                self._last_mid[i] = m
            mids[i] = self._last_mid[i]
        action = np.where(np.asarray(dec["action"]) == 0, ACTION_ADD, ACTION_CANCEL).astype(np.uint8)
        side = np.where(np.asarray(dec["side"]) == 0, SIDE_BID, SIDE_ASK).astype(np.uint8)
        price = price_from_depth(mids, dec["price_depth"], self._tick)
        # a price that rounds to ≤ 0 must be voided (bad_price), not read as the market-sell
        # sentinel MARKET_PRICE_ASK == 0
        price[price == MARKET_PRICE_ASK] = -1
        size = np.maximum(1, np.rint(np.asarray(dec["size"], dtype=np.float64))).astype(np.uint32)
        dt_ns = np.maximum(0, np.rint(np.asarray(dec["dt"], dtype=np.float64) * NS_PER_SECOND)).astype(np.int64)
        batch = OrderBatch(dt_ns, action, side, price, size, np.zeros(n, dtype=np.uint8))
        self._proposal = (batch.copy(), tokens, mids)
        return batch

    def observe(self, applied: OrderBatch, books: Sequence) -> None:
        import torch

        if self._proposal is None:
            raise RuntimeError("observe() without a preceding propose()")
        proposed, tokens, mids = self._proposal
        self._proposal = None
        tokens = tokens.copy()
        changed = (
            (applied.participant != proposed.participant) | (applied.action != proposed.action)
            | (applied.side != proposed.side) | (applied.price != proposed.price)
            | (applied.size != proposed.size) | (applied.dt_ns != proposed.dt_ns)
        )
        if changed.any():
            rows = np.flatnonzero(changed)
            price = applied.price[rows].astype(np.float64)
            depth = (price - mids[rows]) / mids[rows]
            # market sentinels that did not fill: the most aggressive / passive δp (outer bins)
            depth = np.where(applied.price[rows] == MARKET_PRICE_BID, np.inf, depth)
            depth = np.clip(np.nan_to_num(depth, posinf=1e6, neginf=-1.0), -1.0, 1e6)
            tokens[rows] = np.asarray(
                self.tokenizer.encode_orders(
                    (applied.action[rows] == ACTION_CANCEL).astype(np.int64),
                    (applied.side[rows] == SIDE_ASK).astype(np.int64),
                    depth,
                    applied.size[rows].astype(np.int64),
                    applied.dt_ns[rows].astype(np.float64) / NS_PER_SECOND,
                ),
                dtype=np.int64,
            )
        n = len(books)
        mid_after = np.empty(n, dtype=np.float64)
        for i, b in enumerate(books):
            m = book_reference_mid(b)
            if m is not None:
                self._last_mid[i] = m
            mid_after[i] = self._last_mid[i]
        level = mid_after / self.p_open - 1.0
        ctx = np.empty((n, 3), dtype=np.int64)
        ctx[:, 0] = self.tier
        ctx[:, 1] = np.asarray(self.tokenizer.price_level_bin(level), dtype=np.int64)
        ctx[:, 2] = applied.participant.astype(np.int64)
        self._gen_tokens.append(tokens)
        self._gen_ctx.append(ctx)
        self._pending = (torch.as_tensor(tokens, dtype=torch.long)[:, None], torch.as_tensor(ctx)[:, None, :])

    # -- results -------------------------------------------------------------------------------
    def generated_tokens(self) -> np.ndarray | None:
        """int64 [B, steps]: the token of each generated position."""
        if not self._started:
            return None
        n = len(self.rollout_ids)
        return np.stack(self._gen_tokens, axis=1) if self._gen_tokens else np.zeros((n, 0), np.int64)

    def generated_contexts(self) -> np.ndarray | None:
        """int64 [B, steps, 3]: the context of each generated position."""
        if not self._started:
            return None
        n = len(self.rollout_ids)
        return np.stack(self._gen_ctx, axis=1) if self._gen_ctx else np.zeros((n, 0, 3), np.int64)

    # -- internals -----------------------------------------------------------------------------
    def _tokenizer_feature_config(self):
        get = getattr(self.tokenizer, "feature_config", None)
        return _call_or_value(get) if get is not None else None

    def _forward(self, ids, ctx, cache, use_cache: bool):
        import torch

        with torch.inference_mode():
            out = self.model(
                input_ids=ids.to(self.device),
                context_ids=ctx.to(self.device),
                cache=cache,
                use_cache=use_cache,
                logits_to_keep=1,
            )
        return out.logits[:, -1, :].float(), (out.cache if use_cache else None)

    def _prefill(self, ids, ctx, repeat: int = 1):
        self.n_prefills += 1
        logits, cache = self._forward(ids, ctx, None, self.use_cache)
        if repeat > 1:
            logits = logits.expand(repeat, -1).contiguous()
            if cache is not None:
                cache.batch_repeat_interleave(repeat)
        if cache is not None and self.preallocate:
            cache = preallocate_cache(cache, self.max_context)
        self._cache = cache
        return logits

    def _advance(self) -> None:
        """Append the pending position to every window and compute the next logits."""
        import torch

        ids, ctx = self._pending
        self._pending = None
        self._win_ids = torch.cat([self._win_ids, ids], dim=1)
        self._win_ctx = torch.cat([self._win_ctx, ctx], dim=1)
        if self._win_ids.shape[1] > self.max_context:
            # slide: keep the last window_keep positions, positions restart at 0 (fresh cache)
            self._win_ids = self._win_ids[:, -self.window_keep:].contiguous()
            self._win_ctx = self._win_ctx[:, -self.window_keep:].contiguous()
            self._logits = self._prefill(self._win_ids, self._win_ctx)
        elif self.use_cache:
            self._logits, self._cache = self._forward(ids, ctx, self._cache, True)
        else:
            self._logits, _ = self._forward(self._win_ids, self._win_ctx, None, False)

    def _decode(self, tokens: np.ndarray) -> dict[str, np.ndarray]:
        """Decode one token per rollout with that rollout's own numpy stream (batch-independent).

        Fast path: one vectorised ``tokenizer.decode`` call whose ``rng`` is a ``_RowStreams``
        adapter handing row ``i`` the next draw of rollout ``i``'s stream — exactly what a
        one-row call would draw. It is used only after a probe (on throwaway streams) showed
        the two give identical output for this tokenizer; otherwise one call per rollout.
        """
        if self._vector_decode is None:
            self._vector_decode = _probe_row_streams(self.tokenizer)
        if self._vector_decode:
            return self.tokenizer.decode(tokens, _RowStreams(self._np_gens))
        parts = [self.tokenizer.decode(tokens[i:i + 1], self._np_gens[i]) for i in range(len(tokens))]
        return {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}


class _RowStreams:
    """A ``numpy.random.Generator`` stand-in for a batch: ``random(n)`` takes one draw per row stream.

    Only ``random`` with ``size == number of rows`` is offered; anything else raises, so a
    tokenizer drawing differently is detected by ``_probe_row_streams`` instead of silently
    mixing streams.
    """

    def __init__(self, generators: Sequence[np.random.Generator]):
        self._gens = generators

    def random(self, size=None, dtype=np.float64, out=None):
        n = len(self._gens)
        if size is None or out is not None or np.dtype(dtype) != np.float64 or int(np.prod(size)) != n:
            raise TypeError("_RowStreams.random supports one float64 draw per row only")
        return np.fromiter((g.random() for g in self._gens), dtype=np.float64, count=n).reshape(size)

    def __getattr__(self, name):
        raise TypeError(f"_RowStreams has no {name!r}: the tokenizer draws in a way that needs per-row decoding")


def _probe_row_streams(tokenizer, n: int = 5) -> bool:
    """Whether vectorised decoding with ``_RowStreams`` equals per-row decoding for ``tokenizer``."""
    tokens = np.arange(n, dtype=np.int64) * 3331 % int(getattr(tokenizer, "vocab_size", 16384))
    try:
        _, gens_a = rollout_generators(12345, range(n))
        _, gens_b = rollout_generators(12345, range(n))
        vec = tokenizer.decode(tokens, _RowStreams(gens_a))
        rows = [tokenizer.decode(tokens[i:i + 1], gens_b[i]) for i in range(n)]
    except TypeError:
        return False
    for key, value in vec.items():
        if not np.array_equal(np.asarray(value), np.concatenate([np.asarray(r[key]) for r in rows])):
            return False
    # the streams must also be left in the same state
    return all(a.random() == b.random() for a, b in zip(gens_a, gens_b))


__all__ = [
    "InjectedOrder",
    "InjectionSchedule",
    "RolloutResult",
    "SamplingConfig",
    "TradeFMProposer",
    "apply_repetition_penalty",
    "apply_temperature",
    "apply_top_k",
    "apply_top_p",
    "book_reference_mid",
    "preallocate_cache",
    "price_from_depth",
    "process_logits",
    "rollout",
    "rollout_generators",
    "rollout_seed_sequence",
    "sample_tokens",
]
