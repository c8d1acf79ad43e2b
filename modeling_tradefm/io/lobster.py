# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""LOBSTER message (+ orderbook) files ⇄ EventTable.

Message files have no header; columns ``time,type,order_id,size,price,direction``: time = seconds
after midnight New York time, price = dollars × 10,000, direction 1 buy / −1 sell (for executions,
the side of the resting order). The symbol and the date come from the file name
``{SYMBOL}_{YYYY-MM-DD}_{start}_{end}_message_{levels}.csv`` (or the ``symbol``/``date`` options).

Mapping (contracts.md), ``sequence`` = 1-based message row, ``ts_event == ts_recv``:

======  ===================================================================================
type    events
======  ===================================================================================
1       ``A`` (order id, side, size, price)
2       ``C`` with the cancelled size (the order stays)
3       ``C`` with the remaining size (the order goes)
4       ``T`` (aggressor = opposite side, order id 0) + ``F`` (resting order) + ``C`` (resting
        order reduced by the executed size); one row, one execution, three events
5       ``T`` only (hidden execution: no visible book change); aggressor = opposite side
6       ``T`` with side ``N`` (auction cross), LOBSTER's order id kept
7       none: trading halt/resume rows are skipped and counted (``halt``)
======  ===================================================================================

``F_LAST`` is set on the last event of each row. Times: the New York UTC offset is taken per
wall-clock hour from ``zoneinfo`` (so a file on a DST-change day converts correctly). Prices: × 100,000 into 1e-9 units. ``instrument_id`` is not in LOBSTER: it is the
CRC-32 of the symbol (stable across files and runs; override with ``instrument_id=``).

Unknown order ids: cancels and executions (types 2, 3, 4) of orders whose submission is not in the
file are kept (level-1 files are full of them; the simulator reduces level volume for them) and
counted in ``report.info["unknown_order_id"]`` without dropping anything.

Times of a session that is not a New York calendar day (CME). The reader takes every time as
seconds after New York midnight of the date in the file name, negative times (the evening
before) and times past 86,400 included; real LOBSTER files simply never have them. ``tradefm
convert --to lobster`` writes one file per session of ``features.split_sessions`` (the sessions
``tradefm inspect`` reports: UTC calendar dates by default, CME trade dates with
``FeatureConfig.cme()``), names it by the session's date and counts its times from New York
midnight OF THAT DATE. A session that opens the evening before therefore starts at negative
times: the CME sample (UTC date 2023-12-25; Databento's snapshot stamped 00:00 UTC = 19:00 New
York on the 24th, trading 22:00-24:00 UTC) is ``ESH4_2023-12-25_-18000000_68399446_message_10.csv``
with times -18000.000000000 … 68399.446821072, and a CME trade date D (16:00 Chicago on D-1 to
16:00 on D; the open is at 17:00) spans -25200 … 61200. The alternative, the New York date of the first event (times
never negative), would name the file by a date that differs from the session's everywhere else
(inspect, features, generate) and still need times past 86,400 for the same session. The
start/end fields of the name are the first/last event in ms after that midnight, negative too
(``parse_lobster_name`` reads them). Reading back gives the written ``ts_recv`` to the ns, except
in the repeated autumn hour (01:00-02:00 New York on the first Sunday of November, when CME and
NASDAQ are closed), which wall-clock times cannot tell apart: it is read as the first (EDT).

