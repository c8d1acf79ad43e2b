# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""What the baselines share: the modeled order stream, event-type classification, empirical marks.

Both baselines (Compound Hawkes, zero-intelligence) are fitted on the same *modeled* order stream as
TradeFM — adds, cancels and marketable adds (market orders) — and both turn a sampled order into a
price against the rollout's *current* book, so they run through the same simulator loop as TradeFM.

Modeled orders (``extract_orders``), from an ``EventTable``: exactly the events TradeFM models,
``features.modeled_events`` — the same sessions (``features.split_sessions``), the same execution
bookkeeping (matched per order id, so a CME ``C``/``M`` in a later packet is still the fill's), the
same modify mapping, aggressor ``T`` groups as one marketable add, snapshots excluded and the events
before a session's first execution dropped (no mid yet). Only two things are added here:

* **kind**: a cancel; a marketable add from an aggressor execution is a *market* order, and so is
  any add priced through the opposite best of the book just before it; every other add is a
  *limit* add.
* **placement** against the book just before the order (below).

Every input row is accounted for by the features' reasons: ``records == used + sum(skipped.values())``
where ``used`` counts the rows that produced (or were merged into) an order.

Placement classes (the "compound" part of the Hawkes event space, after Jain et al. 2024):
the order's price against the book *just before it*: ``inside`` the spread (better than the own
best, not crossing), at the ``touch`` (= own best), ``deep`` (behind the own best). Cancels are
never inside (nothing rests there). The book comes from replaying the events through the project's
simulator (``simulator.lobster_orderbook(levels=1)``), or is passed in (``touch=(bid, ask)``, e.g.
from a LOBSTER orderbook file). For a marketable add "just before" means before its aggressor
group's first ``T`` (``ModeledEvents.first_row``), i.e. before any of the execution's records.

