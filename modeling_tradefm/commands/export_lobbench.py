# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""``tradefm export-lobbench``: write real and generated flow in LOB-Bench's folder layout.

    tradefm export-lobbench --real data/ES/*.mbo.csv.zst --generated TradeFM=out/tfm --generated Hawkes=out/hk -o lobbench/

For each ``NAME=DIR`` (a ``tradefm generate -o DIR`` folder) the conditioning prefix is rebuilt from
meta.json (or the ``--real`` files), the real continuation is the real session's events after the
prefix (as many as the longest rollout, or ``--real-events``), and everything is written as
``modeling_tradefm.evaluation.lobbench`` documents.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> None:
    from .evaluate import _named_dir

    p = subparsers.add_parser("export-lobbench", help="export real + generated flow for LOB-Bench",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real", nargs="+", required=True, metavar="FILE")
    p.add_argument("--generated", action="append", type=_named_dir, required=True, metavar="NAME=DIR")
    p.add_argument("-o", "--output", required=True, metavar="ROOT")
    p.add_argument("--real-events", type=int, default=None, help="events of the real continuation")
    p.add_argument("--period", default=None, help="PERIOD folder name (default: the date)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import DataError
    from ..evaluation.lobbench import export_lobbench
    from ..evaluation.series import load_generated
    from ..io import read_events

    real_events = read_events(args.real if len(args.real) > 1 else args.real[0])
    for name, folder in args.generated:
        rollouts, prefix, meta = load_generated(folder, real_events)
        if prefix is None:
            raise DataError(folder, "cannot rebuild the conditioning prefix (meta.json data not found, not in --real)")
        same = real_events[(real_events.instrument_id == prefix.instrument_id[0])
                           & (real_events.ts_recv >= prefix.ts_recv[-1])]
        n = args.real_events or max(len(ev) for _, ev in rollouts)
        cont = _after_prefix(same, prefix)[:n]
        out = export_lobbench(args.output, name, prefix, cont, [ev for _, ev in rollouts], period=args.period)
        print(f"{name}: {len(rollouts)} rollout(s) → {out}", file=sys.stderr)
    return 0


def _after_prefix(candidates, prefix):
    """Rows of ``candidates`` after the prefix's last record (ties at its timestamp resolved by count)."""
    import numpy as np

    last = int(prefix.ts_recv[-1])
    ties_in_prefix = int((prefix.ts_recv == last).sum())
    at_last = np.flatnonzero(candidates.ts_recv == last)
    later = np.flatnonzero(candidates.ts_recv > last)
    keep = np.concatenate([at_last[ties_in_prefix:], later])
    return candidates[keep]


__all__ = ["add_parser", "run"]