``write_lobster`` turns any EventTable back into message rows (see ``events_to_lobster_messages``:
one type-4 row per execution of a visible resting order, the venue's bookkeeping C/M matched to
the fill by order id), and the N-level orderbook by replaying those rows through
``modeling_tradefm.simulator`` (``lobster_messages_and_book``).
"""

from __future__ import annotations

import os
import re
import zlib
from datetime import date as _date
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import DataError
from ..events import (
    ACTION_ADD,
    ACTION_CANCEL,
    ACTION_CLEAR,
    ACTION_FILL,
    ACTION_TRADE,
    F_LAST,
    NS_PER_SECOND,
    SIDE_ASK,
    SIDE_BID,
    SIDE_NONE,
    EventTable,
)
from ._base import ReadReport, ReadResult, check_on_invalid, decimal_to_int, validate
from ._lobster_kernels import lobster_messages
from .paths import check_text, is_zstd, read_bytes

if TYPE_CHECKING:
    from ..simulator import Simulator

NEW_YORK = ZoneInfo("America/New_York")
LOBSTER_PRICE_TO_NANO = 100_000  # dollars × 1e4  →  dollars × 1e9
LOBSTER_EMPTY_ASK = 9_999_999_999
LOBSTER_EMPTY_BID = -9_999_999_999
MESSAGE_COLUMNS = ("time", "type", "order_id", "size", "price", "direction")
_NAME = re.compile(
    r"^(?P<symbol>.+?)_(?P<date>\d{4}-\d{2}-\d{2})_(?P<start>-?\d+)_(?P<end>-?\d+)_(?P<kind>message|orderbook)_(?P<levels>\d+)\.csv(\.zst)?$",
    re.IGNORECASE,
)


def parse_lobster_name(path: str | os.PathLike) -> dict:
    """``{"symbol", "date", "start_ms", "end_ms", "kind", "levels"}`` from a LOBSTER file name, or ``{}``."""
    m = _NAME.match(os.path.basename(os.fspath(path)))
    if not m:
        return {}
    return {
        "symbol": m["symbol"],
        "date": m["date"],
        "start_ms": int(m["start"]),
        "end_ms": int(m["end"]),
        "kind": m["kind"].lower(),
        "levels": int(m["levels"]),
    }


def symbol_instrument_id(symbol: str) -> int:
    """The instrument id TradeFM gives a LOBSTER symbol: CRC-32 of its UTF-8 bytes."""
    return zlib.crc32(symbol.encode("utf-8")) & 0xFFFFFFFF


def _ny_midnight_epoch_ns(day: str) -> int:
    """ns since the epoch of ``day``'s New York midnight read as if it were UTC (the wall-clock origin)."""
    d = _date.fromisoformat(day)
    return int((datetime(d.year, d.month, d.day) - datetime(1970, 1, 1)).total_seconds()) * NS_PER_SECOND


