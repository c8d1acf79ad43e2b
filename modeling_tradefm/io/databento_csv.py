# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Databento MBO CSV (``.csv``, ``.csv.zst``), integer and "pretty" variants, into an EventTable.

Layout (Databento's, header required)::

    ts_recv,ts_event,rtype,publisher_id,instrument_id,action,side,price,size,channel_id,
    order_id,flags,ts_in_delta,sequence[,symbol][,participant]

* integer variant: timestamps are ns since the epoch, prices int64 in 1e-9 units, UNDEF price =
  9223372036854775807;
* "pretty" variant (``pretty_ts``/``pretty_px``): ISO-8601 UTC timestamps with ns
  (``2023-12-25T00:00:00.000000000Z``) and decimal prices (``4799.000000000``); UNDEF price is an
  empty field. The variant is told from the first data row's ``ts_recv``.
* ``symbol`` (``map_symbols=True``) is optional; without it ``EventTable.symbols`` stays empty.
* ``participant`` is TradeFM's extension (the I_MP flag, written by ``write_mbo_csv`` only when
  some row has it set); any other extra column, or a missing one, is an error.

Speed: the file is decompressed in one pass, then parsed by ``pyarrow.csv`` (multi-threaded) with
explicit column types and only the columns an EventTable needs (``rtype``, ``publisher_id``,
``channel_id`` and ``ts_in_delta`` are checked in the header but not parsed); columns become numpy
arrays without copies where the types already match. No pandas, no Python loop per row. Errors
are diagnosed on a slow path that runs only after the fast parse failed.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import DataError
from ..events import EventTable
from ._base import ReadReport, ReadResult, check_on_invalid, decimal_to_int, single_char_codes, validate
from .paths import check_text, read_bytes

MBO_CSV_COLUMNS = (
    "ts_recv",
    "ts_event",
    "rtype",
    "publisher_id",
    "instrument_id",
    "action",
    "side",
    "price",
    "size",
    "channel_id",
    "order_id",
    "flags",
    "ts_in_delta",
    "sequence",
    "symbol",
)
OPTIONAL_COLUMNS = ("symbol", "participant")
REQUIRED_COLUMNS = tuple(c for c in MBO_CSV_COLUMNS if c not in OPTIONAL_COLUMNS)

_INT_TYPES = {
    "ts_recv": pa.int64(),
    "ts_event": pa.int64(),
    "instrument_id": pa.uint32(),
    "price": pa.int64(),
    "size": pa.uint32(),
    "order_id": pa.uint64(),
    "flags": pa.uint8(),
    "sequence": pa.uint32(),
    "participant": pa.uint8(),
}
_TS = pa.timestamp("ns", tz="UTC")
_PRETTY_TYPES = {**_INT_TYPES, "ts_recv": _TS, "ts_event": _TS, "price": pa.decimal128(38, 9)}
_CODE_TYPES = {"action": pa.string(), "side": pa.string(), "symbol": pa.dictionary(pa.int32(), pa.string())}
_CSV_COL = re.compile(r"In CSV column #(\d+)")


def _header(path, data: bytes) -> tuple[list[str], int]:
    end = data.find(b"\n")
    line = data[: end if end >= 0 else len(data)].rstrip(b"\r")
    try:
        names = line.decode("ascii").split(",")
    except UnicodeDecodeError:
        raise DataError(path, "header is not ASCII text (not a Databento CSV, or a compressed file without .zst)", row=0) from None
    names = [n.strip() for n in names]
    if len(set(names)) != len(names):
        raise DataError(path, f"duplicate column names in header: {names}", row=0)
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise DataError(path, f"missing column(s) {missing} (header: {','.join(names)})", row=0)
    extra = [c for c in names if c not in REQUIRED_COLUMNS and c not in OPTIONAL_COLUMNS]
    if extra:
        raise DataError(path, f"unexpected column(s) {extra} (expected Databento MBO columns {list(MBO_CSV_COLUMNS)})", row=0)
    return names, (end + 1 if end >= 0 else len(data))


def _is_pretty(data: bytes, body_start: int, names: list[str]) -> bool:
    end = data.find(b"\n", body_start)
    first = data[body_start : end if end >= 0 else len(data)]
    if not first.strip():
        return False
    ts = first.split(b",")[names.index("ts_recv")]
    return b"T" in ts or b"-" in ts


