# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""``tradefm replay``: replay a message file through the simulator and write the book after every message.

    tradefm replay MESSAGES [--lobster-orderbook BOOK [--reconcile]] [--levels N] [--check] -o OUT.csv

Output: a LOBSTER orderbook CSV (no header, ``ask_px_k,ask_sz_k,bid_px_k,bid_sz_k`` for k = 1..N,
prices in dollars × 10,000, empty levels ±9999999999 with size 0), one row per message: for a
LOBSTER message file one row per message row (a halt row repeats the book), for a Databento file
one row per record (``--at-last``: only after records flagged F_LAST, where CME books are
consistent).

With ``--lobster-orderbook BOOK`` (LOBSTER input) the book before message 1 is derived from BOOK's
first row by undoing message 1; levels beyond BOOK's depth are unknown, so rows whose shown levels
reach past the seeded depth are reported as *uncertain* (not determined by the data). A LOBSTER
level-N message file omits the events beyond its N-th level, so the known depth then shrinks as
levels leave that window; a message file that holds events beyond the book's depth (as ``tradefm
convert`` and ``generate`` write: every event at any depth) is detected from BOOK and read as
complete. A Databento file starting with a snapshot is seeded from it (snapshot records produce
rows too). The options are checked before anything is read or written.
``--check`` compares the output with BOOK: every cell the data determine must be equal (exit 1 on the
first mismatch); cells beyond the determined depth are counted (``--strict`` fails on them too).

``--reconcile`` (with ``--lobster-orderbook``): after every message the replayed book adopts BOOK's
visible levels (``Simulator.apply(events, orderbook=...)``, the rule in ``simulator.py``: orders
known from the messages keep their ids and queue places where they fit the row, the rest of a
level is one synthetic order, levels the row does not show inside its window are removed), so the
replay never drifts from the venue's book; levels beyond BOOK's depth remain the replay's (uncertain).
A level-1 file, which does not determine its own book (98 % of AMZN's cells undetermined), then
replays to BOOK exactly, and the orders behind the best price are the messages' best knowledge.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..events import (
    ACTION_ADD,
    ACTION_CANCEL,
    ACTION_FILL,
    F_LAST,
    SIDE_ASK,
    SIDE_BID,
    EventTable,
)
from ..simulator import Simulator


