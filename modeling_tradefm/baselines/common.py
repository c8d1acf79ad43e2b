# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""What the baselines share: the modeled order stream, event-type classification, empirical marks.

Both baselines (Compound Hawkes, zero-intelligence) are fitted on the same *modeled* order stream as
TradeFM — adds, cancels and marketable adds (market orders) — and both turn a sampled order into a
price against the rollout's *current* book, so they run through the same simulator loop as TradeFM.

Modeled orders (``extract_orders``), from an ``EventTable``:

* ``A`` → a limit add at its price. An add priced through the opposite best (rare in MBO feeds,
  which report the marketable part as trades) counts as a market order.
* ``C`` → a cancel at its price, except execution bookkeeping: a ``C`` sharing its ``sequence`` with a
  ``T``/``F`` of the same instrument (LOBSTER type-4 groups, CME fills) is part of the trade.
* ``M`` (modify), policy ``modify="split"`` (default): the order's previous record (same
  ``order_id``) gives the old price/size; a price change = cancel at the old price + add at the new
  price (two orders, same timestamp); a size decrease at the same price = cancel of the decrease;
  an increase = add of the increase (CME: loses priority, like a new order). A modify of an order
  never seen before (it was resting before the file started) = add at the new price.
  ``modify="skip"`` drops modifies (counted).
* ``T`` → one market order on the aggressor side per (instrument, ``sequence``) group, size summed,
  price = the group's first execution price. ``T`` with side ``N`` (no aggressor) is skipped.
* ``F``, ``R``, ``N`` and snapshot records (``F_SNAPSHOT``) are not orders (skipped, counted).

Every input row is accounted for: ``records == used + sum(skipped.values())`` where ``used`` counts the
rows that produced (or were merged into) an order.

Placement classes (the "compound" part of the Hawkes event space, after Jain et al. 2024):
the order's price against the book *just before it*: ``inside`` the spread (better than the own
best, not crossing), at the ``touch`` (= own best), ``deep`` (behind the own best). Cancels are
never inside (nothing rests there). The book comes from replaying the events through the project's
simulator (``simulator.lobster_orderbook(levels=1)``), or is passed in (``touch=(bid, ask)``, e.g.
from a LOBSTER orderbook file).

Marks: ``depth_ticks`` = ticks between the order and the own-side best, positive behind it
(``(best_bid − p)/tick`` for bids, ``(p − best_ask)/tick`` for asks): inside < 0, touch 0, deep > 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..events import (
    ACTION_ADD,
    ACTION_CANCEL,
    ACTION_FILL,
    ACTION_MODIFY,
    ACTION_TRADE,
    F_SNAPSHOT,
    NS_PER_SECOND,
    SIDE_ASK,
    SIDE_BID,
    UNDEF_PRICE,
    EventTable,
)
from ..proposer import MARKET_PRICE_ASK, MARKET_PRICE_BID

# Order kinds of the modeled stream (``ModeledOrders.kind``).
KIND_LIMIT = 0
KIND_CANCEL = 1
KIND_MARKET = 2
KIND_NAMES = ("add", "cancel", "market")

# Placement classes.
PLACE_INSIDE = 0
PLACE_TOUCH = 1
PLACE_DEEP = 2
PLACE_NONE = 3  # market orders
PLACEMENT_NAMES = ("inside", "touch", "deep", "none")

SIDE_NAMES = ("bid", "ask")  # side index 0 = buy/bid, 1 = sell/ask (the features' convention)

NO_PRICE = np.iinfo(np.int64).min  # "no best on this side" inside int64 arrays


@dataclass(frozen=True)
class EventType:
    """One dimension of the Hawkes process: kind × side × placement."""

    kind: int
    side: int
    placement: int

    @property
    def name(self) -> str:
        base = f"{KIND_NAMES[self.kind]}_{SIDE_NAMES[self.side]}"
        return base if self.placement == PLACE_NONE else f"{base}_{PLACEMENT_NAMES[self.placement]}"

    @classmethod
    def from_name(cls, name: str) -> EventType:
        parts = name.split("_")
        kind = KIND_NAMES.index(parts[0])
        side = SIDE_NAMES.index(parts[1])
        placement = PLACEMENT_NAMES.index(parts[2]) if len(parts) > 2 else PLACE_NONE
        return cls(kind, side, placement)


