# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Compiled (numba) hot path of the limit-order-book simulator; see ``simulator.py`` for the semantics.

The book's data structures and the replay (``apply``) are here; the matching engine of ``submit`` is
``_match_kernels``, the reconciliation with a LOBSTER orderbook ``_reconcile_kernels``.

The whole book lives in a handful of integer numpy arrays so that a ``Simulator`` is cheap to copy
(one ``np.copy`` per array, no Python objects per order) and so that one compiled call replays a
whole ``EventTable`` without returning to Python:

    ords  int64 [cap_o, 8]   one row per order slot: price, size, side (0 bid / 1 ask), level slot,
                             prev / next slot in the level's FIFO (-1 = none), order id (uint64 bits),
                             participant. Free slots are chained through ``O_NEXT``.
    lvls  int64 [cap_l, 8]   one row per price-level slot: price, side, total volume (anonymous +
                             identified), anonymous volume, head / tail order slot, volume of orders
                             with participant != 0, number of identified orders.
    oh    int64 [cap_oh]     open-addressing (linear probing, backward-shift deletion) hash table
                             order id -> order slot; -1 = empty. Power-of-two size, load <= 1/2.
    lh    int64 [2, cap_lh]  the same for price -> level slot, one table per side.
    sk    int64 [2, cap_l]   per side, the keys of the live levels in ascending order with the BEST
    ss    int64 [2, cap_l]   level LAST (key = price for bids, -price for asks) and their slots: most
                             activity is near the touch, so inserting/removing a level moves few items.
    st    int64 [64]         scalars and counters (indices ``S_*`` / ``C_*`` below).
    vw    float64 [4]        EW-VWAP state: numerator, denominator, has-value flag, half-life (s).
    lg    int64 [cap_log, 10] rows emitted by ``submit`` (columns ``G_*``), EventTable order.

Prices are int64 in 1e-9 units end to end; no float touches the book (only the EW-VWAP, which is
a float feature by definition). Every kernel checks capacity BEFORE mutating and returns early
(with the number of events done) when a table must grow, so the Python side grows it and resumes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._kernels import ewvwap_step

# ---- column indices ------------------------------------------------------------------------
O_PRICE, O_SIZE, O_SIDE, O_LVL, O_PREV, O_NEXT, O_ID, O_PART = range(8)
L_PRICE, L_SIDE, L_TOTAL, L_ANON, L_HEAD, L_TAIL, L_P1, L_NORD = range(8)
G_TS, G_TSE, G_ACTION, G_SIDE, G_PRICE, G_SIZE, G_ID, G_FLAGS, G_SEQ, G_PART = range(10)
N_LOG_COLS = 10

# ---- scalar state ----------------------------------------------------------------------------
S_NLV_B = 0  # live bid levels (= used length of sk[0])
S_NLV_A = 1
S_OFREE = 2  # head of the free order-slot chain (-1 = full)
S_LFREE = 3
S_NORD = 4  # identified orders in the book
S_SEQ = 5  # last sequence number used (submit continues from the data's)
S_MAXID = 6  # largest order id seen (uint64 bits); synthetic ids continue after it
S_LOGN = 7  # rows used in lg
S_FB = 8  # bid frontier price (prices >= it are known exactly), valid if S_HASFB
S_FA = 9
S_HASFB = 10
S_HASFA = 11
S_TICK = 12  # 0 = no tick grid enforced
S_VW_T = 13  # ns time of the last EW-VWAP update
S_CANCEL_NEWEST = 14  # generated cancels: 1 newest first (LIFO), 0 oldest first, 2 whole order of nearest size,
#                        3 best fit (the largest order the size covers, whole; else the newest, partially)
S_CANCEL_SPILL = 15  # generated cancels: 1 spill over further orders of the level
S_VISIBLE = 16  # > 0: the event source only shows the top S_VISIBLE levels (LOBSTER level-N files)
S_SYNTH = 17  # synthetic orders created so far by reconciliation (their ids: SYNTH_ID_BASE + k)
# counters (reported by Simulator.counters)
C_FIRST = 20
C_UNKNOWN_CANCEL = 20  # C of an id not in the book (reduces anonymous volume)
C_UNKNOWN_MODIFY = 21  # M of an id not in the book (treated as an add, as Databento's book does)
C_SHORTFALL = 22  # C/M that asked for more volume than the book held there (clipped)
C_SHORTFALL_VOL = 23
C_DUPLICATE_ADD = 24  # A whose id is already resting (ignored)
C_BAD_RECORD = 25  # A/C/M with side N, UNDEF price or size 0 (ignored)
C_ADD_NO_ID = 26  # A with order id 0 (added as anonymous volume)
C_CLEAR = 27
C_MARKET_DISCARD = 28  # market orders whose remainder found no liquidity
C_MARKET_DISCARD_VOL = 29
C_ADDED_VOL = 30  # volume that entered the book (A, seeds, rests of submits)
C_CANCELLED_VOL = 31  # volume removed by cancels/modifies (not executions)
C_EXECUTED_VOL = 32  # resting volume executed by submitted orders
C_UNKNOWN_IN_FRONTIER = 33  # unknown-id C inside the known price range (a real inconsistency)
C_RECONCILED = 34  # orderbook rows whose visible levels differed from the book (and were adopted)
C_RECONCILE_ADDED = 35  # volume added by reconciliation (synthetic orders)
C_RECONCILE_REMOVED = 36  # volume removed by reconciliation (orders and levels the row does not show)
C_LAST = 37
N_STATE = 64

