# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""``tradefm demo [-o DIR] [--profile quick|long|gpu | --config FILE] [--stop-after STEP]``: the whole
pipeline on the embedded real samples — ingest, pre-train, adapt, fit baselines, roll out, evaluate, report.

Profiles (``configs/demo/``, shipped with the package): ``quick`` (default; about 8 minutes on 2 CPU
cores), ``long`` (about 25 minutes on 2 CPU cores when it trained one model; it now trains two and has
not been re-timed) and ``gpu``. A ``--config`` file has the same
fields; its relative paths are looked up in the current folder, then among the shipped files.
See ``modeling_tradefm/demo.py`` for the protocol.
"""

from __future__ import annotations

import argparse

from ..demo import STEPS


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("demo", help="run the whole pipeline on the embedded real samples",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", default="demo_out", help="output folder (default demo_out)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--profile", default="quick", help="a shipped profile, configs/demo/<profile>.yaml (default quick)")
    g.add_argument("--config", default=None, help="a demo YAML file instead of a profile")
    p.add_argument("--rollouts", type=int, default=None, help="override: rollouts per generator")
    p.add_argument("--events", type=int, default=None, help="override: events per rollout")
    p.add_argument("--seed", type=int, default=None, help="override: rollout seed")
    p.add_argument("--stop-after", choices=STEPS, default=None, metavar="STEP",
                   help=f"stop after this step ({', '.join(STEPS)}; default: run all)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..demo import DemoConfig, run_demo

    cfg = DemoConfig.load(args.config or args.profile, rollouts=args.rollouts, events=args.events, seed=args.seed)
    run_demo(cfg, args.output, stop_after=args.stop_after)
    return 0


__all__ = ["add_parser", "run"]