def default_event_types() -> list[EventType]:
    """The 12 event types: limit add {inside, touch, deep}, cancel {touch, deep}, market; × {bid, ask}."""
    types = []
    for side in (0, 1):
        types += [EventType(KIND_LIMIT, side, p) for p in (PLACE_INSIDE, PLACE_TOUCH, PLACE_DEEP)]
        types += [EventType(KIND_CANCEL, side, p) for p in (PLACE_TOUCH, PLACE_DEEP)]
        types.append(EventType(KIND_MARKET, side, PLACE_NONE))
    return types


def type_index_table(types: Sequence[EventType]) -> np.ndarray:
    """Lookup ``[kind, side, placement] -> type index`` (−1 where a combination has no type)."""
    table = -np.ones((3, 2, 4), dtype=np.int64)
    for i, t in enumerate(types):
        table[t.kind, t.side, t.placement] = i
    return table


@dataclass
class ModeledOrders:
    """The modeled order stream of an EventTable; arrays have length ``n`` (time order).

    Attributes:
        ts_ns: int64 [n] receive time.
        kind: int8 [n] ``KIND_LIMIT`` / ``KIND_CANCEL`` / ``KIND_MARKET``.
        side: int8 [n] 0 bid/buy, 1 ask/sell.
        price: int64 [n] 1e-9 units.
        size: int64 [n] > 0.
        best_bid, best_ask: int64 [n] the book just before the order (``NO_PRICE`` = empty side).
        placement: int8 [n] ``PLACE_*``.
        depth_ticks: int64 [n] mark, see the module docstring (0 for market orders).
        session: int64 [n] session number (instrument change or a gap > ``session_gap_s``).
        records, used, skipped: accounting of the input rows.
    """

    ts_ns: np.ndarray
    kind: np.ndarray
    side: np.ndarray
    price: np.ndarray
    size: np.ndarray
    best_bid: np.ndarray
    best_ask: np.ndarray
    placement: np.ndarray
    depth_ticks: np.ndarray
    session: np.ndarray
    tick_size: int
    records: int = 0
    used: int = 0
    skipped: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ts_ns)

    def session_bounds(self) -> list[tuple[int, int]]:
        """(start, stop) row ranges of the sessions."""
        if len(self) == 0:
            return []
        cuts = np.flatnonzero(np.diff(self.session)) + 1
        starts = np.concatenate([[0], cuts])
        stops = np.concatenate([cuts, [len(self)]])
        return list(zip(starts.tolist(), stops.tolist()))

    def durations_s(self) -> np.ndarray:
        """Duration (s) of each session: first to last order."""
        return np.array([(self.ts_ns[b - 1] - self.ts_ns[a]) / NS_PER_SECOND for a, b in self.session_bounds()])


def estimate_tick_size(prices: np.ndarray) -> int:
    """The price grid: gcd of the gaps between distinct valid prices (1e-9 units).

    Args:
        prices: int64 [n] prices; ``UNDEF_PRICE`` and non-positive values are ignored.

    Raises:
        ValueError: fewer than two distinct valid prices.
    """
    p = np.unique(prices[(prices > 0) & (prices != UNDEF_PRICE)])
    if len(p) < 2:
        raise ValueError("cannot infer a tick size from fewer than two distinct prices")
    return int(np.gcd.reduce(np.diff(p)))


def touch_before(events: EventTable) -> tuple[np.ndarray, np.ndarray]:
    """Best bid/ask just before each row, by replaying ``events`` through the simulator.

    One replay per instrument (books are per instrument). Uses
    ``simulator.lobster_orderbook(levels=1, price_divisor=1)``, whose row k is the book *after* row k.

    Returns:
        (best_bid, best_ask): int64 [n] each, ``NO_PRICE`` where the side is empty.
    """
    from ..simulator import lobster_orderbook

    n = len(events)
    bid = np.full(n, NO_PRICE, dtype=np.int64)
    ask = np.full(n, NO_PRICE, dtype=np.int64)
    for iid in np.unique(events.instrument_id):
        rows = np.flatnonzero(events.instrument_id == iid)
        # price_divisor=1 keeps 1e-9 units (the LOBSTER default divides by 1e5)
        book = np.asarray(lobster_orderbook(events[rows], levels=1, price_divisor=1), dtype=np.int64)
        # LOBSTER layout: ask price, ask size, bid price, bid size; empty levels carry size 0.
        a_after = np.where(book[:, 1] > 0, book[:, 0], NO_PRICE)
        b_after = np.where(book[:, 3] > 0, book[:, 2], NO_PRICE)
        ask[rows[1:]] = a_after[:-1]
        bid[rows[1:]] = b_after[:-1]
    return bid, ask