Marks: ``depth_ticks`` = ticks between the order and the own-side best, positive behind it
(``(best_bid − p)/tick`` for bids, ``(p − best_ask)/tick`` for asks): inside < 0, touch 0, deep > 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..events import NS_PER_SECOND, SIDE_ASK, SIDE_BID, EventTable
from ..features import FeatureConfig, modeled_events
from ..proposer import MARKET_PRICE_ASK, MARKET_PRICE_BID
from ..ticks import book_tick_size, infer_tick_size

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
        size: int64 [n] (> 0 on real feeds; the features keep what the venue reports).
        best_bid, best_ask: int64 [n] the book just before the order (``NO_PRICE`` = empty side).
        placement: int8 [n] ``PLACE_*``.
        depth_ticks: int64 [n] mark, see the module docstring (0 for market orders).
        session: int64 [n] session number: a features session (instrument, trading date), cut
            again at gaps > ``session_gap_s``.
        records, used, skipped: accounting of the input rows (the features' fates).
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
        return list(zip(starts.tolist(), stops.tolist(), strict=True))

    def durations_s(self) -> np.ndarray:
        """Duration (s) of each session: first to last order."""
        return np.array([(self.ts_ns[b - 1] - self.ts_ns[a]) / NS_PER_SECOND for a, b in self.session_bounds()])


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


# ``modify`` of the baselines' API → the features' ``modify_policy`` (None: the config's own).
_MODIFY_POLICY = {"split": "cancel_add", "skip": "drop", "cancel_add": "cancel_add", "add": "add", "drop": "drop"}


def extract_orders(
    events: EventTable,
    touch: tuple[np.ndarray, np.ndarray] | None = None,
    tick_size: int | None = None,
    modify: str | None = "split",
    session_gap_s: float = 1800.0,
    feature_config: FeatureConfig | None = None,
) -> ModeledOrders:
    """The modeled order stream of ``events``: TradeFM's modeled events, classified (module docstring).

    Args:
        events: raw events (feed order).
        touch: (best_bid, best_ask) int64 [len(events)] just before each row (``NO_PRICE`` = empty);
            default: replay through the simulator (``touch_before``).
        tick_size: price grid (1e-9 units); default: ``ticks.infer_tick_size(events)``.
        modify: ``"split"`` (the features' ``"cancel_add"``), ``"skip"`` (``"drop"``), a features
            ``modify_policy`` name, or ``None`` for ``feature_config``'s.
        session_gap_s: inside a features session, a gap longer than this starts a new session of
            the point process (the Hawkes likelihood treats sessions as independent realisations and
            the ZI rates count observed time only); it does not change which orders are modeled.
        feature_config: the features' rules (session split, EW-VWAP half-life, start-up); default
            ``FeatureConfig()``, TradeFM's default.

    Returns:
        ModeledOrders, sorted by (session, time).

    Raises:
        ValueError: unknown ``modify``, touch arrays of the wrong length, or no tick size to infer.
    """
    if modify is not None and modify not in _MODIFY_POLICY:
        raise ValueError(f"modify must be one of {sorted(_MODIFY_POLICY)} or None, got {modify!r}")
    config = feature_config or FeatureConfig()
    if modify is not None:
        config = dataclasses.replace(config, modify_policy=_MODIFY_POLICY[modify])
    n = len(events)
    if touch is None:
        touch = touch_before(events)
    bid_all, ask_all = (np.asarray(x, dtype=np.int64) for x in touch)
    if len(bid_all) != n or len(ask_all) != n:
        raise ValueError(f"touch arrays have {len(bid_all)}/{len(ask_all)} rows, events have {n}")
    if tick_size is None:
        tick_size = infer_tick_size(events)
        if tick_size is None:
            raise ValueError("cannot infer a tick size from fewer than two distinct add prices (pass tick_size=)")

    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("ts", "kind", "side", "price", "size", "first", "new")}
    used, skipped = 0, {}
    for me in modeled_events(events, config, progress=False):
        rows = me.session.rows  # session row -> row of ``events`` (the touch is per row of events)
        # The point processes need time order; on the venues' feeds feed order is time order
        # (then this keeps it as it is, event for event).
        order = np.argsort(me.ts_recv, kind="stable")
        ts = me.ts_recv[order]
        cols["ts"].append(ts)
        cols["kind"].append(np.where(me.action[order] == 1, KIND_CANCEL,
                                     np.where(me.marketable[order], KIND_MARKET, KIND_LIMIT)).astype(np.int8))
        cols["side"].append(me.side[order].astype(np.int8))
        cols["price"].append(me.price[order])
        cols["size"].append(me.size[order].astype(np.int64))
        cols["first"].append(rows[me.first_row[order]])
        new = np.zeros(len(ts), dtype=bool)
        new[:1] = True
        new[1:] = np.diff(ts) > session_gap_s * NS_PER_SECOND
        cols["new"].append(new)
        used += me.used
        for reason, c in me.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + c
    cat = {k: (np.concatenate(v) if v else np.zeros(0, np.int64)) for k, v in cols.items()}
    first = cat["first"].astype(np.int64)
    bid, ask = bid_all[first], ask_all[first]
    kind, placement, depth = classify(cat["kind"], cat["side"], cat["price"], bid, ask, tick_size)
    session = np.cumsum(cat["new"].astype(bool)) - 1
    return ModeledOrders(
        ts_ns=cat["ts"].astype(np.int64), kind=kind, side=cat["side"].astype(np.int8),
        price=cat["price"].astype(np.int64), size=cat["size"].astype(np.int64), best_bid=bid, best_ask=ask,
        placement=placement, depth_ticks=depth, session=session.astype(np.int64), tick_size=int(tick_size),
        records=n, used=used, skipped=skipped,
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
    "classify",
    "default_event_types",
    "extract_orders",
    "fitted_on_summary",
    "market_price",
    "price_at_depth",
    "side01",
    "side_code",
    "touch_before",
    "type_index_table",
]