# void codes of submit (index into VOID_REASONS in simulator.py)
V_OK = 0
V_ZERO_SIZE = 1
V_BAD_SIDE = 2
V_BAD_PRICE = 3
V_OFF_TICK = 4
V_MARKET_EMPTY_SIDE = 5
V_CANCEL_EMPTY_SIDE = 6
V_CANCEL_NO_ORDER = 7
V_CANCEL_UNKNOWN_ID = 8
V_BAD_ACTION = 9
V_NEED_ROOM = -1

A_ADD = 65
A_CANCEL = 67
A_MODIFY = 77
A_CLEAR = 82
A_TRADE = 84
A_FILL = 70
SD_BID = 66
SD_ASK = 65
SD_NONE = 78
F_LAST = 128

INT64_MAX = np.iinfo(np.int64).max
EMPTY_PX = 9999999999  # LOBSTER's empty-level price
# Ids of the synthetic orders reconciliation creates: far above any venue's order reference numbers
# (Nasdaq's and CME's are < 2**63 but grow from 0), and they do not move S_MAXID, so the ids
# ``submit`` hands out (S_MAXID + 1, ...) never meet them.
SYNTH_ID_BASE = 1 << 62


# ---- hashing ---------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _h(key, mask):
    x = np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)
    return np.int64((x >> np.uint64(29)) & np.uint64(mask))


@njit(cache=True)
def _ofind(ords, oh, oid):
    mask = len(oh) - 1
    i = _h(oid, mask)
    while True:
        s = oh[i]
        if s < 0:
            return -1
        if ords[s, O_ID] == oid:
            return s
        i = (i + 1) & mask


@njit(cache=True)
def _oinsert(ords, oh, slot):
    mask = len(oh) - 1
    i = _h(ords[slot, O_ID], mask)
    while oh[i] >= 0:
        i = (i + 1) & mask
    oh[i] = slot


@njit(cache=True)
def _odelete(ords, oh, oid):
    mask = len(oh) - 1
    i = _h(oid, mask)
    while True:
        s = oh[i]
        if s < 0:
            return
        if ords[s, O_ID] == oid:
            break
        i = (i + 1) & mask
    # backward-shift deletion keeps probe chains intact without tombstones
    j = i
    while True:
        j = (j + 1) & mask
        s = oh[j]
        if s < 0:
            break
        k = _h(ords[s, O_ID], mask)
        if i <= j:
            if i < k and k <= j:
                continue
        else:
            if i < k or k <= j:
                continue
        oh[i] = s
        i = j
    oh[i] = -1


@njit(cache=True)
def _lfind(lvls, tab, price):
    mask = len(tab) - 1
    i = _h(price, mask)
    while True:
        s = tab[i]
        if s < 0:
            return -1
        if lvls[s, L_PRICE] == price:
            return s
        i = (i + 1) & mask


@njit(cache=True)
def _linsert(lvls, tab, slot):
    mask = len(tab) - 1
    i = _h(lvls[slot, L_PRICE], mask)
    while tab[i] >= 0:
        i = (i + 1) & mask
    tab[i] = slot


