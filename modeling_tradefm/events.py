# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The EventTable: the one columnar schema every reader produces and every consumer reads.

An ``EventTable`` is a struct of equal-length numpy arrays (one per column), following Databento's
MBO record: the readers for DBN, Databento CSV and LOBSTER all land here, the simulator writes its
log in it, rollouts return it, and the evaluation reads it. numpy (not pyarrow) is the in-memory
form because every consumer is vectorised numpy/numba code; ``to_arrow``/``from_arrow`` convert.

Codes are stored as ASCII bytes in ``uint8`` columns (``ord("A") == 65``) so that filtering is a
vectorised comparison: ``table.action == ACTION_ADD``.

Columns (dtype):
    ts_recv (int64): capture time, ns since the UNIX epoch, UTC.
    ts_event (int64): matching-engine time, ns since the UNIX epoch, UTC.
    action (uint8): A add, C cancel, M modify, R clear book, T trade, F fill, N none.
    side (uint8): B bid / buy, A ask / sell, N none.
    price (int64): fixed point, 1e-9 units (Databento's convention). ``UNDEF_PRICE`` (INT64_MAX)
        marks "no price" (R records, some T records) and is never a real price.
    size (uint32): shares / contracts.
    order_id (uint64): venue order id; 0 where the venue gives none.
    instrument_id (uint32): venue instrument id; the key of ``symbols``.
    flags (uint8): Databento flags (``F_LAST`` 128, ``F_TOB`` 64, ``F_SNAPSHOT`` 32, ``F_MBP`` 16,
        ``F_BAD_TS_RECV`` 8, ``F_MAYBE_BAD_BOOK`` 4).
    sequence (uint32): venue sequence number; one execution's T, F and C/M share it on CME.
    participant (uint8): the I_MP flag, 0 = background market flow, 1 = orders of the designated
        participant (e.g. orders injected into a simulation). An extension of Databento's schema.

``symbols`` maps ``instrument_id`` to the symbol text (one entry per instrument, not per row).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

ACTION_ADD = ord("A")
ACTION_CANCEL = ord("C")
ACTION_MODIFY = ord("M")
ACTION_CLEAR = ord("R")
ACTION_TRADE = ord("T")
ACTION_FILL = ord("F")
ACTION_NONE = ord("N")
ACTIONS = frozenset(b"ACMRTFN")

SIDE_BID = ord("B")
SIDE_ASK = ord("A")
SIDE_NONE = ord("N")
SIDES = frozenset(b"BAN")

UNDEF_PRICE = np.iinfo(np.int64).max
PRICE_SCALE = 1_000_000_000  # 1e-9 fixed point → 1.0

F_LAST = 128
F_TOB = 64
F_SNAPSHOT = 32
F_MBP = 16
F_BAD_TS_RECV = 8
F_MAYBE_BAD_BOOK = 4

NS_PER_SECOND = 1_000_000_000

COLUMNS: dict[str, np.dtype] = {
    "ts_recv": np.dtype(np.int64),
    "ts_event": np.dtype(np.int64),
    "action": np.dtype(np.uint8),
    "side": np.dtype(np.uint8),
    "price": np.dtype(np.int64),
    "size": np.dtype(np.uint32),
    "order_id": np.dtype(np.uint64),
    "instrument_id": np.dtype(np.uint32),
    "flags": np.dtype(np.uint8),
    "sequence": np.dtype(np.uint32),
    "participant": np.dtype(np.uint8),
}


@dataclass
class EventTable:
    """Columnar MBO events; see the module docstring for the columns."""

    ts_recv: np.ndarray
    ts_event: np.ndarray
    action: np.ndarray
    side: np.ndarray
    price: np.ndarray
    size: np.ndarray
    order_id: np.ndarray
    instrument_id: np.ndarray
    flags: np.ndarray
    sequence: np.ndarray
    participant: np.ndarray
    symbols: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = None
        for name, dtype in COLUMNS.items():
            arr = np.ascontiguousarray(getattr(self, name), dtype=dtype)
            if arr.ndim != 1:
                raise ValueError(f"EventTable column {name!r} must be 1-D, got shape {arr.shape}")
            if n is None:
                n = len(arr)
            elif len(arr) != n:
                raise ValueError(f"EventTable column {name!r} has {len(arr)} rows, expected {n}")
            setattr(self, name, arr)
        self.symbols = {int(k): str(v) for k, v in self.symbols.items()}

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def empty(cls, n: int = 0, symbols: dict[int, str] | None = None) -> EventTable:
        """A table of ``n`` zeroed rows (``price`` = UNDEF, codes = ``N``), to be filled in place."""
        cols = {name: np.zeros(n, dtype=dtype) for name, dtype in COLUMNS.items()}
        cols["price"][:] = UNDEF_PRICE
        cols["action"][:] = ACTION_NONE
        cols["side"][:] = SIDE_NONE
        return cls(**cols, symbols=dict(symbols or {}))

    @classmethod
    def from_columns(cls, symbols: dict[int, str] | None = None, **columns) -> EventTable:
        """Build from a subset of columns; missing ones get defaults (``participant`` 0, etc.)."""
        unknown = set(columns) - set(COLUMNS)
        if unknown:
            raise ValueError(f"unknown EventTable columns: {sorted(unknown)}")
        lengths = {len(np.asarray(v)) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: { {k: len(np.asarray(v)) for k, v in columns.items()} }")
        out = cls.empty(lengths.pop() if lengths else 0, symbols)
        for name, values in columns.items():
            getattr(out, name)[:] = values
        if "ts_event" not in columns and "ts_recv" in columns:
            out.ts_event[:] = out.ts_recv
        return out

    @classmethod
    def concat(cls, tables: Iterable[EventTable]) -> EventTable:
        tables = list(tables)
        if not tables:
            return cls.empty()
        symbols: dict[int, str] = {}
        for t in tables:
            symbols.update(t.symbols)
        return cls(**{name: np.concatenate([getattr(t, name) for t in tables]) for name in COLUMNS}, symbols=symbols)

    # -- access --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ts_recv)

    def __getitem__(self, index) -> EventTable:
        """Rows by slice, boolean mask or integer index array (always returns a table)."""
        if isinstance(index, (int, np.integer)):
            index = slice(int(index), int(index) + 1 if int(index) != -1 else None)
        return EventTable(**{name: getattr(self, name)[index] for name in COLUMNS}, symbols=self.symbols)

    def columns(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in COLUMNS}

    def copy(self) -> EventTable:
        return EventTable(**{name: getattr(self, name).copy() for name in COLUMNS}, symbols=dict(self.symbols))

    def symbol_of(self, instrument_id: int) -> str:
        return self.symbols.get(int(instrument_id), str(int(instrument_id)))

    def price_float(self) -> np.ndarray:
        """Prices as float64 in currency units, NaN where UNDEF."""
        out = self.price.astype(np.float64) / PRICE_SCALE
        out[self.price == UNDEF_PRICE] = np.nan
        return out

    def action_counts(self) -> dict[str, int]:
        codes, counts = np.unique(self.action, return_counts=True)
        return {chr(c): int(n) for c, n in zip(codes, counts, strict=True)}

    def equals(self, other: EventTable) -> bool:
        return len(self) == len(other) and all(np.array_equal(getattr(self, n), getattr(other, n)) for n in COLUMNS)

    # -- arrow ---------------------------------------------------------------------------------
    def to_arrow(self):
        """A ``pyarrow.Table`` with the columns above plus a dictionary-encoded ``symbol`` column."""
        import pyarrow as pa

        cols = {name: pa.array(getattr(self, name)) for name in COLUMNS}
        ids = sorted(set(self.symbols) | set(np.unique(self.instrument_id).tolist()))
        lookup = np.searchsorted(np.asarray(ids, dtype=np.int64), self.instrument_id.astype(np.int64))
        cols["symbol"] = pa.DictionaryArray.from_arrays(
            pa.array(lookup.astype(np.int32)), pa.array([self.symbol_of(i) for i in ids])
        )
        return pa.table(cols)

    @classmethod
    def from_arrow(cls, table) -> EventTable:
        cols = {name: table.column(name).to_numpy() for name in COLUMNS if name in table.column_names}
        symbols: dict[int, str] = {}
        if "symbol" in table.column_names and table.num_rows:
            iid = table.column("instrument_id").to_numpy()
            sym = table.column("symbol").to_pylist()
            _, first = np.unique(iid, return_index=True)
            symbols = {int(iid[i]): sym[i] for i in first}
        return cls.from_columns(symbols=symbols, **cols)


__all__ = [
    "ACTIONS",
    "ACTION_ADD",
    "ACTION_CANCEL",
    "ACTION_CLEAR",
    "ACTION_FILL",
    "ACTION_MODIFY",
    "ACTION_NONE",
    "ACTION_TRADE",
    "COLUMNS",
    "EventTable",
    "F_BAD_TS_RECV",
    "F_LAST",
    "F_MAYBE_BAD_BOOK",
    "F_MBP",
    "F_SNAPSHOT",
    "F_TOB",
    "NS_PER_SECOND",
    "PRICE_SCALE",
    "SIDES",
    "SIDE_ASK",
    "SIDE_BID",
    "SIDE_NONE",
    "UNDEF_PRICE",
]
