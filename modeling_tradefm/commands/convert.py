# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""``tradefm convert IN... --to {mbo-csv,lobster} -o OUT``: convert between data formats.

* ``--to mbo-csv``: all inputs (concatenated in file order) into one Databento integer MBO CSV;
  OUT ends in ``.csv`` or ``.csv.zst``.
* ``--to lobster``: OUT is a directory; one LOBSTER message file per session ``(instrument,
  trading date)`` of ``features.split_sessions`` -- the sessions ``tradefm inspect`` reports (UTC
  calendar dates; ``--sessions cme``: CME trade dates, as ``tradefm generate --sessions cme``) --
  named ``{SYMBOL}_{DATE}_{start_ms}_{end_ms}_message_{LEVELS}.csv`` (DATE = the session's date,
  start/end = first/last event in ms after New York midnight of DATE, negative before it: the
  rule is in ``modeling_tradefm.io.lobster``), plus the matching ``_orderbook_{LEVELS}.csv``
  unless ``--no-orderbook``. A snapshot stays in its session's file (its adds are the file's
  first messages), so a file that starts with one replays alone to its orderbook. The orderbook
  is the simulator's replay of the messages (a session that starts mid-day without a snapshot
  gives the book of the orders seen, not the venue's full book). The files of one instrument
  continue each other: a session's messages know the orders resting at the end of the previous
  session, and its orderbook starts from that book.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import DataError


def _file_symbol(symbol: str) -> str:
    """The symbol as a file-name field: no space or path separator."""
    return re.sub(r"[ /]", "-", symbol)


def run(args) -> int:
    from ..io import read_events, write_lobster, write_mbo_csv

    if args.to == "mbo-csv" and not str(args.output).lower().endswith((".csv", ".csv.zst")):
        raise DataError(args.output, "--to mbo-csv writes one file: give -o a name ending in .csv or .csv.zst")
    events = read_events(args.inputs, progress=False, on_invalid="skip" if args.skip_invalid else "error")
    if args.to == "mbo-csv":
        n = write_mbo_csv(events, args.output)
        print(f"wrote {n:,} events to {args.output}")
        return 0
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    if len(events) == 0:
        print("no events to write")
        return 0
    from ..features import FeatureConfig, split_sessions
    from ..io.lobster import utc_ns_to_ny_seconds_ns
    from ..simulator import Simulator

    config = FeatureConfig.cme() if args.sessions == "cme" else FeatureConfig()
    books: dict[int, Simulator] = {}  # per instrument: the book at the end of its previous session
    names: dict[str, int] = {}
    for s in split_sessions(events, config):
        sym = _file_symbol(s.symbol)
        if names.setdefault(sym, s.instrument_id) != s.instrument_id:  # two instruments, one name
            sym = f"{sym}-{s.instrument_id}"
        t = utc_ns_to_ny_seconds_ns(s.date, s.events.ts_recv[[0, -1]]) // 1_000_000
        stem = f"{sym}_{s.date}_{int(t[0])}_{int(t[1])}"
        msg = out / f"{stem}_message_{args.levels}.csv"
        book = None if args.no_orderbook else out / f"{stem}_orderbook_{args.levels}.csv"
        before = books.get(s.instrument_id)
        info = write_lobster(s.events, msg, book, levels=args.levels, date=s.date, initial=before)
        books.setdefault(s.instrument_id, Simulator(keep_log=False)).apply(s.events)
        print(f"wrote {info['messages']:,} messages to {msg}" + (f" and {book.name}" if book else ""))
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("convert", help="convert data files (to Databento MBO CSV or LOBSTER)", description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+", help="input files or glob patterns")
    p.add_argument("--to", required=True, choices=["mbo-csv", "lobster"], help="output format")
    p.add_argument("-o", "--output", required=True, help="output file (mbo-csv) or directory (lobster)")
    p.add_argument("--levels", type=int, default=10, help="LOBSTER orderbook depth (default 10)")
    p.add_argument("--no-orderbook", action="store_true", help="LOBSTER: write only the message file")
    p.add_argument("--sessions", choices=("utc", "cme"), default="utc",
                   help="LOBSTER: one file per session by this trading-date rule: UTC calendar date (default, "
                        "as inspect reports) or CME Globex trade date (America/Chicago, rolling at 16:00)")
    p.add_argument("--skip-invalid", action="store_true", help="skip and count invalid rows instead of stopping")
    p.set_defaults(func=run)


__all__ = ["add_parser", "run"]
