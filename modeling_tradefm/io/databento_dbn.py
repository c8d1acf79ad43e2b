# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Databento DBN (``.dbn``, ``.dbn.zst``) MBO files into an EventTable, via Databento's ``databento`` package.

The zstd framing is checked here (block headers only, so that a truncated ``.zst`` is an error
rather than a silently shorter file — Databento's own reader stops quietly at a truncated frame),
then the file is read by ``databento.DBNStore.from_file(...).to_ndarray()``, which decodes records into a structured numpy
array in Rust; columns are cast with numpy. Symbols come from the metadata's symbology mappings
(raw symbol ↔ instrument id); instruments without a mapping fall back to their id in
``EventTable.symbol_of``. Any schema other than MBO is an error. DBN versions 1–3 are accepted
(whatever the installed ``databento-dbn`` decodes).
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from ..errors import DataError
from ..events import EventTable
from ._base import ReadReport, ReadResult, check_on_invalid, validate
from .paths import check_zstd_framing, is_zstd, read_bytes, zstd_data_error


def read_dbn(path: str | os.PathLike, on_invalid: str = "error", **_ignored) -> ReadResult:
    """Read one DBN MBO file.

    Args:
        path: ``.dbn`` or ``.dbn.zst`` file.
        on_invalid: ``"error"`` or ``"skip"``; see ``modeling_tradefm.io._base`` for the policy.

    Returns:
        ReadResult (format ``"dbn"``), one event per record kept.

    Raises:
        DataError: empty/corrupt/truncated file (byte offset of the incomplete record; the
            compressed offset of a damaged zstd frame), not an MBO schema, bad codes, invalid adds,
            time going backwards.
    """
    check_on_invalid(on_invalid)
    import databento as db
    import zstandard
    from databento_dbn import DBNError

    # Fast path: Databento's reader decodes the file itself (Rust, zstd included); from_bytes on
    # an in-memory copy is several times slower. It stops quietly at a truncated zstd frame, so
    # the framing is checked first (block headers only), and the record payload below.
    raw = open(path, "rb").read()
    if is_zstd(path):
        check_zstd_framing(path, raw)
    elif not raw:
        raise DataError(path, "empty file")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            store = db.DBNStore.from_file(path)
            schema = store.schema
            if schema is not None and str(getattr(schema, "value", schema)) != "mbo":
                raise DataError(path, f"schema is {getattr(schema, 'value', schema)!r}, only MBO is supported")
            arr = store.to_ndarray()
    except DataError:
        raise
    except zstandard.ZstdError as exc:  # Databento decompresses .zst with zstandard while it reads
        raise zstd_data_error(path, exc) from None
    except (DBNError, ValueError, OSError) as exc:
        raise DataError(path, f"not a readable DBN file ({' '.join(str(exc).split())})") from None
    truncated = [w for w in caught if "truncated" in str(w.message) or "incomplete" in str(w.message)]
    if truncated:
        itemsize = arr.dtype.itemsize if arr.dtype.names else 0
        data = read_bytes(path)  # error path only: the decompressed stream, for the byte offset
        meta_len = len(data) - _payload_len(data, arr)
        raise DataError(
            path,
            f"truncated DBN stream: incomplete record after {len(arr)} complete records "
            f"({itemsize}-byte records)",
            offset=meta_len + len(arr) * itemsize if itemsize else None,
        )
    if arr.dtype.names is None or "order_id" not in arr.dtype.names:
        if len(arr) == 0:
            arr = np.zeros(0, dtype=[(n, "u8") for n in ("ts_recv", "ts_event", "order_id", "price", "size")])
        else:
            raise DataError(path, "records are not MBO records")
    n = len(arr)

    def col(name, dtype):
        return arr[name].astype(dtype) if name in arr.dtype.names else np.zeros(n, dtype=dtype)

    def code(name):
        if name not in arr.dtype.names:
            return np.full(n, ord("N"), dtype=np.uint8)
        # 'S1' fields: one byte each; an empty code (NUL) reads as b'' → view the raw byte.
        return np.ascontiguousarray(arr[name]).view(np.uint8)

    events = EventTable(
        ts_recv=col("ts_recv", np.int64),
        ts_event=col("ts_event", np.int64),
        action=code("action"),
        side=code("side"),
        price=col("price", np.int64),
        size=col("size", np.uint32),
        order_id=col("order_id", np.uint64),
        instrument_id=col("instrument_id", np.uint32),
        flags=col("flags", np.uint8),
        sequence=col("sequence", np.uint32),
        participant=np.zeros(n, dtype=np.uint8),
        symbols=_symbols(store, arr),
    )
    kept, skipped = validate(path, events, on_invalid)
    report = ReadReport(path=os.fspath(path), format="dbn", records=n, used=len(kept), skipped=skipped, events=len(kept))
    report.check()
    return ReadResult(kept, report)


def _payload_len(data: bytes, arr: np.ndarray) -> int:
    # DBN: b"DBN" + version byte + u32 metadata length + metadata, then records.
    if len(data) >= 8 and data[:3] == b"DBN":
        return len(data) - (8 + int.from_bytes(data[4:8], "little"))
    return len(data)


def _symbols(store, arr: np.ndarray) -> dict[int, str]:
    """instrument_id → raw symbol from the metadata mappings (stype_out instrument_id)."""
    out: dict[int, str] = {}
    try:
        mappings = store.metadata.mappings or {}
    except Exception:  # metadata without mappings (e.g. live data): fall back to ids
        return out
    for raw_symbol, intervals in mappings.items():
        for interval in intervals:
            sym = interval.get("symbol") if isinstance(interval, dict) else getattr(interval, "symbol", None)
            try:
                out[int(sym)] = str(raw_symbol)
            except (TypeError, ValueError):
                continue
    return out


__all__ = ["read_dbn"]
