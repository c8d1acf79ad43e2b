# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Compiled matching engine of the simulator: ``Simulator.submit`` (generated and injected orders).

A marketable order executes against the opposite side in price-time priority and logs the CME
pattern (T, then F + C per resting order hit); a generated cancel without an order id picks its
target by the configured rule (``S_CANCEL_NEWEST``: newest, oldest, nearest size, best fit). The
book's data structures and the replay are in ``_book_kernels``; semantics in ``simulator.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._book_kernels import (
    A_ADD,
    A_CANCEL,
    A_FILL,
    A_TRADE,
    C_CANCELLED_VOL,
    C_EXECUTED_VOL,
    C_MARKET_DISCARD,
    C_MARKET_DISCARD_VOL,
    F_LAST,
    G_ACTION,
    G_FLAGS,
    G_ID,
    G_PART,
    G_PRICE,
    G_SEQ,
    G_SIDE,
    G_SIZE,
    G_TS,
    G_TSE,
    INT64_MAX,
    L_ANON,
    L_HEAD,
    L_P1,
    L_PRICE,
    L_TAIL,
    L_TOTAL,
    O_ID,
    O_NEXT,
    O_PART,
    O_PREV,
    O_PRICE,
    O_SIDE,
    O_SIZE,
    S_CANCEL_NEWEST,
    S_CANCEL_SPILL,
    S_LOGN,
    S_MAXID,
    S_NLV_A,
    S_NLV_B,
    S_NORD,
    S_SEQ,
    S_TICK,
    SD_ASK,
    SD_BID,
    V_BAD_ACTION,
    V_BAD_PRICE,
    V_CANCEL_EMPTY_SIDE,
    V_CANCEL_NO_ORDER,
    V_CANCEL_UNKNOWN_ID,
    V_MARKET_EMPTY_SIDE,
    V_NEED_ROOM,
    V_OFF_TICK,
    V_OK,
    V_ZERO_SIZE,
    _add_order,
    _bsearch,
    _drop_level_if_empty,
    _has_room,
    _key,
    _ofind,
    _reduce_order,
    _vwap_update,
)


# ---- generated orders ------------------------------------------------------------------------
@njit(cache=True)
def _log(lg, st, ts, action, side, price, size, oid, part):
    r = st[S_LOGN]
    lg[r, G_TS] = ts
    lg[r, G_TSE] = ts
    lg[r, G_ACTION] = action
    lg[r, G_SIDE] = side
    lg[r, G_PRICE] = price
    lg[r, G_SIZE] = size
    lg[r, G_ID] = oid
    lg[r, G_FLAGS] = 0
    lg[r, G_SEQ] = st[S_SEQ]
    lg[r, G_PART] = part
    st[S_LOGN] = r + 1
    return r


@njit(cache=True)
def _eligible(lvls, slot, part):
    if part == 0:
        return lvls[slot, L_TOTAL] - lvls[slot, L_P1] > 0
    return lvls[slot, L_P1] > 0


