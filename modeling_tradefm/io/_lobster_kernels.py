# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The compiled pass of the LOBSTER writer: events → LOBSTER message rows (rules in ``io.lobster``).

It shares the order-id hash table and the execution-bookkeeping rule (``take_pending_fills``:
the venue's C/M after a fill is matched to the fill by ORDER ID) with the feature scan
(``modeling_tradefm._kernels``), so a written file and the features count executions alike.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._kernels import _A, _C, _F, _M, _SIDE_A, _SIDE_B, _T, _UNDEF, _id_table, _slot, take_pending_fills

# LOBSTER message types written by ``lobster_messages`` (see ``io.lobster``).
LOB_SUBMIT, LOB_CANCEL, LOB_DELETE, LOB_EXEC, LOB_HIDDEN, LOB_CROSS = 1, 2, 3, 4, 5, 6


@njit(cache=True, inline="always")
def _emit_row(out, k, at, i, typ, oid, size, price, direction):  # pragma: no cover - compiled
    out[k, 0] = typ
    out[k, 1] = oid
    out[k, 2] = size
    out[k, 3] = price
    out[k, 4] = direction
    at[k] = i
    return k + 1


@njit(cache=True, nogil=True)
def lobster_messages(
    ts, action, side, price, size, order_id, sequence, later,
    seed_id, seed_side, seed_price, seed_size,
):  # pragma: no cover - compiled
    """Events → LOBSTER message rows in one compiled pass (the rules are in ``io.lobster``).

    Order state (open-addressing table, ``_slot``; one row per order id): price, VISIBLE size as the
    messages written so far left it (−1 = unknown), pending fills (written as type 4, not yet
    reflected by the venue's C/M — consumed by ``take_pending_fills``, the feature pass's rule) and
    the side (+1 bid / −1 ask / 0 unknown).

    Args:
        ts, action, side, price, size, order_id, sequence: EventTable columns [n], feed order.
        later: bool [n], the record's order id occurs again after it (type 2-vs-3 guess for
            cancels of orders whose size is unknown).
        seed_id, seed_side (+1/−1), seed_price, seed_size: [m] orders resting before record 0
            (e.g. a Simulator's book), or empty arrays.

    Returns:
        rows int64 [k, 5] (type, order id bits, size, price in 1e-9 units, direction) and
        at int64 [k] (the record each row comes from), k ≤ 2n.
    """
    n = len(ts)
    # key, price, visible size (-1 unknown), pending fills, side
    table, mask = _id_table(order_id, len(seed_id), 5)
    for j in range(len(seed_id)):
        s = _slot(table, seed_id[j], mask)
        table[s, 1] = seed_price[j]
        table[s, 2] = seed_size[j]
        table[s, 3] = 0
        table[s, 4] = seed_side[j]

    # T records of an execution run that reports fills (a run = T/F records with equal
    # (sequence, ts_recv), other records in between ignored, as in ``execution_groups``) write
    # nothing: the fills are the type-4 rows.
    fill_run = np.zeros(n, np.bool_)
    g0 = -1
    last = -1
    has_f = False
    for i in range(n + 1):
        if i < n and action[i] != _T and action[i] != _F:
            continue
        if g0 >= 0 and (i == n or sequence[i] != sequence[last] or ts[i] != ts[last]):
            if has_f:
                for j in range(g0, last + 1):
                    fill_run[j] = True
            g0 = -1
        if i == n:
            break
        if g0 < 0:
            g0 = i
            has_f = False
        if action[i] == _F:
            has_f = True
        last = i

    out = np.empty((2 * n, 5), np.int64)
    at = np.empty(2 * n, np.int64)
    k = 0
    last_exec_seq = np.int64(-1)
    last_exec_ts = np.int64(-1)
    for i in range(n):
        a = action[i]
        p = price[i]
        q = np.int64(size[i])
        o = order_id[i]
        sd = side[i]
        d = np.int64(1) if sd == _SIDE_B else (np.int64(-1) if sd == _SIDE_A else np.int64(0))
        if a == _T or a == _F:
            if p != _UNDEF:
                last_exec_seq = sequence[i]
                last_exec_ts = ts[i]
            if q <= 0 or p == _UNDEF:
                continue
        if a == _A:
            if o != 0:
                s = _slot(table, o, mask)
                table[s, 1] = p
                table[s, 2] = q
                table[s, 3] = 0
                table[s, 4] = d
            if q > 0:
                k = _emit_row(out, k, at, i, LOB_SUBMIT, o, q, p, d if d != 0 else -1)
        elif a == _F:
            if o == 0:
                # anonymous volume (a simulator log): its C follows in the same packet
                if d != 0:
                    k = _emit_row(out, k, at, i, LOB_EXEC, 0, q, p, d)
                continue
            s = _slot(table, o, mask)
            if d == 0:
                d = table[s, 4]  # auction fills carry side N: the order's own side
            vis = table[s, 2]
            if vis < 0:
                if d == 0:
                    continue  # a fill of an order never shown (no side, no size): not a book event
                # an order added before the data (LOBSTER level-1 files): its size is unknown
                table[s, 3] += q
                k = _emit_row(out, k, at, i, LOB_EXEC, o, q, p, d)
            else:
                v = min(q, vis)  # an iceberg's fill can exceed its displayed size
                table[s, 2] = vis - v
                table[s, 3] += v
                if v > 0:
                    k = _emit_row(out, k, at, i, LOB_EXEC, o, v, p, d)
                if q > v:
                    k = _emit_row(out, k, at, i, LOB_HIDDEN, 0, q - v, p, d)
        elif a == _T:
            if not fill_run[i]:
                if sd == _SIDE_B or sd == _SIDE_A:
                    k = _emit_row(out, k, at, i, LOB_HIDDEN, 0, q, p, -d)
                else:
                    k = _emit_row(out, k, at, i, LOB_CROSS, o, q, p, -1)
        elif a == _C:
            if q <= 0:
                continue
            if o == 0:
                if sequence[i] == last_exec_seq and ts[i] == last_exec_ts:
                    continue  # no order id: "same packet as a fill" is bookkeeping
                k = _emit_row(out, k, at, i, LOB_CANCEL if later[i] else LOB_DELETE, 0, q, p, d if d != 0 else -1)
                continue
            s = _slot(table, o, mask)
            if d == 0:
                d = table[s, 4]
            excess = take_pending_fills(table, s, q)
            vis = table[s, 2]
            if vis < 0:
                if excess > 0:
                    k = _emit_row(out, k, at, i, LOB_CANCEL if later[i] else LOB_DELETE, o, excess, p,
                                  d if d != 0 else -1)
            else:
                c = min(excess, vis)
                table[s, 2] = vis - c
                if c > 0:
                    k = _emit_row(out, k, at, i, LOB_DELETE if vis == c else LOB_CANCEL, o, c, p,
                                  d if d != 0 else -1)
                if vis == c and table[s, 3] == 0:
                    table[s, 2] = -1  # gone: a later M of this id is a new order
        elif a == _M:
            if o == 0:
                if sequence[i] == last_exec_seq and ts[i] == last_exec_ts:
                    continue
                if q > 0:
                    k = _emit_row(out, k, at, i, LOB_SUBMIT, 0, q, p, d if d != 0 else -1)
                continue
            s = _slot(table, o, mask)
            if d == 0:
                d = table[s, 4]
            vis = table[s, 2]
            # An M states the order's whole new state (it reflects every fill so far): the rows
            # move the visible size the messages left (vis) to the new size.
            if vis < 0:
                if q > 0:
                    k = _emit_row(out, k, at, i, LOB_SUBMIT, o, q, p, d if d != 0 else -1)
            else:
                old_p = table[s, 1]
                old_d = table[s, 4]
                if p != old_p or d != old_d or q > vis:
                    # price/side change or size increase (incl. an iceberg's refill): priority lost
                    if vis > 0:
                        k = _emit_row(out, k, at, i, LOB_DELETE, o, vis, old_p, old_d if old_d != 0 else -1)
                    if q > 0:
                        k = _emit_row(out, k, at, i, LOB_SUBMIT, o, q, p, d if d != 0 else -1)
                elif q < vis:
                    k = _emit_row(out, k, at, i, LOB_CANCEL if q > 0 else LOB_DELETE, o, vis - q, p,
                                  d if d != 0 else -1)
            table[s, 1] = p
            table[s, 2] = q if q > 0 else -1
            table[s, 3] = 0
            table[s, 4] = d
    return out[:k], at[:k]


__all__ = ["LOB_CANCEL", "LOB_CROSS", "LOB_DELETE", "LOB_EXEC", "LOB_HIDDEN", "LOB_SUBMIT", "lobster_messages"]
