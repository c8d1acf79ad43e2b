# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Deterministic price-time-priority limit-order book: exact replay of real MBO data and the closed loop.

The simulator has two entry points with deliberately different semantics:

``Simulator.apply(events)`` — **replay of venue data** (fast, compiled). The venue already matched:
its T/F/C records say what happened, so ``apply`` never matches; it maintains the book exactly as
Databento's reference book does: ``A`` adds an order at the back of its level; ``C`` removes
``size`` from the order (a partial cancel leaves the rest in place, keeping its priority);
``M`` modifies (a price change or size increase loses priority — the order moves to the back of
the new level —, a size decrease keeps it; an ``M`` of an unknown id is treated as an add, as
Databento's book does); ``R`` clears the book; ``T`` feeds the EW-VWAP; ``F``/``N`` change nothing
(on CME the book change of an execution comes as the C/M that follows the fill).

``Simulator.submit(...)`` — **a generated or injected order** with no venue behind it: the
simulator is the matching engine. An add priced through the opposite best (or a market order,
``MARKET_PRICE_BID`` / ``MARKET_PRICE_ASK`` from ``proposer.py``) executes against the opposite
side in price-time priority, level by level; for every level it logs one ``T`` (aggressor side,
level price, size filled at that level, the aggressor's id) followed, for every resting order
hit, by ``F`` (resting side/id/size) and ``C`` (the same volume taken off the resting order) —
the CME pattern, so the log replays through ``apply`` to the same book and the features code
recognises the C as execution bookkeeping (same ``sequence``). A limit remainder then rests
(logged as ``A`` with the remaining size); a market remainder is discarded and counted
(``SubmitResult.unfilled_size``, ``counters["market_discarded"]``). No self-trade prevention: an
injected (participant 1) order may trade with other participant-1 orders, as on most venues.
Every submit gets one new ``sequence`` number (continuing the data's), all its rows share it, and
the last row carries ``F_LAST``. New orders get ids above the largest id seen so far.

Anonymous volume. Books seeded from a LOBSTER orderbook row have levels but no orders; a replayed
file may cancel or execute orders submitted before it starts. Every level therefore holds
*anonymous volume* besides its queue of identified orders. Rule: anonymous volume is the OLDEST
volume of its level — it was there before anything we saw arrive — so executions consume it
first and a cancel/execution of an unknown id (replay) takes it off that level's anonymous
volume. If there is not enough, the shortfall is clipped and counted (``unknown_shortfall``).

Generated cancels carry no id. Rule (configurable): the target level is the one at the decoded
price on the decoded side, else the existing level nearest to it in price (ties go to the level
nearer the touch), skipping levels that hold no volume of the cancelling participant (the model's
background flow never cancels an injected agent's orders, and vice versa). Within the level the
NEWEST eligible order is cancelled first (``cancel_priority="newest"``, default, LIFO): empirically
most cancels hit recently placed orders (fleeting quotes), and LIFO leaves long-standing queue
positions — including an injected agent's — intact; anonymous seed volume counts as the oldest.
``cancel_priority="oldest"`` (FIFO) is the alternative. One order is cancelled, by
``min(size, order size)`` (a partial cancel if the decoded size is smaller); with
``cancel_spill=True`` the rest of the decoded size spills over the next eligible orders of the
same level. ``cancel_priority="size"`` instead cancels, WHOLE, the participant's order of the
level whose size is nearest the decoded size (ties: the newest; anonymous volume only when the
level holds no identified order of the participant): real cancels remove whole orders (41,004
deletes against 469 partial cancels in the LOBSTER AAPL sample), but a whole order can be larger
than the decoded size, so this rule removes more volume than the generator asked for. Which rule
is closer to a real market is not settled by the data we have: re-submitting the real AAPL
continuation's orders without ids gives median spreads of 7 (size, newest) and 9 (oldest) ticks
against the real 19; the rule changes every generator's rollouts (benchmarks/RESULTS.md).
``cancel_priority="fit"`` cancels, WHOLE, the largest of the participant's orders of the level
that the decoded size covers (ties: the newest), and only when the size is smaller than every
such order trims the newest by it — so no more than the decoded size ever leaves the book, and a
cancel whose size is that of a resting order deletes it. On the real AAPL cancels after 09:45
with their ids stripped (book replayed exactly, 12,572 cancels) it picks the true order for
94.2 % of them (newest 87.4 %, oldest 75.9 %, size 94.2 %) and removes 0.999 of the asked volume
(newest 0.960, size 1.005); re-submitting 5,000 real orders without ids, it writes 0.98 % of the
LOBSTER rows as partial cancels (newest 2.71 %, real 0.72 %).
An explicit ``order_id`` (injected orders cancelling their own order) cancels exactly that order.

Void orders are not applied and not logged; ``SubmitResult.void_reason`` names the reason:
``zero_size``, ``bad_side``, ``bad_price`` (≤ 0, or the UNDEF/market sentinel on the wrong side),
``off_tick`` (only with ``tick_size``), ``market_empty_side``, ``cancel_empty_side``,
``cancel_no_order`` (no volume of this participant on that side), ``cancel_unknown_id``,
``bad_action`` (only A and C are generated).

EW-VWAP mid (``vwap_mid``): the features' recursion, one compiled implementation
(``_kernels.ewvwap_step``, inlined into this simulator's kernels): on each execution
at time t (s, from ``ts_recv``), price p, size q: ``w = 0.5 ** ((t - t_prev) / half_life)``,
``num = w·num + p·q``, ``den = w·den + q``, ``mid = num/den``; each execution is counted once —
replayed data: ``features.counted_executions`` (the T records of an execution group, else its F
records); submitted orders: one per ``T`` the simulator emits (one per aggressor and level).
Before the first execution it is the book mid. Units: 1e-9 (float64).

Reconciliation with a venue's orderbook (``reconcile(row)``; ``apply(events, orderbook=...)`` does it
after every message — a *reconciled replay*, used by ``tradefm replay --reconcile`` and for the
starting book of rollouts, ``book.starting_book``). The row's visible levels are adopted; per side:

* a level the row shows is set to the row's size: its volume in age order — anonymous volume
  (the oldest), then the identified orders front to back — is kept as long as it fits; the first
  order that does not fit and every order behind it are removed (the newest go first, as with
  LIFO cancels); a shortfall becomes ONE synthetic order at the front of the identified queue
  (volume the messages never showed arriving, e.g. an order placed beyond a level-1 file's view
  that the best price later reached; at the front because, like anonymous volume, it predates
  everything seen). Orders known from the messages thus keep their ids and queue places where they
  reconcile with the row.
* every level inside the row's window that the row does not show is removed, orders and all; the
  window is the whole side when the row shows fewer levels than it has columns (the venue's side
  ends there), else the prices from the best to the row's deepest level.
* levels beyond a full row's deepest price are kept as the replay has them (orders seen arriving
  and not seen leaving: on a level-1 file an upper bound of the depth there); the frontier moves to
  the row's deepest price, so they are reported as undetermined.

Synthetic orders get ids ``2**62 + k`` (``_book_kernels.SYNTH_ID_BASE``), outside venue and
generated ids, and behave as identified orders (generated cancels and executions can take them;
the LOBSTER writer writes them). A cancel or execution of an id the book never saw takes from the
level's anonymous volume, then from its synthetic orders (front to back): both stand for unseen
volume. Counters: ``reconciled_rows`` (rows that differed from the book), ``reconcile_added_volume``,
``reconcile_removed_volume``. The kernel is compiled; AMZN's 57,515-message level-1 day replays
reconciled in 0.2 s.

LOBSTER rows: ``ask_px_k, ask_sz_k, bid_px_k, bid_sz_k`` for k = 1..levels, prices in dollars ×
10,000 (``price_1e9 // 100_000``), empty levels ``±9999999999`` with size 0. A book seeded from a
LOBSTER row only knows the levels that row shows: prices beyond its deepest shown level (the
*frontier*) may hold volume the data never revealed. A row whose shown levels reach beyond the
frontier is *uncertain* from that level down (``lobster_orderbook(..., return_known=True)`` gives,
per row and side, how many leading levels are determined by the data): those cells may differ from
the venue's book. LOBSTER level-N message files also omit every event beyond the N-th level, so
with ``visible=True`` (``from_lobster_row``) the frontier follows the N-th level inward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _book_kernels as K
from ._match_kernels import submit_order
from ._reconcile_kernels import apply_events_reconciled, reconcile_row
from .events import (
    ACTION_ADD,
    ACTION_CANCEL,
    ACTION_CLEAR,
    F_SNAPSHOT,
    SIDE_ASK,
    SIDE_BID,
    UNDEF_PRICE,
    EventTable,
)
from .features import counted_executions

LOBSTER_PRICE_DIVISOR = 100_000  # 1e-9 units per LOBSTER unit (dollars × 10,000)
LOBSTER_EMPTY_PRICE = K.EMPTY_PX

VOID_REASONS = (
    None,
    "zero_size",
    "bad_side",
    "bad_price",
    "off_tick",
    "market_empty_side",
    "cancel_empty_side",
    "cancel_no_order",
    "cancel_unknown_id",
    "bad_action",
)

COUNTER_NAMES = {
    K.C_UNKNOWN_CANCEL: "unknown_id_cancel",
    K.C_UNKNOWN_MODIFY: "unknown_id_modify",
    K.C_SHORTFALL: "unknown_shortfall",
    K.C_SHORTFALL_VOL: "unknown_shortfall_volume",
    K.C_DUPLICATE_ADD: "duplicate_add",
    K.C_BAD_RECORD: "bad_record",
    K.C_ADD_NO_ID: "add_without_id",
    K.C_CLEAR: "clear",
    K.C_MARKET_DISCARD: "market_discarded",
    K.C_MARKET_DISCARD_VOL: "market_discarded_volume",
    K.C_ADDED_VOL: "added_volume",
    K.C_CANCELLED_VOL: "cancelled_volume",
    K.C_EXECUTED_VOL: "executed_volume",
    K.C_UNKNOWN_IN_FRONTIER: "unknown_in_known_range",
    K.C_RECONCILED: "reconciled_rows",
    K.C_RECONCILE_ADDED: "reconcile_added_volume",
    K.C_RECONCILE_REMOVED: "reconcile_removed_volume",
}

# id-less cancel rules; the position is the kernels' S_CANCEL_NEWEST code
CANCEL_PRIORITIES = ("oldest", "newest", "size", "fit")

_SIDE_INDEX = {SIDE_BID: 0, SIDE_ASK: 1, 0: 0, 1: 1, "B": 0, "A": 1}


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What ``Simulator.submit`` did with one order.

    Attributes:
        executed_size: shares executed against the book (aggressor side).
        void_reason: ``None`` if applied, else the reason (see the module docstring).
        resting_size: shares left resting as a new order (limit adds).
        cancelled_size: shares cancelled (cancels).
        unfilled_size: shares of a market order discarded for lack of liquidity.
        last_price: price (1e-9) of the last (deepest) execution level, ``None`` without execution.
        order_id: the new order's id (adds), or the id of the (last) cancelled order (0 = anonymous).
    """

    executed_size: int
    void_reason: str | None
    resting_size: int = 0
    cancelled_size: int = 0
    unfilled_size: int = 0
    last_price: int | None = None
    order_id: int = 0


def _counted_executions(events: EventTable) -> np.ndarray:
    """bool [n]: the records that feed the EW-VWAP, each execution once — ``features.counted_executions``
    (T records of an execution group, else its F records) so that features and simulator agree."""
    return np.ascontiguousarray(counted_executions(events), dtype=bool)


def _pow2(n: int) -> int:
    return 1 << max(4, int(n - 1).bit_length())


class Simulator:
    """A deterministic price-time-priority book (see the module docstring for every rule).

    Args:
        tick_size: price grid in 1e-9 units; when set, ``submit`` voids off-grid limit prices
            (``off_tick``). ``None``: any positive integer price is accepted.
        vwap_half_life_s: half-life (seconds) of the EW-VWAP mid.
        instrument_id: written into the log.
        symbol: ``symbols[instrument_id]`` of the log.
        cancel_priority: id-less cancels: ``"newest"`` (LIFO, default), ``"oldest"`` (FIFO),
            ``"size"`` (the whole order of nearest size) or ``"fit"`` (the whole order of largest
            size the cancel covers), see the module docstring.
        cancel_spill: let a ``"newest"``/``"oldest"`` cancel continue over further orders of its level.
        keep_log: keep applied tables in the log (``False`` saves memory for pure replay).
        capacity: initial number of order slots (grows as needed).
    """

    def __init__(
        self,
        tick_size: int | None = None,
        vwap_half_life_s: float = 10.0,
        instrument_id: int = 0,
        symbol: str = "",
        *,
        cancel_priority: str = "newest",
        cancel_spill: bool = False,
        keep_log: bool = True,
        capacity: int = 1024,
    ):
        if cancel_priority not in CANCEL_PRIORITIES:
            raise ValueError(f"cancel_priority must be one of {', '.join(map(repr, CANCEL_PRIORITIES))}, "
                             f"got {cancel_priority!r}")
        if not vwap_half_life_s > 0:
            raise ValueError(f"vwap_half_life_s must be > 0, got {vwap_half_life_s}")
        if tick_size is not None and int(tick_size) <= 0:
            raise ValueError(f"tick_size must be a positive integer (1e-9 units), got {tick_size}")
        self.tick_size = int(tick_size) if tick_size else None
        self.vwap_half_life_s = float(vwap_half_life_s)
        self.instrument_id = int(instrument_id)
        self.symbol = symbol
        self.cancel_priority = cancel_priority
        self.cancel_spill = bool(cancel_spill)
        self.keep_log = bool(keep_log)
        cap_o = max(16, int(capacity))
        cap_l = max(16, cap_o // 4)
        self._ords = np.zeros((cap_o, 8), dtype=np.int64)
        self._lvls = np.zeros((cap_l, 8), dtype=np.int64)
        self._oh = np.full(_pow2(2 * cap_o), -1, dtype=np.int64)
        self._lh = np.full((2, _pow2(2 * cap_l)), -1, dtype=np.int64)
        self._sk = np.zeros((2, cap_l), dtype=np.int64)
        self._ss = np.zeros((2, cap_l), dtype=np.int64)
        self._st = np.zeros(K.N_STATE, dtype=np.int64)
        self._vw = np.array([0.0, 0.0, 0.0, self.vwap_half_life_s])
        self._lg = np.zeros((256, K.N_LOG_COLS), dtype=np.int64)
        K._clear(self._ords, self._lvls, self._oh, self._lh, self._st)
        self._st[K.S_TICK] = self.tick_size or 0
        self._st[K.S_CANCEL_NEWEST] = CANCEL_PRIORITIES.index(cancel_priority)
        self._st[K.S_CANCEL_SPILL] = 1 if cancel_spill else 0
        self._chunks: list[EventTable] = []  # applied tables and flushed submit rows, in order
        self._chunk_rows = 0
        self._log_cache: EventTable | None = None

    # ---- capacity ------------------------------------------------------------------------------
    def _grow(self, log_rows: int = 0, room: int = 0) -> None:
        """Grow the tables so that the kernels have room for ``room`` more orders and levels
        (beyond their usual two) and the log for ``log_rows`` more rows."""
        st = self._st
        while True:
            nlv = int(st[K.S_NLV_B] + st[K.S_NLV_A])
            grow_o = (st[K.S_OFREE] < 0 or 2 * (st[K.S_NORD] + 2 + room) > len(self._oh)
                      or len(self._ords) - st[K.S_NORD] < room + 1)
            grow_l = (st[K.S_LFREE] < 0 or 2 * (nlv + 2 + room) > self._lh.shape[1]
                      or nlv + room + 2 > len(self._lvls))
            if not (grow_o or grow_l):
                break
            if grow_o:
                self._grow_orders()
            if grow_l:
                self._grow_levels()
        K.rehash(self._ords, self._lvls, self._oh, self._lh, self._sk, self._ss, st)
        need = int(st[K.S_LOGN]) + log_rows
        if need > len(self._lg):
            new = np.zeros((max(need, 2 * len(self._lg)), K.N_LOG_COLS), dtype=np.int64)
            new[: st[K.S_LOGN]] = self._lg[: st[K.S_LOGN]]
            self._lg = new

    def _grow_orders(self) -> None:
        st = self._st
        old = self._ords
        n = len(old)
        new = np.zeros((2 * n, 8), dtype=np.int64)
        new[:n] = old
        new[n:, K.O_NEXT] = np.arange(n + 1, 2 * n + 1)
        new[-1, K.O_NEXT] = st[K.S_OFREE]
        st[K.S_OFREE] = n
        self._ords = new
        self._oh = np.full(_pow2(4 * n), -1, dtype=np.int64)

    def _grow_levels(self) -> None:
        st = self._st
        old = self._lvls
        n = len(old)
        new = np.zeros((2 * n, 8), dtype=np.int64)
        new[:n] = old
        new[n:, K.L_HEAD] = np.arange(n + 1, 2 * n + 1)
        new[-1, K.L_HEAD] = st[K.S_LFREE]
        st[K.S_LFREE] = n
        self._lvls = new
        for name in ("_sk", "_ss"):
            arr = np.zeros((2, 2 * n), dtype=np.int64)
            arr[:, :n] = getattr(self, name)
            setattr(self, name, arr)
        self._lh = np.full((2, _pow2(4 * n)), -1, dtype=np.int64)

    # ---- replay --------------------------------------------------------------------------------
    def apply(self, events: EventTable, orderbook: np.ndarray | None = None) -> None:
        """Replay real events (A/C/M/R change the book, T feeds the EW-VWAP); no matching.

        Args:
            events: an ``EventTable`` of one instrument in time order. With ``keep_log`` the table is
                referenced (not copied) by the log: do not modify it afterwards.
            orderbook: the LOBSTER orderbook rows of the message file ``events`` were read from
                (``sequence`` = 1-based message row; any slice of the file): after every message
                the book adopts that message's row (*reconciled replay*, see the module docstring).
        """
        self._record(events, 0, 100_000, orderbook)

    def apply_recording(self, events: EventTable, levels: int = 10, price_divisor: int = LOBSTER_PRICE_DIVISOR,
                        orderbook: np.ndarray | None = None):
        """``apply`` that also returns the book after every event.

        Returns:
            rows: int64 [n, 4·levels] LOBSTER orderbook rows (prices ``// price_divisor``).
            known: int32 [n, 2] leading levels of (bid, ask) determined by the data (== levels unless
                the book was seeded from a LOBSTER row and the row reaches beyond the frontier).
        """
        return self._record(events, int(levels), int(price_divisor), orderbook)

    def _record(self, events: EventTable, levels: int, divisor: int, orderbook):
        rows, unc = self._run(events, levels, divisor, orderbook)
        if self.keep_log and len(events):
            self._flush_log()
            self._chunks.append(events)
            self._chunk_rows += len(events)
            self._log_cache = None
        if len(events):
            self._note_sequence(events)
        return rows, unc

    def reconcile(self, row, price_multiplier: int = LOBSTER_PRICE_DIVISOR) -> dict[str, int]:
        """Adopt the visible levels of one LOBSTER orderbook row (the rule of the module docstring).

        Args:
            row: int [4·levels] ``ask_px, ask_sz, bid_px, bid_sz, ...`` (LOBSTER units).
            price_multiplier: 1e-9 units per row price unit.

        Returns:
            ``{"added": volume, "removed": volume}`` this call changed.

        Raises:
            ValueError: a malformed row (``check_lobster_book``).
        """
        book = np.ascontiguousarray(np.asarray(row, dtype=np.int64).reshape(1, -1))
        check_lobster_book(book)
        before = self._st[[K.C_RECONCILE_ADDED, K.C_RECONCILE_REMOVED]].copy()
        room = 4 * (book.shape[1] // 4) + 2
        if not K._has_room_for(self._ords, self._lvls, self._oh, self._lh, self._st, room):
            self._grow(room=room)
        reconcile_row(self._ords, self._lvls, self._oh, self._lh, self._sk, self._ss, self._st, book, 0,
                        int(price_multiplier))
        after = self._st[[K.C_RECONCILE_ADDED, K.C_RECONCILE_REMOVED]]
        return {"added": int(after[0] - before[0]), "removed": int(after[1] - before[1])}

    def _run(self, events: EventTable, levels: int, divisor: int, orderbook=None):
        n = len(events)
        if levels < 0:
            raise ValueError("levels must be >= 0")
        rows = np.zeros((n if levels else 0, 4 * levels), dtype=np.int64)
        unc = np.zeros((n if levels else 0, 2), dtype=np.int32)
        rows_arg = rows if levels else np.zeros((1, 1), dtype=np.int64)
        unc_arg = unc if levels else np.zeros((1, 2), dtype=np.int32)
        oid = events.order_id.view(np.int64)
        is_exec = _counted_executions(events).view(np.uint8)
        cols = (events.ts_recv, events.action, events.side, events.price, events.size, oid, is_exec)
        if orderbook is not None:
            book = np.ascontiguousarray(orderbook, dtype=np.int64)
            check_lobster_book(book, events)
            seq = np.ascontiguousarray(events.sequence, dtype=np.int64)
            room = 4 * (book.shape[1] // 4) + 2
        i = 0
        while i < n:
            state = (self._ords, self._lvls, self._oh, self._lh, self._sk, self._ss, self._st, self._vw)
            if orderbook is None:
                i = K.apply_events(*state, *cols, i, n, rows_arg, unc_arg, levels, divisor)
            else:
                i = apply_events_reconciled(*state, *cols, seq, i, n, book, LOBSTER_PRICE_DIVISOR, rows_arg,
                                              unc_arg, levels, divisor)
            if i < n:
                self._grow(room=0 if orderbook is None else room)
        return rows, unc

    def _note_sequence(self, events: EventTable) -> None:
        last = int(events.sequence.max()) if len(events) else 0
        if last > self._st[K.S_SEQ]:
            self._st[K.S_SEQ] = last

    # ---- generated orders ----------------------------------------------------------------------
    def submit(self, ts_ns: int, action: int, side: int, price: int, size: int, participant: int = 0,
               order_id: int = 0) -> SubmitResult:
        """Apply one generated or injected order (the simulator matches it).

        Args:
            ts_ns: time (ns, UTC) written to ``ts_recv``/``ts_event`` of its log rows.
            action: ``ACTION_ADD`` or ``ACTION_CANCEL`` (ASCII code, or ``"A"``/``"C"``).
            side: ``SIDE_BID``/``SIDE_ASK`` (or 0/1, ``"B"``/``"A"``).
            price: 1e-9 units; ``MARKET_PRICE_BID`` (buy) / ``MARKET_PRICE_ASK`` (sell) = market order.
                For id-less cancels the price that selects the level.
            size: shares (> 0).
            participant: the I_MP flag written to the log (1 = injected/designated participant).
            order_id: for a cancel, the exact order to cancel (0 = the id-less rule).

        Returns:
            ``SubmitResult``.
        """
        if isinstance(action, str):
            action = ord(action)
        s = _SIDE_INDEX.get(side, -1)
        if s < 0:
            return SubmitResult(0, "bad_side")
        oid_in = int(np.uint64(order_id).view(np.int64)) if order_id else 0
        while True:
            void, executed, rest, cancelled, unfilled, last_px, oid = submit_order(
                self._ords, self._lvls, self._oh, self._lh, self._sk, self._ss, self._st, self._vw, self._lg,
                int(ts_ns), int(action), s, int(price), int(size), int(participant), oid_in,
            )
            if void != K.V_NEED_ROOM:
                break
            st = self._st
            self._grow(3 * (int(st[K.S_NORD]) + int(st[K.S_NLV_B]) + int(st[K.S_NLV_A])) + 4)
        if void:
            return SubmitResult(0, VOID_REASONS[void])
        self._log_cache = None
        return SubmitResult(executed, None, rest, cancelled, unfilled, None if last_px == UNDEF_PRICE else last_px,
                            oid & 0xFFFFFFFFFFFFFFFF)

    # ---- log -----------------------------------------------------------------------------------
    def _buffer_table(self) -> EventTable:
        n = int(self._st[K.S_LOGN])
        g = self._lg[:n]
        return EventTable(
            ts_recv=g[:, K.G_TS], ts_event=g[:, K.G_TSE], action=g[:, K.G_ACTION], side=g[:, K.G_SIDE],
            price=g[:, K.G_PRICE], size=g[:, K.G_SIZE], order_id=g[:, K.G_ID].view(np.uint64),
            instrument_id=np.full(n, self.instrument_id, dtype=np.uint32), flags=g[:, K.G_FLAGS],
            sequence=g[:, K.G_SEQ], participant=g[:, K.G_PART],
            symbols={self.instrument_id: self.symbol} if self.symbol else {},
        )

    def _flush_log(self) -> None:
        if self._st[K.S_LOGN]:
            self._chunks.append(self._buffer_table())
            self._chunk_rows += int(self._st[K.S_LOGN])
            self._st[K.S_LOGN] = 0

    def log_len(self) -> int:
        """Number of rows ``log()`` returns (cheap)."""
        return self._chunk_rows + int(self._st[K.S_LOGN])

    def log(self, start: int = 0) -> EventTable:
        """Everything applied (``apply``, when ``keep_log``) and emitted (``submit``), in order.

        Args:
            start: first row to return (``log(start)`` == ``log()[start:]`` without building the prefix).
        """
        if start == 0 and self._log_cache is not None:
            return self._log_cache
        parts = []
        pos = 0
        for chunk in self._chunks:
            if pos + len(chunk) > start:
                parts.append(chunk[max(0, start - pos):])
            pos += len(chunk)
        if self._st[K.S_LOGN]:
            buf = self._buffer_table()
            parts.append(buf[max(0, start - pos):])
        out = EventTable.concat(parts) if len(parts) != 1 else parts[0].copy()
        if start == 0:
            self._log_cache = out
        return out

    # ---- queries -------------------------------------------------------------------------------
    def _best(self, side: int) -> int | None:
        n = self._st[K.S_NLV_B + side]
        if n == 0:
            return None
        return int(self._lvls[self._ss[side, n - 1], K.L_PRICE])

    def best_bid(self) -> int | None:
        """Best bid price (1e-9 units) or ``None``."""
        return self._best(0)

    def best_ask(self) -> int | None:
        """Best ask price (1e-9 units) or ``None``."""
        return self._best(1)

    def spread(self) -> int | None:
        """Best ask − best bid (1e-9 units), ``None`` if a side is empty."""
        b, a = self._best(0), self._best(1)
        return None if b is None or a is None else a - b

    def mid(self) -> float | None:
        """(best bid + best ask) / 2 in 1e-9 units (exact in float64 below $4.5M), else ``None``."""
        b, a = self._best(0), self._best(1)
        return None if b is None or a is None else (a + b) / 2

    def vwap_mid(self) -> float | None:
        """EW-VWAP of executions (1e-9 units); the book mid before the first execution."""
        if self._vw[2] == 0.0:
            return self.mid()
        return float(self._vw[0] / self._vw[1])

    def vwap_state(self) -> dict:
        """EW-VWAP state ``{num, den, t_prev_ns, has}`` (for checks against the features' recursion)."""
        return {"num": float(self._vw[0]), "den": float(self._vw[1]), "t_prev_ns": int(self._st[K.S_VW_T]),
                "has": bool(self._vw[2])}

    def depth(self, levels: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top ``levels`` of each side, best first.

        Returns:
            (bids, asks): int64 [k, 2] arrays of (price 1e-9, total size), k ≤ levels.
        """
        out = []
        for side in range(2):
            n = int(self._st[K.S_NLV_B + side])
            k = min(n, int(levels))
            slots = self._ss[side, n - k:n][::-1]
            out.append(np.stack([self._lvls[slots, K.L_PRICE], self._lvls[slots, K.L_TOTAL]], axis=1)
                       if k else np.zeros((0, 2), dtype=np.int64))
        return out[0], out[1]

    def level_size(self, side, price: int) -> int:
        """Total volume resting at ``price`` on ``side`` (0 if no level)."""
        s = _SIDE_INDEX[side]
        slot = K._lfind(self._lvls, self._lh[s], int(price))
        return 0 if slot < 0 else int(self._lvls[slot, K.L_TOTAL])

    def level_queue(self, side, price: int) -> tuple[int, np.ndarray]:
        """(anonymous volume, int64 [k, 3] identified orders front to back: id bits, size, participant)."""
        s = _SIDE_INDEX[side]
        slot = K._lfind(self._lvls, self._lh[s], int(price))
        if slot < 0:
            return 0, np.zeros((0, 3), dtype=np.int64)
        out = np.zeros((int(self._lvls[slot, K.L_NORD]), 3), dtype=np.int64)
        K.level_orders(self._ords, self._lvls, slot, out)
        return int(self._lvls[slot, K.L_ANON]), out

    def resting_volume(self) -> int:
        """Total resting volume, both sides."""
        tot = 0
        for side in range(2):
            n = int(self._st[K.S_NLV_B + side])
            tot += int(self._lvls[self._ss[side, :n], K.L_TOTAL].sum())
        return tot

    def n_orders(self) -> int:
        return int(self._st[K.S_NORD])

    def is_crossed(self) -> bool:
        b, a = self._best(0), self._best(1)
        return b is not None and a is not None and b >= a

    def lobster_row(self, levels: int = 10, price_divisor: int = LOBSTER_PRICE_DIVISOR, *,
                    return_known: bool = False):
        """The book as one LOBSTER orderbook row: int64 [4·levels] (see the module docstring).

        With ``return_known`` also int32 [2]: leading (bid, ask) levels determined by the data.
        """
        out = np.zeros((1, 4 * int(levels)), dtype=np.int64)
        known = np.zeros((1, 2), dtype=np.int32)
        K.write_row(self._lvls, self._sk, self._ss, self._st, out, known, int(levels), int(price_divisor))
        return (out[0], known[0]) if return_known else out[0]

    @property
    def counters(self) -> dict[str, int]:
        """Diagnostics by reason (unknown ids, clipped volume, duplicates, bad records, volumes)."""
        return {name: int(self._st[i]) for i, name in COUNTER_NAMES.items()}

    @property
    def frontier(self) -> tuple[int | None, int | None]:
        """(bid, ask) price beyond which a LOBSTER-seeded book may hide volume (``None`` = fully known)."""
        st = self._st
        return (int(st[K.S_FB]) if st[K.S_HASFB] else None, int(st[K.S_FA]) if st[K.S_HASFA] else None)

    # ---- copies and seeds ----------------------------------------------------------------------
    def copy(self) -> Simulator:
        """A deep copy of the book (independent state); the applied part of the log is shared, read-only."""
        new = object.__new__(Simulator)
        new.__dict__.update(self.__dict__)
        for name in ("_ords", "_lvls", "_oh", "_lh", "_sk", "_ss", "_st", "_vw"):
            setattr(new, name, getattr(self, name).copy())
        n = int(self._st[K.S_LOGN])
        new._lg = np.zeros_like(self._lg)
        new._lg[:n] = self._lg[:n]
        new._chunks = list(self._chunks)
        new._log_cache = None
        return new

    @classmethod
    def from_events(cls, prefix: EventTable, orderbook: np.ndarray | None = None, **kwargs: Any) -> Simulator:
        """A book that replayed ``prefix`` (a real session's events before the start).

        With ``orderbook`` (the LOBSTER orderbook rows of the prefix's message file) the replay is
        reconciled with the venue's visible levels after every message (``apply``).
        """
        kwargs.setdefault("instrument_id", int(prefix.instrument_id[0]) if len(prefix) else 0)
        kwargs.setdefault("symbol", prefix.symbol_of(kwargs["instrument_id"]) if len(prefix) else "")
        sim = cls(**kwargs)
        sim.apply(prefix, orderbook=orderbook)
        return sim

    @classmethod
    def from_snapshot(cls, events: EventTable, **kwargs: Any) -> Simulator:
        """A book from the leading Databento snapshot of ``events`` (R and F_SNAPSHOT records).

        Raises:
            ValueError: if ``events`` does not start with a snapshot.
        """
        snap = ((events.flags & F_SNAPSHOT) != 0) | (events.action == ACTION_CLEAR)
        n = int(np.argmin(snap)) if not snap.all() else len(events)
        if n == 0 or not ((events.flags[:n] & F_SNAPSHOT) != 0).any():
            raise ValueError("events do not start with a snapshot (records flagged F_SNAPSHOT)")
        return cls.from_events(events[:n], **kwargs)

    @classmethod
    def from_lobster_row(cls, row, levels: int | None = None, undo: EventTable | None = None,
                         price_multiplier: int = LOBSTER_PRICE_DIVISOR, visible: bool = True,
                         **kwargs: Any) -> Simulator:
        """A book with the anonymous volume of one LOBSTER orderbook row.

        Args:
            row: int [4·levels] ``ask_px, ask_sz, bid_px, bid_sz, ...`` (LOBSTER units).
            levels: levels in the row (default ``len(row) // 4``). A side showing all ``levels``
                levels gets a frontier at its deepest price (deeper volume is unknown).
            undo: events of ONE message to undo (the row is the book AFTER them; the result is the
                book before them): A removes its size, C adds its size back, as anonymous volume.
                An add beyond the frontier is invisible in the row and undoing it changes nothing.
            price_multiplier: 1e-9 units per row price unit.
            visible: the events that follow come from a LOBSTER level-``levels`` message file, which
                omits every event beyond the ``levels``-th level at its time: the known range then
                shrinks as levels leave the window (``frontier``), and rows showing levels beyond
                it are flagged uncertain. ``False`` keeps the seed's frontier fixed (a full-depth
                event source).

        Raises:
            ValueError: for a malformed row or an ``undo`` the row contradicts.
        """
        row = np.asarray(row, dtype=np.int64).ravel()
        if levels is None:
            levels = len(row) // 4
        if len(row) != 4 * levels or levels <= 0:
            raise ValueError(f"a LOBSTER row of {levels} levels has {4 * levels} columns, got {len(row)}")
        sim = cls(**kwargs)
        st = sim._st
        r = row.reshape(levels, 4)
        for side, (pc, sc) in ((1, (0, 1)), (0, (2, 3))):
            shown = 0
            last = None
            prev = None
            for k in range(levels):
                p, q = int(r[k, pc]), int(r[k, sc])
                if q == 0 and abs(p) == LOBSTER_EMPTY_PRICE:
                    continue
                if q <= 0:
                    raise ValueError(f"level {k + 1} of side {'bid' if side == 0 else 'ask'} has size {q}")
                if prev is not None and (p >= prev if side == 0 else p <= prev):
                    raise ValueError(f"{'bid' if side == 0 else 'ask'} prices are not strictly ordered at level {k + 1}")
                prev = p
                sim._anon(side, p * price_multiplier, q)
                shown += 1
                last = p * price_multiplier
            if shown == levels:
                st[K.S_FB + side] = last
                st[K.S_HASFB + side] = 1
        if visible:
            st[K.S_VISIBLE] = levels
        if undo is not None:
            for j in range(len(undo)):
                a = int(undo.action[j])
                if a not in (ACTION_ADD, ACTION_CANCEL):
                    continue
                side = _SIDE_INDEX.get(int(undo.side[j]), -1)
                p, q = int(undo.price[j]), int(undo.size[j])
                if side < 0 or p == UNDEF_PRICE:
                    continue
                known = K._in_known_range(st, side, p)
                if a == ACTION_ADD:
                    have = sim.level_size(side, p)
                    if have >= q:
                        sim._anon(side, p, -q)
                    elif known:
                        raise ValueError(f"undo: the row shows {have} at {p} on side {side}, the add put {q} there")
                else:
                    sim._anon(side, p, q)
        sim._st[K.C_ADDED_VOL] = 0  # seeds are not "added" volume of the session
        return sim

    def _anon(self, side: int, price: int, delta: int) -> None:
        if not K._has_room(self._ords, self._lvls, self._oh, self._lh, self._st):
            self._grow()
        short = K.anon_change(self._ords, self._lvls, self._oh, self._lh, self._sk, self._ss, self._st,
                              side, int(price), int(delta))
        if short:
            raise ValueError(f"cannot remove {-delta} anonymous shares at {price}: only {-delta - short} there")


def check_lobster_book(book: np.ndarray, events: EventTable | None = None) -> None:
    """Refuse a LOBSTER orderbook that reconciliation cannot adopt (``Simulator.reconcile``).

    Checks, per row and side: sizes ≥ 0, the shown (size > 0) levels leading and strictly ordered
    away from the touch; with ``events``, that every message row (``sequence``) lies inside the book.

    Raises:
        ValueError: naming the first offending row (1-based) and the problem.
    """
    book = np.asarray(book)
    if book.ndim != 2 or book.shape[1] % 4 or book.shape[1] == 0:
        raise ValueError(f"a LOBSTER orderbook has 4·levels columns, got shape {book.shape}")
    if events is not None and len(events):
        seq = events.sequence.astype(np.int64)
        bad = np.flatnonzero((seq < 1) | (seq > len(book)))
        if len(bad):
            raise ValueError(f"record {bad[0]} is message row {seq[bad[0]]}, but the orderbook has {len(book)} rows")
    for pc, name, sign in ((2, "bid", -1), (0, "ask", 1)):
        px, sz = book[:, pc::4], book[:, pc + 1::4]
        shown = sz > 0
        problems = [
            ((sz < 0).any(axis=1), "a negative size"),
            ((~shown[:, :-1] & shown[:, 1:]).any(axis=1), "an empty level before a shown one"),
            ((sign * np.diff(px, axis=1) <= 0) & shown[:, 1:], "prices not strictly ordered away from the touch"),
        ]
        for mask, text in problems:
            mask = mask.any(axis=1) if mask.ndim == 2 else mask
            if mask.any():
                r = int(np.flatnonzero(mask)[0])
                raise ValueError(f"orderbook row {r + 1}: the {name} side has {text}")


def lobster_orderbook(events: EventTable, levels: int = 10, initial: Simulator | None = None, *,
                      price_divisor: int = LOBSTER_PRICE_DIVISOR, return_known: bool = False,
                      orderbook: np.ndarray | None = None):
    """The LOBSTER orderbook after every event of ``events`` (replay semantics, ``Simulator.apply``).

    Args:
        events: ``EventTable`` of one instrument.
        levels: levels per side (LOBSTER: 10 → 40 columns).
        initial: the book before the first event (copied, not modified); default empty.
        price_divisor: 1e-9 units per output price unit (LOBSTER: 100,000).
        return_known: also return int32 [n, 2]: the leading (bid, ask) levels of each row that are
            determined by the data (see the module docstring; < levels only for LOBSTER-seeded books).
        orderbook: the message file's LOBSTER orderbook rows: a reconciled replay (``Simulator.apply``).

    Returns:
        int64 [n, 4·levels] (and the int32 [n, 2] known-level counts if asked). For LOBSTER message files, the row
        of a message is the row of its LAST event (one message → T, F, C events).
    """
    sim = initial.copy() if initial is not None else Simulator()
    sim.keep_log = False
    rows, unc = sim.apply_recording(events, levels, price_divisor, orderbook=orderbook)
    return (rows, unc) if return_known else rows


__all__ = [
    "CANCEL_PRIORITIES",
    "COUNTER_NAMES",
    "LOBSTER_EMPTY_PRICE",
    "LOBSTER_PRICE_DIVISOR",
    "Simulator",
    "SubmitResult",
    "VOID_REASONS",
    "check_lobster_book",
    "lobster_orderbook",
]
