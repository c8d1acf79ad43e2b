# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""``tradefm convert IN... --to {mbo-csv,lobster} -o OUT``: convert between data formats.

* ``--to mbo-csv``: all inputs (concatenated in file order) into one Databento integer MBO CSV;
  OUT ends in ``.csv`` or ``.csv.zst``.
* ``--to lobster``: OUT is a directory; one LOBSTER message file per ``(instrument, New York date)``
  named ``{SYMBOL}_{DATE}_{start_ms}_{end_ms}_message_{LEVELS}.csv`` (start/end = first/last
  message in ms after midnight), plus the matching ``_orderbook_{LEVELS}.csv`` unless
  ``--no-orderbook``. The orderbook is the simulator's replay of the messages (a file that starts
  mid-day without a snapshot gives the book of the orders seen, not the venue's full book). The
  files of one instrument continue each other: the book at the end of a date (e.g. a CME snapshot
  stamped the evening before) is where the next date's file starts, and its orders are known to
  that file's messages.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..events import NS_PER_SECOND


def run(args) -> int:
    from ..io import read_events, write_lobster, write_mbo_csv
    from ..io.lobster import NEW_YORK, utc_ns_to_ny_seconds_ns

    events = read_events(args.inputs, progress=False, on_invalid="skip" if args.skip_invalid else "error")
    if args.to == "mbo-csv":
        if not str(args.output).lower().endswith((".csv", ".csv.zst")):
            raise DataError(args.output, "--to mbo-csv writes one file: give -o a name ending in .csv or .csv.zst")
        n = write_mbo_csv(events, args.output)
        print(f"wrote {n:,} events to {args.output}")
        return 0
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    if len(events) == 0:
        print("no events to write")
        return 0
    secs = events.ts_recv // NS_PER_SECOND
    ny_dates = np.array(
        [datetime.fromtimestamp(int(s), tz=NEW_YORK).date().isoformat() for s in np.unique(secs // 3600) * 3600]
    )
    hour_keys = np.unique(secs // 3600)
    date_of = ny_dates[np.searchsorted(hour_keys, secs // 3600)]
    from ..simulator import Simulator

    for iid in np.unique(events.instrument_id):
        book_before = None  # this instrument's book at the end of the previous date
        for date in np.unique(date_of[events.instrument_id == iid]):
            part = events[(events.instrument_id == iid) & (date_of == date)]
            sym = part.symbol_of(int(iid)).replace(" ", "-").replace("/", "-")
            t = utc_ns_to_ny_seconds_ns(str(date), part.ts_recv[[0, -1]]) // 1_000_000
            stem = f"{sym}_{date}_{int(t[0])}_{int(t[1])}"
            msg = out / f"{stem}_message_{args.levels}.csv"
            book = None if args.no_orderbook else out / f"{stem}_orderbook_{args.levels}.csv"
            info = write_lobster(part, msg, book, levels=args.levels, date=str(date), initial=book_before)
            if book_before is None:
                book_before = Simulator(keep_log=False)
            book_before.apply(part)
            print(f"wrote {info['messages']:,} messages to {msg}" + (f" and {book.name}" if book else ""))
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("convert", help="convert data files (to Databento MBO CSV or LOBSTER)", description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+", help="input files or glob patterns")
    p.add_argument("--to", required=True, choices=["mbo-csv", "lobster"], help="output format")
    p.add_argument("-o", "--output", required=True, help="output file (mbo-csv) or directory (lobster)")
    p.add_argument("--levels", type=int, default=10, help="LOBSTER orderbook depth (default 10)")
    p.add_argument("--no-orderbook", action="store_true", help="LOBSTER: write only the message file")
    p.add_argument("--skip-invalid", action="store_true", help="skip and count invalid rows instead of stopping")
    p.set_defaults(func=run)


__all__ = ["add_parser", "run"]
