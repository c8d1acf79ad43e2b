# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Export real and generated order flow in LOB-Bench's input layout (peernagy/lob_bench ``Simple_Loader``).

Layout (``{root}/{MODEL}/{STOCK}/{PERIOD}/``)::

    data_real/{STOCK}_{DATE}_{T0}_{T1}_message_real_id_{N}.csv        + ..._orderbook_real_id_{N}.csv
    data_gen/{STOCK}_{DATE}_{T0}_{T1}_message_real_id_{N}_gen_id_0.csv + ..._orderbook_real_id_{N}_gen_id_0.csv
    data_cond/{STOCK}_{DATE}_{T0}_{T1}_message_real_id_{N}.csv        + ..._orderbook_real_id_{N}.csv

plus ``{root}/lobbench_export.json``, the manifest: the window rule and span used, every real window
(start, rows, first/last time, SHA-256 of its files) and which rollout went under which ``real_id``.

**One real reference for every source.** One export takes every source (MODEL) at once, and each
source's ``data_real``/``data_cond`` files are byte-identical to every other source's: the same
real windows, cut by one rule, with the same order-id numbering. Sources must therefore cover the
same rollout starts (the same real prefixes); an export that cannot give them the same reference
is refused.

**One real window per rollout start.** ``real_id`` ``N`` is the ``N``-th rollout start in time
order (a start = the real prefix a ``tradefm generate`` run conditioned on: its meta.json), its
real file is what really followed that prefix, its cond file the prefix, and its generated file
one rollout from that prefix (the first in file-name order). LOB-Bench's bootstrap and its
per-sequence conditionals (``spread | volatility`` takes one volatility per sequence) treat
``real_id`` sequences as independent samples, so distinct real windows need distinct starts:
roll out from several starts (one generate run per start) to get several sequences. With
``all_rollouts=True`` every rollout gets its own ``real_id`` and the real window of its start is
written once per rollout — copies that LOB-Bench takes for independent samples (its intervals are
then too narrow); the manifest marks them (``copy_of``).

**One generated file per ``real_id``.** LOB-Bench's ``Simple_Loader`` builds its generated
sequences with ``lambda: load(m) for m in paths``, whose loop variable binds late: with several
``gen_id`` files per ``real_id`` every one of them loads the last path. So each ``real_id`` gets
exactly one generated file, ``gen_id_0``.

**Windows.** The rollout clock starts at the prefix's last record (t₀), so real and generated
windows are measured from there:

* by **time** (default): every message at or before t₀ + T; T = ``window_seconds``, else the
  shortest exported rollout's span (its last record − t₀), so every generated file covers the whole
  real window and every file the same stretch of time; T is capped by the real data left after
  the latest start. A generator that runs too slowly writes fewer rows in that time, which is
  what the inter-arrival and volume-per-minute scores should see.
* by **rows**: the first N LOBSTER message rows of each (``window_rows``; default the shortest
  rollout's row count, capped by the real data). Rows, not source events: a Databento execution
  (T, F, C) or a simulator fill is one type-4 row.

Windows of different starts may overlap in time; the manifest lists each window's times and the
export warns about overlaps (overlapping windows are not independent samples either).

**Files.**

* MODEL and STOCK are stripped of everything but letters, digits, ``-`` and ``.`` (LOB-Bench splits
  file names on ``_``; the date must be the 2nd token). PERIOD defaults to the date (first and last
  date joined by ``-to-`` when the starts span several).
* Messages: no header, ``time,type,order_id,size,price,direction``, time in seconds after New York
  midnight with 9 decimals (``34200.004241176``), price = dollars × 10,000, types 1/2/3/4 (5, 6 as
  they come from the writer). One execution (Databento T + F + C/M, or a simulator fill) is ONE
  type-4 row per resting order filled (``io.lobster.events_to_lobster_messages``); the continuation
  and the rollouts are written after the prefix, so the prefix's orders are modified, cancelled
  and executed as such. Order ids are renumbered 1, 2, … per ``real_id`` (in cond, then real / gen
  order) because LOB-Bench parses them as int32.
* Orderbooks: no header, one row per message (the book after it), 10 levels = 40 columns
  ``ask_px,ask_sz,bid_px,bid_sz``, empty levels ±9999999999 with size 0: the replay of the
  messages themselves (``io.lobster.lobster_messages_and_book``), starting from the replayed prefix.
* ``T0``/``T1``: milliseconds after New York midnight of the file's first and last message.
* DATE is the New York date of the prefix's last record; prefix records of an earlier date (a
  snapshot) seed the books but write no message.
