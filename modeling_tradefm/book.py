# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The visible book after every record of a stream: one rule for evaluation, features and rollouts.

Two sources, in order of truth:

* **A LOBSTER orderbook file** (``…_orderbook_N.csv``; row ``i`` is the venue's book after message
  ``i``). The LOBSTER reader numbers events by their message row (``sequence`` = 1-based row), so
  the book after record ``j`` is row ``sequence[j] − 1``: exact, whatever the message file
  leaves out. A level-1 message file does not determine its own book (orders enter and leave
  beyond the best price unseen), so this is the only truth there.
* **Replay** through :class:`modeling_tradefm.simulator.Simulator` (``lobster_orderbook``), for
  sources whose records determine the book: Databento MBO (snapshot + every order), LOBSTER
  message files of enough depth, rollouts (the simulator's own log), optionally starting from a
  given book (``initial``: the book at a rollout's start).

Inside one message (LOBSTER type 4 → T, F, C) or one venue packet, the intermediate records see
the book after the whole message; consumers sample the book after records flagged ``F_LAST``.

**The starting book of a rollout** (:func:`starting_book`, the one function ``tradefm generate``
and the evaluation's replay of a rollout both call, so the rollout and its measurement start
from the same book): the replay of the real prefix; with the message file's orderbook, a
*reconciled* replay that adopts the orderbook's visible levels after every message
(``Simulator.apply(events, orderbook=...)``; the rule is in ``simulator.py``), so the book at the
start shows exactly the venue's row in force then — even for a level-1 file, whose messages alone
leave the book almost undetermined.

:class:`BookSource` hands the book of each session of a stream to ``features.build_features``
(the book context of training data, ``modeling_tradefm.book_context``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DataError
from .events import EventTable

SOURCE_ORDERBOOK = "orderbook"
SOURCE_REPLAY = "replay"


@dataclass
class TopOfBook:
    """Best quotes after every record of a stream (arrays [n]; prices in 1e-9 units).

    Attributes:
        bid, ask: best bid / ask price, NaN where that side is empty.
        bid_size, ask_size: volume at the best price (0 where the side is empty).
        source: ``"orderbook"`` (a LOBSTER orderbook file) or ``"replay"`` (the simulator).
        unseen: replay only: cancels and executions of orders the replay never saw arrive that found
            no volume to take at their level (``Simulator.counters["unknown_shortfall"]``). Many of
            them mean the records do not determine the book (a LOBSTER level-1 file: 16 % of its
            messages); a complete source has none.
        bid_before, ask_before: best bid / ask just BEFORE each record, as exactly as the source
            knows it (replay: after the previous record, the initial book's before the first;
            orderbook: the row of the previous message, which a reader may have skipped; NaN before
            the file's first message), or ``None`` when not given.
    """

    bid: np.ndarray
    ask: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray
    source: str
    unseen: int = 0
    bid_before: np.ndarray | None = None
    ask_before: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.bid)

    @property
    def two_sided(self) -> np.ndarray:
        """bool [n]: both sides present and not crossed or locked (bid < ask): a mid and a spread exist."""
        with np.errstate(invalid="ignore"):
            return self.ask > self.bid

    def mid(self) -> np.ndarray:
        """(bid + ask) / 2 where :attr:`two_sided`, else NaN."""
        return np.where(self.two_sided, (self.bid + self.ask) / 2, np.nan)

    def spread(self) -> np.ndarray:
        """ask − bid where :attr:`two_sided`, else NaN."""
        return np.where(self.two_sided, self.ask - self.bid, np.nan)

    def take(self, rows: np.ndarray) -> TopOfBook:
        """The rows ``rows`` (e.g. one session of a stream)."""
        pick = lambda x: None if x is None else x[rows]  # noqa: E731
        return TopOfBook(self.bid[rows], self.ask[rows], self.bid_size[rows], self.ask_size[rows], self.source,
                         bid_before=pick(self.bid_before), ask_before=pick(self.ask_before))


def _from_rows(rows: np.ndarray, price_multiplier: int, source: str) -> TopOfBook:
    """Level 1 of LOBSTER-layout rows (``ask_px, ask_sz, bid_px, bid_sz, …``) as a :class:`TopOfBook`."""
    rows = np.asarray(rows, dtype=np.int64)
    ask_q, bid_q = rows[:, 1], rows[:, 3]
    ask = np.where(ask_q > 0, rows[:, 0].astype(np.float64) * price_multiplier, np.nan)
    bid = np.where(bid_q > 0, rows[:, 2].astype(np.float64) * price_multiplier, np.nan)
    return TopOfBook(bid, ask, np.maximum(bid_q, 0).astype(np.float64), np.maximum(ask_q, 0).astype(np.float64),
                     source)


def top_of_book(events: EventTable, orderbook: np.ndarray | None = None, initial=None,
                orderbook_path=None) -> TopOfBook:
    """The best quotes after every record of ``events`` (one instrument, feed order).

    Args:
        events: the stream; with ``orderbook``, records read by the LOBSTER reader (``sequence`` =
            1-based message row), possibly a slice of the file (a continuation after a prefix).
        orderbook: the message file's LOBSTER orderbook rows (int64 [rows, 4·levels], LOBSTER
            units: dollars × 10,000), as ``read_file(..., orderbook=True).orderbook`` gives them.
        initial: without ``orderbook``: the book before the first record (a ``Simulator``, copied,
            not modified); default empty.
        orderbook_path: named in errors.

    Returns:
        :class:`TopOfBook` with ``source`` saying which rule gave it.

    Raises:
        DataError: a record's message row lies outside the orderbook file.
    """
    from .simulator import LOBSTER_PRICE_DIVISOR, Simulator

    if orderbook is None:
        sim = initial.copy() if initial is not None else Simulator()
        sim.keep_log = False
        before = sim.counters["unknown_shortfall"]
        rows, _ = sim.apply_recording(events, 1, 1)
        top = _from_rows(rows, 1, SOURCE_REPLAY)
        top.unseen = sim.counters["unknown_shortfall"] - before
        first = (np.nan, np.nan) if initial is None else tuple(np.nan if p is None else float(p)
                                                                 for p in (initial.best_bid(), initial.best_ask()))
        top.bid_before = np.concatenate([[first[0]], top.bid[:-1]]) if len(top) else top.bid.copy()
        top.ask_before = np.concatenate([[first[1]], top.ask[:-1]]) if len(top) else top.ask.copy()
        return top
    orderbook = np.asarray(orderbook)
    row = events.sequence.astype(np.int64) - 1
    if len(row) and (row.min() < 0 or row.max() >= len(orderbook)):
        bad = int(np.flatnonzero((row < 0) | (row >= len(orderbook)))[0])
        raise DataError(orderbook_path or "<orderbook>",
                        f"record {bad} is message row {row[bad] + 1}, but the orderbook has {len(orderbook)} rows")
    top = _from_rows(orderbook[row, :4], LOBSTER_PRICE_DIVISOR, SOURCE_ORDERBOOK)
    prev = _from_rows(orderbook[np.maximum(row - 1, 0), :4], LOBSTER_PRICE_DIVISOR, SOURCE_ORDERBOOK)
    top.bid_before = np.where(row > 0, prev.bid, np.nan)
    top.ask_before = np.where(row > 0, prev.ask, np.nan)
    return top


def starting_book(prefix: EventTable, orderbook: np.ndarray | None = None, orderbook_path=None, **simulator_kwargs):
    """The book a rollout starts from (see the module docstring).

    Args:
        prefix: the real events before the start (one instrument, feed order).
        orderbook: the LOBSTER orderbook rows of the message file ``prefix`` was read from (whole
            file; ``sequence`` picks the rows), or ``None`` for a plain replay.
        orderbook_path: named in errors.
        **simulator_kwargs: ``Simulator`` settings (``cancel_priority``, ``tick_size``, ...).

    Returns:
        A ``Simulator`` holding the book after the prefix (its log holds the prefix).

    Raises:
        DataError: an orderbook the prefix does not fit, or a malformed orderbook row.
    """
    from .simulator import Simulator, check_lobster_book

    if orderbook is not None:
        try:
            check_lobster_book(orderbook, prefix)
        except ValueError as exc:
            raise DataError(orderbook_path or "<orderbook>", f"cannot start from this orderbook: {exc}") from None
    return Simulator.from_events(prefix, orderbook, **simulator_kwargs)


class BookSource:
    """The book of each session of one stream, for ``features.build_features(..., books=BookSource(...))``.

    Called with a ``features.Session`` of ``events`` (``split_sessions(events)``), it returns the
    session's :class:`TopOfBook`, one row per record of ``session.events``:

    * with ``orderbook``: :func:`top_of_book` of the session's records (exact; LOBSTER);
    * else: the replay of the WHOLE stream of the session's instrument (once per instrument,
      cached), read at the session's rows: a session that is not the first of its file meets the
      book the earlier records left, as on the venue (resting orders survive a date boundary).

    Args:
        events: the stream the sessions were split from (``session.rows`` index it).
        orderbook: the LOBSTER orderbook rows of ``events``'s message file, or ``None``.
        initial: the book before the first record (replay only; one instrument), e.g. a
            rollout's starting book; default empty.
        orderbook_path: named in errors.
    """

    def __init__(self, events: EventTable, orderbook: np.ndarray | None = None, initial=None, orderbook_path=None):
        self.events = events
        self.orderbook = orderbook
        self.initial = initial
        self.orderbook_path = orderbook_path
        self._replays: dict[int, tuple[np.ndarray, TopOfBook]] = {}

    @property
    def source(self) -> str:
        return SOURCE_REPLAY if self.orderbook is None else SOURCE_ORDERBOOK

    def __call__(self, session) -> TopOfBook:
        if self.orderbook is not None:
            return top_of_book(session.events, self.orderbook, orderbook_path=self.orderbook_path)
        iid = int(session.instrument_id)
        if iid not in self._replays:
            rows = np.flatnonzero(self.events.instrument_id == iid)
            if self.initial is not None and len(rows) != len(self.events):
                raise ValueError("BookSource(initial=...) needs a stream of one instrument")
            self._replays[iid] = (rows, top_of_book(self.events[rows], initial=self.initial))
        rows, top = self._replays[iid]
        pos = np.searchsorted(rows, session.rows)
        if len(pos) and (pos.max() >= len(rows) or not np.array_equal(rows[pos], session.rows)):
            raise ValueError(f"session {session.symbol} {session.date} was not split from this BookSource's events")
        return top.take(pos)


__all__ = ["SOURCE_ORDERBOOK", "SOURCE_REPLAY", "BookSource", "TopOfBook", "starting_book", "top_of_book"]
