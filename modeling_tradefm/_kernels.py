# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Compiled (numba) kernels for the per-session feature pass.

The feature pass is inherently sequential in two places: the EW-VWAP recursion and the per-order
state needed to tell a trader's cancel/modify from the venue's execution bookkeeping and to map a
modify onto cancel/add events. Both run here in one compiled pass over a session (one record at a
time, compiled, so no Python loop per event). Order state lives in an open-addressing hash table
held in plain numpy arrays, which is several times faster than a numba typed dict.

:func:`ewvwap_step` is the one implementation of the EW-VWAP recursion: the feature scan,
:func:`ewvwap_series` and the simulator's kernels (``_book_kernels``) all inline it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Fate of each input record (index into FATE_NAMES); every record gets exactly one, so that
# records in == used + skipped (by reason).
FATE_USED = 0
FATE_SNAPSHOT = 1
FATE_BOOKKEEPING = 2
FATE_FILL = 3
FATE_TRADE_NO_AGGRESSOR = 4
FATE_BEFORE_FIRST_EXEC = 5
FATE_UNDEF_PRICE = 6
FATE_CLEAR = 7
FATE_MODIFY_UNCHANGED = 8
FATE_OTHER_ACTION = 9
FATE_MODIFY_DROPPED = 10
FATE_NAMES = (
    "used",
    "snapshot",
    "execution_bookkeeping",
    "fill_record",
    "trade_without_aggressor",
    "before_first_execution",
    "undef_price",
    "clear",
    "modify_unchanged",
    "other_action",
    "modify_dropped",
)

MODIFY_CANCEL_ADD = 0
MODIFY_ADD = 1
MODIFY_DROP = 2

_A, _C, _M, _R, _T, _F = ord("A"), ord("C"), ord("M"), ord("R"), ord("T"), ord("F")
_SIDE_B, _SIDE_A = ord("B"), ord("A")
_F_SNAPSHOT = 32
_UNDEF = np.iinfo(np.int64).max
LOG1P_TABLE = np.log1p(np.arange(1 << 16, dtype=np.float64))


@njit(cache=True, inline="always")
def ewvwap_step(num, den, t_prev, ts, price, size, half_life_s):  # pragma: no cover - compiled
    """Fold one execution into the EW-VWAP sums: THE recursion (features module docstring).

    ``w = 0.5 ** ((ts − t_prev) / 1e9 / half_life_s)``, ``num = w·num + price·size``,
    ``den = w·den + size``; the value is ``num / den``. Before the first execution (``den == 0``)
    there is nothing to decay. Inlined into the feature scan, :func:`ewvwap_series` and the
    simulator (``_book_kernels``), which keep ``num``/``den``/``t_prev`` in their own state. (Numba
    caches a kernel by its own file: after editing this function, clear ``_book_kernels``'s cache.)

    Args:
        num, den: the sums before the execution (0, 0 before the first).
        t_prev: int ns time of the previous execution (ignored while ``den == 0``).
        ts: int ns time of this execution.
        price: float price (any unit; the value is in the same unit).
        size: executed size (> 0).
        half_life_s: half-life of the weights in seconds.

    Returns:
        (num, den) after the execution.
    """
    if den > 0.0:
        w = 0.5 ** ((ts - t_prev) / 1e9 / half_life_s)
        num = w * num
        den = w * den
    return num + price * size, den + size


@njit(cache=True, nogil=True)
def ewvwap_series(ts_ns, price, size, half_life_s):  # pragma: no cover - compiled
    """EW-VWAP value after each execution (:func:`ewvwap_step` over a series).

    Args:
        ts_ns: int64 [m], execution times (ns).
        price: float64 [m], execution prices (any unit; the result is in the same unit).
        size: float64 [m], executed sizes (> 0).
        half_life_s: float, half-life of the weights in seconds.

    Returns:
        float64 [m]: num/den after each update.
    """
    m = len(ts_ns)
    out = np.empty(m, np.float64)
    num = 0.0
    den = 0.0
    t_prev = np.int64(0)
    for k in range(m):
        num, den = ewvwap_step(num, den, t_prev, ts_ns[k], price[k], size[k], half_life_s)
        t_prev = ts_ns[k]
        out[k] = num / den
    return out


