# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Compiled reconciliation of a replayed book with a LOBSTER orderbook file (``Simulator.reconcile``).

After a message the book adopts the orderbook row's visible levels: known orders keep their ids
and queue places while they fit a level's size, the rest of a level is one synthetic order at its
front, levels the row's window does not show are removed (the rule is documented in
``simulator.py``). The book's data structures and the replay are in ``_book_kernels``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._book_kernels import (
    C_RECONCILE_ADDED,
    C_RECONCILE_REMOVED,
    C_RECONCILED,
    L_ANON,
    L_HEAD,
    L_NORD,
    L_P1,
    L_PRICE,
    L_TAIL,
    L_TOTAL,
    O_ID,
    O_LVL,
    O_NEXT,
    O_PART,
    O_PREV,
    O_PRICE,
    O_SIDE,
    O_SIZE,
    S_FB,
    S_HASFB,
    S_NLV_B,
    S_NORD,
    S_OFREE,
    S_SYNTH,
    S_VISIBLE,
    SYNTH_ID_BASE,
    _apply_one,
    _drop_level_if_empty,
    _has_room_for,
    _level,
    _move_frontier,
    _oinsert,
    _reduce_order,
    _write_row,
)


@njit(cache=True)
def apply_events_reconciled(ords, lvls, oh, lh, sk, ss, st, vw, ts, action, side, price, size, oid, is_exec, seq,
                            start, stop, book, mult, rows, known, nlev, divisor):
    """``apply_events``, adopting the venue's visible levels after every message (``reconcile_row``).

    ``book`` holds LOBSTER orderbook rows (row r = the book after message r + 1; prices × ``mult``
    = 1e-9 units); event i belongs to message ``seq[i]`` (1-based row), and after the LAST event of
    each message the book adopts row ``seq[i] − 1``.
    """
    n = len(seq)
    room = 4 * (book.shape[1] // 4) + 2
    for i in range(start, stop):
        if not _has_room_for(ords, lvls, oh, lh, st, room):
            return i
        _apply_one(ords, lvls, oh, lh, sk, ss, st, vw, ts[i], action[i], side[i], price[i], size[i], oid[i],
                   is_exec[i])
        if st[S_VISIBLE] > 0:
            _move_frontier(lvls, ss, st)
        if i + 1 == n or seq[i + 1] != seq[i]:
            _reconcile(ords, lvls, oh, lh, sk, ss, st, book, np.int64(seq[i]) - 1, mult)
        if nlev > 0:
            _write_row(lvls, sk, ss, st, rows, known, i, nlev, divisor)
    return stop


# ---- reconciliation with a venue's orderbook row -------------------------------------------------
@njit(cache=True)
def _remove_level(ords, lvls, oh, lh, sk, ss, st, lslot):
    """Take a whole level off the book (anonymous volume and every order); returns the volume removed."""
    removed = lvls[lslot, L_TOTAL]
    o = lvls[lslot, L_HEAD]
    while o >= 0:
        nxt = ords[o, O_NEXT]
        _reduce_order(ords, lvls, oh, lh, sk, ss, st, o, ords[o, O_SIZE], False)
        o = nxt
    lvls[lslot, L_TOTAL] = 0
    lvls[lslot, L_ANON] = 0
    lvls[lslot, L_P1] = 0
    _drop_level_if_empty(lvls, lh, sk, ss, st, lslot)
    return removed


@njit(cache=True)
def _add_synthetic_front(ords, lvls, oh, lh, sk, ss, st, side, price, size):
    """One synthetic order at the FRONT of its level's identified queue (behind anonymous volume)."""
    lslot = _level(lvls, lh, sk, ss, st, side, price, True)
    slot = st[S_OFREE]
    st[S_OFREE] = ords[slot, O_NEXT]
    oid = np.int64(SYNTH_ID_BASE) + st[S_SYNTH]
    st[S_SYNTH] += 1
    ords[slot, O_PRICE] = price
    ords[slot, O_SIZE] = size
    ords[slot, O_SIDE] = side
    ords[slot, O_LVL] = lslot
    ords[slot, O_ID] = oid
    ords[slot, O_PART] = 0
    head = lvls[lslot, L_HEAD]
    ords[slot, O_PREV] = -1
    ords[slot, O_NEXT] = head
    if head >= 0:
        ords[head, O_PREV] = slot
    else:
        lvls[lslot, L_TAIL] = slot
    lvls[lslot, L_HEAD] = slot
    lvls[lslot, L_TOTAL] += size
    lvls[lslot, L_NORD] += 1
    _oinsert(ords, oh, slot)
    st[S_NORD] += 1


@njit(cache=True)
def _set_level(ords, lvls, oh, lh, sk, ss, st, side, price, target):
    """Make the level at ``price`` hold exactly ``target`` (> 0) shares; returns (added, removed).

    The level's volume in age order — anonymous volume (the oldest), then the identified orders
    front to back — is kept as long as it fits ``target``; the first order that does not fit and
    every order behind it are removed (the newest go first, as in the LIFO cancel rule); a
    shortfall becomes one synthetic order at the front of the identified queue.
    """
    lslot = _level(lvls, lh, sk, ss, st, side, price, True)
    if lvls[lslot, L_TOTAL] == target:
        return 0, 0
    room = target
    removed = 0
    a = lvls[lslot, L_ANON]
    if a > room:
        removed += a - room
        lvls[lslot, L_ANON] = room
        lvls[lslot, L_TOTAL] -= a - room
    room -= lvls[lslot, L_ANON]
    o = lvls[lslot, L_HEAD]
    cut = False
    while o >= 0:
        nxt = ords[o, O_NEXT]
        q = ords[o, O_SIZE]
        if cut or q > room:
            cut = True
            removed += q
            _reduce_order(ords, lvls, oh, lh, sk, ss, st, o, q, False)
        else:
            room -= q
        o = nxt
    if room > 0:
        _add_synthetic_front(ords, lvls, oh, lh, sk, ss, st, side, price, room)
    return room, removed


@njit(cache=True)
def _reconcile(ords, lvls, oh, lh, sk, ss, st, book, r, mult):
    """Adopt the visible levels of LOBSTER orderbook row ``book[r]`` (see ``simulator.py``).

    Per side: the row's levels are set to the row's sizes (``_set_level``); every level of the
    book inside the row's window that the row does not show is removed — the window is the whole
    side when the row shows fewer levels than it has columns, else the prices from the best to the
    row's deepest level. Levels beyond a full row's deepest price are not visible to the venue's
    file and are kept; the frontier moves to that price (they are uncertain). Returns nothing; the
    counters ``C_RECONCILE*`` record what changed.
    """
    nb = book.shape[1] // 4
    added = 0
    removed = 0
    for side in range(2):
        pc = 2 if side == 0 else 0
        m = 0
        for k in range(nb):
            if book[r, 4 * k + pc + 1] <= 0:
                break
            m += 1
        full = m == nb
        deepest = book[r, 4 * (m - 1) + pc] * mult if m > 0 else 0
        n = st[S_NLV_B + side]
        drop = np.empty(n, dtype=np.int64)
        nd = 0
        for idx in range(n - 1, -1, -1):
            slot = ss[side, idx]
            p = lvls[slot, L_PRICE]
            if full and (p < deepest if side == 0 else p > deepest):
                break
            shown = False
            for k in range(m):
                if book[r, 4 * k + pc] * mult == p:
                    shown = True
                    break
            if not shown:
                drop[nd] = slot
                nd += 1
        for j in range(nd):
            removed += _remove_level(ords, lvls, oh, lh, sk, ss, st, drop[j])
        for k in range(m):
            ad, rm = _set_level(ords, lvls, oh, lh, sk, ss, st, side, book[r, 4 * k + pc] * mult,
                                book[r, 4 * k + pc + 1])
            added += ad
            removed += rm
        if full:
            st[S_FB + side] = deepest
            st[S_HASFB + side] = 1
        else:
            st[S_HASFB + side] = 0
    if added or removed:
        st[C_RECONCILED] += 1
        st[C_RECONCILE_ADDED] += added
        st[C_RECONCILE_REMOVED] += removed


@njit(cache=True)
def reconcile_row(ords, lvls, oh, lh, sk, ss, st, book, r, mult):
    """``_reconcile`` as an entry point (the caller made room for 2 · 2 · levels orders and levels)."""
    _reconcile(ords, lvls, oh, lh, sk, ss, st, book, r, mult)