@njit(cache=True)
def _ldelete(lvls, tab, price):
    mask = len(tab) - 1
    i = _h(price, mask)
    while True:
        s = tab[i]
        if s < 0:
            return
        if lvls[s, L_PRICE] == price:
            break
        i = (i + 1) & mask
    j = i
    while True:
        j = (j + 1) & mask
        s = tab[j]
        if s < 0:
            break
        k = _h(lvls[s, L_PRICE], mask)
        if i <= j:
            if i < k and k <= j:
                continue
        else:
            if i < k or k <= j:
                continue
        tab[i] = s
        i = j
    tab[i] = -1


# ---- levels ----------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _key(side, price):
    return price if side == 0 else -price


@njit(cache=True)
def _bsearch(arr, n, key):
    """First index in arr[:n] with arr[i] >= key."""
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) >> 1
        if arr[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _level(lvls, lh, sk, ss, st, side, price, create):
    slot = _lfind(lvls, lh[side], price)
    if slot >= 0 or not create:
        return slot
    slot = st[S_LFREE]
    st[S_LFREE] = lvls[slot, L_HEAD]
    lvls[slot, L_PRICE] = price
    lvls[slot, L_SIDE] = side
    lvls[slot, L_TOTAL] = 0
    lvls[slot, L_ANON] = 0
    lvls[slot, L_HEAD] = -1
    lvls[slot, L_TAIL] = -1
    lvls[slot, L_P1] = 0
    lvls[slot, L_NORD] = 0
    _linsert(lvls, lh[side], slot)
    n = st[S_NLV_B + side]
    key = _key(side, price)
    pos = _bsearch(sk[side], n, key)
    for i in range(n, pos, -1):
        sk[side, i] = sk[side, i - 1]
        ss[side, i] = ss[side, i - 1]
    sk[side, pos] = key
    ss[side, pos] = slot
    st[S_NLV_B + side] = n + 1
    return slot


@njit(cache=True)
def _drop_level_if_empty(lvls, lh, sk, ss, st, slot):
    if lvls[slot, L_TOTAL] != 0 or lvls[slot, L_NORD] != 0:
        return False
    side = lvls[slot, L_SIDE]
    price = lvls[slot, L_PRICE]
    _ldelete(lvls, lh[side], price)
    n = st[S_NLV_B + side]
    pos = _bsearch(sk[side], n, _key(side, price))
    for i in range(pos, n - 1):
        sk[side, i] = sk[side, i + 1]
        ss[side, i] = ss[side, i + 1]
    st[S_NLV_B + side] = n - 1
    lvls[slot, L_HEAD] = st[S_LFREE]
    st[S_LFREE] = slot
    return True


# ---- orders ----------------------------------------------------------------------------------
@njit(cache=True)
def _add_order(ords, lvls, oh, lh, sk, ss, st, side, price, size, oid, part):
    """Append a new identified order at the back of its level's queue; returns its slot."""
    lslot = _level(lvls, lh, sk, ss, st, side, price, True)
    slot = st[S_OFREE]
    st[S_OFREE] = ords[slot, O_NEXT]
    ords[slot, O_PRICE] = price
    ords[slot, O_SIZE] = size
    ords[slot, O_SIDE] = side
    ords[slot, O_LVL] = lslot
    ords[slot, O_ID] = oid
    ords[slot, O_PART] = part
    tail = lvls[lslot, L_TAIL]
    ords[slot, O_PREV] = tail
    ords[slot, O_NEXT] = -1
    if tail >= 0:
        ords[tail, O_NEXT] = slot
    else:
        lvls[lslot, L_HEAD] = slot
    lvls[lslot, L_TAIL] = slot
    lvls[lslot, L_TOTAL] += size
    lvls[lslot, L_NORD] += 1
    if part != 0:
        lvls[lslot, L_P1] += size
    _oinsert(ords, oh, slot)
    st[S_NORD] += 1
    st[C_ADDED_VOL] += size
    if np.uint64(oid) > np.uint64(st[S_MAXID]):
        st[S_MAXID] = oid
    return slot


@njit(cache=True)
def _reduce_order(ords, lvls, oh, lh, sk, ss, st, slot, q, drop_level):
    """Take q (<= size) off an order; unlink and free it at zero; optionally drop an empty level."""
    lslot = ords[slot, O_LVL]
    ords[slot, O_SIZE] -= q
    lvls[lslot, L_TOTAL] -= q
    if ords[slot, O_PART] != 0:
        lvls[lslot, L_P1] -= q
    if ords[slot, O_SIZE] > 0:
        return
    prev = ords[slot, O_PREV]
    nxt = ords[slot, O_NEXT]
    if prev >= 0:
        ords[prev, O_NEXT] = nxt
    else:
        lvls[lslot, L_HEAD] = nxt
    if nxt >= 0:
        ords[nxt, O_PREV] = prev
    else:
        lvls[lslot, L_TAIL] = prev
    lvls[lslot, L_NORD] -= 1
    _odelete(ords, oh, ords[slot, O_ID])
    ords[slot, O_NEXT] = st[S_OFREE]
    st[S_OFREE] = slot
    st[S_NORD] -= 1
    if drop_level:
        _drop_level_if_empty(lvls, lh, sk, ss, st, lslot)


@njit(cache=True)
def _in_known_range(st, side, price):
    if side == 0:
        return st[S_HASFB] == 0 or price >= st[S_FB]
    return st[S_HASFA] == 0 or price <= st[S_FA]


@njit(cache=True)
def _anon_change(ords, lvls, oh, lh, sk, ss, st, side, price, delta):
    """Add (delta > 0) or remove (delta < 0) anonymous volume at a level; returns the shortfall."""
    if delta > 0:
        lslot = _level(lvls, lh, sk, ss, st, side, price, True)
        lvls[lslot, L_ANON] += delta
        lvls[lslot, L_TOTAL] += delta
        st[C_ADDED_VOL] += delta
        return 0
    want = -delta
    lslot = _level(lvls, lh, sk, ss, st, side, price, False)
    if lslot < 0:
        return want
    q = min(want, lvls[lslot, L_ANON])
    lvls[lslot, L_ANON] -= q
    lvls[lslot, L_TOTAL] -= q
    _drop_level_if_empty(lvls, lh, sk, ss, st, lslot)
    return want - q


@njit(cache=True)
def _clear(ords, lvls, oh, lh, st):
    oh[:] = -1
    lh[:, :] = -1
    cap_o = ords.shape[0]
    for i in range(cap_o):
        ords[i, O_NEXT] = i + 1 if i + 1 < cap_o else -1
    cap_l = lvls.shape[0]
    for i in range(cap_l):
        lvls[i, L_HEAD] = i + 1 if i + 1 < cap_l else -1
    st[S_OFREE] = 0
    st[S_LFREE] = 0
    st[S_NLV_B] = 0
    st[S_NLV_A] = 0
    st[S_NORD] = 0
    st[S_HASFB] = 0
    st[S_HASFA] = 0


@njit(cache=True)
def _vwap_update(st, vw, ts, price, size):
    """One execution into the book's EW-VWAP state (``vw``, ``st[S_VW_T]``): the features' recursion."""
    if size <= 0:
        return
    vw[0], vw[1] = ewvwap_step(vw[0], vw[1], st[S_VW_T], ts, float(price), size, vw[3])
    vw[2] = 1.0
    st[S_VW_T] = ts


@njit(cache=True)
def _has_room(ords, lvls, oh, lh, st):
    if st[S_OFREE] < 0 or st[S_LFREE] < 0:
        return False
    if 2 * (st[S_NORD] + 2) > len(oh):
        return False
    if 2 * (max(st[S_NLV_B], st[S_NLV_A]) + 2) > lh.shape[1]:
        return False
    if max(st[S_NLV_B], st[S_NLV_A]) + 2 > lvls.shape[0]:
        return False
    return True


@njit(cache=True)
def _has_room_for(ords, lvls, oh, lh, st, k):
    """Room for ``k`` more orders and ``k`` more levels (on either side) without growing."""
    if not _has_room(ords, lvls, oh, lh, st):
        return False
    nlv = st[S_NLV_B] + st[S_NLV_A]
    if ords.shape[0] - st[S_NORD] < k + 1 or lvls.shape[0] - nlv < k + 1:
        return False
    if 2 * (st[S_NORD] + k + 2) > len(oh) or 2 * (nlv + k + 2) > lh.shape[1]:
        return False
    return True


@njit(cache=True)
def _write_row(lvls, sk, ss, st, out, known, r, nlev, divisor):
    """LOBSTER orderbook row r: ask_px, ask_sz, bid_px, bid_sz per level.

    ``known[r, side]`` = how many leading levels of that side (0 bid, 1 ask) are determined by the
    data: ``nlev`` when the side has no frontier, else the shown levels within the known range.
    """
    for side in range(2):
        n = st[S_NLV_B + side]
        k_known = 0
        certain = True
        for k in range(nlev):
            idx = n - 1 - k
            c = 4 * k + (2 if side == 0 else 0)
            if idx >= 0:
                slot = ss[side, idx]
                p = lvls[slot, L_PRICE]
                out[r, c] = p // divisor
                out[r, c + 1] = lvls[slot, L_TOTAL]
                if certain and _in_known_range(st, side, p):
                    k_known += 1
                else:
                    certain = False
            else:
                out[r, c] = -EMPTY_PX if side == 0 else EMPTY_PX
                out[r, c + 1] = 0
        has_frontier = st[S_HASFB] if side == 0 else st[S_HASFA]
        known[r, side] = k_known if has_frontier != 0 else nlev


@njit(cache=True)
def _take_synthetic(ords, lvls, oh, lh, sk, ss, st, side, price, q):
    """Take up to ``q`` off the synthetic orders of a level, front to back; returns what is left.

    Synthetic orders (reconciliation) stand for volume the messages never showed arriving, like
    anonymous volume: a cancel or execution of an order the book never saw comes out of them.
    """
    lslot = _lfind(lvls, lh[side], price)
    if lslot < 0:
        return q
    o = lvls[lslot, L_HEAD]
    while q > 0 and o >= 0:
        nxt = ords[o, O_NEXT]
        if np.uint64(ords[o, O_ID]) >= np.uint64(SYNTH_ID_BASE):
            d = min(q, ords[o, O_SIZE])
            q -= d
            _reduce_order(ords, lvls, oh, lh, sk, ss, st, o, d, False)
        o = nxt
    _drop_level_if_empty(lvls, lh, sk, ss, st, lslot)
    return q


# ---- replay of real events -------------------------------------------------------------------
@njit(cache=True)
def _apply_one(ords, lvls, oh, lh, sk, ss, st, vw, t, a, sd, p, size, o, ex):
    """One venue record (A/C/M/R change the book; ``ex != 0``: a counted execution, fed to the EW-VWAP)."""
    s = 0 if sd == SD_BID else (1 if sd == SD_ASK else -1)
    q = np.int64(size)
    if a == A_ADD:
        if s < 0 or p == INT64_MAX or q <= 0:
            st[C_BAD_RECORD] += 1
        elif o == 0:
            st[C_ADD_NO_ID] += 1
            _anon_change(ords, lvls, oh, lh, sk, ss, st, s, p, q)
        elif _ofind(ords, oh, o) >= 0:
            st[C_DUPLICATE_ADD] += 1
        else:
            _add_order(ords, lvls, oh, lh, sk, ss, st, s, p, q, o, 0)
    elif a == A_CANCEL:
        slot = _ofind(ords, oh, o) if o != 0 else -1
        if slot >= 0:
            have = ords[slot, O_SIZE]
            if q <= 0 or q > have:
                if q > have:
                    st[C_SHORTFALL] += 1
                    st[C_SHORTFALL_VOL] += q - have
                q = have
            st[C_CANCELLED_VOL] += q
            _reduce_order(ords, lvls, oh, lh, sk, ss, st, slot, q, True)
        elif s < 0 or p == INT64_MAX or q <= 0:
            st[C_BAD_RECORD] += 1
        else:
            # An order the book never saw (submitted before the seed): it is part of the
            # level's anonymous volume.
            st[C_UNKNOWN_CANCEL] += 1
            short = _anon_change(ords, lvls, oh, lh, sk, ss, st, s, p, -q)
            if short > 0:
                short = _take_synthetic(ords, lvls, oh, lh, sk, ss, st, s, p, short)
            st[C_CANCELLED_VOL] += q - short
            if short > 0:
                st[C_SHORTFALL] += 1
                st[C_SHORTFALL_VOL] += short
                if _in_known_range(st, s, p):
                    st[C_UNKNOWN_IN_FRONTIER] += 1
    elif a == A_MODIFY:
        slot = _ofind(ords, oh, o) if o != 0 else -1
        if s < 0 or p == INT64_MAX:
            st[C_BAD_RECORD] += 1
        elif slot < 0:
            st[C_UNKNOWN_MODIFY] += 1
            if q > 0:
                if o == 0:
                    _anon_change(ords, lvls, oh, lh, sk, ss, st, s, p, q)
                else:
                    _add_order(ords, lvls, oh, lh, sk, ss, st, s, p, q, o, 0)
        else:
            have = ords[slot, O_SIZE]
            if p != ords[slot, O_PRICE] or s != ords[slot, O_SIDE] or q > have:
                # price change or size increase: loses time priority (back of the queue)
                part = ords[slot, O_PART]
                st[C_CANCELLED_VOL] += have
                _reduce_order(ords, lvls, oh, lh, sk, ss, st, slot, have, True)
                if q > 0:
                    _add_order(ords, lvls, oh, lh, sk, ss, st, s, p, q, o, part)
            elif q < have:
                # size decrease keeps priority
                st[C_CANCELLED_VOL] += have - q
                _reduce_order(ords, lvls, oh, lh, sk, ss, st, slot, have - q, True)
    elif a == A_CLEAR:
        st[C_CLEAR] += 1
        _clear(ords, lvls, oh, lh, st)
    if ex != 0 and p != INT64_MAX and q > 0:
        _vwap_update(st, vw, t, p, q)


@njit(cache=True)
def apply_events(ords, lvls, oh, lh, sk, ss, st, vw, ts, action, side, price, size, oid, is_exec, start, stop,
                 rows, known, nlev, divisor):
    """Apply events[start:stop] with venue semantics (A/C/M/R change the book; the counted
    executions, ``is_exec[i] != 0``, feed the EW-VWAP).

    If ``nlev > 0``, writes the book after event i into ``rows[i]`` (LOBSTER layout) and the number
    of levels per side determined by the data into ``known[i]``. Returns the index of the first event NOT applied
    (== stop unless a table must grow first).
    """
    for i in range(start, stop):
        if not _has_room(ords, lvls, oh, lh, st):
            return i
        _apply_one(ords, lvls, oh, lh, sk, ss, st, vw, ts[i], action[i], side[i], price[i], size[i], oid[i],
                   is_exec[i])
        if st[S_VISIBLE] > 0:
            _move_frontier(lvls, ss, st)
        if nlev > 0:
            _write_row(lvls, sk, ss, st, rows, known, i, nlev, divisor)
    return stop


@njit(cache=True)
def _move_frontier(lvls, ss, st):
    """A level-N source omits events beyond its N-th level: once a price leaves the window its volume
    is no longer observed. The known range therefore shrinks to the N-th best price whenever that
    price is itself known (if it is not, the true N-th level lies beyond the frontier already)."""
    nvis = st[S_VISIBLE]
    for side in range(2):
        n = st[S_NLV_B + side]
        if n >= nvis:
            p = lvls[ss[side, n - nvis], L_PRICE]
            if _in_known_range(st, side, p):
                st[S_FB + side] = p
                st[S_HASFB + side] = 1


# ---- maintenance -----------------------------------------------------------------------------
@njit(cache=True)
def rehash(ords, lvls, oh, lh, sk, ss, st):
    """Rebuild both hash tables (after a resize) from the live levels and their order queues."""
    oh[:] = -1
    lh[:, :] = -1
    for side in range(2):
        for i in range(st[S_NLV_B + side]):
            slot = ss[side, i]
            _linsert(lvls, lh[side], slot)
            o = lvls[slot, L_HEAD]
            while o >= 0:
                _oinsert(ords, oh, o)
                o = ords[o, O_NEXT]


@njit(cache=True)
def write_row(lvls, sk, ss, st, out, known, nlev, divisor):
    _write_row(lvls, sk, ss, st, out, known, 0, nlev, divisor)


@njit(cache=True)
def anon_change(ords, lvls, oh, lh, sk, ss, st, side, price, delta):
    return _anon_change(ords, lvls, oh, lh, sk, ss, st, side, price, delta)


@njit(cache=True)
def level_orders(ords, lvls, slot, out):
    """Identified orders of a level, front to back: out[k] = (order id, size, participant)."""
    o = lvls[slot, L_HEAD]
    k = 0
    while o >= 0:
        out[k, 0] = ords[o, O_ID]
        out[k, 1] = ords[o, O_SIZE]
        out[k, 2] = ords[o, O_PART]
        k += 1
        o = ords[o, O_NEXT]
    return k
