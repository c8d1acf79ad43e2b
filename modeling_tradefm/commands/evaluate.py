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
    from ..evaluation.folders import evaluate_folders
    from ..evaluation.series import EvalConfig

    config = EvalConfig(mid=args.mid, n_boot=args.n_boot, seed=args.seed, max_lag=args.max_lag,
                        tick_size=None if args.tick_size is None else int(round(args.tick_size * 1e9)))
    paths = evaluate_folders(args.real, args.generated, args.output, config, after_prefix=args.after_prefix,
                             title=args.title)
    print(f"wrote {paths['metrics']}, {paths['markdown']}, {paths['html']} and {len(paths['plots'])} plots",
          file=sys.stderr)
    return 0


__all__ = ["add_parser", "run"]
