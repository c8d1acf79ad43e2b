# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Evaluating ``tradefm generate`` output folders against real files, into a report folder.

What ``tradefm evaluate`` runs (and the demo's last step): real files are read and cut into
streams (every session whole, or with ``after_prefix`` the continuation of the session the
rollouts started from), each generated folder's rollouts are loaded with the book they started
from, and :func:`~modeling_tradefm.evaluation.report.evaluate_streams` /
:func:`~modeling_tradefm.evaluation.report.write_report` compute and write the comparison.

Real LOBSTER message files are read with their orderbook file when one lies beside them (same
stem, ``_orderbook_N``): the real book is then the venue's, exact, instead of a replay of the
messages (``series`` module docstring). What each source's book came from, and every quantity that
could not be measured for a source with the reason, is printed and written into the report.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import DataError
from ..events import EventTable
from ..prefix import read_sessions
from .report import evaluate_streams, write_report
from .series import EvalConfig, infer_tick_size, load_generated_source, stream_series

_BOOK_WORDS = {"orderbook": "the LOBSTER orderbook file (exact)", "replay": "a replay of the messages",
               "none": "none"}


def evaluate_folders(real_files, generated, output, config=None, after_prefix: bool = False,
                     title: str = "TradeFM evaluation", progress: bool = True) -> dict:
    """Evaluate ``tradefm generate`` folders against real files and write the report.

    Args:
        real_files: real event files or globs.
        generated: ``[(name, folder)]``.
        output: report folder.
        config: ``EvalConfig``.
        after_prefix: compare with the real continuation of the rollouts' prefix only.
        title: report title.
        progress: progress bars.

    Returns:
        ``write_report``'s paths, plus ``"metrics"`` (the dict) under ``"metrics_dict"``.
    """
    config = config or EvalConfig()
    real_files = [str(f) for f in real_files]
    source = ", ".join(real_files)
    booked = read_sessions(real_files if len(real_files) > 1 else real_files[0], config.feature_config,
                           progress=progress)
    if not booked or not sum(len(b.session.events) for b in booked):
        raise DataError(source, "no events in the real data")
    tick = config.tick_size or infer_tick_size(EventTable.concat([b.session.events for b in booked]))
    loaded = {name: load_generated_source(folder, booked) for name, folder in generated}
    if after_prefix:
        real = _continuations(booked, loaded, config, source)
    else:
        real = [stream_series(b.session.events, None, config, f"{b.session.symbol} {b.session.date}",
                              orderbook=b.orderbook) for b in booked]
    print(f"real: {len(real)} stream(s), {sum(len(s.flow_ts) for s in real)} modeled events"
          f"{' after the prefix' if after_prefix else ''}, tick {tick / 1e9 if tick else None}; book from "
          f"{_BOOK_WORDS.get('+'.join(sorted({s.book_source or 'none' for s in real})), 'several sources')}",
          file=sys.stderr)
    streams = {}
    for name, folder in generated:
        g = loaded[name]
        if g.start_book is None:
            print(f"warning: {name}: {g.no_book}; using the EW-VWAP mid, no spreads or depth", file=sys.stderr)
        streams[name] = [stream_series(ev, g.prefix, config, f"{name}/{rname}", has_book=g.start_book is not None,
                                       start_book=g.start_book, no_book=g.no_book)
                         for rname, ev in g.rollouts if len(ev)]
        if not streams[name]:
            raise DataError(folder, "every rollout file is empty")
        start = (g.meta.get("start_book") or {}).get("source", "replay") if g.start_book is not None else "none"
        print(f"{name}: {len(streams[name])} rollout(s), prefix {len(g.prefix) if g.prefix is not None else 0} "
              f"events, starting book: {_start_words(start)}", file=sys.stderr)
    metrics, quantities = evaluate_streams(real, streams, config, tick, progress=progress)
    for src, q in quantities.items():
        for w in q.info.get("warnings", []):
            print(f"warning: {src}: {w}", file=sys.stderr)
        for quantity, why in q.info.get("unavailable", {}).items():
            print(f"not computed: {src} {quantity}: {why}", file=sys.stderr)
    paths = write_report(Path(output), metrics, quantities, config, title=title)
    paths["metrics_dict"] = metrics
    return paths


def _start_words(source: str) -> str:
    return {"orderbook": "the venue's visible book at the start (orderbook file)",
            "replay": "the replay of the prefix", "none": "not rebuilt"}.get(source, source)


def _continuations(booked, loaded: dict, config, source: str) -> list:
    """The real session the rollouts started from, from their common start on, its past as the book seed."""
    starts = {}
    for name, g in loaded.items():
        meta = g.meta
        sess = meta.get("session") or {}
        if meta.get("start_ts_ns") is None or sess.get("instrument_id") is None:
            raise DataError(name, "--after-prefix needs meta.json with the rollout start and session "
                                  "(written by `tradefm generate`)")
        starts[name] = (int(sess["instrument_id"]), str(sess.get("date")), int(meta["start_ts_ns"]))
    if len(set(starts.values())) != 1:
        raise DataError(source, f"--after-prefix: the generated folders start from different prefixes: {starts}")
    instrument, date, start_ns = next(iter(starts.values()))
    for b in booked:
        ev = b.session.events
        if int(ev.instrument_id[0]) != instrument or not (ev.ts_recv[0] < start_ns <= ev.ts_recv[-1]):
            continue
        n = int((ev.ts_recv < start_ns).sum())
        return [stream_series(ev[n:], ev[:n], config, f"{b.session.symbol} {b.session.date} after prefix",
                              orderbook=b.orderbook)]
    raise DataError(source, f"--after-prefix: no real session of instrument {instrument} spans the rollout start "
                            f"({date}, {start_ns} ns)")


__all__ = ["evaluate_folders"]