* Re-exporting into the same root replaces the earlier export's files of each MODEL/STOCK/PERIOD.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..events import NS_PER_SECOND, EventTable

LEVELS = 10
MANIFEST = "lobbench_export.json"
_OUR_FILES = re.compile(r"^.+_(message|orderbook)_real_id_\d+(_gen_id_\d+)?\.csv$")


def clean_name(text: str) -> str:
    """A MODEL/STOCK name without ``_`` (or anything but letters, digits, ``-`` and ``.``)."""
    out = re.sub(r"[^A-Za-z0-9.\-]", "", str(text))
    if not out:
        raise ValueError(f"name {text!r} has no letters or digits left for LOB-Bench")
    return out


@dataclass
class RolloutSet:
    """Rollouts of one source that continue one real prefix (one ``tradefm generate`` folder).

    Attributes:
        prefix: the real events the rollouts were conditioned on (one instrument, one session).
        rollouts: ``[(name, EventTable)]``, one per rollout.
        origin: where they came from (a folder), for messages and the manifest.
    """

    prefix: EventTable
    rollouts: list[tuple[str, EventTable]]
    origin: str = ""

    @property
    def key(self) -> tuple[int, int, int]:
        """What identifies the start: (instrument, prefix records, last prefix time)."""
        return int(self.prefix.instrument_id[0]), len(self.prefix), int(self.prefix.ts_recv[-1])


@dataclass
class _Window:
    """The messages of one real or generated stretch, ready to write."""

    rows: np.ndarray
    book: np.ndarray
    events: int = 0
    info: dict = field(default_factory=dict)


def after_prefix(candidates: EventTable, prefix: EventTable) -> EventTable:
    """Rows of ``candidates`` (the prefix's instrument) after the prefix's last record (ties resolved by count)."""
    candidates = candidates[candidates.instrument_id == prefix.instrument_id[0]]
    last = int(prefix.ts_recv[-1])
    ties_in_prefix = int((prefix.ts_recv == last).sum())
    at_last = np.flatnonzero(candidates.ts_recv == last)
    later = np.flatnonzero(candidates.ts_recv > last)
    return candidates[np.concatenate([at_last[ties_in_prefix:], later])]


def _messages_and_book(events: EventTable, prefix: EventTable | None, date: str):
    from ..io.lobster import lobster_messages_and_book

    # The prefix carries the orders (and fills awaiting the venue's bookkeeping) into the messages,
    # and the book starts from the replay of the prefix's messages.
    initial = prefix if prefix is not None and len(prefix) else None
    rows, at, book, _ = lobster_messages_and_book(events, LEVELS, date, initial=initial)
    # Records before the date's New York midnight (e.g. a Databento snapshot stamped the previous
    # day) still seed the book but get no message row: LOBSTER times cannot be negative.
    keep = rows[:, 0] >= 0 if len(rows) else np.zeros(0, dtype=bool)
    return rows[keep], book[keep], events.ts_recv[at[keep]]


def _cut(events: EventTable, prefix: EventTable, date: str, end_ns: int | None, n_rows: int | None) -> _Window:
    """The window of ``events`` (after ``prefix``): records at or before ``end_ns``, or the first ``n_rows`` rows."""
    if end_ns is not None:
        events = events[: int(np.searchsorted(events.ts_recv, end_ns, side="right"))]
    rows, book, ts = _messages_and_book(events, prefix, date)
    if n_rows is not None:
        rows, book, ts = rows[:n_rows], book[:n_rows], ts[:n_rows]
    used = int(np.searchsorted(events.ts_recv, ts[-1], side="right")) if len(ts) else 0
    return _Window(rows, book, used)


def _message_text(rows: np.ndarray, ids: dict) -> str:
    lines = []
    for t, typ, oid, size, price, direction in rows.tolist():
        oid = 0 if oid == 0 else ids.setdefault(oid, len(ids) + 1)
        lines.append(f"{t // NS_PER_SECOND}.{t % NS_PER_SECOND:09d},{typ},{oid},{size},{price},{direction}\n")
    return "".join(lines)


