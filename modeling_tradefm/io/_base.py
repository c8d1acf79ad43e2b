# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Read results, reports, and the one vectorised validation pass every reader ends with.

Validation policy (all formats, ``on_invalid="error"`` by default):

* action code not one of ``A C M R T F N`` → ``unknown_action``
* side code not one of ``B A N`` → ``unknown_side``
* an add (``A``) with size 0 → ``nonpositive_add_size`` (negative sizes cannot be parsed into the
  unsigned column and fail earlier as unparsable numbers)
* an add with the UNDEF price sentinel → ``undef_add_price`` (UNDEF is legal on R, C, T, F, N
  records and is kept as ``UNDEF_PRICE`` = INT64_MAX, never turned into a number)
* ``ts_recv`` going backwards (smaller than the largest ``ts_recv`` of the rows before it in the
  file) → ``ts_backwards``. Databento files are ordered by ``ts_recv`` and LOBSTER files by time,
  so a step back means a damaged or mis-concatenated file. ``ts_event`` is *not* checked: on CME
  the snapshot's ``ts_event`` is legitimately older than live events.

With ``on_invalid="error"`` the first offending row raises ``DataError`` naming the file, the
1-based data row and the problem; with ``on_invalid="skip"`` every offending row is dropped and
counted under its reason (first matching reason in the order above), so
``records == used + sum(skipped.values())`` always holds. R (clear book) records are ordinary
events (action ``R``), never skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError
from ..events import ACTION_ADD, ACTIONS, SIDES, UNDEF_PRICE, EventTable

ON_INVALID = ("error", "skip")


@dataclass
class ReadReport:
    """What a reader did with one file.

    Attributes:
        path: the file.
        format: ``"dbn"``, ``"databento-csv"``, ``"databento-csv-pretty"`` or ``"lobster"``.
        records: data rows in the file (header excluded; for DBN, records).
        used: rows that became events.
        skipped: rows dropped, by reason; ``records == used + sum(skipped.values())``.
        events: rows of the resulting EventTable (differs from ``used`` for LOBSTER, where one
            visible execution becomes three events).
        info: informational counts that drop nothing (e.g. LOBSTER ``unknown_order_id``).
    """

    path: str
    format: str
    records: int = 0
    used: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    events: int = 0
    info: dict[str, int] = field(default_factory=dict)

    def check(self) -> None:
        if self.records != self.used + sum(self.skipped.values()):
            raise AssertionError(f"{self.path}: counts do not reconcile: {self}")

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "format": self.format,
            "records": self.records,
            "used": self.used,
            "skipped": dict(self.skipped),
            "events": self.events,
            "info": dict(self.info),
        }


@dataclass
class ReadResult:
    """One file's events and its report. ``orderbook`` holds a LOBSTER orderbook when one was read."""

    events: EventTable
    report: ReadReport
    orderbook: np.ndarray | None = None


def _lut(codes: frozenset[int]) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[list(codes)] = True
    return table


_ACTION_OK = _lut(ACTIONS)
_SIDE_OK = _lut(SIDES)


def check_on_invalid(on_invalid: str) -> None:
    if on_invalid not in ON_INVALID:
        raise ValueError(f"on_invalid must be one of {ON_INVALID}, got {on_invalid!r}")


