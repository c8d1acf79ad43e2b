# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Zero-intelligence baseline: Poisson order flow placed uniformly around the mid.

The paper's "zero-intelligence control" is not specified (PAPER.md §7.2); this is the classical
Farmer–Daniels/Smith et al. family, with every rate fitted from data:

* Six independent Poisson streams, limit add / cancel / market order × bid / ask, with rates =
  counts / observed time (summed session spans), from the same modeled order stream as TradeFM and
  the Hawkes baseline (``common.extract_orders``).
* A limit add lands uniformly on the ``window_ticks`` grid prices on its side of the mid, nearest
  first: a buy at ``floor_tick(mid) − k·tick`` (``ceil_tick`` for a sell), k uniform in
  {0, …, W−1} when the mid is strictly between ticks, {1, …, W} when it sits on a tick (never at or
  through the opposite best). W = the ``window_quantile`` (default 0.95) quantile of the real
  non-marketable orders' distance from the mid in ticks (rounded up, ≥ 1).
* A cancel picks a uniform level of the same window on its side; the simulator resolves which
  resting order (a level with nothing resting voids the cancel — that is zero intelligence).
* A market order is a no-limit add (``MARKET_PRICE_*``) on its side.
* Sizes are i.i.d. from the empirical size distribution of each order kind.

Memoryless, so ``observe`` only keeps the last two-sided touch as a reference for empty books.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..events import ACTION_ADD, ACTION_CANCEL, NS_PER_SECOND, EventTable
from ..proposer import OrderBatch, OrderProposer, resolve_rollout_ids
from ..sampling import rollout_rngs
from ..ticks import book_tick_size
from .common import (
    KIND_CANCEL,
    KIND_LIMIT,
    KIND_MARKET,
    KIND_NAMES,
    NO_PRICE,
    BookView,
    EmpiricalDistribution,
    extract_orders,
    fitted_on_summary,
    market_price,
    side_code,
)

#: stream order of ``ZIProposer.rates``: (kind, side)
STREAMS = [(KIND_LIMIT, 0), (KIND_LIMIT, 1), (KIND_CANCEL, 0), (KIND_CANCEL, 1), (KIND_MARKET, 0), (KIND_MARKET, 1)]
STREAM_NAMES = [f"{KIND_NAMES[k]}_{'bid' if s == 0 else 'ask'}" for k, s in STREAMS]