def _book_text(book: np.ndarray) -> str:
    return "".join(",".join(map(str, r)) + "\n" for r in book.reshape(len(book), 4 * LEVELS).tolist())


def _stem(stock: str, date: str, rows: np.ndarray) -> str:
    ms = rows[:, 0] // 1_000_000 if len(rows) else np.zeros(1, dtype=np.int64)
    return f"{stock}_{date}_{int(ms[0])}_{int(ms[-1])}"


def _window_span(exported: dict, continuations: dict, window_seconds, window_rows) -> tuple[str, float, str]:
    """(unit, value, why) of the window every file is cut to (module docstring, "Windows")."""
    if window_seconds is not None and window_rows is not None:
        raise ValueError("give window_seconds or window_rows, not both")
    if window_rows is not None or window_seconds is not None:
        given = ("rows", int(window_rows)) if window_rows is not None else ("seconds", float(window_seconds))
        if given[1] <= 0:
            raise ValueError(f"the window must be positive, got {given[1]}")
        return given[0], given[1], "given"
    spans = [((int(ev.ts_recv[-1]) - k[2]) / NS_PER_SECOND, f"{name}: {who}")
             for name, per_start in exported.items() for k, rolls in per_start.items()
             for who, ev in rolls if len(ev)]
    if not spans:
        raise ValueError("every exported rollout is empty")
    span, who = min(spans)
    real_span, real_key = min(((int(c.ts_recv[-1]) - k[2]) / NS_PER_SECOND, k) for k, c in continuations.items())
    if real_span < span:
        return "seconds", real_span, f"the real data after the start ending its prefix at {real_key[2]} ns"
    return "seconds", span, f"the shortest exported rollout ({who})"


def _real_reference(stock, date, prefix, continuation, end_ns, n_rows) -> tuple[dict, dict, dict]:
    """The cond and real files of one start: ``({"cond"|"real": (stem, messages, orderbook)}, ids, info)``.

    ``ids`` is the order-id numbering after the cond file (the real and generated files continue it).
    """
    cond_rows, cond_book, _ = _messages_and_book(prefix, None, date)
    win = _cut(continuation, prefix, date, end_ns, n_rows)
    if not len(win.rows):
        raise ValueError(f"no real message in the window after the prefix ending at {int(prefix.ts_recv[-1])} ns")
    ids: dict[int, int] = {}
    cond_msg = _message_text(cond_rows, ids)
    real_msg = _message_text(win.rows, dict(ids))
    real_book = _book_text(win.book)
    texts = {"cond": (_stem(stock, date, cond_rows), cond_msg, _book_text(cond_book)),
             "real": (_stem(stock, date, win.rows), real_msg, real_book)}
    last = int(continuation.ts_recv[-1])
    info = {"rows": int(len(win.rows)), "events": win.events,
            "first_time": real_msg.split(",", 1)[0] if len(win.rows) else None,
            "last_time": real_msg.rsplit("\n", 2)[-2].split(",", 1)[0] if len(win.rows) else None,
            "real_span_s": (last - int(prefix.ts_recv[-1])) / NS_PER_SECOND,
            "message_sha256": hashlib.sha256(real_msg.encode()).hexdigest(),
            "orderbook_sha256": hashlib.sha256(real_book.encode()).hexdigest()}
    return texts, ids, info


def _clear_folder(folder: Path) -> None:
    """Remove an earlier export's files (only file names this module writes)."""
    if folder.is_dir():
        for p in folder.iterdir():
            if p.is_file() and _OUR_FILES.match(p.name):
                p.unlink()


