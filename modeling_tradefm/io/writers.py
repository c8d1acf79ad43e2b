# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Writers: Databento MBO integer CSV (``.csv``/``.csv.zst``); LOBSTER lives in ``lobster.py``.

``write_mbo_csv`` writes Databento's integer layout (the columns of the real files, in their
order) so that ``read_databento_csv`` reads back an identical EventTable. Columns the EventTable
does not hold are written as constants: ``rtype`` 160 (MBO), ``publisher_id`` 0, ``channel_id`` 0,
``ts_in_delta`` 0 — so a real file → EventTable → CSV round trip keeps every EventTable column but
not those four. ``symbol`` comes from ``events.symbols`` (the instrument id as text when absent).
A trailing ``participant`` column (TradeFM's I_MP extension) is written only when some row has a
non-zero flag, so ordinary output stays byte-compatible with Databento's layout.
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..events import EventTable
from .databento_csv import MBO_CSV_COLUMNS
from .paths import is_zstd

MBO_RTYPE = 160


def _char_column(codes: np.ndarray) -> pa.Array:
    """A string array of one-character values from uint8 codes, built from buffers (no Python loop)."""
    n = len(codes)
    offsets = np.arange(n + 1, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(codes, dtype=np.uint8)))


def mbo_arrow_table(events: EventTable) -> pa.Table:
    """The events as a pyarrow table in Databento's integer CSV column order."""
    n = len(events)
    ids = np.unique(events.instrument_id)
    names = [events.symbol_of(int(i)) for i in ids]
    lookup = np.searchsorted(ids, events.instrument_id).astype(np.int32)
    symbol = pa.DictionaryArray.from_arrays(pa.array(lookup), pa.array(names, pa.string())).cast(pa.string())
    zeros = np.zeros(n, dtype=np.uint8)
    cols = {
        "ts_recv": events.ts_recv,
        "ts_event": events.ts_event,
        "rtype": np.full(n, MBO_RTYPE, dtype=np.uint8),
        "publisher_id": zeros,
        "instrument_id": events.instrument_id,
        "action": _char_column(events.action),
        "side": _char_column(events.side),
        "price": events.price,
        "size": events.size,
        "channel_id": zeros,
        "order_id": events.order_id,
        "flags": events.flags,
        "ts_in_delta": zeros,
        "sequence": events.sequence,
        "symbol": symbol,
    }
    assert tuple(cols) == MBO_CSV_COLUMNS
    if events.participant.any():
        cols["participant"] = events.participant
    return pa.table({k: v if isinstance(v, pa.Array) else pa.array(v) for k, v in cols.items()})


def write_mbo_csv(events: EventTable, path: str | os.PathLike) -> int:
    """Write ``events`` as a Databento integer MBO CSV; ``.zst`` in the name means zstd-compressed.

    Args:
        events: any EventTable.
        path: output ``.csv`` or ``.csv.zst``.

    Returns:
        Rows written.
    """
    name = os.fspath(path)
    if not name.lower().endswith((".csv", ".csv.zst")):
        raise ValueError(f"MBO CSV output must end in .csv or .csv.zst, got {name}")
    table = mbo_arrow_table(events)
    header = (",".join(table.column_names) + "\n").encode("ascii")
    # Unquoted like Databento's files; a symbol with a comma/quote/newline needs RFC-4180 quoting
    # (pyarrow's "needed" style then quotes every text field, which the reader accepts).
    needs_quotes = any(set(s) & set(',"\r\n') for s in events.symbols.values())
    opts = pacsv.WriteOptions(include_header=False, quoting_style="needed" if needs_quotes else "none")
    if is_zstd(name):
        with pa.output_stream(name, compression="zstd") as out:
            out.write(header)
            pacsv.write_csv(table, out, opts)
    else:
        with pa.OSFile(name, "wb") as out:
            out.write(header)
            pacsv.write_csv(table, out, opts)
    return len(events)


__all__ = ["mbo_arrow_table", "write_mbo_csv"]
