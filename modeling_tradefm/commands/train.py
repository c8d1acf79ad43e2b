# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""``tradefm train [CONFIG.yaml|.json] [FLAGS]``: pre-train or continue training a TradeFM model.

The same command line as the repository's ``run_clm_tradefm.py`` (``tradefm train --help`` lists every
flag), from an installed package; see docs/training.md. Several GPUs or nodes:
``accelerate launch [--config_file ...] -m modeling_tradefm.cli train ...``.
"""

from __future__ import annotations


def add_parser(subparsers) -> None:
    # The flags belong to the training parser (HfArgumentParser over ~150 TrainingArguments fields):
    # this sub-command takes every argument as it is. No argument can hold a NUL character, so
    # prefix_chars="\0" makes argparse treat "--data" or "--help" as plain values for that parser.
    p = subparsers.add_parser("train", help="pre-train or continue training a TradeFM model (run_clm_tradefm.py)",
                              description=__doc__, add_help=False, prefix_chars="\0")
    p.add_argument("argv", nargs="*", help="a config file and/or the flags of run_clm_tradefm.py")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..training import run as run_training

    return run_training(args.argv, prog="tradefm train")


__all__ = ["add_parser", "run"]