@njit(cache=True, nogil=True)
def _id_table(order_id, extra, width):  # pragma: no cover - compiled
    """An empty order-id hash table for ``_slot``: ``(table [cap, width], mask)``.

    ``cap`` is a power of two ≥ 2·(ids that may be inserted) + 16, i.e. a load factor ≤ 1/2:
    the ids are the non-zero ``order_id`` plus ``extra`` (orders seeded before record 0).
    """
    n_ids = extra
    for i in range(len(order_id)):
        if order_id[i] != 0:
            n_ids += 1
    cap = 16
    while cap < 2 * n_ids + 16:
        cap *= 2
    return np.zeros((cap, width), np.int64), cap - 1


@njit(cache=True, nogil=True)
def _slot(table, key, mask):  # pragma: no cover - compiled
    """Find or insert ``key`` (≠ 0) in ``table`` [cap, 4] (linear probing); returns its row.

    Row layout (one cache line per order): key, price, size (−1 = unknown), pending fill size.
    """
    k = np.int64(key)
    # Venues hand out order ids (nearly) sequentially: keeping the low bits as the slot puts the
    # orders alive at one moment next to each other in memory (cache hits), while folding in the
    # high bits still spreads ids that differ only there.
    u = np.uint64(key)
    i = np.int64((u ^ (u >> np.uint64(17)) ^ (u >> np.uint64(34))) & np.uint64(mask))
    while True:
        cur = table[i, 0]
        if cur == k:
            return i
        if cur == 0:
            table[i, 0] = k
            table[i, 2] = -1
            return i
        i = (i + 1) & mask


@njit(cache=True, inline="always")
def take_pending_fills(table, s, reduction):  # pragma: no cover - compiled
    """Execution bookkeeping, matched by ORDER ID (shared by the feature pass and the LOBSTER writer).

    Databento reports an execution as ``T`` + ``F`` (the resting order's fill) and then a ``C``/``M``
    that reduces the resting order; on CME that record often comes in a later packet (another
    ``sequence``), so it cannot be matched by sequence. Rule: the fills reported on an order and not
    yet reflected (``table[s, 3]``, added on each ``F``) are consumed by the next reductions of the
    same order id: ``min(reduction, pending)`` is bookkeeping, only the excess is a real cancel.

    Args:
        table: an order table with the pending fill size in column 3 (see ``_slot``).
        s: the order's row.
        reduction: size the ``C``/``M`` takes off the order.

    Returns:
        The excess (>= 0): the part of ``reduction`` that is not execution bookkeeping.
    """
    bk = min(reduction, table[s, 3])
    table[s, 3] -= bk
    return reduction - bk


@njit(cache=True, nogil=True)
def execution_groups(ts, action, side, price, size, flags, sequence, order_id):  # pragma: no cover
    """Counted executions and aggressor groups of a session (see ``features.counted_executions``).

    Returns:
        counted (bool [n]): records that update the EW-VWAP: in each run of execution records
            (T/F, not snapshot, defined price, size > 0) with equal ``(sequence, ts_recv)``, the T
            records if the run has any, else its F records.
        agg_start, agg_end (bool [n]): first/last record of each run of aggressor T records (side
            B/A) with equal ``(sequence, ts_recv, side, order_id)``.
    """
    n = len(ts)
    counted = np.zeros(n, np.bool_)
    agg_start = np.zeros(n, np.bool_)
    agg_end = np.zeros(n, np.bool_)
    g0 = -1  # first exec record of the current run
    g_has_t = False
    last = -1  # last exec record seen
    a_last = -1  # last aggressor T seen
    for i in range(n + 1):
        is_ex = False
        if i < n:
            a = action[i]
            is_ex = (a == _T or a == _F) and (flags[i] & _F_SNAPSHOT) == 0 and price[i] != _UNDEF and size[i] > 0
            if not is_ex:
                continue
        # close the current run when the key changes (or at the end)
        if g0 >= 0 and (i == n or sequence[i] != sequence[last] or ts[i] != ts[last]):
            for j in range(g0, last + 1):
                aj = action[j]
                if (aj == _T or aj == _F) and (flags[j] & _F_SNAPSHOT) == 0 and price[j] != _UNDEF and size[j] > 0:
                    counted[j] = (aj == _T) if g_has_t else (aj == _F)
            g0 = -1
        if i == n:
            break
        if g0 < 0:
            g0 = i
            g_has_t = False
        if action[i] == _T:
            g_has_t = True
            sd = side[i]
            if sd == _SIDE_B or sd == _SIDE_A:
                if (a_last < 0 or sequence[i] != sequence[a_last] or ts[i] != ts[a_last] or sd != side[a_last]
                        or order_id[i] != order_id[a_last]):
                    agg_start[i] = True
                    if a_last >= 0:
                        agg_end[a_last] = True
                a_last = i
        last = i
    if a_last >= 0:
        agg_end[a_last] = True
    return counted, agg_start, agg_end


