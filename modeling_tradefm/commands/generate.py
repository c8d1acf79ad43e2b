# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""``tradefm generate``: closed-loop rollouts from a real prefix, one output file per rollout.

    tradefm generate --model CKPT --data FILE --start HH:MM:SS --events N --rollouts K --seed S -o DIR
                     [--format mbo|lobster] [--tz ZONE] [--sessions utc|cme]
                     [--inject HH:MM:SS,SIDE,SIZE[,PRICE]] ...

The prefix is the events of the data's FIRST session (first instrument/date, as ``split_sessions``
orders them; ``--sessions cme`` uses CME trade dates) before the start time. ``--start`` is a
wall-clock time in ``--tz`` (default UTC; use e.g. ``America/New_York`` for LOBSTER/Nasdaq,
``America/Chicago`` for CME): the first occurrence of that time at or after the session's first
event. The simulators start from a replay of the prefix; the model conditions on its tokens.

``--model`` is a TradeFM checkpoint or a fitted baseline folder (``registry.load_proposer``).

Outputs in DIR:
    ``--format mbo`` (default): ``rollout_000.mbo.csv.zst``, ... (Databento integer CSV)
    ``--format lobster``: ``rollout_000/{SYM}_{DATE}_{T0}_{T1}_message_{L}.csv`` and
        ``..._orderbook_{L}.csv`` (T0/T1: ms after midnight New York time, LOBSTER's naming) per
        rollout, the orderbook rows starting from the simulated book at the start.
    ``meta.json``: the run's arguments, the prefix, and per rollout its file(s), event counts by
        action, void counts by reason and the number of injected orders.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from ..prefix import clock_to_ns, select_prefix
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
    p.add_argument("--model", required=True, help="TradeFM checkpoint folder or fitted baseline folder")
    p.add_argument("--data", required=True, nargs="+", help="event file(s) / glob; the first session is used")
    p.add_argument("--start", required=True, type=parse_clock, help="rollout start HH:MM:SS in --tz")
    p.add_argument("--tz", default="UTC", help="time zone of --start and --inject times (default UTC)")
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
    g.add_argument("--temperature", type=float, default=sampling.temperature,
                   help=f"default {sampling.temperature}; 0 = greedy")
    g.add_argument("--top-k", type=int, default=sampling.top_k, help=f"default {sampling.top_k} (off)")
    g.add_argument("--top-p", type=float, default=sampling.top_p, help=f"default {sampling.top_p} (off)")
    g.add_argument("--repetition-penalty", type=float, default=sampling.repetition_penalty,
                   help=f"default {sampling.repetition_penalty} (the paper's)")
    g.add_argument("--tier", type=int, default=None,
                   help="TradeFM: pin the liquidity tier (0..2) of the context; default: the features' tier of "
                        "the prefix, which for a prefix shorter than a day comes from a partial day's volume")
    g.add_argument("--no-cache", action="store_true", help="disable the KV cache (slow; for checks)")
    g.add_argument("--device", default=None, help="torch device, e.g. cuda (default cpu)")
    g.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's). Decoding a small model multiplies tiny matrices, "
                        "where one thread is fastest: 1 gave 6.5x the events/s of 2 on a busy 2-core machine")
    p.set_defaults(func=run)


def _feature_config(args):
    from ..features import FeatureConfig

    return FeatureConfig.cme() if args.sessions == "cme" else FeatureConfig()


def _proposer_kwargs(args, path: Path) -> dict:
    if (path / "config.json").is_file() and not (path / "baseline.json").is_file():
        kw = dict(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                  repetition_penalty=args.repetition_penalty, use_cache=not args.no_cache,
                  feature_config=_feature_config(args), tier=args.tier)
        if args.device:
            kw["device"] = args.device
        return kw
    return {}