def classify(kind, side, price, best_bid, best_ask, tick_size: int):
    """Placement class and depth mark of orders against the book just before them (vectorised).

    Args:
        kind, side, price, best_bid, best_ask: arrays [n] (``NO_PRICE`` = empty side).
        tick_size: price grid, 1e-9 units.

    Returns:
        (kind, placement, depth_ticks): ``kind`` with limit adds that cross the opposite best turned
        into ``KIND_MARKET``; placement int8 [n]; depth_ticks int64 [n].
    """
    kind = np.asarray(kind, dtype=np.int8).copy()
    side = np.asarray(side, dtype=np.int8)
    price = np.asarray(price, dtype=np.int64)
    bid = np.asarray(best_bid, dtype=np.int64)
    ask = np.asarray(best_ask, dtype=np.int64)
    is_bid = side == 0
    own = np.where(is_bid, bid, ask)
    opp = np.where(is_bid, ask, bid)
    has_opp = opp != NO_PRICE
    crosses = has_opp & np.where(is_bid, price >= opp, price <= opp)
    kind[(kind == KIND_LIMIT) & crosses] = KIND_MARKET
    # An empty own side: the order sets the touch — measure it from one tick behind the opposite best
    # (a one-tick spread) when that exists, else call it at the touch.
    ref = np.where(own != NO_PRICE, own, np.where(has_opp, np.where(is_bid, opp - tick_size, opp + tick_size), price))
    diff = np.where(is_bid, ref - price, price - ref)
    depth = np.rint(diff / float(tick_size)).astype(np.int64)
    placement = np.where(depth < 0, PLACE_INSIDE, np.where(depth == 0, PLACE_TOUCH, PLACE_DEEP)).astype(np.int8)
    # Nothing rests inside the spread, so a cancel there is at the (stale) touch of our reconstruction.
    placement[(kind == KIND_CANCEL) & (placement == PLACE_INSIDE)] = PLACE_TOUCH
    depth[(kind == KIND_CANCEL) & (depth < 0)] = 0
    placement[kind == KIND_MARKET] = PLACE_NONE
    depth[kind == KIND_MARKET] = 0
    return kind, placement, depth