_NO_EVENT = 255  # "no event" in the (action, price, size) triples of the rules below


@njit(cache=True, inline="always")
def _set_order(table, s, price, size):  # pragma: no cover - compiled
    """The order in row ``s`` now rests at ``price``/``size`` with no pending fills (an add)."""
    table[s, 1] = price
    table[s, 2] = size
    table[s, 3] = 0


@njit(cache=True, inline="always")
def _emit(out, k, i, ts, act, side01, price, size, mid_before, mid_after, part):  # pragma: no cover
    """Write modeled event ``k`` (from record ``i``) into the output arrays ``out``; returns k + 1."""
    out[0][k] = i
    out[1][k] = ts
    out[2][k] = act
    out[3][k] = side01
    out[4][k] = price
    out[5][k] = size
    out[6][k] = mid_before
    out[7][k] = mid_after
    out[8][k] = part
    return k + 1


@njit(cache=True, inline="always")
def _cancel_rule(table, s, price, size, same_packet_as_exec):  # pragma: no cover - compiled
    """A ``C`` of ``size`` at ``price`` on the order in row ``s`` (−1 = no order id).

    Execution bookkeeping is not a trader's cancel: a reduction by no more than the order's pending
    fills (:func:`take_pending_fills`; only the excess is a real cancel) or, without an order id, a
    ``C`` in the same packet as the last execution record. The order's size goes down by ``size``;
    once it is gone (or unknown) a later ``M`` of its id is an add.

    Returns:
        ``(action, price, size, action, price, size, fate)``: the record's events (action 1 =
        cancel, ``_NO_EVENT`` = none; the second is always none) and its fate.
    """
    none, zero = np.int64(_NO_EVENT), np.int64(0)
    q = np.int64(size)
    out = (np.int64(1), price, q, none, zero, zero, np.int64(FATE_USED))
    if s >= 0 and table[s, 3] > 0:
        rem = take_pending_fills(table, s, q)
        if rem > 0:
            out = (np.int64(1), price, rem, none, zero, zero, np.int64(FATE_USED))
        else:
            out = (none, zero, zero, none, zero, zero, np.int64(FATE_BOOKKEEPING))
    elif s < 0 and same_packet_as_exec:
        out = (none, zero, zero, none, zero, zero, np.int64(FATE_BOOKKEEPING))
    if s >= 0 and table[s, 2] >= 0:
        table[s, 2] -= q
        if table[s, 2] <= 0:
            table[s, 2] = -1
            table[s, 3] = 0
    return out


@njit(cache=True, inline="always")
def _modify_rule(table, s, new_p, new_s, same_packet_as_exec, policy):  # pragma: no cover - compiled
    """An ``M``: the order in row ``s`` (−1 = no order id) now rests at ``new_p``/``new_s``.

    ``cancel_add`` (see the ``features`` module docstring): a size decrease in place is a partial
    cancel (priority kept); a price change or size increase is a cancel of the old state and an add
    of the new (priority lost); an unchanged modify is no event; an order whose state is unknown
    becomes an add. Before any policy, a decrease by no more than the pending fills is execution
    bookkeeping (only the excess is a cancel), as is an id-less ``M`` in an execution's packet.

    Returns:
        ``(action, price, size, action, price, size, fate)``: up to two events (0 add / 1 cancel,
        ``_NO_EVENT`` = none) and the record's fate.
    """
    none, zero = np.int64(_NO_EVENT), np.int64(0)
    used = np.int64(FATE_USED)
    if s < 0:
        if same_packet_as_exec:
            return none, zero, zero, none, zero, zero, np.int64(FATE_BOOKKEEPING)
        if policy == MODIFY_DROP:
            return none, zero, zero, none, zero, zero, np.int64(FATE_MODIFY_DROPPED)
        return zero, new_p, new_s, none, zero, zero, used
    old_p = table[s, 1]
    old_s = table[s, 2]
    known = old_s >= 0
    if known and table[s, 3] > 0 and new_p == old_p and new_s < old_s:
        rem = take_pending_fills(table, s, old_s - new_s)
        if rem > 0:
            out = (np.int64(1), new_p, rem, none, zero, zero, used)
        else:
            out = (none, zero, zero, none, zero, zero, np.int64(FATE_BOOKKEEPING))
    elif policy == MODIFY_DROP:
        out = (none, zero, zero, none, zero, zero, np.int64(FATE_MODIFY_DROPPED))
    elif policy == MODIFY_ADD or not known:
        out = (zero, new_p, new_s, none, zero, zero, used)
    elif new_p == old_p and new_s < old_s:
        out = (np.int64(1), new_p, old_s - new_s, none, zero, zero, used)  # partial cancel
    elif new_p == old_p and new_s == old_s:
        out = (none, zero, zero, none, zero, zero, np.int64(FATE_MODIFY_UNCHANGED))
    else:
        out = (np.int64(1), old_p, old_s, zero, new_p, new_s, used)  # cancel the old, add the new
    if new_p != old_p:
        table[s, 3] = 0
    table[s, 1] = new_p
    table[s, 2] = new_s if new_s > 0 else -1
    return out


