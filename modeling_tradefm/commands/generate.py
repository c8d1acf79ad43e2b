# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""``tradefm generate``: closed-loop rollouts from a real prefix, one output file per rollout.

    tradefm generate --model CKPT --data FILE --start HH:MM:SS --events N --rollouts K --seed S -o DIR
                     [--format mbo|lobster] [--tz ZONE] [--sessions utc|cme]
                     [--inject HH:MM:SS,SIDE,SIZE[,PRICE]] ...

The prefix is the events of the data's FIRST session (first instrument/date, as ``split_sessions``
orders them; ``--sessions cme`` uses CME trade dates) before the start time. ``--start`` is a
wall-clock time in ``--tz``; without ``--tz``, LOBSTER files are read on New York time (LOBSTER's
own clock: ``--start 11:00:00`` is 11:00 in New York) and Databento files on UTC (use e.g.
``--tz America/Chicago`` for CME's local time). The start is the first occurrence of that time at
or after the session's first event, and must lie inside the session: a start before its first
event or after its last is an error naming both times. ``--inject`` times are read in the same
zone, from the same first event; an injected order timed before the start is due at the first
step. The model conditions on the prefix's tokens. The simulators start from the book at the
start (``book.starting_book``): the replay of the prefix, and for a LOBSTER message file with its
orderbook file beside it (same stem, ``_orderbook_N``) the venue's visible levels at the start
adopted into it (the rule in ``simulator.py``), so the first generated order meets the real book.

TradeFM's liquidity tier comes from the features' estimator (the prefix's volume scaled to a full
session with the intraday volume profile, ``features.estimate_session_volume``); ``--adv`` gives the
instrument's average daily volume instead, ``--tier`` pins the tier.

``--model`` is a TradeFM checkpoint or a fitted baseline, a folder or a Hub repo id (``org/name``,
``--revision``; offline, from the local cache), loaded by ``registry.load_proposer``. A
checkpoint samples with the settings of its ``generation_config.json``; a sampling flag given on
the command line overrides that setting (precedence: flag > ``generation_config.json`` >
``SamplingConfig`` defaults), and ``meta.json`` records the settings used.

Outputs in DIR:
    ``--format mbo`` (default): ``rollout_000.mbo.csv.zst``, ... (Databento integer CSV)
    ``--format lobster``: ``rollout_000/{SYM}_{DATE}_{T0}_{T1}_message_{L}.csv`` and
        ``..._orderbook_{L}.csv`` (T0/T1: ms after midnight New York time, LOBSTER's naming) per
        rollout, the orderbook rows starting from the simulated book at the start.
    ``meta.json``: the run's arguments, the prefix, the starting book (``start_book``: ``source``
        ``"orderbook"`` with the file and row, or ``"replay"``), and per rollout its file(s), event
        counts by action, void counts by reason, the number of injected orders and ``span_s``, the
        simulated seconds it covers after the start (printed as a range at the end).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from ..prefix import clock_to_ns, default_zone, load_prefix
from ..prefix import parse_clock as _parse_clock


def parse_clock(text: str) -> dt.time:
    """``--start`` / ``--inject`` time: :func:`modeling_tradefm.prefix.parse_clock` as an argparse type.

    argparse prints an ``ArgumentTypeError``'s own message but replaces a ``ValueError``'s with a
    generic "invalid value", so the library's message is re-raised as the former.
    """
    try:
        return _parse_clock(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_injection(text: str):
    """``HH:MM:SS,SIDE,SIZE[,PRICE]`` → (clock, side, size, price or None); PRICE in currency units."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (3, 4):
        raise argparse.ArgumentTypeError(f"--inject expects HH:MM:SS,SIDE,SIZE[,PRICE], got {text!r}")
    clock = parse_clock(parts[0])
    side = parts[1]
    if side.lower() not in ("b", "buy", "bid", "a", "s", "sell", "ask"):
        raise argparse.ArgumentTypeError(f"--inject side must be buy or sell, got {side!r}")
    try:
        size = int(parts[2])
        price = None if len(parts) == 3 or parts[3].lower() in ("", "market", "mkt") else float(parts[3])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--inject {text!r}: {exc}") from None
    if size <= 0 or (price is not None and price <= 0):
        raise argparse.ArgumentTypeError(f"--inject {text!r}: size and price must be > 0")
    return clock, side, size, price


def add_parser(subparsers) -> None:
    from ..sampling import SamplingConfig

    p = subparsers.add_parser(
        "generate",
        help="closed-loop rollouts of a model or baseline from a real prefix",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", required=True,
                   help="TradeFM checkpoint or fitted baseline: a folder or a Hub repo id (org/name)")
    p.add_argument("--revision", default=None, help="Hub branch, tag or commit of a --model repo id (default main)")
    p.add_argument("--data", required=True, nargs="+", help="event file(s) / glob; the first session is used")
    p.add_argument("--start", required=True, type=parse_clock,
                   help="rollout start HH:MM:SS in --tz, inside the session's first and last event")
    p.add_argument("--tz", default=None,
                   help="time zone of --start and --inject times (default: America/New_York for LOBSTER files, "
                        "LOBSTER's own clock; UTC for Databento files)")
    p.add_argument("--sessions", choices=("utc", "cme"), default="utc",
                   help="trading-date rule of the sessions: UTC calendar date (default) or CME Globex trade dates "
                        "(America/Chicago, roll at 16:00); also used to featurise the prefix for TradeFM")
    p.add_argument("--events", type=int, default=1024, help="events (steps) per rollout (default 1024)")
    p.add_argument("--rollouts", type=int, default=1, help="number of rollouts (default 1)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="rollouts per batch (default all); results do not depend on it")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--format", choices=("mbo", "lobster"), default="mbo")
    p.add_argument("--cancel-rule", choices=("newest", "oldest", "size", "fit"), default="newest",
                   help="which resting order an id-less generated cancel removes (simulator.py; default newest)")
    p.add_argument("--levels", type=int, default=10, help="LOBSTER orderbook levels (default 10)")
    p.add_argument("--inject", action="append", type=parse_injection, default=[], metavar="HH:MM:SS,SIDE,SIZE[,PRICE]",
                   help="inject an order into every rollout (repeatable); PRICE in currency units, omitted = market")
    sampling = SamplingConfig()
    g = p.add_argument_group("sampling (TradeFM checkpoints)")
    p.set_defaults(sampling_flags=())
    g.add_argument("--temperature", type=float, default=sampling.temperature, action=_SamplingFlag,
                   help=f"default: the checkpoint's generation_config.json, else {sampling.temperature}; 0 = greedy")
    g.add_argument("--top-k", type=int, default=sampling.top_k, action=_SamplingFlag,
                   help=f"default: the checkpoint's, else {sampling.top_k} (off)")
    g.add_argument("--top-p", type=float, default=sampling.top_p, action=_SamplingFlag,
                   help=f"default: the checkpoint's, else {sampling.top_p} (off)")
    g.add_argument("--repetition-penalty", type=float, default=sampling.repetition_penalty, action=_SamplingFlag,
                   help=f"default: the checkpoint's, else {sampling.repetition_penalty} (the paper's)")
    g.add_argument("--tier", type=int, default=None,
                   help="TradeFM: pin the liquidity tier (0..2) of the context; default: the tier of the "
                        "prefix's estimated daily volume (see --adv)")
    g.add_argument("--adv", type=float, default=None,
                   help="TradeFM: the instrument's average daily volume (shares/contracts), giving the tier "
                        "through the checkpoint's tier cuts; default: estimated from the prefix (its volume "
                        "scaled to a full session by the intraday volume profile)")
    g.add_argument("--no-cache", action="store_true", help="disable the KV cache (slow; for checks)")
    g.add_argument("--device", default=None, help="torch device, e.g. cuda (default cpu)")
    g.add_argument("--threads", type=_positive_int, default=None,
                   help="torch CPU threads while decoding (default: 1 for a checkpoint of at most 50M parameters "
                        "on CPU, such as the demo's, else torch's setting). A small model multiplies tiny "
                        "matrices, where one thread is fastest: 4.5-50x the events/s of two threads on a busy "
                        "2-core machine (benchmarks/bench_threads.py, docs/generation.md)")
    p.set_defaults(func=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _feature_config(args):
    from ..features import FeatureConfig

    return FeatureConfig.cme() if args.sessions == "cme" else FeatureConfig()


class _SamplingFlag(argparse.Action):
    """Stores a sampling flag's value and records that it was given (``args.sampling_flags``).

    The parser's defaults are ``SamplingConfig``'s, shown in the help; only a flag given on the
    command line overrides the checkpoint's ``generation_config.json``.
    """

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.sampling_flags = (*getattr(namespace, "sampling_flags", ()), self.dest)


def _proposer_kwargs(args, path: Path, start) -> dict:
    if (path / "config.json").is_file() and not (path / "baseline.json").is_file():
        kw = {name: getattr(args, name) for name in args.sampling_flags}
        # a book-aware checkpoint reads the prefix's book context from the venue's orderbook, as in training
        kw.update(use_cache=not args.no_cache, feature_config=_feature_config(args), tier=args.tier, adv=args.adv,
                  prefix_orderbook=start.orderbook, threads=args.threads)
        if args.device:
            kw["device"] = args.device
        return kw
    return {}


def run(args) -> int:
    import numpy as np

    from ..generation_tradefm import InjectedOrder, rollout
    from ..hub import resolve_folder
    from ..registry import load_proposer

    if args.events < 0 or args.rollouts < 1:
        raise SystemExit("error: --events must be >= 0 and --rollouts >= 1")
    try:
        ZoneInfo(args.tz or "UTC")
    except Exception:
        raise SystemExit(f"error: unknown time zone {args.tz!r}") from None
    # before reading the data: a mistyped --model fails at once
    from_hub = not Path(args.model).exists()
    model_path = resolve_folder(args.model, revision=args.revision)
    source = ", ".join(args.data)
    args.tz = args.tz or default_zone(args.data)  # LOBSTER: New York time; meta.json records the zone used
    start = load_prefix(args.data if len(args.data) > 1 else args.data[0], args.start, args.tz,
                        _feature_config(args), source=source)
    session, prefix, start_ns = start.session, start.events, start.start_ns
    start_book = start.starting_book(cancel_priority=args.cancel_rule)
    inject = []
    for clock, side, size, price in args.inject:
        ts = clock_to_ns(clock, int(prefix.ts_recv[0]), args.tz)
        inject.append(InjectedOrder(ts, side, size, None if price is None else int(round(price * 1e9))))

    proposer = load_proposer(model_path, **_proposer_kwargs(args, model_path, start))
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    batch = args.batch_size or args.rollouts
    meta_rollouts = []
    print(f"prefix: {session.symbol} {session.date}, {len(prefix)} events before {args.start} {args.tz}; "
          f"{args.rollouts} rollout(s) x {args.events} events with {getattr(proposer, 'name', 'proposer')}",
          file=sys.stderr)
    print(f"starting book: {_describe_book(start_book, start)}", file=sys.stderr)
    for lo in range(0, args.rollouts, batch):
        ids = list(range(lo, min(args.rollouts, lo + batch)))
        results = rollout(proposer, prefix, args.events, seed=args.seed, inject=inject or None,
                          rollout_ids=ids, progress=True, books=[start_book.copy() for _ in ids])
        for rid, res in zip(ids, results, strict=True):
            files = _write(res, out, rid, args, session, prefix, start_book)
            counts = res.events.action_counts()
            meta_rollouts.append({
                "rollout": rid, "files": files, "events": len(res.events), "actions": counts,
                "void_counts": res.void_counts, "injected": res.meta.get("injected", 0),
                "end_ts_ns": res.meta.get("end_ts_ns"),
                # simulated time the rollout covers after the start (what --inject times must fall in)
                "span_s": None if res.meta.get("end_ts_ns") is None else (int(res.meta["end_ts_ns"]) - start_ns) / 1e9,
            })
    meta = {
        "command": "generate",
        "model": args.model,
        # a Hub repo id resolves to <cache>/snapshots/<commit>: the commit pins what was run
        "model_commit": model_path.name if from_hub else None,
        "proposer": getattr(proposer, "name", type(proposer).__name__),
        "data": list(args.data),
        "session": {"instrument_id": int(session.instrument_id), "symbol": session.symbol, "date": session.date},
        "start": args.start.isoformat(), "tz": args.tz, "sessions": args.sessions, "start_ts_ns": int(start_ns),
        "prefix_events": len(prefix), "prefix_last_ts_ns": int(prefix.ts_recv[-1]),
        "start_book": start.describe(),
        "events_per_rollout": args.events, "rollouts": args.rollouts, "seed": args.seed, "format": args.format,
        "cancel_rule": args.cancel_rule,
        "sampling": _sampling_meta(proposer, args),
        "context": getattr(proposer, "context_info", None),
        # torch CPU threads the decoding ran with (None: torch's setting, or a baseline without torch)
        "threads": getattr(proposer, "threads_used", None),
        "inject": [{"ts_ns": o.ts_ns, "side": chr(o.side), "size": o.size, "price": o.price} for o in inject],
        "results": meta_rollouts,
        "void_total": int(np.sum([sum(r["void_counts"].values()) for r in meta_rollouts])),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    if inject:
        short = [r["rollout"] for r in meta_rollouts if r["injected"] < len(inject)]
        if short:
            print(f"warning: {len(short)} rollout(s) ended before all {len(inject)} injection(s) were due "
                  f"(e.g. rollout {short[0]}: {meta_rollouts[short[0]]['injected']} injected); "
                  "use more --events or earlier times", file=sys.stderr)
    spans = [r["span_s"] for r in meta_rollouts if r["span_s"] is not None]
    if spans:
        print(f"the rollouts cover {min(spans) / 60:.1f}-{max(spans) / 60:.1f} min after the start "
              f"(mean {np.mean(spans) / 60:.1f}; meta.json: results[].span_s)", file=sys.stderr)
    print(f"wrote {args.rollouts} rollout(s) to {out}", file=sys.stderr)
    return 0


def _sampling_meta(proposer, args) -> dict | None:
    """The sampling settings the rollouts used (flags over the checkpoint's), None for a baseline."""
    import dataclasses

    sampling = getattr(proposer, "sampling", None)
    if sampling is None:
        return None
    return {**dataclasses.asdict(sampling), "use_cache": not args.no_cache, "tier": args.tier, "adv": args.adv}


def _lobster_ms(ts_ns: int) -> int:
    t = dt.datetime.fromtimestamp(ts_ns / 1e9, tz=dt.UTC).astimezone(ZoneInfo("America/New_York"))
    return int((t.hour * 3600 + t.minute * 60 + t.second) * 1000 + t.microsecond // 1000)


def _describe_book(book, start) -> str:
    """One line on the starting book: where its visible levels come from and its best quotes."""
    bid, ask = book.best_bid(), book.best_ask()
    quotes = (f"bid {bid / 1e9 if bid is not None else None} x {book.level_size('B', bid) if bid else 0}, "
              f"ask {ask / 1e9 if ask is not None else None} x {book.level_size('A', ask) if ask else 0}")
    if start.orderbook is None:
        return f"replay of the prefix ({quotes})"
    return (f"the prefix's replay with the venue's visible levels adopted from {start.orderbook_path} "
            f"row {start.orderbook_row + 1} ({quotes})")


def _write(res, out: Path, rid: int, args, session, prefix, start_book) -> list[str]:
    from ..io import write_mbo_csv

    if args.format == "mbo":
        path = out / f"rollout_{rid:03d}.mbo.csv.zst"
        write_mbo_csv(res.events, path)
        return [path.name]
    from ..io.lobster import write_lobster

    folder = out / f"rollout_{rid:03d}"
    folder.mkdir(exist_ok=True)
    sym = re.sub(r"[^A-Za-z0-9.]", "", session.symbol) or str(session.instrument_id)
    t0 = _lobster_ms(int(prefix.ts_recv[-1]))
    t1 = _lobster_ms(int(res.events.ts_recv[-1])) if len(res.events) else t0
    date = _ny_date(int(prefix.ts_recv[-1]))
    stem = f"{sym}_{date}_{t0}_{max(t1, t0)}"
    msg = folder / f"{stem}_message_{args.levels}.csv"
    book_path = folder / f"{stem}_orderbook_{args.levels}.csv"
    # written after the starting book: its orders are known to the messages, and the orderbook starts
    # from the book at the rollout start, not from an empty book
    write_lobster(res.events, msg, book_path, levels=args.levels, date=date, initial=start_book)
    return [str(msg.relative_to(out)), str(book_path.relative_to(out))]


def _ny_date(ts_ns: int) -> str:
    t = dt.datetime.fromtimestamp(ts_ns / 1e9, tz=dt.UTC).astimezone(ZoneInfo("America/New_York"))
    return t.date().isoformat()


__all__ = ["add_parser", "parse_clock", "parse_injection", "run"]
