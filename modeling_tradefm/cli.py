# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The ``tradefm`` console command.

Each sub-command lives in its own module under ``modeling_tradefm/commands/`` and exposes
``add_parser(subparsers)`` (which registers the sub-command and sets ``func`` to a callable
``run(args) -> int``). Data errors end as one ``error: <file>: <problem>`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .commands._argparse import CommandParser
from .errors import DataError

# Order = order in ``tradefm --help``.
COMMANDS = [
    "demo",
    "train",
    "inspect",
    "convert",
    "replay",
    "generate",
    "fit_baseline",
    "evaluate",
    "perplexity",
    "export_lobbench",
]


def build_parser() -> argparse.ArgumentParser:
    """The ``tradefm`` parser with every sub-command of ``COMMANDS``, in that order."""
    parser = CommandParser(
        prog="tradefm",
        description="TradeFM: generative order-flow model, LOB simulator and evaluation on Level-3 (MBO) data.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"modeling_tradefm.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc.filename or exc}: no such file", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
