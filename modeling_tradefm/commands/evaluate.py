# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""``tradefm evaluate``: real vs generated order flow — distances, noise floor, stylized facts, report.

    tradefm evaluate --real data/ES/*.mbo.csv.zst --generated TradeFM=out/tfm --generated Hawkes=out/hawkes \\
        --generated ZI=out/zi -o report/

Real files: every (instrument, trading date) session is one stream. Generated folders: the output
of ``tradefm generate -o DIR`` (one event file per rollout + ``meta.json``); the conditioning
prefix named in ``meta.json`` is rebuilt (from its data files, else from the ``--real`` files) to seed
each rollout's book. Writes ``metrics.json``, ``report.md``, ``report.html`` and PNG plots into the
output folder (see ``modeling_tradefm.evaluation.report``).
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
    p.add_argument("--title", default="TradeFM evaluation")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import DataError
    from ..evaluation.report import evaluate_streams, write_report
    from ..evaluation.series import (
        EvalConfig,
        infer_tick_size,
        load_generated,
        split_streams,
        stream_series,
    )
    from ..io import read_events

    names = [n for n, _ in args.generated]
    if len(set(names)) != len(names) or "real" in names:
        raise SystemExit("error: --generated names must be distinct and not 'real'")
    config = EvalConfig(mid=args.mid, n_boot=args.n_boot, seed=args.seed, max_lag=args.max_lag,
                        tick_size=None if args.tick_size is None else int(round(args.tick_size * 1e9)))
    real_events = read_events(args.real if len(args.real) > 1 else args.real[0])
    if not len(real_events):
        raise DataError(", ".join(args.real), "no events in the real data")
    tick = config.tick_size or infer_tick_size(real_events)
    real = [stream_series(ev, None, config, name) for name, ev in split_streams(real_events)]
    print(f"real: {len(real)} stream(s), {len(real_events)} events, tick {tick / 1e9 if tick else None}",
          file=sys.stderr)
    generated = {}
    for name, folder in args.generated:
        rollouts, prefix, meta = load_generated(folder, real_events)
        if prefix is None:
            print(f"warning: {name}: conditioning prefix not found; using the EW-VWAP mid and no spreads",
                  file=sys.stderr)
        generated[name] = [stream_series(ev, prefix, config, f"{name}/{rname}", has_book=prefix is not None)
                           for rname, ev in rollouts if len(ev)]
        if not generated[name]:
            raise DataError(folder, "every rollout file is empty")
        print(f"{name}: {len(generated[name])} rollout(s), prefix {len(prefix) if prefix is not None else 0} events",
              file=sys.stderr)
    metrics, quantities = evaluate_streams(real, generated, config, tick)
    paths = write_report(Path(args.output), metrics, quantities, config, title=args.title)
    print(f"wrote {paths['metrics']}, {paths['markdown']}, {paths['html']} and {len(paths['plots'])} plots",
          file=sys.stderr)
    return 0


__all__ = ["add_parser", "run"]
