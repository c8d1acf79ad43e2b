# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""``tradefm evaluate``: real vs generated order flow — distances, noise floor, stylized facts, report.

    tradefm evaluate --real data/ES/*.mbo.csv.zst --generated TradeFM=out/tfm --generated Hawkes=out/hawkes \\
        --generated ZI=out/zi -o report/

Real files: every (instrument, trading date) session is one stream. Generated folders: the output
of ``tradefm generate -o DIR`` (one event file per rollout + ``meta.json``); the conditioning
prefix named in ``meta.json`` is rebuilt (from its data files, else from the ``--real`` files) to seed
each rollout's book. Writes ``metrics.json``, ``report.md``, ``report.html`` and PNG plots into the
output folder (see ``modeling_tradefm.evaluation.report``).

``--after-prefix`` compares the rollouts with what really happened *after* their prefix: the real
session the rollouts started from is cut at the rollout start (``start_ts_ns`` in ``meta.json``,
the same for every ``--generated`` folder), its earlier events only seed the book; other real
sessions are left out. Without it every real session is compared whole.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _named_dir(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=DIR, got {text!r}")
    return name, path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="compare generated order flow with real flow (K-S, W1, stylized facts)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real", nargs="+", required=True, metavar="FILE", help="real event files or globs")
    p.add_argument("--generated", action="append", type=_named_dir, default=[], metavar="NAME=DIR",
                   help="a generated source (repeatable): NAME=folder written by `tradefm generate -o`")
    p.add_argument("-o", "--output", required=True, metavar="REPORT_DIR")
    p.add_argument("--mid", choices=("book", "vwap"), default="book",
                   help="mid price for returns: reconstructed book mid (default) or EW-VWAP")
    p.add_argument("--tick-size", type=float, default=None,
                   help="tick in currency units (default: inferred from the real add prices)")
    p.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples per distance (default 200)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--max-lag", type=int, default=50, help="ACF lags (default 50)")
    p.add_argument("--after-prefix", action="store_true",
                   help="compare with the real continuation of the rollouts' prefix only (see above)")
    p.add_argument("--title", default="TradeFM evaluation")
    p.set_defaults(func=run)


def run(args) -> int:
    names = [n for n, _ in args.generated]
    if len(set(names)) != len(names) or "real" in names:
        raise SystemExit("error: --generated names must be distinct and not 'real'")
    from ..evaluation.series import EvalConfig

    config = EvalConfig(mid=args.mid, n_boot=args.n_boot, seed=args.seed, max_lag=args.max_lag,
                        tick_size=None if args.tick_size is None else int(round(args.tick_size * 1e9)))
    paths = evaluate_folders(args.real, args.generated, args.output, config, after_prefix=args.after_prefix,
                             title=args.title)
    print(f"wrote {paths['metrics']}, {paths['markdown']}, {paths['html']} and {len(paths['plots'])} plots",
          file=sys.stderr)
    return 0


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
    from ..errors import DataError
    from ..evaluation.report import evaluate_streams, write_report
    from ..evaluation.series import EvalConfig, infer_tick_size, load_generated, split_streams, stream_series
    from ..io import read_events

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
    from ..errors import DataError
    from ..evaluation.series import split_streams, stream_series

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


__all__ = ["add_parser", "evaluate_folders", "run"]