@njit(cache=True, nogil=True)
def scan_session(
    ts, action, side, price, size, order_id, flags, sequence, participant,
    exec_counted, agg_start, agg_end, half_life_s, modify_policy, seed_price,
):  # pragma: no cover - compiled
    """One pass over a session: EW-VWAP, execution bookkeeping, modify mapping, event emission.

    This is THE rule for which records are modeled orders (``features.modeled_events``; the
    baselines fit on its output too).

    Args:
        ts, action, side, price, size, order_id, flags, sequence, participant: the session's
            EventTable columns [n], in feed order.
        exec_counted: bool [n], the execution records that update the EW-VWAP (each execution
            once).
        agg_start, agg_end: bool [n], first/last T record of each aggressor group (one marketable
            add per group).
        half_life_s: EW-VWAP half-life (s).
        modify_policy: MODIFY_CANCEL_ADD / MODIFY_ADD / MODIFY_DROP.
        seed_price: mid (price units / 1e9) in force before the first execution, with zero
            weight (the first execution replaces it entirely); NaN = no mid until then.

    Returns:
        Tuple of output arrays of length k (k ≤ 2n, modeled events in emission order):
        src (int64 source row), out_ts (int64), out_action (uint8 0 add / 1 cancel), out_side
        (uint8 0 buy / 1 sell), out_price (int64), out_size (int64), mid_before, mid_after
        (float64, price units / 1e9), out_part (uint8); then fate (int8 [n]) and p_first (the
        EW-VWAP after the first counted execution, NaN if none).
    """
    n = len(ts)
    table, mask = _id_table(order_id, 0, 4)  # order state, see _slot
    out = (
        np.empty(2 * n, np.int64), np.empty(2 * n, np.int64), np.empty(2 * n, np.uint8),
        np.empty(2 * n, np.uint8), np.empty(2 * n, np.int64), np.empty(2 * n, np.int64),
        np.empty(2 * n, np.float64), np.empty(2 * n, np.float64), np.empty(2 * n, np.uint8),
    )
    fate = np.zeros(n, np.int8)

    num = 0.0
    den = 0.0
    t_prev = np.int64(0)
    has_mid = not np.isnan(seed_price)
    value = seed_price
    p_first = np.nan
    last_exec_seq = np.int64(-1)
    last_exec_ts = np.int64(-1)

    agg_ok = False  # the current aggressor group started with a mid in force
    agg_mb = np.nan
    agg_size = np.int64(0)
    k = 0

    for i in range(n):
        a = action[i]
        if (flags[i] & _F_SNAPSHOT) != 0:
            # Snapshot records are the book at the start, not flow; they still seed order state.
            if a == _A and order_id[i] != 0 and price[i] != _UNDEF:
                _set_order(table, _slot(table, order_id[i], mask), price[i], size[i])
            fate[i] = FATE_SNAPSHOT
            continue

        if a == _T or a == _F:
            if agg_start[i]:
                agg_ok = has_mid
                agg_mb = value
                agg_size = 0
            if exec_counted[i]:
                first = den == 0.0
                num, den = ewvwap_step(num, den, t_prev, ts[i], price[i] * 1e-9, size[i], half_life_s)
                t_prev = ts[i]
                value = num / den
                if first:
                    p_first = value
                has_mid = True
            if price[i] != _UNDEF:
                last_exec_seq = sequence[i]
                last_exec_ts = ts[i]
            if a == _F:
                if order_id[i] != 0:
                    table[_slot(table, order_id[i], mask), 3] += size[i]
                fate[i] = FATE_FILL
                continue
            # T record: part of an aggressor group, one marketable add at the last price
            if side[i] != _SIDE_B and side[i] != _SIDE_A:
                fate[i] = FATE_TRADE_NO_AGGRESSOR if price[i] != _UNDEF else FATE_UNDEF_PRICE
                continue
            if price[i] == _UNDEF:
                fate[i] = FATE_UNDEF_PRICE
                continue
            fate[i] = FATE_USED if agg_ok else FATE_BEFORE_FIRST_EXEC
            agg_size += size[i]
            if agg_end[i] and agg_ok:
                k = _emit(out, k, i, ts[i], 0, 0 if side[i] == _SIDE_B else 1, price[i], agg_size, agg_mb,
                          value, participant[i])
            continue

        if a == _R:
            fate[i] = FATE_CLEAR
            continue
        if a != _A and a != _C and a != _M:
            fate[i] = FATE_OTHER_ACTION
            continue
        if price[i] == _UNDEF:
            fate[i] = FATE_UNDEF_PRICE
            continue
        sd = side[i]
        if sd != _SIDE_B and sd != _SIDE_A:
            fate[i] = FATE_OTHER_ACTION
            continue
        s = _slot(table, order_id[i], mask) if order_id[i] != 0 else -1
        same_packet = sequence[i] == last_exec_seq and ts[i] == last_exec_ts
        if a == _A:
            if s >= 0:
                _set_order(table, s, price[i], size[i])
            e = (np.int64(0), price[i], np.int64(size[i]), np.int64(_NO_EVENT), np.int64(0), np.int64(0),
                 np.int64(FATE_USED))
        elif a == _C:
            e = _cancel_rule(table, s, price[i], size[i], same_packet)
        else:
            e = _modify_rule(table, s, price[i], np.int64(size[i]), same_packet, modify_policy)
        act0, price0, size0, act1, price1, size1, rec_fate = e
        if act0 == _NO_EVENT:
            fate[i] = rec_fate
            continue
        if not has_mid:
            fate[i] = FATE_BEFORE_FIRST_EXEC
            continue
        fate[i] = FATE_USED
        sd01 = 0 if sd == _SIDE_B else 1
        k = _emit(out, k, i, ts[i], act0, sd01, price0, size0, value, value, participant[i])
        if act1 != _NO_EVENT:
            k = _emit(out, k, i, ts[i], act1, sd01, price1, size1, value, value, participant[i])

    return (
        out[0][:k], out[1][:k], out[2][:k], out[3][:k], out[4][:k], out[5][:k], out[6][:k], out[7][:k],
        out[8][:k], fate, p_first,
    )


