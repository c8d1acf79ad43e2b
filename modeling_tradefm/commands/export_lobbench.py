# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""``tradefm export-lobbench``: write real and generated flow in LOB-Bench's folder layout.

    tradefm export-lobbench --real data/AAPL_*_message_50.csv.zst \\
        --generated TradeFM=out/tfm-0945 --generated TradeFM=out/tfm-1000 \\
        --generated ZI=out/zi-0945 --generated ZI=out/zi-1000 -o lobbench/

Every source is exported in ONE call, against ONE real reference: each source's data_real and
data_cond files are byte-identical. A NAME=DIR folder is a `tradefm generate -o DIR` output (its
meta.json names the prefix, rebuilt from its data files or from --real), or a folder of such
folders (one per rollout start); repeat --generated with the same NAME for several starts. Each
rollout start (real prefix) is one real_id: its real file is what really followed that prefix,
its generated file one rollout from it (the first by file name; --all-rollouts writes every
rollout, repeating the real window per rollout). Every source must cover the same starts.
LOB-Bench's loader reads one generated file per real_id (gen_id_0): with several gen_id files it
loads the last one for all of them.

Windows, measured from each prefix's last record (where the rollout clock starts), the same for
real and generated files: by default the span in TIME of the shortest exported rollout;
--window-seconds S sets that span; --window-rows N instead cuts every file to its first N LOBSTER
message rows (rows, not source events: a trade and its fills are one type-4 row).
{root}/lobbench_export.json records the rule, the span and every file (see
modeling_tradefm.evaluation.lobbench).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    from .evaluate import _named_dir

    p = subparsers.add_parser("export-lobbench", help="export real + generated flow for LOB-Bench",
                              description=__doc__.replace("``", ""),
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real", nargs="+", required=True, metavar="FILE",
                   help="the real session's files (the rollouts' prefixes and what followed them)")
    p.add_argument("--generated", action="append", type=_named_dir, required=True, metavar="NAME=DIR",
                   help="a source's `tradefm generate` folder, or a folder of them (repeatable, also per NAME)")
    p.add_argument("-o", "--output", required=True, metavar="ROOT")
    span = p.add_mutually_exclusive_group()
    span.add_argument("--window-seconds", type=float, default=None, metavar="S",
                      help="window in SECONDS after each start, for real and generated files "
                           "(default: the shortest exported rollout's span)")
    span.add_argument("--window-rows", type=int, default=None, metavar="N",
                      help="window in LOBSTER message ROWS after each start, for real and generated files")
    p.add_argument("--all-rollouts", action="store_true",
                   help="one real_id per rollout (the real window of a start repeated for each of its rollouts: "
                        "copies LOB-Bench takes for independent samples) instead of one per start")
    p.add_argument("--period", default=None, help="PERIOD folder name (default: the date)")
    p.set_defaults(func=run)


def rollout_sets(name: str, folder: str | Path, real_events) -> list:
    """The :class:`~modeling_tradefm.evaluation.lobbench.RolloutSet` of a generate folder, or of each subfolder.

    Raises:
        DataError: not a folder, no generate output in it, or a prefix that cannot be rebuilt.
    """
    from ..errors import DataError
    from ..evaluation.lobbench import RolloutSet
    from ..evaluation.series import load_generated

    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(folder, "not a folder (expected the output folder of `tradefm generate -o DIR`)")
    subs = sorted(p.parent for p in folder.glob("*/meta.json"))
    runs = [folder] if (folder / "meta.json").is_file() or not subs else subs
    out = []
    for run_dir in runs:
        rollouts, prefix, _ = load_generated(run_dir, real_events)
        if prefix is None or not len(prefix):
            raise DataError(run_dir, "cannot rebuild the conditioning prefix (meta.json's data not found, "
                                     "not in --real)")
        out.append(RolloutSet(prefix, rollouts, str(run_dir)))
    return out


def run(args) -> int:
    from ..errors import DataError
    from ..evaluation.lobbench import MANIFEST, export_lobbench
    from ..io import read_events

    real_events = read_events(args.real if len(args.real) > 1 else args.real[0])
    sources: dict[str, list] = {}
    for name, folder in args.generated:
        sources.setdefault(name, []).extend(rollout_sets(name, folder, real_events))
    try:
        manifest = export_lobbench(args.output, sources, real_events, window_seconds=args.window_seconds,
                                   window_rows=args.window_rows, all_rollouts=args.all_rollouts, period=args.period)
    except ValueError as exc:
        raise DataError(", ".join(f for _, f in args.generated), str(exc)) from None
    w = manifest["window"]
    value = f"{w['value']:.3f} s" if w["unit"] == "seconds" else f"{w['value']} rows"
    print(f"real reference: {len(manifest['real'])} window(s) of {value} after each start ({w['chosen']}); "
          f"rows {[r['rows'] for r in manifest['real']]}", file=sys.stderr)
    for name, src in manifest["sources"].items():
        left = f", {len(src['left_out'])} rollout(s) left out (one per start; --all-rollouts)" if src["left_out"] else ""
        print(f"{name}: {len(src['files'])} file(s), rows {[f['rows'] for f in src['files']]}{left} -> "
              f"{src['folder']}", file=sys.stderr)
    print(f"manifest: {Path(args.output) / MANIFEST}", file=sys.stderr)
    return 0


__all__ = ["add_parser", "rollout_sets", "run"]