def run(args) -> int:
    import numpy as np

    from ..generation_tradefm import InjectedOrder, rollout
    from ..io import read_events
    from ..registry import load_proposer

    if args.events < 0 or args.rollouts < 1:
        raise SystemExit("error: --events must be >= 0 and --rollouts >= 1")
    try:
        ZoneInfo(args.tz)
    except Exception:
        raise SystemExit(f"error: unknown time zone {args.tz!r}") from None
    source = ", ".join(args.data)
    events = read_events(args.data if len(args.data) > 1 else args.data[0])
    session, prefix, start_ns = select_prefix(events, args.start, args.tz, source, _feature_config(args))
    inject = []
    for clock, side, size, price in args.inject:
        ts = clock_to_ns(clock, int(prefix.ts_recv[0]), args.tz)
        inject.append(InjectedOrder(ts, side, size, None if price is None else int(round(price * 1e9))))

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    model_path = Path(args.model)
    proposer = load_proposer(model_path, **_proposer_kwargs(args, model_path))
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    batch = args.batch_size or args.rollouts
    meta_rollouts = []
    print(f"prefix: {session.symbol} {session.date}, {len(prefix)} events before {args.start} {args.tz}; "
          f"{args.rollouts} rollout(s) x {args.events} events with {getattr(proposer, 'name', 'proposer')}",
          file=sys.stderr)
    for lo in range(0, args.rollouts, batch):
        ids = list(range(lo, min(args.rollouts, lo + batch)))
        results = rollout(proposer, prefix, args.events, seed=args.seed, inject=inject or None,
                          rollout_ids=ids, progress=True,
                          simulator_kwargs={"cancel_priority": args.cancel_rule})
        for rid, res in zip(ids, results):
            files = _write(res, out, rid, args, session, prefix)
            counts = res.events.action_counts()
            meta_rollouts.append({
                "rollout": rid, "files": files, "events": len(res.events), "actions": counts,
                "void_counts": res.void_counts, "injected": res.meta.get("injected", 0),
                "end_ts_ns": res.meta.get("end_ts_ns"),
            })
    meta = {
        "command": "generate",
        "model": str(model_path),
        "proposer": getattr(proposer, "name", type(proposer).__name__),
        "data": list(args.data),
        "session": {"instrument_id": int(session.instrument_id), "symbol": session.symbol, "date": session.date},
        "start": args.start.isoformat(), "tz": args.tz, "sessions": args.sessions, "start_ts_ns": int(start_ns),
        "prefix_events": len(prefix), "prefix_last_ts_ns": int(prefix.ts_recv[-1]),
        "events_per_rollout": args.events, "rollouts": args.rollouts, "seed": args.seed, "format": args.format,
        "cancel_rule": args.cancel_rule,
        "sampling": {"temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p,
                     "repetition_penalty": args.repetition_penalty, "use_cache": not args.no_cache,
                     "tier": args.tier},
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
    print(f"wrote {args.rollouts} rollout(s) to {out}", file=sys.stderr)
    return 0


def _lobster_ms(ts_ns: int) -> int:
    t = dt.datetime.fromtimestamp(ts_ns / 1e9, tz=dt.timezone.utc).astimezone(ZoneInfo("America/New_York"))
    return int((t.hour * 3600 + t.minute * 60 + t.second) * 1000 + t.microsecond // 1000)


def _write(res, out: Path, rid: int, args, session, prefix) -> list[str]:
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
    # written after the prefix: its orders are known to the messages, and the orderbook starts from
    # the book at the rollout start (the prefix replay), not from an empty book
    write_lobster(res.events, msg, book_path, levels=args.levels, date=date, initial=prefix)
    return [str(msg.relative_to(out)), str(book_path.relative_to(out))]


def _ny_date(ts_ns: int) -> str:
    t = dt.datetime.fromtimestamp(ts_ns / 1e9, tz=dt.timezone.utc).astimezone(ZoneInfo("America/New_York"))
    return t.date().isoformat()


__all__ = ["add_parser", "parse_clock", "parse_injection", "run"]