def validate(
    path: str | os.PathLike,
    table: EventTable,
    on_invalid: str = "error",
    rows: np.ndarray | None = None,
    check_time: bool = True,
) -> tuple[EventTable, dict[str, int]]:
    """Apply the module's validation policy to ``table`` (all vectorised).

    Args:
        path: the file, for messages.
        table: the events, one per input row unless ``rows`` says otherwise.
        on_invalid: ``"error"`` or ``"skip"``.
        rows: int64 [n] 1-based input row of each event (default ``arange(1, n + 1)``); when several
            events come from one row (LOBSTER executions) a bad event drops its whole row.
        check_time: check ``ts_recv`` monotonicity.

    Returns:
        The kept events and the skipped-row counts by reason (counted in input rows).
    """
    check_on_invalid(on_invalid)
    n = len(table)
    checks: list[tuple[str, np.ndarray, str]] = []
    checks.append(("unknown_action", ~_ACTION_OK[table.action], "unknown action code {!r}"))
    checks.append(("unknown_side", ~_SIDE_OK[table.side], "unknown side code {!r}"))
    is_add = table.action == ACTION_ADD
    checks.append(("nonpositive_add_size", is_add & (table.size == 0), "add with size 0"))
    checks.append(("undef_add_price", is_add & (table.price == UNDEF_PRICE), "add with the UNDEF price sentinel"))
    if check_time and n > 1:
        prev_max = np.maximum.accumulate(table.ts_recv)[:-1]
        back = np.zeros(n, dtype=bool)
        back[1:] = table.ts_recv[1:] < prev_max
        checks.append(("ts_backwards", back, "ts_recv goes backwards"))

    bad_any = np.zeros(n, dtype=bool)
    for _, mask, _ in checks:
        bad_any |= mask
    if not bad_any.any():
        return table, {}
    if on_invalid == "error":
        first = int(np.argmax(bad_any))
        row = int(rows[first]) if rows is not None else first + 1
        for reason, mask, text in checks:
            if mask[first]:
                if reason == "unknown_action":
                    text = text.format(chr(table.action[first]))
                elif reason == "unknown_side":
                    text = text.format(chr(table.side[first]))
                elif reason == "ts_backwards":
                    text = (
                        f"ts_recv goes backwards ({int(table.ts_recv[first])} < "
                        f"{int(np.max(table.ts_recv[:first]))} earlier in the file)"
                    )
                raise DataError(path, f"{text} ({reason})", row=row)
    # skip: attribute each bad input row to the first reason that hits it
    row_ids = rows if rows is not None else np.arange(1, n + 1)
    taken = np.zeros(n, dtype=bool)
    skipped: dict[str, int] = {}
    for reason, mask, _ in checks:
        hit = mask & ~taken
        if hit.any():
            bad_rows = np.unique(row_ids[hit])
            skipped[reason] = int(len(bad_rows))
            taken |= np.isin(row_ids, bad_rows)
    return table[~taken], skipped


def decimal_to_int(column, path, name: str, undef: int | None = UNDEF_PRICE) -> np.ndarray:
    """Unscaled int64 values of a pyarrow decimal128 column (e.g. scale 9 → 1e-9 units), vectorised.

    A decimal128 value is stored as a 16-byte two's-complement integer of its unscaled value, so the
    low 8 bytes are the int64 answer whenever the high 8 bytes are the sign extension (checked).
    Nulls become ``undef`` (or raise when ``undef`` is None).
    """
    import pyarrow as pa

    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    words = np.frombuffer(arr.buffers()[1], dtype=np.int64)[2 * arr.offset : 2 * (arr.offset + n)].reshape(n, 2)
    lo, hi = words[:, 0], words[:, 1]
    valid = np.ones(n, dtype=bool) if arr.null_count == 0 else arr.is_valid().to_numpy(zero_copy_only=False)
    overflow = valid & (hi != (lo >> 63))
    if overflow.any():
        raise DataError(path, f"{name}: value out of the int64 range", row=int(np.argmax(overflow)) + 1)
    out = lo.copy()
    if not valid.all():
        if undef is None:
            raise DataError(path, f"{name}: empty value", row=int(np.argmax(~valid)) + 1)
        out[~valid] = undef
    return out


def single_char_codes(column, path, name: str) -> np.ndarray:
    """uint8 codes of a pyarrow string/binary column whose values are one character each (vectorised).

    The offsets of such a column are ``0, 1, 2, …`` so its data buffer *is* the code array.
    """
    import pyarrow as pa

    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.uint8)
    if arr.null_count:
        raise DataError(path, f"{name}: empty value", row=int(np.argmax(~arr.is_valid().to_numpy(zero_copy_only=False))) + 1)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32 if arr.type in (pa.string(), pa.binary()) else np.int64)
    offsets = offsets[arr.offset : arr.offset + n + 1]
    lengths = np.diff(offsets)
    if (lengths != 1).any():
        first = int(np.argmax(lengths != 1))
        raise DataError(path, f"{name}: expected one character, got {arr[first].as_py()!r}", row=first + 1)
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[-1]].copy()


__all__ = ["ON_INVALID", "ReadReport", "ReadResult", "check_on_invalid", "decimal_to_int", "single_char_codes", "validate"]
