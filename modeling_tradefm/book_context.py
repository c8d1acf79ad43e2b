# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Book context of order-flow events: one set of formulas for the training features and the closed loop.

Beyond the paper (issue 13: the model should see the book each order meets). The rules are those
of the "Book context" paragraph of :mod:`modeling_tradefm.features`:

* after an event (its context row): ``spread_in_ticks`` and ``queue_imbalance`` of the book after
  the record flagged ``F_LAST`` at or after the event's source row;
* before an event (what ``price_reference="best"`` measures an order's price from):
  ``own_best_reference`` of the book just before the event's first record
  (``TopOfBook.bid_before``: after the preceding record on replay, the previous message's row of
  a LOBSTER orderbook), and the order's aggressiveness ``depth_from_best`` in ticks.

Every function is vectorised over plain float arrays (prices and ticks in 1e-9 units, NaN for an
empty side). :func:`book_context` applies them to a session's events and its
``book.TopOfBook``; ``proposer_tradefm.TradeFMProposer`` applies them to the live simulators of a
batch of rollouts (the same floating-point operations, so both give the same bins). This module
depends on nothing but numpy and :mod:`.events` (the book itself comes from :mod:`.book`).
"""

from __future__ import annotations

import numpy as np

from .events import F_LAST, PRICE_SCALE


def spread_in_ticks(bid, ask, tick) -> np.ndarray:
    """``(ask − bid)/tick`` where the book is two-sided (``bid < ask``), else NaN (float64).

    Args:
        bid, ask: best quotes, NaN where the side is empty (1e-9 units).
        tick: the tick (1e-9 units), scalar or per row.
    """
    bid, ask = np.asarray(bid, dtype=np.float64), np.asarray(ask, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(ask > bid, (ask - bid) / np.asarray(tick, dtype=np.float64), np.nan)


def queue_imbalance(bid, ask, bid_size, ask_size) -> np.ndarray:
    """Level-1 ``(bid_size − ask_size)/(bid_size + ask_size)`` where the book is two-sided, else NaN."""
    bid, ask = np.asarray(bid, dtype=np.float64), np.asarray(ask, dtype=np.float64)
    qb, qa = np.asarray(bid_size, dtype=np.float64), np.asarray(ask_size, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((ask > bid) & (qb + qa > 0), (qb - qa) / (qb + qa), np.nan)


def own_best_reference(side, bid, ask, mid, tick) -> np.ndarray:
    """The price an order of ``side`` is measured from under ``price_reference="best"``.

    Rule: the own side's best quote; when the own side is empty, the opposite best moved one tick
    toward the own side (the book as if its spread were one tick: the nearest price at which a new
    quote of that side can rest); when both sides are empty, the EW-VWAP mid rounded to the tick
    grid.

    Args:
        side: int [k], 0 buy / 1 sell.
        bid, ask: float [k], the best quotes BEFORE the order, NaN where empty (1e-9 units).
        mid: float [k], the EW-VWAP mid before the order (1e-9 units).
        tick: the tick (1e-9 units), scalar or [k].

    Returns:
        float64 [k] (NaN only where every fallback is NaN).
    """
    buy = np.asarray(side) == 0
    bid, ask = np.asarray(bid, dtype=np.float64), np.asarray(ask, dtype=np.float64)
    tick = np.asarray(tick, dtype=np.float64)
    own = np.where(buy, bid, ask)
    opposite = np.where(buy, ask - tick, bid + tick)
    gridded_mid = np.rint(np.asarray(mid, dtype=np.float64) / tick) * tick
    return np.where(np.isfinite(own), own, np.where(np.isfinite(opposite), opposite, gridded_mid))


def depth_from_best(side, price, reference, tick) -> np.ndarray:
    """Aggressiveness in ticks: ``(price − ref)/tick`` for a buy (side 0), ``(ref − price)/tick`` for a sell.

    0 joins the reference quote, > 0 improves it (at least the spread: marketable), < 0 rests behind it.
    """
    sign = np.where(np.asarray(side) == 0, 1.0, -1.0)
    diff = np.asarray(price, dtype=np.float64) - np.asarray(reference, dtype=np.float64)
    return sign * diff / np.asarray(tick, dtype=np.float64)


def price_from_best(side, depth, reference, tick) -> np.ndarray:
    """Inverse of :func:`depth_from_best` on the tick grid of ``reference``: ``ref ± rint(depth)·tick`` (int64).

    Rounding the depth (not the price) keeps the order on the grid the reference quote sits on.
    """
    sign = np.where(np.asarray(side) == 0, 1.0, -1.0)
    steps = np.rint(np.asarray(depth, dtype=np.float64))
    return np.rint(np.asarray(reference, dtype=np.float64) + sign * steps * np.asarray(tick, dtype=np.float64)
                   ).astype(np.int64)


def book_context(me, top, tick: int) -> dict[str, np.ndarray]:
    """The book context of each modeled event of one session.

    Args:
        me: the session's ``features.ModeledEvents`` (``source_row``, ``first_row``, ``side``,
            ``price``, ``mid_before`` and ``session.events``).
        top: a ``book.TopOfBook`` of ``me.session.events`` (one row per record).
        tick: the session's tick (1e-9 units, > 0).

    Returns:
        ``{"spread_ticks", "imbalance", "price_depth_best"}``, float64 [k] each.

    Raises:
        ValueError: ``top`` does not have one row per record of the session.
    """
    ev = me.session.events
    if len(top) != len(ev):
        raise ValueError(f"a book of {len(top)} rows for a session of {len(ev)} records "
                         f"({me.session.symbol} {me.session.date})")
    # after: the end of the event's message / packet (the record flagged F_LAST at or after it)
    last = np.flatnonzero((ev.flags & F_LAST) != 0)
    after = np.array(me.source_row, dtype=np.int64)
    if len(last):
        j = np.searchsorted(last, after, side="left")
        found = j < len(last)
        after[found] = last[j[found]]
    # before: the book the order met, just before its first record (TopOfBook.bid_before; a
    # book without it: after the preceding record, nothing before record 0)
    first = np.asarray(me.first_row, dtype=np.int64)
    if getattr(top, "bid_before", None) is not None:
        bid_before, ask_before = top.bid_before[first], top.ask_before[first]
    else:
        b = np.maximum(first - 1, 0)
        bid_before = np.where(first > 0, top.bid[b], np.nan)
        ask_before = np.where(first > 0, top.ask[b], np.nan)
    ref = own_best_reference(me.side, bid_before, ask_before, np.asarray(me.mid_before) * PRICE_SCALE, tick)
    return {
        "spread_ticks": spread_in_ticks(top.bid[after], top.ask[after], tick),
        "imbalance": queue_imbalance(top.bid[after], top.ask[after], top.bid_size[after], top.ask_size[after]),
        "price_depth_best": depth_from_best(me.side, me.price, ref, tick),
    }


__all__ = ["book_context", "depth_from_best", "own_best_reference", "price_from_best", "queue_imbalance",
           "spread_in_ticks"]