def extract_orders(
    events: EventTable,
    touch: tuple[np.ndarray, np.ndarray] | None = None,
    tick_size: int | None = None,
    modify: str = "split",
    session_gap_s: float = 1800.0,
) -> ModeledOrders:
    """The modeled order stream of ``events`` (see the module docstring for the rules).

    Args:
        events: raw events, time order within each instrument.
        touch: (best_bid, best_ask) int64 [len(events)] just before each row (``NO_PRICE`` = empty);
            default: replay through the simulator (``touch_before``).
        tick_size: price grid (1e-9 units); default: ``estimate_tick_size`` of the add prices.
        modify: ``"split"`` or ``"skip"``.
        session_gap_s: a gap longer than this (or an instrument change) starts a new session; the
            Hawkes likelihood treats sessions as independent realisations.

    Returns:
        ModeledOrders, sorted by (session, time).
    """
    if modify not in ("split", "skip"):
        raise ValueError(f"modify must be 'split' or 'skip', got {modify!r}")
    n = len(events)
    act, side_c = events.action, events.side
    if touch is None:
        touch = touch_before(events)
    bid_all, ask_all = (np.asarray(x, dtype=np.int64) for x in touch)
    if len(bid_all) != n or len(ask_all) != n:
        raise ValueError(f"touch arrays have {len(bid_all)}/{len(ask_all)} rows, events have {n}")
    skipped: dict[str, int] = {}

    def skip(mask: np.ndarray, reason: str) -> None:
        c = int(np.count_nonzero(mask))
        if c:
            skipped[reason] = skipped.get(reason, 0) + c

    snap = (events.flags & F_SNAPSHOT) != 0
    skip(snap, "snapshot")
    live = ~snap
    valid_side = (side_c == SIDE_BID) | (side_c == SIDE_ASK)
    side01 = (side_c == SIDE_ASK).astype(np.int8)

    # Execution groups: (instrument, sequence) of T/F rows.
    is_exec = live & ((act == ACTION_TRADE) | (act == ACTION_FILL))
    key = (events.instrument_id.astype(np.uint64) << np.uint64(32)) | events.sequence.astype(np.uint64)
    exec_keys = np.unique(key[is_exec])
    bookkeeping = live & ((act == ACTION_CANCEL) | (act == ACTION_MODIFY)) & np.isin(key, exec_keys)
    skip(bookkeeping, "execution_bookkeeping")
    skip(live & (act == ACTION_FILL), "fill")

    parts = []  # (row, kind, side, price, size) chunks; row orders ties
    used_mask = np.zeros(n, dtype=bool)

    # Limit adds and plain cancels.
    for code, kind in ((ACTION_ADD, KIND_LIMIT), (ACTION_CANCEL, KIND_CANCEL)):
        m = live & (act == code) & ~bookkeeping
        ok = m & valid_side & (events.price != UNDEF_PRICE) & (events.size > 0)
        skip(m & ~ok, f"{chr(code)}_invalid")
        r = np.flatnonzero(ok)
        used_mask[r] = True
        parts.append((r, np.full(len(r), kind, np.int8), side01[r], events.price[r], events.size[r].astype(np.int64)))

    # Modifies.
    m = live & (act == ACTION_MODIFY) & ~bookkeeping
    if modify == "skip":
        skip(m, "modify_skipped")
    else:
        ok = m & valid_side & (events.price != UNDEF_PRICE)
        skip(m & ~ok, "M_invalid")
        # The previous record of the same order (any action) gives the old price/size.
        carries = live & ((act == ACTION_ADD) | (act == ACTION_MODIFY)) & (events.order_id != 0)
        rows = np.flatnonzero(carries)
        order = np.lexsort((rows, events.order_id[rows]))
        rows = rows[order]
        same = np.zeros(len(rows), dtype=bool)
        same[1:] = events.order_id[rows[1:]] == events.order_id[rows[:-1]]
        prev_row = np.full(n, -1, dtype=np.int64)
        prev_row[rows[same]] = rows[np.flatnonzero(same) - 1]
        r = np.flatnonzero(ok)
        pr = prev_row[r]
        known = pr >= 0
        old_p = np.where(known, events.price[np.maximum(pr, 0)], events.price[r])
        old_q = np.where(known, events.size[np.maximum(pr, 0)].astype(np.int64), 0)
        new_p, new_q = events.price[r], events.size[r].astype(np.int64)
        moved = known & (old_p != new_p)
        # price change: cancel old + add new
        c_rows = r[moved & (old_q > 0)]
        parts.append((c_rows, np.full(len(c_rows), KIND_CANCEL, np.int8), side01[c_rows], old_p[moved & (old_q > 0)],
                      old_q[moved & (old_q > 0)]))
        a_sel = (moved | ~known) & (new_q > 0)
        a_rows = r[a_sel]
        parts.append((a_rows, np.full(len(a_rows), KIND_LIMIT, np.int8), side01[a_rows], new_p[a_sel], new_q[a_sel]))
        # same price: size change
        dq = new_q - old_q
        dec = known & ~moved & (dq < 0)
        inc = known & ~moved & (dq > 0)
        parts.append((r[dec], np.full(int(dec.sum()), KIND_CANCEL, np.int8), side01[r[dec]], new_p[dec], -dq[dec]))
        parts.append((r[inc], np.full(int(inc.sum()), KIND_LIMIT, np.int8), side01[r[inc]], new_p[inc], dq[inc]))
        skip(known & ~moved & (dq == 0), "modify_no_change")
        skip(~known & (new_q <= 0), "M_invalid")
        used_mask[r[moved | (~known & (new_q > 0)) | dec | inc]] = True

    # Trades → one market order per execution group, on the aggressor side.
    t = live & (act == ACTION_TRADE)
    t_ok = t & valid_side & (events.size > 0)
    skip(t & ~t_ok, "trade_no_aggressor")
    r = np.flatnonzero(t_ok)
    if len(r):
        k = key[r]
        order = np.lexsort((r, k))
        r, k = r[order], k[order]
        first = np.concatenate([[True], k[1:] != k[:-1]])
        group = np.cumsum(first) - 1
        q = np.bincount(group, weights=events.size[r].astype(np.float64)).astype(np.int64)
        head = r[first]
        # the touch before the group = before its first record (T, F or bookkeeping C)
        g_first = head.copy()
        members = np.flatnonzero(np.isin(key, k[first]) & live)
        if len(members):
            mk = key[members]
            pos = np.searchsorted(k[first], mk)
            np.minimum.at(g_first, pos, members)
        price = np.where(events.price[head] != UNDEF_PRICE, events.price[head], 0)
        parts.append((g_first, np.full(len(head), KIND_MARKET, np.int8), side01[head], price, q))
        used_mask[r] = True  # every print of the group is used (merged into one order)

    rows = np.concatenate([p[0] for p in parts]).astype(np.int64)
    kind = np.concatenate([p[1] for p in parts]).astype(np.int8)
    side = np.concatenate([p[2] for p in parts]).astype(np.int8)
    price = np.concatenate([p[3] for p in parts]).astype(np.int64)
    size = np.concatenate([p[4] for p in parts]).astype(np.int64)
    # Sort by instrument then time then input row (the venue's order for ties).
    iid = events.instrument_id[rows]
    ts = events.ts_recv[rows]
    order = np.lexsort((rows, ts, iid))
    rows, kind, side, price, size, iid, ts = (x[order] for x in (rows, kind, side, price, size, iid, ts))

    if tick_size is None:
        tick_size = estimate_tick_size(events.price[live & ((act == ACTION_ADD) | (act == ACTION_CANCEL))])
    bid, ask = bid_all[rows], ask_all[rows]
    kind, placement, depth = classify(kind, side, price, bid, ask, tick_size)
    new_session = np.concatenate([[True], (iid[1:] != iid[:-1]) | (np.diff(ts) > session_gap_s * NS_PER_SECOND)])
    session = np.cumsum(new_session) - 1
    # Rows, not orders: a split modify yields two orders from one row, an execution group one order
    # from several prints.
    used = int(used_mask.sum())
    records = n
    other = records - used - sum(skipped.values())
    if other:
        # R, N and anything not an order (e.g. unmerged rows of other kinds)
        skipped["not_an_order"] = skipped.get("not_an_order", 0) + other
    return ModeledOrders(
        ts_ns=ts, kind=kind, side=side, price=price, size=size, best_bid=bid, best_ask=ask, placement=placement,
        depth_ticks=depth, session=session, tick_size=int(tick_size), records=records, used=used, skipped=skipped,
    )


