# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The evaluated flow as LOBSTER sees it: the share of each message type and the time to cancel.

Both come from the LOBSTER message rows of a stream (:func:`modeling_tradefm.io.lobster.events_to_lobster_messages`,
the rows ``tradefm export-lobbench`` writes and LOB-Bench reads), so what the evaluation reports is
what LOB-Bench scores: one type-4 row per fill of a visible resting order (the venue's bookkeeping
``C``/``M`` is not a cancel), type 2 when a cancel leaves part of the order resting, type 3 when it
removes the rest. The rows of a rollout are written after its conditioning prefix, so cancels and
fills of the prefix's orders get their right type.

**Event types** (:data:`EVENT_TYPE_NAMES`): counts of message rows per LOBSTER type. A generator
whose cancels leave slivers of orders shows up here as too many type-2 rows (real NASDAQ flow:
well under 1 % of rows).

**Time to cancel** (seconds), per cancelled order: the time of its first cancel row (type 2 or 3)
minus the time of its submission row (type 1), for the orders submitted inside the stream — the
order ids of the rows pair them (a real file's ids, the simulator log's ids in a rollout). Orders
never cancelled inside the stream do not count, so a window censors long-lived orders; the
real-vs-real noise floor is measured on windows censored the same way. This is LOB-Bench's
``time_to_cancel`` (first type 2/3 after the type 1) except that an order whose submission is not
in the stream never counts (LOB-Bench's groupby would pair a re-submission with an earlier delete).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..events import NS_PER_SECOND, EventTable

EVENT_TYPE_NAMES = {1: "submit", 2: "partial cancel", 3: "delete", 4: "execution", 5: "hidden execution",
                    6: "cross"}


@dataclass
class MessageFlow:
    """The LOBSTER message rows of one stream, reduced to what the evaluation measures.

    Attributes:
        row_ts: int64 [m] time (ns UTC) of each message row.
        row_type: int64 [m] its LOBSTER type (1–6).
        add_ts: int64 [c] submission time of each order cancelled in the stream.
        cancel_ts: int64 [c] the time of its first cancel row (same order as ``add_ts``).
    """

    row_ts: np.ndarray
    row_type: np.ndarray
    add_ts: np.ndarray
    cancel_ts: np.ndarray

    def window(self, start_ns: int, end_ns: int) -> MessageFlow:
        """The rows with ``start_ns ≤ ts < end_ns``; the orders both submitted and cancelled inside it."""
        r = (self.row_ts >= start_ns) & (self.row_ts < end_ns)
        c = (self.add_ts >= start_ns) & (self.cancel_ts < end_ns)
        return MessageFlow(self.row_ts[r], self.row_type[r], self.add_ts[c], self.cancel_ts[c])

    @property
    def time_to_cancel(self) -> np.ndarray:
        """float64 [c]: seconds from submission to first cancel."""
        return (self.cancel_ts - self.add_ts).astype(np.float64) / NS_PER_SECOND

    def type_counts(self) -> dict[int, int]:
        """``{LOBSTER type: rows}`` for every type of :data:`EVENT_TYPE_NAMES` (zeros included)."""
        return {t: int(np.count_nonzero(self.row_type == t)) for t in EVENT_TYPE_NAMES}


def first_cancel_pairs(order_id: np.ndarray, row_type: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (submission, first cancel after it) of every order submitted and later cancelled.

    Args:
        order_id: int64 [m] order id of each message row (0 = no order: hidden executions).
        row_type: int64 [m] LOBSTER type of each row.

    Returns:
        (add_row, cancel_row): int64 [c] each, ordered by order id. An order's submission is its
        first type-1 row; its cancel the first type-2/3 row of the same id after that.
    """
    order_id = np.asarray(order_id, dtype=np.int64)
    row_type = np.asarray(row_type)
    rel = np.flatnonzero(((row_type == 1) | (row_type == 2) | (row_type == 3)) & (order_id != 0))
    order = rel[np.lexsort((rel, order_id[rel]))]  # by id, then by row: each order's rows in time order
    gid, is_sub = order_id[order], row_type[order] == 1
    n = len(order)
    # position of the next cancel row at or after each position (n = none)
    cpos = np.where(~is_sub, np.arange(n), n)
    nxt_cancel = np.minimum.accumulate(cpos[::-1])[::-1] if n else cpos
    subs = np.flatnonzero(is_sub)
    _, first = np.unique(gid[subs], return_index=True)
    k = subs[first]  # each id's first submission
    after = nxt_cancel[np.minimum(k + 1, n - 1)] if n else k
    after = np.where(k + 1 < n, after, n)
    ok = after < n
    ok[ok] = gid[after[ok]] == gid[k[ok]]  # a later cancel of another id means none of this one
    return order[k[ok]], order[after[ok]]


def message_flow(events: EventTable, prefix: EventTable | None = None) -> MessageFlow:
    """The :class:`MessageFlow` of one stream (one instrument), written after its conditioning ``prefix``.

    Args:
        events: the stream's events in feed order.
        prefix: the real events before them (a rollout's prefix; replayed, never counted).
    """
    from ..io.lobster import events_to_lobster_messages

    if not len(events):
        z = np.zeros(0, dtype=np.int64)
        return MessageFlow(z, z, z, z)
    initial = prefix if prefix is not None and len(prefix) else None
    rows, at, _ = events_to_lobster_messages(events, initial=initial)
    ts = np.asarray(events.ts_recv, dtype=np.int64)[at]
    add, cancel = first_cancel_pairs(rows[:, 2], rows[:, 1])
    return MessageFlow(ts, rows[:, 1].astype(np.int64), ts[add], ts[cancel])


def type_shares(counts: dict[int, int]) -> dict[int, float]:
    """``{type: share of rows}`` (NaN shares for no rows)."""
    total = sum(counts.values())
    return {t: (c / total if total else float("nan")) for t, c in counts.items()}


__all__ = ["EVENT_TYPE_NAMES", "MessageFlow", "first_cancel_pairs", "message_flow", "type_shares"]
