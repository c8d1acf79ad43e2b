# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Export real and generated order flow in LOB-Bench's input layout (peernagy/lob_bench ``Simple_Loader``).

Layout (``{root}/{MODEL}/{STOCK}/{PERIOD}/``)::

    data_real/{STOCK}_{DATE}_{T0}_{T1}_message_real_id_{N}.csv        + ..._orderbook_real_id_{N}.csv
    data_gen/{STOCK}_{DATE}_{T0}_{T1}_message_real_id_{N}_gen_id_0.csv + ..._orderbook_real_id_{N}_gen_id_0.csv
    data_cond/{STOCK}_{DATE}_{T0}_{T1}_message_real_id_{N}.csv        + ..._orderbook_real_id_{N}.csv

* MODEL and STOCK are stripped of everything but letters, digits and ``-`` (LOB-Bench splits file
  names on ``_``; the date must be the 2nd token). PERIOD defaults to the date.
* LOB-Bench reads only ``gen_id_0`` reliably, so rollout k of a source is written as ``real_id_k``
  with ``gen_id_0``; the real continuation (the same real window after the prefix, as many messages
  as the longest rollout unless ``real_messages`` is given) is written once per ``real_id``, and the
  conditioning prefix goes to ``data_cond`` for every ``real_id``.
* Messages: no header, ``time,type,order_id,size,price,direction``, time in seconds after New York
  midnight with 9 decimals (``34200.004241176``), price = dollars × 10,000, types 1/2/3/4 (5, 6 as
  they come from the writer). One Databento execution (T + F + C/M) becomes ONE type-4 row per
  resting order filled (the io writer's rule: the C/M is matched to the fill by order id, also when
  it comes in a later packet); the continuation and the rollouts are written after the prefix, so
  the prefix's orders are modified, cancelled and executed as such. Order ids are renumbered
  1, 2, … per export (consistently across a real_id's cond/real/gen files) because LOB-Bench
  parses them as int32.
* Orderbooks: no header, one row per message (the book after it), 10 levels = 40 columns
  ``ask_px,ask_sz,bid_px,bid_sz``, empty levels ±9999999999 with size 0: the replay of the
  messages themselves (``io.lobster.lobster_messages_and_book``), so each row agrees with its
  message; the book of a rollout or a real continuation starts from the replayed prefix.
* ``T0``/``T1``: milliseconds after New York midnight of the file's first and last message.
* DATE is the New York date of the prefix's last record; prefix records of an earlier date (a
  snapshot) seed the books but write no message.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..events import EventTable

LEVELS = 10


def clean_name(text: str) -> str:
    """A MODEL/STOCK name without ``_`` (or anything but letters, digits, ``-`` and ``.``)."""
    out = re.sub(r"[^A-Za-z0-9.\-]", "", str(text))
    if not out:
        raise ValueError(f"name {text!r} has no letters or digits left for LOB-Bench")
    return out


def _messages_and_book(events: EventTable, prefix: EventTable | None, date: str):
    from ..io.lobster import lobster_messages_and_book

    # The prefix carries the orders (and fills awaiting the venue's bookkeeping) into the messages,
    # and the book starts from the replay of the prefix's messages.
    initial = prefix if prefix is not None and len(prefix) else None
    rows, _, book, _ = lobster_messages_and_book(events, LEVELS, date, initial=initial)
    # Records before the date's New York midnight (e.g. a Databento snapshot stamped the previous
    # day) still seed the book but get no message row: LOBSTER times cannot be negative.
    keep = rows[:, 0] >= 0 if len(rows) else np.zeros(0, dtype=bool)
    return rows[keep], book[keep]


def _write(path: Path, rows: np.ndarray, book: np.ndarray, ids: dict) -> None:
    from ..events import NS_PER_SECOND

    lines = []
    for t, typ, oid, size, price, direction in rows.tolist():
        oid = 0 if oid == 0 else ids.setdefault(oid, len(ids) + 1)
        lines.append(f"{t // NS_PER_SECOND}.{t % NS_PER_SECOND:09d},{typ},{oid},{size},{price},{direction}\n")
    path.write_text("".join(lines))
    ob = str(path).replace("_message_", "_orderbook_")
    np.savetxt(ob, book.reshape(len(book), 4 * LEVELS), fmt="%d", delimiter=",")


def export_lobbench(
    root: str | os.PathLike,
    model: str,
    prefix: EventTable,
    real: EventTable,
    rollouts: list[EventTable],
    period: str | None = None,
    stock: str | None = None,
) -> Path:
    """Write one source's rollouts (and the matching real/cond files) in LOB-Bench's layout.

    Args:
        root: output root.
        model: the source's name (becomes MODEL).
        prefix: the real conditioning prefix (one instrument, one session).
        real: the real continuation after the prefix.
        rollouts: the generated event logs, one per rollout (→ ``real_id_0..K−1``).
        period: PERIOD folder (default the New York date).
        stock: STOCK (default the prefix's symbol).

    Returns:
        The ``{root}/{MODEL}/{STOCK}/{PERIOD}`` folder.
    """
    from ..io.lobster import events_to_lobster_messages

    if not len(prefix) or not len(real) or not rollouts:
        raise ValueError("export_lobbench needs a non-empty prefix, real continuation and at least one rollout")
    date = events_to_lobster_messages(prefix[len(prefix) - 1:])[2]  # the New York date the rollouts continue
    stock = clean_name(stock or prefix.symbol_of(int(prefix.instrument_id[0])))
    folder = Path(root) / clean_name(model) / stock / (period or date)
    dirs = {k: folder / f"data_{k}" for k in ("real", "gen", "cond")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    cond_rows, cond_book = _messages_and_book(prefix, None, date)
    real_rows, real_book = _messages_and_book(real, prefix, date)

    def stem(rows):
        ms = rows[:, 0] // 1_000_000 if len(rows) else np.zeros(1, dtype=np.int64)
        return f"{stock}_{date}_{int(ms[0])}_{int(ms[-1])}"

    for k, ev in enumerate(rollouts):
        ids: dict[int, int] = {}
        _write(dirs["cond"] / f"{stem(cond_rows)}_message_real_id_{k}.csv", cond_rows, cond_book, ids)
        gen_rows, gen_book = _messages_and_book(ev, prefix, date)
        _write(dirs["gen"] / f"{stem(gen_rows)}_message_real_id_{k}_gen_id_0.csv", gen_rows, gen_book, dict(ids))
        _write(dirs["real"] / f"{stem(real_rows)}_message_real_id_{k}.csv", real_rows, real_book, dict(ids))
    return folder


__all__ = ["LEVELS", "clean_name", "export_lobbench"]
