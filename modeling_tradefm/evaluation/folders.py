# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Evaluating ``tradefm generate`` output folders against real files, into a report folder.

What ``tradefm evaluate`` runs (and the demo's last step): real files are read and cut into
streams (every session whole, or with ``after_prefix`` the continuation of the session the
rollouts started from), each generated folder's rollouts are loaded with the prefix that seeded
their book, and :func:`~modeling_tradefm.evaluation.report.evaluate_streams` /
:func:`~modeling_tradefm.evaluation.report.write_report` compute and write the comparison.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import DataError
from ..io import read_events
from .report import evaluate_streams, write_report
from .series import EvalConfig, infer_tick_size, load_generated, split_streams, stream_series


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
    real_events = read_events(real_files if len(real_files) > 1 else real_files[0], progress=progress)
    if not len(real_events):
        raise DataError(source, "no events in the real data")
    tick = config.tick_size or infer_tick_size(real_events)
    loaded = {}
    for name, folder in generated:
        loaded[name] = load_generated(folder, real_events)
    if after_prefix:
        real = _continuations(real_events, loaded, config, source)
    else:
        real = [stream_series(ev, None, config, name) for name, ev in split_streams(real_events)]
    print(f"real: {len(real)} stream(s), {sum(len(s.flow_ts) for s in real)} modeled events"
          f"{' after the prefix' if after_prefix else ''}, tick {tick / 1e9 if tick else None}", file=sys.stderr)
    streams = {}
    for name, folder in generated:
        rollouts, prefix, _ = loaded[name]
        if prefix is None:
            print(f"warning: {name}: conditioning prefix not found; using the EW-VWAP mid and no spreads",
                  file=sys.stderr)
        streams[name] = [stream_series(ev, prefix, config, f"{name}/{rname}", has_book=prefix is not None)
                         for rname, ev in rollouts if len(ev)]
        if not streams[name]:
            raise DataError(folder, "every rollout file is empty")
        print(f"{name}: {len(streams[name])} rollout(s), prefix {len(prefix) if prefix is not None else 0} events",
              file=sys.stderr)
    metrics, quantities = evaluate_streams(real, streams, config, tick, progress=progress)
    paths = write_report(Path(output), metrics, quantities, config, title=title)
    paths["metrics_dict"] = metrics
    return paths


def _continuations(real_events, loaded: dict, config, source: str) -> list:
    """The real session the rollouts started from, from their common start on, its past as the book seed."""
    starts = {}
    for name, (_, _, meta) in loaded.items():
        sess = meta.get("session") or {}
        if meta.get("start_ts_ns") is None or sess.get("instrument_id") is None:
            raise DataError(name, "--after-prefix needs meta.json with the rollout start and session "
                                  "(written by `tradefm generate`)")
        starts[name] = (int(sess["instrument_id"]), str(sess.get("date")), int(meta["start_ts_ns"]))
    if len(set(starts.values())) != 1:
        raise DataError(source, f"--after-prefix: the generated folders start from different prefixes: {starts}")
    instrument, date, start_ns = next(iter(starts.values()))
    for name, ev in split_streams(real_events):
        if int(ev.instrument_id[0]) != instrument or not (ev.ts_recv[0] < start_ns <= ev.ts_recv[-1]):
            continue
        n = int((ev.ts_recv < start_ns).sum())
        return [stream_series(ev[n:], ev[:n], config, f"{name} after prefix")]
    raise DataError(source, f"--after-prefix: no real session of instrument {instrument} spans the rollout start "
                            f"({date}, {start_ns} ns)")


__all__ = ["evaluate_folders"]