def zi_price(side: int, k: int, bid: int, ask: int, tick: int) -> int:
    """The k-th grid price (k = 1 nearest) on ``side`` of the mid, never at/through the opposite best."""
    two_mid = bid + ask  # 2·mid, exact in integers
    if side == 0:
        base = two_mid // (2 * tick) * tick  # floor_tick(mid)
        if 2 * base == two_mid:
            base -= tick  # mid on the grid: the first level strictly below it
        return int(min(base - (k - 1) * tick, ask - tick))
    base = -((-two_mid) // (2 * tick)) * tick  # ceil_tick(mid)
    if 2 * base == two_mid:
        base += tick
    return int(max(base + (k - 1) * tick, bid + tick))


class ZIProposer(OrderProposer):
    """Zero-intelligence order proposer (see the module docstring).

    Args:
        rates: float [6] events/s of ``STREAMS`` (``STREAM_NAMES``).
        window_ticks: W, the placement window per side of the mid (ticks).
        size_marks: per order kind (add, cancel, market) the empirical size distribution.
        tick_size: price grid of the fitted instrument (1e-9); a book's own tick size wins.
        fitted_on, fit_summary: provenance written to baseline.json.
    """

    name = "zero-intelligence"
    kind = "zi"

    def __init__(self, rates, window_ticks: int, size_marks: Sequence[EmpiricalDistribution], tick_size: int,
                 fit_summary: dict | None = None, fitted_on: dict | None = None):
        self.rates = np.asarray(rates, dtype=np.float64)
        if self.rates.shape != (len(STREAMS),) or (self.rates < 0).any() or self.rates.sum() <= 0:
            raise ValueError(f"rates must be {len(STREAMS)} non-negative numbers, not all 0; got {rates}")
        self.window_ticks = int(window_ticks)
        if self.window_ticks < 1:
            raise ValueError("window_ticks must be >= 1")
        self.size_marks = list(size_marks)
        self.tick_size = int(tick_size)
        self.fit_summary = dict(fit_summary or {})
        self.fitted_on = dict(fitted_on or {})
        self._cum = np.cumsum(self.rates) / self.rates.sum()
        self._rngs: list[np.random.Generator] = []
        self._views: list[BookView] = []

    def start(self, prefix: EventTable, books: Sequence, seed: int, rollout_ids: Sequence[int] | None = None) -> None:
        """Seeds the rollouts; the prefix only supplies a reference touch for empty books."""
        self._rngs = rollout_rngs(seed, resolve_rollout_ids(rollout_ids, len(books)))
        bid = ask = None
        if len(prefix):
            orders = extract_orders(prefix, tick_size=self.tick_size)
            two = (orders.best_bid != NO_PRICE) & (orders.best_ask != NO_PRICE)
            if two.any():
                i = np.flatnonzero(two)[-1]
                bid, ask = int(orders.best_bid[i]), int(orders.best_ask[i])
        self._views = [BookView(self.tick_size, bid, ask) for _ in books]

    def propose(self, books: Sequence) -> OrderBatch:
        k = len(books)
        if k != len(self._rngs):
            raise RuntimeError(f"propose() got {k} books, start() prepared {len(self._rngs)} rollouts")
        total = float(self.rates.sum())
        out = {n: np.zeros(k, dtype=np.int64) for n in ("dt_ns", "action", "side", "price", "size")}
        for r in range(k):
            rng = self._rngs[r]
            bid, ask, _, _ = self._views[r].read(books[r])
            tick = book_tick_size(books[r], self.tick_size)
            dt = rng.exponential(1.0 / total)
            stream = min(int(np.searchsorted(self._cum, rng.random(), side="right")), len(STREAMS) - 1)
            kind, side = STREAMS[stream]
            size = int(max(1, self.size_marks[kind].sample(rng)))
            if kind == KIND_MARKET:
                action, price = ACTION_ADD, market_price(side)
            else:
                level = int(rng.integers(1, self.window_ticks + 1))
                action = ACTION_ADD if kind == KIND_LIMIT else ACTION_CANCEL
                price = zi_price(side, level, bid, ask, tick)
            out["dt_ns"][r] = max(int(round(dt * NS_PER_SECOND)), 1)
            out["action"][r], out["side"][r] = action, side_code([side])[0]
            out["price"][r], out["size"][r] = price, size
        return OrderBatch(out["dt_ns"], out["action"], out["side"], out["price"], out["size"],
                          np.zeros(k, dtype=np.uint8))

    def observe(self, applied: OrderBatch, books: Sequence) -> None:
        """Poisson flow has no memory; only refresh the reference touch."""
        for view, book in zip(self._views, books, strict=False):
            if book.best_bid() is not None and book.best_ask() is not None:
                view.read(book)

    # -- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "format_version": 1,
            "streams": STREAM_NAMES,
            "rates": self.rates.tolist(),
            "window_ticks": self.window_ticks,
            "tick_size": self.tick_size,
            "sizes": {KIND_NAMES[i]: m.to_dict() for i, m in enumerate(self.size_marks)},
            "fit": self.fit_summary,
            "fitted_on": self.fitted_on,
        }

    @classmethod
    def from_dict(cls, d: dict, **kwargs) -> ZIProposer:
        if d.get("kind") != cls.kind:
            raise ValueError(f"not a zero-intelligence baseline (kind={d.get('kind')!r})")
        if d.get("streams", STREAM_NAMES) != STREAM_NAMES:
            raise ValueError(f"unknown stream layout {d.get('streams')}")
        sizes = [EmpiricalDistribution.from_dict(d["sizes"][n]) for n in KIND_NAMES]
        return cls(d["rates"], d["window_ticks"], sizes, d["tick_size"], d.get("fit"), d.get("fitted_on"))

    def summary(self) -> dict:
        out = dict(self.fit_summary)
        out.update({"rates_per_s": dict(zip(STREAM_NAMES, self.rates.round(6).tolist(), strict=True)),
                    "window_ticks": self.window_ticks,
                    "market_share": float(self.rates[4:].sum() / self.rates.sum())})
        return out


def fit_zi(
    events: EventTable,
    *,
    window_quantile: float = 0.95,
    touch: tuple[np.ndarray, np.ndarray] | None = None,
    tick_size: int | None = None,
    modify: str = "split",
    session_gap_s: float = 1800.0,
    files: Sequence[str] | None = None,
    progress: bool = False,
) -> ZIProposer:
    """Fit the zero-intelligence baseline on real events (rates, window, sizes).

    Args:
        events: raw events.
        window_quantile: quantile of |order price − mid| (ticks) of non-marketable orders that sets W.
        touch, tick_size, modify, session_gap_s: see ``common.extract_orders``.
        files: source file names for the provenance record.
        progress: print a line.
    """
    orders = extract_orders(events, touch=touch, tick_size=tick_size, modify=modify, session_gap_s=session_gap_s)
    seconds = float(orders.durations_s().sum())
    if len(orders) < 2 or seconds <= 0:
        raise ValueError(f"need orders over a positive time span to fit (got {len(orders)} orders, {seconds} s)")
    counts = np.array([np.count_nonzero((orders.kind == k) & (orders.side == s)) for k, s in STREAMS])
    rates = counts / seconds
    two = (orders.best_bid != NO_PRICE) & (orders.best_ask != NO_PRICE) & (orders.kind != KIND_MARKET)
    tick = orders.tick_size
    mid2 = orders.best_bid[two] + orders.best_ask[two]
    dist = np.abs(2 * orders.price[two] - mid2) / (2.0 * tick)
    window = max(1, int(np.ceil(np.quantile(dist, window_quantile)))) if len(dist) else 1
    sizes = [EmpiricalDistribution.fit(orders.size[orders.kind == k], default=1) for k in range(3)]
    if progress:
        print(f"zi: {len(orders)} orders over {seconds:.1f} s, window {window} ticks", flush=True)
    summary = {"orders": int(len(orders)), "seconds": seconds, "counts": dict(zip(STREAM_NAMES, counts.tolist(), strict=True)),
               "window_quantile": window_quantile}
    return ZIProposer(rates, window, sizes, tick, summary, fitted_on_summary(events, orders, files))


__all__ = ["STREAMS", "STREAM_NAMES", "ZIProposer", "fit_zi", "zi_price"]