def _group_by_start(sources: dict[str, list[RolloutSet]]) -> tuple[dict, dict]:
    """``{source: {start key: RolloutSet}}`` (sets of one start merged) and ``{start key: prefix}``."""
    prefixes: dict[tuple, EventTable] = {}
    grouped: dict[str, dict] = {}
    for name, sets in sources.items():
        if not sets:
            raise ValueError(f"source {name!r} has no rollouts")
        per_start: dict[tuple, RolloutSet] = {}
        for rs in sets:
            if not len(rs.prefix) or not rs.rollouts:
                raise ValueError(f"{name}: {rs.origin or 'a rollout set'} needs a non-empty prefix and a rollout")
            k = rs.key
            if k in prefixes and not prefixes[k].equals(rs.prefix):
                raise ValueError(f"{name}: {rs.origin} has a prefix ending at {k[2]} ns that differs from another "
                                 "source's with the same length and end (different data?)")
            prefixes.setdefault(k, rs.prefix)
            if k in per_start:  # two folders from the same start: one set of rollouts
                per_start[k] = RolloutSet(rs.prefix, per_start[k].rollouts + rs.rollouts,
                                          f"{per_start[k].origin}+{rs.origin}")
            else:
                per_start[k] = rs
        grouped[name] = per_start
    starts = set(prefixes)
    for name, per_start in grouped.items():
        missing = starts - set(per_start)
        if missing:
            raise ValueError(f"source {name!r} has no rollouts from {len(missing)} of the {len(starts)} starts the "
                             "other sources have: every source must be scored against the same real windows")
    if len({k[0] for k in starts}) > 1:
        raise ValueError("the rollouts continue prefixes of several instruments: export one instrument at a time")
    return grouped, prefixes