@njit(cache=True)
def submit_order(ords, lvls, oh, lh, sk, ss, st, vw, lg, ts, action, side, price, size, part, oid_in):
    """One generated/injected order. Returns (void, executed, rest, cancelled, unfilled, last_px, oid).

    ``void == V_NEED_ROOM``: nothing was done; the caller grows the tables (``lg`` to hold the
    worst case: one T per level plus F and C per resting order, plus the A) and calls again.
    """
    if (st[S_LOGN] + 3 * (st[S_NORD] + st[S_NLV_B] + st[S_NLV_A]) + 4 > lg.shape[0]
            or not _has_room(ords, lvls, oh, lh, st)):
        return V_NEED_ROOM, 0, 0, 0, 0, INT64_MAX, 0
    sd_code = SD_BID if side == 0 else SD_ASK
    if action == A_ADD:
        if size <= 0:
            return V_ZERO_SIZE, 0, 0, 0, 0, INT64_MAX, 0
        market = (side == 0 and price == INT64_MAX) or (side == 1 and price == 0)
        if not market:
            if price <= 0 or price == INT64_MAX:
                return V_BAD_PRICE, 0, 0, 0, 0, INT64_MAX, 0
            if st[S_TICK] > 0 and price % st[S_TICK] != 0:
                return V_OFF_TICK, 0, 0, 0, 0, INT64_MAX, 0
        opp = 1 - side
        if market and st[S_NLV_B + opp] == 0:
            return V_MARKET_EMPTY_SIDE, 0, 0, 0, 0, INT64_MAX, 0
        oid = np.int64(np.uint64(st[S_MAXID]) + np.uint64(1))
        st[S_MAXID] = oid
        st[S_SEQ] += 1
        rem = size
        executed = 0
        last_px = INT64_MAX
        opp_code = SD_ASK if side == 0 else SD_BID
        first_row = st[S_LOGN]
        while rem > 0 and st[S_NLV_B + opp] > 0:
            lslot = ss[opp, st[S_NLV_B + opp] - 1]
            lp = lvls[lslot, L_PRICE]
            if not market:
                if side == 0 and lp > price:
                    break
                if side == 1 and lp < price:
                    break
            trow = _log(lg, st, ts, A_TRADE, sd_code, lp, 0, oid, part)
            level_fill = 0
            a = lvls[lslot, L_ANON]
            if a > 0:
                # anonymous (seeded) volume predates every identified order: it trades first
                q = min(a, rem)
                lvls[lslot, L_ANON] -= q
                lvls[lslot, L_TOTAL] -= q
                _log(lg, st, ts, A_FILL, opp_code, lp, q, 0, 0)
                _log(lg, st, ts, A_CANCEL, opp_code, lp, q, 0, 0)
                rem -= q
                level_fill += q
            o = lvls[lslot, L_HEAD]
            while rem > 0 and o >= 0:
                nxt = ords[o, O_NEXT]
                q = min(ords[o, O_SIZE], rem)
                _log(lg, st, ts, A_FILL, opp_code, lp, q, ords[o, O_ID], ords[o, O_PART])
                _log(lg, st, ts, A_CANCEL, opp_code, lp, q, ords[o, O_ID], ords[o, O_PART])
                _reduce_order(ords, lvls, oh, lh, sk, ss, st, o, q, False)
                rem -= q
                level_fill += q
                o = nxt
            lg[trow, G_SIZE] = level_fill
            executed += level_fill
            last_px = lp
            _vwap_update(st, vw, ts, lp, level_fill)
            _drop_level_if_empty(lvls, lh, sk, ss, st, lslot)
        st[C_EXECUTED_VOL] += executed
        rest = 0
        unfilled = 0
        if rem > 0:
            if market:
                unfilled = rem
                st[C_MARKET_DISCARD] += 1
                st[C_MARKET_DISCARD_VOL] += rem
            else:
                rest = rem
                _add_order(ords, lvls, oh, lh, sk, ss, st, side, price, rem, oid, part)
                _log(lg, st, ts, A_ADD, sd_code, price, rem, oid, part)
        if st[S_LOGN] > first_row:
            lg[st[S_LOGN] - 1, G_FLAGS] = F_LAST
        return V_OK, executed, rest, 0, unfilled, last_px, oid
    if action != A_CANCEL:
        return V_BAD_ACTION, 0, 0, 0, 0, INT64_MAX, 0
    if size <= 0:
        return V_ZERO_SIZE, 0, 0, 0, 0, INT64_MAX, 0
    if oid_in != 0:
        slot = _ofind(ords, oh, oid_in)
        if slot < 0:
            return V_CANCEL_UNKNOWN_ID, 0, 0, 0, 0, INT64_MAX, 0
        q = min(size, ords[slot, O_SIZE])
        st[S_SEQ] += 1
        r = _log(lg, st, ts, A_CANCEL, SD_BID if ords[slot, O_SIDE] == 0 else SD_ASK, ords[slot, O_PRICE], q,
                 oid_in, ords[slot, O_PART])
        lg[r, G_FLAGS] = F_LAST
        st[C_CANCELLED_VOL] += q
        _reduce_order(ords, lvls, oh, lh, sk, ss, st, slot, q, True)
        return V_OK, 0, 0, q, 0, INT64_MAX, oid_in
    n = st[S_NLV_B + side]
    if n == 0:
        return V_CANCEL_EMPTY_SIDE, 0, 0, 0, 0, INT64_MAX, 0
    # Target level: the one at the decoded price, else the nearest level by price distance (a tie
    # goes to the level nearer the touch) that holds volume of this participant.
    key = _key(side, price) if price != INT64_MAX else INT64_MAX
    hi = _bsearch(sk[side], n, key)  # sk[hi] >= key; hi - 1 < key
    lo = hi - 1
    target = -1
    while lo >= 0 or hi < n:
        if hi < n and (lo < 0 or (sk[side, hi] - key) <= (key - sk[side, lo])):
            cand = ss[side, hi]
            hi += 1
        else:
            cand = ss[side, lo]
            lo -= 1
        if _eligible(lvls, cand, part):
            target = cand
            break
    if target < 0:
        return V_CANCEL_NO_ORDER, 0, 0, 0, 0, INT64_MAX, 0
    lp = lvls[target, L_PRICE]
    st[S_SEQ] += 1
    rem = size
    cancelled = 0
    last_oid = 0
    if st[S_CANCEL_NEWEST] == 2:
        return _cancel_by_size(ords, lvls, oh, lh, sk, ss, st, lg, ts, sd_code, target, size, part)
    if st[S_CANCEL_NEWEST] == 3:
        return _cancel_best_fit(ords, lvls, oh, lh, sk, ss, st, lg, ts, sd_code, target, size, part)
    newest = st[S_CANCEL_NEWEST] != 0
    spill = st[S_CANCEL_SPILL] != 0
    first_row = st[S_LOGN]
    # anonymous volume is the OLDEST volume of the level (participant 0)
    if not newest and part == 0 and lvls[target, L_ANON] > 0:
        q = min(rem, lvls[target, L_ANON])
        lvls[target, L_ANON] -= q
        lvls[target, L_TOTAL] -= q
        _log(lg, st, ts, A_CANCEL, sd_code, lp, q, 0, 0)
        rem -= q
        cancelled += q
    o = lvls[target, L_TAIL] if newest else lvls[target, L_HEAD]
    while rem > 0 and o >= 0 and (spill or cancelled == 0):
        nxt = ords[o, O_PREV] if newest else ords[o, O_NEXT]
        if ords[o, O_PART] == part:
            q = min(rem, ords[o, O_SIZE])
            last_oid = ords[o, O_ID]
            _log(lg, st, ts, A_CANCEL, sd_code, lp, q, last_oid, part)
            _reduce_order(ords, lvls, oh, lh, sk, ss, st, o, q, False)
            rem -= q
            cancelled += q
        o = nxt
    if newest and part == 0 and rem > 0 and lvls[target, L_ANON] > 0 and (spill or cancelled == 0):
        q = min(rem, lvls[target, L_ANON])
        lvls[target, L_ANON] -= q
        lvls[target, L_TOTAL] -= q
        _log(lg, st, ts, A_CANCEL, sd_code, lp, q, 0, 0)
        rem -= q
        cancelled += q
    st[C_CANCELLED_VOL] += cancelled
    _drop_level_if_empty(lvls, lh, sk, ss, st, target)
    if st[S_LOGN] > first_row:
        lg[st[S_LOGN] - 1, G_FLAGS] = F_LAST
    return V_OK, 0, 0, cancelled, 0, INT64_MAX, last_oid