@njit(cache=True, nogil=True)
def derive_features(ts, price, size, mid_before, mid_after, log1p_table):  # pragma: no cover - compiled
    """δp, v, Δt, Δp of the emitted events in one pass (see ``features`` for the definitions).

    ``log1p_table[q] == np.log1p(q)`` for small sizes (bit-identical, and a load is ~10× cheaper
    than a ``log1p``); larger sizes call ``log1p``.

    Returns:
        price_depth, log_volume, dt, price_level (float64 [k]) and p_open (mid before event 0).
    """
    k = len(ts)
    pd = np.empty(k, np.float64)
    lv = np.empty(k, np.float64)
    dt = np.empty(k, np.float64)
    pl = np.empty(k, np.float64)
    p_open = mid_before[0] if k else np.nan
    prev = ts[0] if k else 0
    for i in range(k):
        m = mid_before[i]
        pd[i] = (price[i] * 1e-9 - m) / m
        q = size[i]
        lv[i] = log1p_table[q] if q < len(log1p_table) else np.log1p(np.float64(q))
        d = ts[i] - prev
        dt[i] = d / 1e9 if d > 0 else 0.0  # feed order rules; a backwards stamp counts as 0
        prev = ts[i]
        pl[i] = (mid_after[i] - p_open) / p_open
    return pd, lv, dt, pl, p_open


__all__ = [
    "FATE_NAMES",
        "LOG1P_TABLE",
    "MODIFY_ADD",
    "MODIFY_CANCEL_ADD",
    "MODIFY_DROP",
    "derive_features",
    "execution_groups",
    "ewvwap_series",
    "scan_session",
    "take_pending_fills",
]