def _is_lobster(path: Path) -> bool:
    from ..io.lobster import parse_lobster_name

    return parse_lobster_name(path).get("kind") == "message"


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse a combination of options that cannot work, before reading or writing anything.

    Raises:
        DataError: naming the message file and the option at fault.
    """
    path = Path(args.messages)
    if int(args.levels) <= 0:
        raise DataError(path, f"--levels must be positive, got {args.levels}")
    if args.check and not args.lobster_orderbook:
        raise DataError(path, "--check compares with a LOBSTER orderbook: give it with --lobster-orderbook BOOK")
    if args.strict and not args.check:
        raise DataError(path, "--strict only applies with --check")
    if getattr(args, "reconcile", False) and not args.lobster_orderbook:
        raise DataError(path, "--reconcile adopts a LOBSTER orderbook's levels: give it with --lobster-orderbook BOOK")
    if args.lobster_orderbook and not _is_lobster(path):
        raise DataError(path, "--lobster-orderbook needs a LOBSTER message file (SYMBOL_DATE_start_end_message_N.csv)")
    if not path.exists():
        raise FileNotFoundError(2, "no such file", str(path))
    if args.lobster_orderbook and not Path(args.lobster_orderbook).exists():
        raise FileNotFoundError(2, "no such file", str(args.lobster_orderbook))


def read_messages(path: str | Path) -> tuple[EventTable, int]:
    """(events, message rows in) of one LOBSTER or Databento file, via ``modeling_tradefm.io.read_file``."""
    from ..io import read_file

    res = read_file(path)
    return res.events, int(res.report.records)


def read_lobster_book(path: str | Path, levels: int | None = None) -> np.ndarray:
    """A LOBSTER orderbook CSV (``.csv`` or ``.csv.zst``) as int64 [n, 4·levels]."""
    from ..io.lobster import read_lobster_orderbook

    path = Path(path)
    # the readers' own parser: it decompresses .zst (the embedded samples are compressed) and
    # reports damaged or non-integer files as DataError
    book = read_lobster_orderbook(path)
    if book.shape[1] % 4:
        raise DataError(path, f"{book.shape[1]} columns is not 4 per level")
    if levels is not None and book.shape[1] < 4 * levels:
        raise DataError(path, f"has {book.shape[1] // 4} levels, --levels asks for {levels}")
    return book


def replay_lobster(events: EventTable, n_messages: int, levels: int, initial: Simulator | None,
                   orderbook: np.ndarray | None = None):
    """Rows after every message 1..n_messages (a message with no event repeats the previous book).

    Args:
        orderbook: the file's orderbook rows: reconcile with them after every message (``--reconcile``).

    Returns:
        rows int64 [n_messages, 4·levels]; known int32 [n_messages, 2], the leading (bid, ask) levels of
        each row determined by the data; the simulator after replay.
    """
    sim = initial.copy() if initial is not None else Simulator()
    before, before_known = sim.lobster_row(levels, return_known=True)
    ev_rows, ev_known = sim.apply_recording(events, levels, orderbook=orderbook)
    seq = events.sequence.astype(np.int64)
    if len(seq) and (np.any(np.diff(seq) < 0) or seq[0] < 1 or seq[-1] > n_messages):
        raise DataError("<events>", "LOBSTER sequence numbers must be message rows in increasing order")
    # the row of message r = the book after the last event with sequence <= r
    idx = np.searchsorted(seq, np.arange(1, n_messages + 1), side="right") - 1
    has = idx[:, None] >= 0
    if len(seq):
        rows = np.where(has, ev_rows[np.maximum(idx, 0)], before[None, :])
        known = np.where(has, ev_known[np.maximum(idx, 0)], before_known[None, :]).astype(np.int32)
    else:
        rows = np.repeat(before[None, :], n_messages, axis=0)
        known = np.repeat(before_known[None, :], n_messages, axis=0).astype(np.int32)
    return rows, known, sim


def messages_beyond_depth(events: EventTable, book: np.ndarray) -> np.ndarray:
    """Message rows (1-based) that act at a price beyond the deepest level of ``book``'s row before them.

    A LOBSTER level-N message file holds only the events within the first N levels at their time,
    so a real one has none (0 on the AAPL level-10 and AMZN level-1 samples); a file with all
    events at any depth (``tradefm convert``/``generate`` write them) has many. Only a side that
    shows all its levels in the row before counts; message 1 has no row before it.

    Args:
        events: the message file's events (``sequence`` = message row).
        book: its LOBSTER orderbook rows (LOBSTER units).
    """
    from ..io.lobster import LOBSTER_PRICE_TO_NANO

    deepest = 4 * (book.shape[1] // 4 - 1)
    visible = np.isin(events.action, (ACTION_ADD, ACTION_CANCEL, ACTION_FILL)) & (events.sequence >= 2)
    ev = events[visible]
    before = book[ev.sequence.astype(np.int64) - 2]
    price = ev.price // LOBSTER_PRICE_TO_NANO
    ask, ask_sz, bid, bid_sz = (before[:, deepest + k] for k in range(4))
    deep = ((ev.side == SIDE_ASK) & (ask_sz > 0) & (price > ask)) | ((ev.side == SIDE_BID) & (bid_sz > 0) & (price < bid))
    return np.unique(ev.sequence[deep].astype(np.int64))


def determined_mask(known: np.ndarray, levels: int) -> np.ndarray:
    """bool [n, 4·levels]: the cells of each row that the data determine (from ``known`` counts)."""
    k = np.arange(levels)
    bid = k[None, :] < known[:, 0:1]
    ask = k[None, :] < known[:, 1:2]
    out = np.zeros((len(known), levels, 4), dtype=bool)
    out[:, :, 0] = out[:, :, 1] = ask
    out[:, :, 2] = out[:, :, 3] = bid
    return out.reshape(len(known), 4 * levels)


def _describe_ranges(idx: np.ndarray) -> str:
    if len(idx) == 0:
        return "none"
    out, start, prev = [], idx[0], idx[0]
    for i in idx[1:]:
        if i != prev + 1:
            out.append(f"{start + 1}" if start == prev else f"{start + 1}-{prev + 1}")
            start = i
        prev = i
    out.append(f"{start + 1}" if start == prev else f"{start + 1}-{prev + 1}")
    return ", ".join(out[:20]) + (f", … ({len(out)} ranges)" if len(out) > 20 else "")


def seed_from_orderbook(book_path, events: EventTable, n_msg: int, levels: int):
    """The book before message 1 from a LOBSTER orderbook file (its first row, message 1 undone).

    Returns:
        (book rows int64 [n_msg, 4·L], the seeded Simulator, full_depth): ``full_depth`` when the
        message file holds events beyond the book's depth (``messages_beyond_depth``): then no
        level leaves the data's view, else the known range follows the N-th level inward.
    """
    book = read_lobster_book(book_path, levels)
    if len(book) != n_msg:
        raise DataError(book_path, f"{len(book)} rows but the message file has {n_msg}")
    deep = messages_beyond_depth(events, book)
    full_depth = bool(len(deep))
    if full_depth:
        print(f"{len(deep)} messages (first: row {deep[0]}) act beyond the {book.shape[1] // 4} levels of the "
              "book before them, which a LOBSTER level-N file omits: read as a file of every event at any "
              "depth (as tradefm convert writes), so no level leaves the data's view", file=sys.stderr)
    try:
        initial = Simulator.from_lobster_row(book[0, : 4 * levels], levels, undo=events[events.sequence == 1],
                                             visible=not full_depth)
    except ValueError as exc:
        raise DataError(book_path, f"cannot derive the book before message 1: {exc}", row=1) from None
    return book, initial, full_depth


def run(args: argparse.Namespace) -> int:
    check_arguments(args)
    path = Path(args.messages)
    levels = int(args.levels)
    events, n_msg = read_messages(path)
    book, initial, full_depth = None, None, False
    if _is_lobster(path):
        if args.lobster_orderbook:
            book, initial, full_depth = seed_from_orderbook(args.lobster_orderbook, events, n_msg, levels)
        try:
            rows, known, sim = replay_lobster(events, n_msg, levels, initial,
                                              book if getattr(args, "reconcile", False) else None)
        except ValueError as exc:
            raise DataError(args.lobster_orderbook, str(exc)) from None
    else:
        sim = Simulator.from_events(events[:0])
        rows, known = sim.apply_recording(events, levels)
        if args.at_last:
            keep = (events.flags & F_LAST) != 0
            rows, known = rows[keep], known[keep]
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(out, rows, fmt="%d", delimiter=",")
    unc = (known < levels).any(axis=1)
    n_unc = int(unc.sum())
    counters = {k: v for k, v in sim.counters.items() if v and not k.endswith("volume")}
    print(f"replayed {len(events)} events → {len(rows)} rows × {rows.shape[1]} columns → {out}", file=sys.stderr)
    if getattr(args, "reconcile", False):
        c = sim.counters
        print(f"reconciled with {args.lobster_orderbook}: {c['reconciled_rows']} of {n_msg} rows differed from the "
              f"replayed book; adopted +{c['reconcile_added_volume']} / -{c['reconcile_removed_volume']} shares",
              file=sys.stderr)
    if counters:
        print(f"diagnostics: {counters}", file=sys.stderr)
    if n_unc:
        det = determined_mask(known, levels)
        why = ("orders resting beyond the seeded levels before message 1 are in neither file" if full_depth
               else "the source omits events beyond its depth")
        print(f"uncertain rows: {n_unc} of {len(rows)} show levels the data do not determine "
              f"({why}; {int((~det).sum())} of {det.size} cells): "
              f"rows {_describe_ranges(np.flatnonzero(unc))}; determined levels per side: "
              f"bid min {int(known[:, 0].min())}, ask min {int(known[:, 1].min())}", file=sys.stderr)
    if args.check:
        ref = book[:, : 4 * levels]
        det = determined_mask(known, levels)
        diff = rows != ref
        bad = np.flatnonzero((diff & det).any(axis=1))
        n_und = int((diff & ~det).any(axis=1).sum())
        if len(bad):
            r = int(bad[0])
            cols = np.flatnonzero(diff[r] & det[r])
            print(f"MISMATCH: {len(bad)} of {len(rows)} rows differ in determined cells; first row {r + 1}, "
                  f"columns {(cols + 1).tolist()[:12]}: ours {rows[r, cols].tolist()[:12]} vs book "
                  f"{ref[r, cols].tolist()[:12]}", file=sys.stderr)
            return 1
        n_eq = int((~diff.any(axis=1)).sum())
        print(f"check: every determined cell equals {args.lobster_orderbook}; {n_eq} of {len(rows)} rows equal in "
              f"all {ref.shape[1]} columns; {n_und} rows differ only in cells the data do not determine",
              file=sys.stderr)
        if args.strict and n_eq != len(rows):
            return 1
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("replay", help="replay a message file and write the book after every message (LOBSTER CSV)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("messages", help="LOBSTER message CSV or Databento MBO file (.dbn[.zst], .csv[.zst])")
    p.add_argument("--lobster-orderbook", metavar="BOOK", help="LOBSTER orderbook CSV: seeds the book before message 1")
    p.add_argument("--levels", type=int, default=10, help="levels per side in the output (default 10)")
    p.add_argument("--at-last", action="store_true", help="Databento: rows only after records flagged F_LAST")
    p.add_argument("--reconcile", action="store_true",
                   help="adopt --lobster-orderbook's visible levels after every message (the replay never drifts)")
    p.add_argument("--check", action="store_true", help="compare the output with --lobster-orderbook (exit 1 on mismatch)")
    p.add_argument("--strict", action="store_true", help="with --check: also fail on undetermined cells that differ")
    p.add_argument("-o", "--output", required=True, help="output orderbook CSV")
    p.set_defaults(func=run)


__all__ = ["add_parser", "check_arguments", "messages_beyond_depth", "read_lobster_book", "seed_from_orderbook", "read_messages", "replay_lobster", "run"]