def read_databento_csv(path: str | os.PathLike, on_invalid: str = "error", **_ignored) -> ReadResult:
    """Read one Databento MBO CSV file.

    Args:
        path: ``.csv`` or ``.csv.zst`` file.
        on_invalid: ``"error"`` (default) raises ``DataError`` on the first bad row; ``"skip"`` drops
            rows with the wrong number of fields (``malformed_row``) and the rows the shared
            validation rejects (see ``modeling_tradefm.io._base``), counting them. Unparsable
            numbers always raise (a damaged number usually means a damaged file).

    Returns:
        ReadResult with the events (one per data row kept) and the report; format is
        ``"databento-csv"`` or ``"databento-csv-pretty"``.

    Raises:
        DataError: empty file, bad zstd, missing/extra columns, wrong field count, unparsable
            number (with its row), bad codes, invalid adds, time going backwards.
    """
    check_on_invalid(on_invalid)
    data = read_bytes(path)
    names, body_start = _header(path, data)
    pretty = _is_pretty(data, body_start, names)
    types = dict(_PRETTY_TYPES if pretty else _INT_TYPES)
    types.update(_CODE_TYPES)
    wanted = [c for c in names if c in types]
    malformed: list[int] = []

    def on_bad_row(row) -> str:
        malformed.append(row.number)
        return "skip" if on_invalid == "skip" else "error"

    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(block_size=1 << 22),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_bad_row if on_invalid == "skip" else None),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted,
                column_types={c: types[c] for c in wanted},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        _diagnose(path, data, names, types, exc)
        raise  # _diagnose always raises; kept for type checkers

    n = table.num_rows
    cols = {}
    for name in ("instrument_id", "size", "order_id", "flags", "sequence", "participant"):
        if name in table.column_names:
            cols[name] = _numpy(table.column(name))
    if pretty:
        cols["ts_recv"] = _numpy(table.column("ts_recv").cast(pa.int64()))
        cols["ts_event"] = _numpy(table.column("ts_event").cast(pa.int64()))
        cols["price"] = decimal_to_int(table.column("price"), path, "price")
    else:
        for name in ("ts_recv", "ts_event", "price"):
            cols[name] = _numpy(table.column(name))
    for name in ("ts_recv", "ts_event"):
        col = table.column(name)
        if col.null_count:
            raise DataError(path, f"{name}: empty value", row=_first_null(col))
    cols["action"] = single_char_codes(table.column("action"), path, "action")
    cols["side"] = single_char_codes(table.column("side"), path, "side")
    symbols = _symbols(table, cols["instrument_id"]) if "symbol" in table.column_names else {}
    events = EventTable(**{k: cols.get(k, 0) if k in cols else np.zeros(n, dtype=np.uint8) for k in _ALL}, symbols=symbols)
    # Null integers (empty fields) would have become zeros above: reject them explicitly.
    for name in ("instrument_id", "size", "order_id", "flags", "sequence"):
        col = table.column(name)
        if col.null_count:
            raise DataError(path, f"{name}: empty value", row=_first_null(col))
    kept, skipped = validate(path, events, on_invalid)
    if malformed:
        skipped = {"malformed_row": len(malformed), **skipped}
    records = n + len(malformed)
    report = ReadReport(
        path=os.fspath(path),
        format="databento-csv-pretty" if pretty else "databento-csv",
        records=records,
        used=len(kept),
        skipped=skipped,
        events=len(kept),
    )
    report.check()
    return ReadResult(kept, report)


_ALL = ("ts_recv", "ts_event", "action", "side", "price", "size", "order_id", "instrument_id", "flags", "sequence", "participant")


def _numpy(col) -> np.ndarray:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return arr.to_numpy(zero_copy_only=False)


def _first_null(col) -> int:
    arr = col.combine_chunks()
    return int(np.argmax(~arr.is_valid().to_numpy(zero_copy_only=False))) + 1


def _symbols(table: pa.Table, iid: np.ndarray) -> dict[int, str]:
    if len(iid) == 0:
        return {}
    sym = table.column("symbol").combine_chunks()
    if isinstance(sym, pa.DictionaryArray):
        ids, first = np.unique(iid, return_index=True)
        idx = sym.indices.to_numpy(zero_copy_only=False)[first]
        values = sym.dictionary.to_pylist()
        return {int(i): values[j] for i, j in zip(ids, idx, strict=True)}
    ids, first = np.unique(iid, return_index=True)
    return {int(i): sym[int(j)].as_py() for i, j in zip(ids, first, strict=True)}


def _diagnose(path, data: bytes, names: list[str], types: dict, exc: Exception) -> None:
    """Slow path after a failed fast parse: find the row and the problem, raise ``DataError``."""
    check_text(path, data)  # binary bytes (a damaged file) would fail inside pyarrow's row handler
    # 1) rows with the wrong number of fields (single-threaded so row numbers are exact)
    bad: list[tuple[int, int, int, str]] = []

    def first_bad(row) -> str:
        bad.append((row.number, row.expected_columns, row.actual_columns, row.text))
        return "error"

    try:
        strings = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(invalid_row_handler=first_bad),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in names}),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc2:
        if bad:
            number, expected, actual, text = bad[0]
            raise DataError(
                path, f"expected {expected} fields, got {actual}: {text[:120]!r}", row=(number - 1) if number else None
            ) from None
        raise DataError(path, f"cannot parse CSV: {exc2}") from None
    # 2) a value that does not convert: bisect on the failing column (O(log n) vectorised casts)
    m = _CSV_COL.search(str(exc))
    candidates = [names[int(m.group(1))]] if m and int(m.group(1)) < len(names) else [c for c in names if c in types]
    for name in candidates:
        if name not in types or not pa.types.is_integer(types[name]) and not pa.types.is_timestamp(types[name]) and not pa.types.is_decimal(types[name]):
            continue
        col = strings.column(name).combine_chunks()
        target = types[name]
        if _casts(col, target):
            continue
        lo, hi = 0, len(col)  # invariant: col[:lo] casts, col[:hi] does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _casts(col.slice(0, mid), target):
                lo = mid
            else:
                hi = mid
        value = col[hi - 1].as_py()
        raise DataError(path, f"{name}: cannot parse {value!r} as {target}", row=hi)
    raise DataError(path, f"cannot parse CSV: {exc}") from None


def _casts(col, target) -> bool:
    try:
        col.cast(target)
        return True
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False


__all__ = ["MBO_CSV_COLUMNS", "read_databento_csv"]