def ny_seconds_to_utc_ns(day: str, seconds_ns: np.ndarray) -> np.ndarray:
    """ns after New York midnight of ``day`` (YYYY-MM-DD) → ns since the epoch, UTC (DST-aware, vectorised).

    ``seconds_ns`` may be negative (before that midnight: the evening before) or beyond 24 h. The
    UTC offset is looked up once per distinct wall-clock hour, as ``zoneinfo`` gives it for that
    local time (``fold=0``: the first of the repeated autumn hour).
    """
    d = _date.fromisoformat(day)
    midnight = datetime(d.year, d.month, d.day)
    seconds_ns = np.asarray(seconds_ns, dtype=np.int64)
    hours, inverse = np.unique(seconds_ns // (3600 * NS_PER_SECOND), return_inverse=True)
    offsets = np.array(
        [int((midnight + timedelta(hours=int(h))).replace(tzinfo=NEW_YORK).utcoffset().total_seconds()) for h in hours],
        dtype=np.int64,
    )
    return _ny_midnight_epoch_ns(day) + seconds_ns - offsets[inverse.reshape(seconds_ns.shape)] * NS_PER_SECOND


def utc_ns_to_ny_seconds_ns(day: str, ts_ns: np.ndarray) -> np.ndarray:
    """Inverse of ``ny_seconds_to_utc_ns``: ns since the epoch → ns after New York midnight of ``day``.

    Negative before that midnight. The offset is looked up once per distinct UTC hour (New York's
    transitions fall on whole UTC hours).
    """
    ts_ns = np.asarray(ts_ns, dtype=np.int64)
    hours, inverse = np.unique(ts_ns // (3600 * NS_PER_SECOND), return_inverse=True)
    utc = ZoneInfo("UTC")
    offsets = np.array(
        [int(datetime.fromtimestamp(int(h) * 3600, tz=utc).astimezone(NEW_YORK).utcoffset().total_seconds()) for h in hours],
        dtype=np.int64,
    )
    return ts_ns + offsets[inverse.reshape(ts_ns.shape)] * NS_PER_SECOND - _ny_midnight_epoch_ns(day)


def read_lobster_messages(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The raw columns of a LOBSTER message file (vectorised ``pyarrow.csv`` parse).

    Returns:
        dict with ``time_ns`` int64 [n] (ns after NY midnight, exact: parsed as a decimal),
        ``type`` int64, ``order_id`` int64, ``size`` int64, ``price`` int64 (LOBSTER units),
        ``direction`` int64.

    Raises:
        DataError: empty file, wrong number of fields (row named), unparsable value (row named).
    """
    data = read_bytes(path)
    types = {
        "time": pa.decimal128(30, 12),  # some files carry float noise past ns (35821.088778456004)
        "type": pa.int64(),
        "order_id": pa.int64(),
        "size": pa.int64(),
        "price": pa.int64(),
        "direction": pa.int64(),
    }
    first_line = data[: data.find(b"\n") if b"\n" in data else len(data)]
    if first_line[:1].isalpha() or first_line.lower().startswith(b"time"):
        raise DataError(path, f"LOBSTER message files have no header; first row is {first_line[:80]!r}", row=1)
    bad: list[tuple] = []

    def on_bad(row) -> str:
        bad.append((row.number, row.expected_columns, row.actual_columns, row.text))
        return "error"

    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=list(MESSAGE_COLUMNS), block_size=1 << 22),
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        check_text(path, data)  # binary bytes (a damaged file) would fail inside pyarrow's row handler
        try:
            strings = pacsv.read_csv(
                pa.py_buffer(data),
                read_options=pacsv.ReadOptions(column_names=list(MESSAGE_COLUMNS), use_threads=False),
                parse_options=pacsv.ParseOptions(invalid_row_handler=on_bad),
                convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in MESSAGE_COLUMNS}),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            if bad:
                number, expected, actual, text = bad[0]
                raise DataError(path, f"expected {expected} fields, got {actual}: {text[:120]!r}", row=number) from None
            raise DataError(path, f"cannot parse LOBSTER messages: {exc}") from None
        for name, target in types.items():
            col = strings.column(name).combine_chunks()
            try:
                col.cast(target)
                continue
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
            lo, hi = 0, len(col)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                try:
                    col.slice(0, mid).cast(target)
                    lo = mid
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    hi = mid
            raise DataError(path, f"{name}: cannot parse {col[hi - 1].as_py()!r} as {target}", row=hi) from None
        raise DataError(path, f"cannot parse LOBSTER messages: {exc}") from None
    out = {}
    for name in MESSAGE_COLUMNS:
        col = table.column(name)
        if col.null_count:
            arr = col.combine_chunks()
            raise DataError(path, f"{name}: empty value", row=int(np.argmax(~arr.is_valid().to_numpy(zero_copy_only=False))) + 1)
        if name == "time":
            ps = decimal_to_int(col, path, "time", undef=None)  # picoseconds
            out["time_ns"] = (ps + 500) // 1000  # round half up to the ns
        else:
            out[name] = col.combine_chunks().to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return out


def read_lobster(
    path: str | os.PathLike,
    on_invalid: str = "error",
    symbol: str | None = None,
    date: str | None = None,
    instrument_id: int | None = None,
    orderbook: str | os.PathLike | bool | None = None,
    **_ignored,
) -> ReadResult:
    """Read one LOBSTER message file (mapping in the module docstring).

    Args:
        path: ``*_message_<N>.csv`` (or ``.csv.zst``).
        on_invalid: ``"error"`` or ``"skip"``. Besides the shared checks (``_base``), an unknown
            message type (not 1–7) → ``unknown_type``, a direction other than ±1 on types 1–5 →
            ``unknown_direction``, a size ≤ 0 on types 1–5 → ``nonpositive_size``, a price ≤ 0 on
            types 1–6 → ``nonpositive_price``.
        symbol, date: override the file name (needed when the name is not LOBSTER's).
        instrument_id: default ``symbol_instrument_id(symbol)``.
        orderbook: a LOBSTER orderbook file to read along (``True``: the sibling
            ``…_orderbook_<N>.csv[.zst]``, an error if there is none; ``"auto"``: the sibling when
            there is one, else none); its row count must equal the message rows.

    Returns:
        ReadResult (format ``"lobster"``); ``report.records`` = message rows, ``report.used`` = rows
        that became events, ``report.events`` = events, ``report.info["unknown_order_id"]`` the
        informational count; ``orderbook`` the int64 [n, 4·levels] array (LOBSTER units) if asked.
    """
    check_on_invalid(on_invalid)
    meta = parse_lobster_name(path)
    symbol = symbol or meta.get("symbol")
    date = date or meta.get("date")
    if not symbol or not date:
        raise DataError(
            path, "cannot tell symbol and date: name the file SYMBOL_YYYY-MM-DD_start_end_message_N.csv or pass symbol=/date="
        )
    try:
        _date.fromisoformat(date)
    except ValueError:
        raise DataError(path, f"bad date {date!r} in the file name") from None
    iid = symbol_instrument_id(symbol) if instrument_id is None else int(instrument_id)
    raw = read_lobster_messages(path)
    n = len(raw["type"])
    typ, direction, size, price = raw["type"], raw["direction"], raw["size"], raw["price"]
    rows_1 = np.arange(1, n + 1, dtype=np.int64)

    # -- row-level checks (LOBSTER-specific) -----------------------------------------------------
    checks = [
        ("unknown_type", (typ < 1) | (typ > 7), "unknown message type"),
        ("unknown_direction", (typ <= 5) & (typ >= 1) & (direction != 1) & (direction != -1), "direction must be 1 or -1"),
        ("nonpositive_size", (typ <= 5) & (typ >= 1) & (size <= 0), "size must be positive"),
        ("nonpositive_price", (typ <= 6) & (typ >= 1) & (price <= 0), "price must be positive"),
        ("size_overflow", size > np.iinfo(np.uint32).max, "size does not fit uint32"),
    ]
    drop = np.zeros(n, dtype=bool)
    skipped: dict[str, int] = {}
    for reason, mask, text in checks:
        hit = mask & ~drop
        if hit.any():
            if on_invalid == "error":
                i = int(np.argmax(hit))
                raise DataError(path, f"{text} (type {typ[i]}, size {size[i]}, price {price[i]}, direction {direction[i]}) ({reason})", row=i + 1)
            skipped[reason] = int(hit.sum())
            drop |= hit
    halt = (typ == 7) & ~drop
    if halt.any():
        skipped["halt"] = int(halt.sum())
    keep = ~drop & ~halt

    # -- expand rows into events (vectorised: 3 events for type 4, 1 otherwise) -------------------
    k_idx = np.flatnonzero(keep)
    cols, rel = _expand_rows(typ[k_idx], raw["order_id"][k_idx], size[k_idx], price[k_idx], direction[k_idx])
    src = k_idx[rel]  # input row (0-based) of each event
    ts = ny_seconds_to_utc_ns(date, raw["time_ns"][src])
    events = EventTable(
        ts_recv=ts,
        ts_event=ts,
        instrument_id=np.full(len(src), iid, dtype=np.uint32),
        sequence=(src + 1).astype(np.uint32),
        participant=np.zeros(len(src), dtype=np.uint8),
        symbols={iid: symbol},
        **cols,
    )
    events, more = validate(path, events, on_invalid, rows=rows_1[src])
    for k, v in more.items():
        skipped[k] = skipped.get(k, 0) + v
    used = n - sum(skipped.values())

    # -- unknown order ids (informational) --------------------------------------------------------
    info = {"unknown_order_id": _count_unknown(typ, raw["order_id"], keep)}
    report = ReadReport(
        path=os.fspath(path), format="lobster", records=n, used=used, skipped=skipped, events=len(events), info=info
    )
    report.check()
    book = None
    if isinstance(orderbook, str) and orderbook == "auto":
        orderbook = sibling_orderbook(path, required=False)
    if orderbook:
        book_path = sibling_orderbook(path) if orderbook is True else Path(orderbook)
        book = read_lobster_orderbook(book_path)
        if len(book) != n:
            raise DataError(book_path, f"orderbook has {len(book)} rows but the message file {os.fspath(path)} has {n}")
    return ReadResult(events, report, orderbook=book)


def _expand_rows(typ, order_id, size, price, direction) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """LOBSTER rows (types 1–6) → event columns by the mapping of the module docstring (vectorised).

    Returns:
        (``action``, ``side``, ``price`` (1e-9), ``size``, ``order_id``, ``flags`` columns, and the
        row (0-based, into the arguments) of each event).
    """
    counts = np.where(typ == 4, 3, 1)
    src = np.repeat(np.arange(len(typ)), counts)
    starts = np.cumsum(counts) - counts
    within = np.arange(len(src)) - np.repeat(starts, counts)  # 0,1,2 inside a type-4 group
    e_typ = typ[src]
    e_dir = direction[src]
    resting_side = np.where(e_dir == 1, SIDE_BID, SIDE_ASK).astype(np.uint8)
    aggressor_side = np.where(e_dir == 1, SIDE_ASK, SIDE_BID).astype(np.uint8)
    action = np.full(len(src), ACTION_ADD, dtype=np.uint8)
    side = resting_side.copy()
    action[(e_typ == 2) | (e_typ == 3)] = ACTION_CANCEL
    is4 = e_typ == 4
    action[is4 & (within == 0)] = ACTION_TRADE
    action[is4 & (within == 1)] = ACTION_FILL
    action[is4 & (within == 2)] = ACTION_CANCEL
    side[is4 & (within == 0)] = aggressor_side[is4 & (within == 0)]
    is5 = e_typ == 5
    action[is5] = ACTION_TRADE
    side[is5] = aggressor_side[is5]
    is6 = e_typ == 6
    action[is6] = ACTION_TRADE
    side[is6] = SIDE_NONE
    oid = np.asarray(order_id)[src].astype(np.uint64)
    oid[is4 & (within == 0)] = 0  # the aggressor's id is not in LOBSTER
    last = np.ones(len(src), dtype=bool)
    last[is4 & (within != 2)] = False
    cols = {
        "action": action,
        "side": side,
        "price": np.asarray(price, dtype=np.int64)[src] * LOBSTER_PRICE_TO_NANO,
        "size": np.asarray(size)[src].astype(np.uint32),
        "order_id": oid,
        "flags": np.where(last, F_LAST, 0).astype(np.uint8),
    }
    return cols, src


def _count_unknown(typ: np.ndarray, oid: np.ndarray, keep: np.ndarray) -> int:
    """Rows of type 2/3/4 whose order id was not submitted (type 1) earlier in the file."""
    n = len(typ)
    subs = np.flatnonzero((typ == 1) & keep)
    ref = np.flatnonzero(((typ == 2) | (typ == 3) | (typ == 4)) & keep)
    if len(ref) == 0:
        return 0
    if len(subs) == 0:
        return int(len(ref))
    sub_ids, first = np.unique(oid[subs], return_index=True)
    first_row = subs[first]
    pos = np.searchsorted(sub_ids, oid[ref])
    pos_c = np.minimum(pos, len(sub_ids) - 1)
    known = (sub_ids[pos_c] == oid[ref]) & (first_row[pos_c] < ref)
    del n
    return int((~known).sum())


def sibling_orderbook(path, required: bool = True) -> Path | None:
    """The orderbook file beside a LOBSTER message file: same stem, ``_orderbook_<N>``, ``.csv`` or ``.csv.zst``.

    Raises:
        DataError: there is none and ``required``.
    """
    p = Path(path)
    name = re.sub(r"_message_(\d+)\.csv", r"_orderbook_\1.csv", p.name, flags=re.IGNORECASE)
    if name != p.name:
        for cand in (p.with_name(name), p.with_name(name[:-4] if name.endswith(".zst") else name + ".zst")):
            if cand.exists():
                return cand
    if not required:
        return None
    raise DataError(path, f"no orderbook file {name} next to the message file")


def read_lobster_orderbook(path: str | os.PathLike) -> np.ndarray:
    """A LOBSTER orderbook file as int64 [n, 4·levels] in LOBSTER units (price × 10,000; empty levels ±9999999999).

    Column order per level: ask price, ask size, bid price, bid size.
    """
    data = read_bytes(path)
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data), read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 22)
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        check_text(path, data)
        raise DataError(path, f"cannot parse LOBSTER orderbook: {' '.join(str(exc).split())}") from None
    if table.num_columns % 4 or not all(pa.types.is_integer(t) for t in table.schema.types):
        check_text(path, data)
        raise DataError(path, f"orderbook must have 4·levels integer columns, got {table.num_columns} columns {table.schema.types[:4]}")
    return np.column_stack([c.to_numpy() for c in table.columns]).astype(np.int64)


# ----------------------------------------------------------------------------------------------
# writer
# ----------------------------------------------------------------------------------------------
def events_to_lobster_messages(
    events: EventTable, date: str | None = None, initial: EventTable | Simulator | None = None
) -> tuple[np.ndarray, np.ndarray, str]:
    """Turn events (one instrument, one New York date) into LOBSTER message rows.

    LOBSTER shows one execution of a visible resting order as ONE type-4 row that takes the executed
    size off the order at once. Databento reports it as ``T`` (aggressor) + ``F`` (the resting
    order's fill) and then a ``C``/``M`` on the resting order that reflects the fill — on CME often
    in a later packet, with another ``sequence``. The writer therefore tracks, per ORDER ID, the
    visible size its rows have left and the fills written but not yet reflected by the venue, and
    matches the venue's bookkeeping to those fills by order id (``_kernels.take_pending_fills``, in ``_lobster_kernels``,
    the rule the feature pass uses), never by sequence. Rules:

    * ``A`` → type 1.
    * ``F`` → type 4 (the resting order's id, the executed size, the execution price, direction =
      the resting order's side: the ``F``'s, or the order's own for CME's auction fills, which carry
      side ``N``). The size is counted as pending on the order. An iceberg fill larger than the
      displayed size is split: type 4 for the displayed part, type 5 (hidden execution, order id 0)
      for the rest. A fill of an order never shown and without a side (CME auction) writes nothing.
    * ``C`` → the part covered by the order's pending fills is bookkeeping and writes nothing; only
      the excess is a cancel: type 3 when it removes what is left of the order, type 2 otherwise.
      For an order whose add is not in ``events`` (size unknown) it is type 2 when the order id
      appears again later in ``events`` (a deleted order cannot come back) and type 3 otherwise —
      exact for self-contained data, a documented guess for LOBSTER level-1 files. A ``C`` without
      order id in the packet (``sequence``, ``ts_recv``) of the last execution is bookkeeping.
    * ``M`` states the order's whole new price and size, every fill so far included (this is also
      how an iceberg's refill shows); it settles the pending fills and moves the order from what the
      rows left to the new state: same price and smaller → type 2 of the difference (priority kept;
      a pure fill bookkeeping M is equal and writes nothing); price or side change, or a larger size
      — LOBSTER has no such message — → type 3 of the remaining size (if any) + type 1 of the new
      one (priority lost, as on the venue). An ``M`` of an unknown order → type 1.
    * A ``T`` whose execution run (``T``/``F`` records with equal ``sequence`` and ``ts_recv``) has
      an ``F`` writes nothing (the fills are the rows); otherwise → type 5 (hidden execution;
      direction = opposite of the aggressor side) or, with side ``N``, type 6 (cross, order id kept).
    * ``R`` (clear), ``N``, and records of size 0 write nothing (LOBSTER has no such message).

    Every row has a positive size.

    Args:
        events: one instrument's events in feed order.
        date: the date whose New York midnight the times are counted from (default: the first
            event's New York date; events before that midnight get negative times).
        initial: what precedes ``events``: an EventTable (the earlier events of the same
            instrument — exact: orders, sizes and pending fills carry over, so an ``M``/``C`` of an
            earlier order or the bookkeeping of an earlier fill is written correctly), or a
            ``Simulator`` (its book: its identified orders are known, their fills assumed
            settled). Rows are written for ``events`` only.

    Returns:
        (rows int64 [m, 6] with ``time_ns`` in the first column — ns after NY midnight —,
        event_index int64 [m]: the event each row comes from, date)
    """
    rows, at, date, _ = _messages(events, date, initial)
    return rows, at, date


def lobster_messages_and_book(
    events: EventTable,
    levels: int = 10,
    date: str | None = None,
    initial: EventTable | Simulator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Message rows (``events_to_lobster_messages``) and the N-level orderbook after each of them.

    The book is the replay of the rows themselves (each row expanded as ``read_lobster`` expands
    it; ``R`` records clear the book in place) through ``modeling_tradefm.simulator.Simulator``,
    so message and orderbook files agree row by row — a type-4 row already takes the execution off
    the book, as in LOBSTER's files. It starts from ``initial``: the replayed rows of an EventTable
    prefix, a copy of a ``Simulator``, or an empty book.

    Returns:
        (rows int64 [m, 6], event_index int64 [m], book int64 [m, 4·levels] in LOBSTER units, date)
    """
    from ..simulator import Simulator

    rows, at, date, (all_rows, all_at, combined, n_pre) = _messages(events, date, initial)
    cols, src = _expand_rows(all_rows[:, 1], all_rows[:, 2], all_rows[:, 3], all_rows[:, 4], all_rows[:, 5])
    pos = all_at[src]  # the input record each replayed event comes from
    clear = np.flatnonzero(combined.action == ACTION_CLEAR)
    if len(clear):  # R records have no message but clear the book: replay them in place
        order = np.argsort(np.concatenate([pos, clear]), kind="stable")
        extra = {"action": ACTION_CLEAR, "side": SIDE_NONE, "price": 0, "size": 0, "order_id": 0, "flags": F_LAST}
        cols = {
            k: np.concatenate([v, np.full(len(clear), extra[k], dtype=v.dtype)])[order] for k, v in cols.items()
        }
        src = np.concatenate([src, np.full(len(clear), -1)])[order]
        pos = np.concatenate([pos, clear])[order]
    iid = int(combined.instrument_id[0]) if len(combined) else 0
    ts = combined.ts_recv[pos]
    replay = EventTable(
        ts_recv=ts,
        ts_event=ts,
        instrument_id=np.full(len(src), iid, dtype=np.uint32),
        sequence=(src + 1).astype(np.uint32),  # one sequence per message (0 for R)
        participant=np.zeros(len(src), dtype=np.uint8),
        symbols=dict(combined.symbols),
        **cols,
    )
    sim = initial.copy() if isinstance(initial, Simulator) else Simulator()
    sim.keep_log = False
    cut = int(np.searchsorted(pos, n_pre))  # events replaying the prefix: no orderbook rows
    if cut:
        sim.apply(replay[:cut])
    recorded, _ = sim.apply_recording(replay[cut:], levels)
    post = src[cut:]
    last = np.append(post[1:] != post[:-1], True) & (post >= 0)  # each message's last event
    return rows, at, recorded[last], date


def _messages(events: EventTable, date: str | None, initial):
    """Rows of ``events`` (after ``initial``) and what the book replay needs."""
    from ..simulator import Simulator

    n = len(events)
    if n and len(np.unique(events.instrument_id)) > 1:
        raise ValueError("write_lobster takes one instrument at a time (split by instrument_id first)")
    if date is None:
        if n == 0:
            raise ValueError("date is required for an empty event table")
        first = datetime.fromtimestamp(int(events.ts_recv[0]) / NS_PER_SECOND, tz=NEW_YORK)
        date = first.date().isoformat()
    seeds = [np.zeros(0, dtype=np.int64)] * 4
    combined, n_pre = events, 0
    if isinstance(initial, EventTable):
        if len(initial) and n and not np.all(initial.instrument_id == events.instrument_id[0]):
            raise ValueError("initial must hold the same instrument as events")
        combined, n_pre = EventTable.concat([initial, events]), len(initial)
    elif isinstance(initial, Simulator):
        seeds = _resting_orders(initial)
    elif initial is not None:
        raise TypeError(f"initial must be an EventTable, a Simulator or None, got {type(initial).__name__}")
    oid = combined.order_id
    order = np.argsort(oid, kind="stable")
    later = np.zeros(len(combined), dtype=bool)
    later[order[:-1][oid[order[1:]] == oid[order[:-1]]]] = True
    out, at_all = lobster_messages(
        combined.ts_recv, combined.action, combined.side, combined.price, combined.size, oid.view(np.int64),
        combined.sequence, later, *seeds,
    )
    rows_all = np.empty((len(out), 6), dtype=np.int64)
    rows_all[:, 0] = utc_ns_to_ny_seconds_ns(date, combined.ts_recv[at_all])
    rows_all[:, 1:] = out
    rows_all[:, 4] //= LOBSTER_PRICE_TO_NANO
    first = int(np.searchsorted(at_all, n_pre))  # the prefix's rows only build the book
    return rows_all[first:], at_all[first:] - n_pre, date, (rows_all, at_all, combined, n_pre)


def _resting_orders(sim) -> list[np.ndarray]:
    """Identified orders of a Simulator's book: (id bits, side +1/−1, price 1e-9, size) arrays."""
    ids, sides, prices, sizes = [], [], [], []
    bids, asks = sim.depth(levels=1 << 62)
    for k, (direction, levels) in enumerate(((1, bids), (-1, asks))):
        for price in levels[:, 0]:
            _, q = sim.level_queue(k, int(price))
            ids.append(q[:, 0])
            sizes.append(q[:, 1])
            sides.append(np.full(len(q), direction, dtype=np.int64))
            prices.append(np.full(len(q), price, dtype=np.int64))
    if not ids:
        return [np.zeros(0, dtype=np.int64)] * 4
    return [np.concatenate(x).astype(np.int64) for x in (ids, sides, prices, sizes)]


def format_lobster_time(time_ns: np.ndarray) -> pa.Array:
    """'34200.017459617'-style strings (9 decimals) from ns after midnight, vectorised; '-18000.5…' before it."""
    time_ns = np.asarray(time_ns, dtype=np.int64)
    mag = np.abs(time_ns)
    secs = pa.compute.cast(pa.array(mag // NS_PER_SECOND), pa.string())
    frac = pa.compute.utf8_lpad(pa.compute.cast(pa.array(mag % NS_PER_SECOND), pa.string()), 9, "0")
    sign = pa.array(np.where(time_ns < 0, "-", ""))
    signed = pa.compute.binary_join_element_wise(sign, secs, "")
    return pa.compute.binary_join_element_wise(signed, frac, ".")


def write_lobster(
    events: EventTable,
    message_path: str | os.PathLike,
    orderbook_path: str | os.PathLike | None = None,
    levels: int = 10,
    date: str | None = None,
    initial: EventTable | Simulator | None = None,
) -> dict:
    """Write LOBSTER message rows (and optionally the N-level orderbook) for one instrument.

    Args:
        events: one instrument's events of one New York date (see ``events_to_lobster_messages``).
        message_path: output ``.csv`` or ``.csv.zst``.
        orderbook_path: output for the orderbook (row i = the book after message i: the replay of
            the messages, see ``lobster_messages_and_book``), or None.
        levels: orderbook depth.
        date: New York date of the events (default: the first event's).
        initial: what precedes ``events`` (a slice of a day): the earlier events of the instrument
            (EventTable; exact) or a ``Simulator`` book. The orderbook then starts from that book
            and the messages of earlier orders are written correctly; default: an empty book.

    Returns:
        ``{"messages": rows written, "events": events read, "date": date}``.
    """
    import pyarrow.compute  # noqa: F401  (pa.compute used in format_lobster_time)

    if orderbook_path is None:
        rows, _, date = events_to_lobster_messages(events, date, initial)
    else:
        rows, _, book, date = lobster_messages_and_book(events, levels, date, initial)
    table = pa.table(
        {
            "time": format_lobster_time(rows[:, 0]) if len(rows) else pa.array([], pa.string()),
            "type": pa.array(rows[:, 1]),
            "order_id": pa.array(rows[:, 2]),
            "size": pa.array(rows[:, 3]),
            "price": pa.array(rows[:, 4]),
            "direction": pa.array(rows[:, 5]),
        }
    )
    _write_csv(table, message_path)
    if orderbook_path is not None:
        _write_csv(pa.table({f"c{j}": pa.array(book[:, j]) for j in range(book.shape[1])}), orderbook_path)
    return {"messages": int(len(rows)), "events": int(len(events)), "date": date}


def _write_csv(table: pa.Table, path) -> None:
    opts = pacsv.WriteOptions(include_header=False, quoting_style="none")
    if is_zstd(path):
        with pa.output_stream(os.fspath(path), compression="zstd") as out:
            pacsv.write_csv(table, out, opts)
    else:
        pacsv.write_csv(table, os.fspath(path), opts)


__all__ = [
    "LOBSTER_PRICE_TO_NANO",
    "events_to_lobster_messages",
    "lobster_messages_and_book",
    "ny_seconds_to_utc_ns",
    "parse_lobster_name",
    "read_lobster",
    "read_lobster_messages",
    "read_lobster_orderbook",
    "sibling_orderbook",
    "symbol_instrument_id",
    "utc_ns_to_ny_seconds_ns",
    "write_lobster",
]
