# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Closed-loop rollouts: a proposer emits orders, a simulator applies them, the simulated market feeds back.

The loop (``rollout``) is the paper's generation procedure (PAPER.md §6): for each step every one
of ``num_rollouts`` independent rollouts proposes one order, due user-injected orders replace the
proposal of their rollout, each order is submitted to that rollout's own ``Simulator``, and the
proposer is told what was applied so that its next proposal is conditioned on the simulated
market. ``generate`` cannot run this loop: each step needs the simulator's answer to the previous
order before the model may propose the next.

Anything implementing ``proposer.OrderProposer`` can be driven: TradeFM checkpoints
(``proposer_tradefm.TradeFMProposer``: sampling, decoding, KV cache, sliding window), the Hawkes and
zero-intelligence baselines. This module is the driver only; it knows no model and no tensor.

Seeding: ``rollout(..., seed=s)`` hands every rollout its global id; by the ``OrderProposer``
contract rollout ``i``'s draws depend only on ``(s, i)`` (``sampling.rollout_seed_sequence``), so
``rollout(..., rollout_ids=[i])`` reproduces rollout ``i`` of a larger batch on its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .events import ACTION_ADD, ACTION_CANCEL, SIDE_ASK, SIDE_BID, UNDEF_PRICE, EventTable
from .proposer import MARKET_PRICE_ASK, MARKET_PRICE_BID, OrderBatch, OrderProposer, resolve_rollout_ids
from .simulator import Simulator

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
    until_ns: int | None = None,
    progress: bool = False,
) -> list[RolloutResult]:
    """Run ``num_rollouts`` closed-loop rollouts of ``n_events`` steps each, in one batch.

    Every step each rollout gets exactly one order: its proposer's, or its due injected order.
    Rejected orders (``SubmitResult.void_reason``) are counted by reason and still count as a
    step. ``observe`` receives the orders as applied; a market order's price there is the price
    of its last fill (a market order that walked to P acted as a marketable limit at P, which is
    how executions appear in the training features), or the market sentinel when nothing filled.

    CPU threads are the proposer's: a ``TradeFMProposer`` decodes a small model (at most
    ``cpu_threads.SMALL_MODEL_PARAMETERS`` parameters, e.g. the demo's) on ONE torch thread on CPU,
    measured fastest for such models and far faster on a busy machine, and larger ones with
    torch's setting; ``load_proposer(path, threads=N)`` overrides it. The count holds only while
    the proposer runs: torch's own setting is the same after ``rollout`` returns as before.

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
            the same whatever batch it runs in.
        simulator_kwargs: passed to ``Simulator.from_events`` (e.g. ``tick_size``).
        until_ns: stop after the first step at which every rollout's clock (its last event's time)
            has reached ``until_ns`` — a rollout compared with a real window of fixed length needs
            no step past it; ``n_events`` stays the cap. ``None``: run ``n_events`` steps.
        progress: show a tqdm bar over steps.

    Returns:
        One ``RolloutResult`` per rollout, in batch order.
    """
    if n_events < 0:
        raise ValueError(f"n_events must be >= 0, got {n_events}")
    ids = resolve_rollout_ids(rollout_ids, num_rollouts if rollout_ids is None else len(rollout_ids))
    if not ids:
        raise ValueError("need at least one rollout")
    if books is None:
        books = _make_books(prefix, len(ids), simulator_kwargs)
    elif len(books) != len(ids):
        raise ValueError(f"{len(books)} books for {len(ids)} rollouts")
    n = len(ids)
    schedule = InjectionSchedule(inject, ids)
    proposer.start(prefix, books, seed, rollout_ids=ids)

    log_start = [_log_len(b) for b in books]
    t0 = int(prefix.ts_recv[-1]) if len(prefix) else 0
    clock = np.full(n, t0, dtype=np.int64)
    void_counts = [Counter() for _ in range(n)]
    n_injected = np.zeros(n, dtype=np.int64)

    steps = range(n_events)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc=f"rollout x{n}", unit="step")
    done = 0
    for _ in steps:
        if until_ns is not None and clock.min() >= until_ns:
            break
        done += 1
        batch = proposer.propose(books)
        if len(batch) != n:
            raise ValueError(f"{type(proposer).__name__}.propose returned {len(batch)} rows for {n} rollouts")
        applied = _override_with_injections(batch, schedule, clock, n_injected)
        ts = clock + applied.dt_ns
        applied = _submit(books, applied, ts, void_counts)
        clock = ts
        proposer.observe(applied, books)

    meta = {"seed": int(seed), "proposer": getattr(proposer, "name", type(proposer).__name__),
            "steps": done, "start_ts_ns": t0}
    return _results(proposer, books, ids, log_start, void_counts, n_injected, clock, meta)


def _override_with_injections(batch: OrderBatch, schedule: InjectionSchedule, clock: np.ndarray,
                              n_injected: np.ndarray) -> OrderBatch:
    """The step's orders with each rollout's due injected order in place of its proposal.

    An injected order is due when the proposal's time (clock + proposed Δt) reaches its ``ts_ns``;
    it is stamped at ``max(ts_ns, clock)`` with participant flag 1. ``batch`` is not modified (a
    copy is made when something is due); ``n_injected`` counts per rollout.
    """
    applied = batch
    if not len(schedule):
        return applied
    proposed_ts = clock + batch.dt_ns
    for i in range(len(batch)):
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
    return applied


def _submit(books: Sequence, applied: OrderBatch, ts: np.ndarray, void_counts: list[Counter]) -> OrderBatch:
    """Submit row ``i`` to ``books[i]`` at ``ts[i]``; returns the orders as applied (what ``observe`` gets).

    Voids are counted by reason in ``void_counts``. A market order that filled is reported at the
    price of its last fill (a copy is made then; ``applied`` itself is not modified).
    """
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
        applied = applied.copy()
        for i, p in market.items():
            applied.price[i] = p
    return applied


def _results(proposer: OrderProposer, books: Sequence, ids: list[int], log_start: list[int],
             void_counts: list[Counter], n_injected: np.ndarray, clock: np.ndarray, meta: dict) -> list[RolloutResult]:
    """One ``RolloutResult`` per rollout: its simulator's log since the start, voids, tokens, metadata."""
    tokens = getattr(proposer, "generated_tokens", lambda: None)()
    contexts = getattr(proposer, "generated_contexts", lambda: None)()
    out = []
    for i, (rid, book) in enumerate(zip(ids, books, strict=True)):
        out.append(
            RolloutResult(
                events=_log_from(book, log_start[i]),
                void_counts=dict(sorted(void_counts[i].items())),
                tokens=None if tokens is None else tokens[i],
                contexts=None if contexts is None else contexts[i],
                meta={
                    "rollout_id": rid,
                    "seed": meta["seed"],
                    "proposer": meta["proposer"],
                    "steps": meta["steps"],
                    "injected": int(n_injected[i]),
                    "void": int(sum(void_counts[i].values())),
                    "start_ts_ns": meta["start_ts_ns"],
                    "end_ts_ns": int(clock[i]),
                },
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# Book access (duck-typed on the simulator's public API)
# --------------------------------------------------------------------------------------------


def _make_books(prefix: EventTable, n: int, simulator_kwargs: dict | None):
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


def _last_fill_price(result) -> int | None:
    """``SubmitResult.last_price``: the price of the deepest level a submit executed at (or ``None``)."""
    p = getattr(result, "last_price", None)
    return None if p is None or p == UNDEF_PRICE else int(p)


__all__ = ["InjectedOrder", "InjectionSchedule", "RolloutResult", "rollout"]