@dataclass
class EmpiricalDistribution:
    """A discrete empirical distribution (values and counts), sampled i.i.d.; JSON-serialisable.

    Attributes:
        values: int64 [m] distinct values, ascending.
        counts: int64 [m] occurrences.
    """

    values: np.ndarray
    counts: np.ndarray

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.int64)
        self.counts = np.asarray(self.counts, dtype=np.int64)
        self._cdf = np.cumsum(self.counts) / max(int(self.counts.sum()), 1)

    @classmethod
    def fit(cls, samples: np.ndarray, default: int = 1) -> EmpiricalDistribution:
        """From observations; an empty sample gives a point mass at ``default``."""
        samples = np.asarray(samples, dtype=np.int64)
        if len(samples) == 0:
            return cls(np.array([default]), np.array([1]))
        v, c = np.unique(samples, return_counts=True)
        return cls(v, c)

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def sample(self, rng: np.random.Generator, size: int | None = None):
        """i.i.d. draws (inverse CDF on one uniform per draw, so draws are reproducible per rng)."""
        u = rng.random(size)
        idx = np.minimum(np.searchsorted(self._cdf, u, side="right"), len(self.values) - 1)
        return self.values[idx]

    def quantile(self, q: float) -> int:
        return int(self.values[min(np.searchsorted(self._cdf, q, side="left"), len(self.values) - 1)])

    def mean(self) -> float:
        return float((self.values * self.counts).sum() / max(self.n, 1))

    def to_dict(self) -> dict:
        return {"values": self.values.tolist(), "counts": self.counts.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> EmpiricalDistribution:
        return cls(np.array(d["values"], dtype=np.int64), np.array(d["counts"], dtype=np.int64))


class BookView:
    """Reads a rollout's book (a ``Simulator`` or anything with ``best_bid()``/``best_ask()``).

    Keeps the last two-sided touch so that a one-sided or empty book still yields a reference:
    an empty side is taken as one tick behind the opposite best; both empty → the last known touch.
    """

    def __init__(self, tick_size: int, bid: int | None = None, ask: int | None = None):
        self.tick_size = int(tick_size)
        self.last_bid = bid
        self.last_ask = ask

    def read(self, book) -> tuple[int, int, bool, bool]:
        """(bid, ask, bid_present, ask_present) with references filled in for empty sides."""
        b, a = book.best_bid(), book.best_ask()
        b = None if b is None else int(b)
        a = None if a is None else int(a)
        tick = book_tick_size(book, self.tick_size)
        if b is not None and a is not None:
            self.last_bid, self.last_ask = b, a
            return b, a, True, True
        if b is None and a is not None:
            return a - tick, a, False, True
        if a is None and b is not None:
            return b, b + tick, True, False
        if self.last_bid is None or self.last_ask is None:
            raise RuntimeError("the book is empty on both sides and no reference price is known (empty prefix?)")
        return self.last_bid, self.last_ask, False, False


def book_tick_size(book, default: int) -> int:
    """The book's tick size when it has one, else ``default``."""
    t = getattr(book, "tick_size", None)
    t = t() if callable(t) else t
    return int(t) if t else int(default)


def market_price(side: int) -> int:
    """The no-limit price of a market order on ``side`` (0 buy, 1 sell)."""
    return MARKET_PRICE_BID if side == 0 else MARKET_PRICE_ASK


def price_at_depth(side: int, depth_ticks: int, bid: int, ask: int, tick: int) -> int:
    """Price ``depth_ticks`` behind the own best (negative = inside the spread, kept non-crossing)."""
    if side == 0:
        p = bid - depth_ticks * tick
        return int(min(p, ask - tick)) if depth_ticks < 0 else int(p)
    p = ask + depth_ticks * tick
    return int(max(p, bid + tick)) if depth_ticks < 0 else int(p)


def side_code(side01: np.ndarray) -> np.ndarray:
    """0/1 side → ASCII ``SIDE_BID``/``SIDE_ASK``."""
    return np.where(np.asarray(side01) == 0, SIDE_BID, SIDE_ASK).astype(np.uint8)


def side01(code: np.ndarray) -> np.ndarray:
    """ASCII side → 0 bid / 1 ask."""
    return (np.asarray(code) == SIDE_ASK).astype(np.int8)


def fitted_on_summary(events: EventTable, orders: ModeledOrders, files: Sequence[str] | None = None) -> dict:
    """The ``fitted_on`` record of baseline.json."""
    return {
        "files": [str(f) for f in (files or [])],
        "symbols": sorted(set(events.symbols.values())),
        "records": int(orders.records),
        "events": int(len(orders)),
        "sessions": int(len(orders.session_bounds())),
        "seconds": float(orders.durations_s().sum()) if len(orders) else 0.0,
        "skipped": {k: int(v) for k, v in sorted(orders.skipped.items())},
        "tick_size": int(orders.tick_size),
    }


__all__ = [
    "BookView",
    "EmpiricalDistribution",
    "EventType",
    "KIND_CANCEL",
    "KIND_LIMIT",
    "KIND_MARKET",
    "KIND_NAMES",
    "ModeledOrders",
    "NO_PRICE",
    "PLACEMENT_NAMES",
    "PLACE_DEEP",
    "PLACE_INSIDE",
    "PLACE_NONE",
    "PLACE_TOUCH",
    "book_tick_size",
    "classify",
    "default_event_types",
    "estimate_tick_size",
    "extract_orders",
    "fitted_on_summary",
    "market_price",
    "price_at_depth",
    "side01",
    "side_code",
    "touch_before",
    "type_index_table",
]