def export_lobbench(
    root: str | os.PathLike,
    sources: dict[str, list[RolloutSet]],
    real: EventTable,
    *,
    window_seconds: float | None = None,
    window_rows: int | None = None,
    all_rollouts: bool = False,
    period: str | None = None,
    stock: str | None = None,
) -> dict:
    """Write every source's rollouts and the one real reference they share, in LOB-Bench's layout.

    Args:
        root: output root.
        sources: ``{MODEL name: [RolloutSet, ...]}`` (one set per rollout start; sets of the same start
            are merged). Every source must cover the same starts.
        real: real events holding each prefix's continuation (the ``--real`` files).
        window_seconds: cut real and generated flow to this many seconds after each start (t₀).
        window_rows: or to this many LOBSTER message rows. Default: by time, the shortest rollout's span.
        all_rollouts: one ``real_id`` per rollout (the real window repeated per rollout of a start)
            instead of one per start.
        period: PERIOD folder (default the New York date).
        stock: STOCK (default the prefix's symbol).

    Returns:
        The manifest (also written to ``{root}/lobbench_export.json``).

    Raises:
        ValueError: no rollouts, sources covering different starts, several instruments, two
            windows given, or a start with no real continuation.
    """
    from ..io.lobster import events_to_lobster_messages

    if not sources:
        raise ValueError("export_lobbench needs at least one source")
    models = {name: clean_name(name) for name in sources}
    if len(set(models.values())) != len(models):
        raise ValueError(f"source names collide once cleaned for LOB-Bench: {models}")
    grouped, prefixes = _group_by_start(sources)
    keys = sorted(prefixes, key=lambda k: (k[2], k[1]))
    continuations = {k: after_prefix(real, prefixes[k]) for k in keys}
    for k, c in continuations.items():
        if not len(c):
            raise ValueError(f"no real events after the prefix ending at {k[2]} ns: pass the session's files")
    first = prefixes[keys[0]]
    stock = clean_name(stock or first.symbol_of(int(first.instrument_id[0])))
    dates = {k: events_to_lobster_messages(prefixes[k][len(prefixes[k]) - 1:])[2] for k in keys}
    span_dates = sorted(set(dates.values()))
    period = period or (span_dates[0] if len(span_dates) == 1 else f"{span_dates[0]}-to-{span_dates[-1]}")

    # what goes under which real_id: one rollout per start, or every rollout (the real window repeated)
    exported = {name: {k: [(f"{rs.origin}/{r}", ev) for r, ev in sorted(rs.rollouts, key=lambda x: x[0])]
                       [: None if all_rollouts else 1] for k, rs in per_start.items()}
                for name, per_start in grouped.items()}
    if all_rollouts:
        for k in keys:
            c = {name: len(exported[name][k]) for name in exported}
            if len(set(c.values())) != 1:
                raise ValueError(f"all_rollouts: the sources have different numbers of rollouts from one start {c}; "
                                 "every real_id needs one rollout of every source")
    slots = [(k, j) for k in keys for j in range(len(next(iter(exported.values()))[k]))]
    unit, span, why = _window_span(exported, continuations, window_seconds, window_rows)
    end_of = (lambda k: k[2] + int(round(span * NS_PER_SECOND))) if unit == "seconds" else (lambda k: None)
    n_rows = int(span) if unit == "rows" else None

    # the shared real reference: the cond and real files of each start, rendered once
    shared = {k: _real_reference(stock, dates[k], prefixes[k], continuations[k], end_of(k), n_rows) for k in keys}
    manifest_real = []
    for rid, (k, j) in enumerate(slots):
        texts, _, info = shared[k]
        manifest_real.append({"real_id": rid, "copy_of": None if j == 0 else slots.index((k, 0)),
                              "prefix_events": k[1], "t0_ns": k[2], **info,
                              "message": f"{texts['real'][0]}_message_real_id_{rid}.csv"})
        if j == 0 and unit == "seconds" and info["real_span_s"] < span:
            print(f"warning: real window {rid}: the real data cover only {info['real_span_s']:.3f} s after the "
                  f"start, not {span:.3f} s", file=sys.stderr)
        if j == 0 and unit == "rows" and info["rows"] < n_rows:
            print(f"warning: real window {rid}: only {info['rows']} real rows after the start, not {n_rows}",
                  file=sys.stderr)
    _warn_overlaps(manifest_real)

    root = Path(root)
    manifest = {"window": {"unit": unit, "value": span, "chosen": why}, "stock": stock, "period": period,
                "rule": "real_id = rollout start in time order" + (", one per rollout" if all_rollouts else ""),
                "real": manifest_real, "sources": {}}
    for name, per_start in grouped.items():
        folder = root / models[name] / stock / period
        files = _write_source(folder, slots, shared, exported[name], prefixes, dates, stock, end_of, n_rows)
        used = {f["rollout"] for f in files}
        left_out = [f"{rs.origin}/{r}" for rs in per_start.values() for r, _ in rs.rollouts
                    if f"{rs.origin}/{r}" not in used]
        manifest["sources"][name] = {"model": models[name], "folder": str(folder), "files": files,
                                     "left_out": sorted(left_out)}
    root.mkdir(parents=True, exist_ok=True)
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _write_source(folder: Path, slots, shared, exported, prefixes, dates, stock, end_of, n_rows) -> list[dict]:
    """Write one source's data_cond/data_real (the shared reference) and data_gen files; returns their manifest."""
    dirs = {s: folder / f"data_{s}" for s in ("real", "gen", "cond")}
    for d in dirs.values():
        _clear_folder(d)
        d.mkdir(parents=True, exist_ok=True)
    files = []
    for rid, (k, j) in enumerate(slots):
        texts, ids, _ = shared[k]
        for sub in ("cond", "real"):
            stem, msg, book = texts[sub]
            (dirs[sub] / f"{stem}_message_real_id_{rid}.csv").write_text(msg)
            (dirs[sub] / f"{stem}_orderbook_real_id_{rid}.csv").write_text(book)
        who, ev = exported[k][j]
        win = _cut(ev, prefixes[k], dates[k], end_of(k), n_rows)
        if not len(win.rows):
            raise ValueError(f"{who}: no message in the window (the rollout starts after it ends)")
        stem = _stem(stock, dates[k], win.rows)
        (dirs["gen"] / f"{stem}_message_real_id_{rid}_gen_id_0.csv").write_text(_message_text(win.rows, dict(ids)))
        (dirs["gen"] / f"{stem}_orderbook_real_id_{rid}_gen_id_0.csv").write_text(_book_text(win.book))
        files.append({"real_id": rid, "rollout": who, "rows": int(len(win.rows)), "events": win.events,
                      "rollout_events": len(ev),
                      "rollout_span_s": (int(ev.ts_recv[-1]) - k[2]) / NS_PER_SECOND if len(ev) else 0.0})
    return files


def _warn_overlaps(real: list[dict]) -> None:
    wins = sorted((float(r["first_time"]), float(r["last_time"]), r["real_id"]) for r in real
                  if r["copy_of"] is None and r["first_time"] is not None)
    for (_, a1, a), (b0, _, b) in zip(wins, wins[1:], strict=False):
        if b0 <= a1:
            print(f"warning: real windows {a} and {b} overlap in time ({b0:.3f} <= {a1:.3f}): "
                  "LOB-Bench will take them for independent samples", file=sys.stderr)


__all__ = ["LEVELS", "MANIFEST", "RolloutSet", "after_prefix", "clean_name", "export_lobbench"]