@njit(cache=True, inline="always")
def _cancel_chosen(ords, lvls, oh, lh, sk, ss, st, lg, ts, sd_code, target, size, part, best, q, first_row):
    """Take ``q`` off the order a cancel rule chose (``best``); with none, background flow (participant 0)
    cancels ``min(size, anonymous volume)`` of the level's anonymous volume. Logs, counts, closes the submit."""
    lp = lvls[target, L_PRICE]
    cancelled = 0
    last_oid = 0
    if best >= 0:
        last_oid = ords[best, O_ID]
        _log(lg, st, ts, A_CANCEL, sd_code, lp, q, last_oid, part)
        _reduce_order(ords, lvls, oh, lh, sk, ss, st, best, q, False)
        cancelled = q
    elif part == 0 and lvls[target, L_ANON] > 0:
        q = min(size, lvls[target, L_ANON])
        lvls[target, L_ANON] -= q
        lvls[target, L_TOTAL] -= q
        _log(lg, st, ts, A_CANCEL, sd_code, lp, q, 0, 0)
        cancelled = q
    st[C_CANCELLED_VOL] += cancelled
    _drop_level_if_empty(lvls, lh, sk, ss, st, target)
    if st[S_LOGN] > first_row:
        lg[st[S_LOGN] - 1, G_FLAGS] = F_LAST
    return V_OK, 0, 0, cancelled, 0, INT64_MAX, last_oid


@njit(cache=True)
def _cancel_by_size(ords, lvls, oh, lh, sk, ss, st, lg, ts, sd_code, target, size, part):
    """Cancel, WHOLE, the participant's order of the target level whose size is nearest ``size``.

    Ties go to the newest order. Without an identified order of the participant, background flow
    (participant 0) cancels ``min(size, anonymous volume)`` of the level's anonymous volume.
    """
    st[S_SEQ] += 1
    first_row = st[S_LOGN]
    best = -1
    best_gap = INT64_MAX
    o = lvls[target, L_TAIL]
    while o >= 0:
        if ords[o, O_PART] == part:
            gap = abs(ords[o, O_SIZE] - size)
            if gap < best_gap:
                best, best_gap = o, gap
        o = ords[o, O_PREV]
    # the chosen order goes whole
    return _cancel_chosen(ords, lvls, oh, lh, sk, ss, st, lg, ts, sd_code, target, size, part, best,
                          ords[best, O_SIZE] if best >= 0 else 0, first_row)


@njit(cache=True)
def _cancel_best_fit(ords, lvls, oh, lh, sk, ss, st, lg, ts, sd_code, target, size, part):
    """Cancel, WHOLE, the largest of the participant's orders of the target level that ``size`` covers.

    Ties go to the newest order. When ``size`` is smaller than every such order, the newest one
    loses ``size`` (a partial cancel). Never more than ``size`` leaves the book. Without an
    identified order of the participant, background flow (participant 0) cancels
    ``min(size, anonymous volume)`` of the level's anonymous volume.
    """
    st[S_SEQ] += 1
    first_row = st[S_LOGN]
    best = -1
    newest = -1
    o = lvls[target, L_TAIL]
    while o >= 0:
        if ords[o, O_PART] == part:
            if newest < 0:
                newest = o
            q = ords[o, O_SIZE]
            if q <= size and (best < 0 or q > ords[best, O_SIZE]):
                best = o
        o = ords[o, O_PREV]
    if best < 0:
        best = newest
    return _cancel_chosen(ords, lvls, oh, lh, sk, ss, st, lg, ts, sd_code, target, size, part, best,
                          min(size, ords[best, O_SIZE]) if best >= 0 else 0, first_row)
