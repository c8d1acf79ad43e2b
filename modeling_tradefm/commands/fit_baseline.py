# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""``tradefm fit-baseline {hawkes,zi} --data GLOB -o DIR``: fit a classical baseline on real data.

Writes ``DIR/baseline.json`` (JSON only), which ``tradefm generate --model DIR`` runs through the same
simulator as a TradeFM checkpoint, and prints the fitted summary (Hawkes: dimension, spectral radius
= branching ratio, log-likelihood, AIC, convergence; ZI: rates, window, market-order share).
``--until HH:MM:SS`` fits on the first session's events before that time only: the prefix that
``tradefm generate --start HH:MM:SS`` cuts from the same files (same rule, same ``--tz`` default:
New York time for LOBSTER files, else UTC), so the baseline sees exactly what the rollouts start
from and nothing after. ``--push-to-hub org/name`` also uploads it (``baseline.json`` and a ``README.md`` card) to that Hub
repo, which ``tradefm generate --model org/name`` and ``load_proposer("org/name")`` then load.
"""

from __future__ import annotations

import json
import time
from zoneinfo import ZoneInfo


def run(args) -> int:
    from ..baselines import fit_hawkes, fit_zi
    from ..errors import DataError
    from ..io import expand_paths, read_events

    files = [str(p) for p in expand_paths(args.data)]
    print(f"reading {len(files)} file(s)", flush=True)
    if args.until is None:
        events = read_events(files, progress=not args.quiet)
        print(f"{len(events)} events read; fitting {args.kind}", flush=True)
    else:
        from ..prefix import default_zone, load_prefix

        tz = args.tz or default_zone(files)
        try:
            ZoneInfo(tz)
        except Exception:
            raise SystemExit(f"error: unknown time zone {tz!r}") from None
        pre = load_prefix(files if len(files) > 1 else files[0], args.until, tz)
        events = pre.events
        print(f"{len(events)} events of {pre.session.symbol} {pre.session.date} before {args.until} {tz}; "
              f"fitting {args.kind}", flush=True)
    t0 = time.perf_counter()
    common = dict(modify=args.modify, session_gap_s=args.session_gap, files=files, progress=not args.quiet)
    try:
        if args.kind == "hawkes":
            model = fit_hawkes(events, decay=args.decay, max_spectral_radius=args.max_spectral_radius,
                               maxiter=args.maxiter, **common)
        else:
            model = fit_zi(events, window_quantile=args.window_quantile, **common)
    except ValueError as exc:  # e.g. a snapshot-only file: nothing to fit
        raise DataError(files[0] if len(files) == 1 else " ".join(args.data), f"cannot fit {args.kind}: {exc}") from None
    model.save_pretrained(args.output)
    s = model.summary()
    print(f"fitted in {time.perf_counter() - t0:.1f} s → {args.output}/baseline.json")
    if args.kind == "hawkes":
        print(f"dimension {s['dimension']}  spectral radius {s['spectral_radius']:.4f}  "
              f"log-likelihood {s['log_likelihood']:.6g}  AIC {s['aic']:.6g}  parameters {s['n_parameters']}  "
              f"converged {s['converged']} ({s['iterations']} iterations)"
              + ("  [stationarity enforced]" if s["stationarity_enforced"] else ""))
    print(json.dumps({"summary": s, "fitted_on": model.fitted_on}, indent=1))
    if args.push_to_hub:
        from huggingface_hub.errors import HfHubHTTPError

        try:
            commit = model.push_to_hub(args.push_to_hub)
        except (HfHubHTTPError, OSError) as exc:  # OSError: offline mode, no connection
            raise DataError(args.push_to_hub, f"not pushed to the Hub ({str(exc).splitlines()[0]}); the baseline "
                                              f"is saved in {args.output}") from None
        print(f"pushed to {getattr(commit, 'commit_url', None) or args.push_to_hub}")
    return 0


def add_parser(subparsers) -> None:
    from .generate import parse_clock

    p = subparsers.add_parser("fit-baseline", help="fit a Compound Hawkes or zero-intelligence baseline",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("kind", choices=["hawkes", "zi"])
    p.add_argument("--data", nargs="+", required=True, help="input files or glob patterns (MBO/LOBSTER)")
    p.add_argument("-o", "--output", required=True, help="output folder (baseline.json)")
    p.add_argument("--until", type=parse_clock, default=None, metavar="HH:MM:SS",
                   help="fit on the first session's events before this time only (the prefix generate --start "
                        "cuts)")
    p.add_argument("--tz", default=None,
                   help="time zone of --until (default: America/New_York for LOBSTER files, LOBSTER's own "
                        "clock; UTC for Databento files)")
    p.add_argument("--decay", default="per_source", choices=["per_source", "shared", "per_pair"],
                   help="Hawkes: how exponential decays are tied (default per_source)")
    p.add_argument("--max-spectral-radius", type=float, default=0.99, help="Hawkes: stationarity cap (default 0.99)")
    p.add_argument("--maxiter", type=int, default=5000,
                   help="Hawkes: L-BFGS-B iteration cap (default 5000; the AAPL opening converges in ~2,200)")
    p.add_argument("--window-quantile", type=float, default=0.95,
                   help="ZI: quantile of |price − mid| (ticks) that sets the placement window (default 0.95)")
    p.add_argument("--modify", default="split", choices=["split", "skip"], help="how M records count (default split)")
    p.add_argument("--session-gap", type=float, default=1800.0,
                   help="seconds of silence that start a new session (default 1800)")
    p.add_argument("--push-to-hub", metavar="REPO", default=None,
                   help="also upload the fitted baseline to this Hub repo (org/name; created if missing)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


__all__ = ["add_parser", "run"]
