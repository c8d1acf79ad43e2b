# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""``tradefm inspect FILE... [--json] [--skip-invalid]``: what is in a data file.

Per file: records, action counts, sessions ``(instrument, date)`` with event counts and time span,
rows skipped by reason, informational counts (e.g. LOBSTER ``unknown_order_id``). Sessions are
those of ``modeling_tradefm.features.split_sessions`` (its trading-date rule); when the features
module is not installed, a plain UTC-date grouping is used (``utc_sessions``).

``--json`` prints exactly one JSON object::

    {"files": [{"path", "format", "records", "used", "events", "actions": {"A": n, ...},
                "sessions": [{"instrument_id", "symbol", "date", "events", "start", "end"}],
                "skipped": {reason: n}, "info": {name: n}, "start", "end"}]}

``start``/``end`` are ISO-8601 UTC times of the first/last ``ts_recv`` (null when empty).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np

from ..events import NS_PER_SECOND, EventTable


def _iso(ts_ns: int | None) -> str | None:
    if ts_ns is None:
        return None
    secs, ns = divmod(int(ts_ns), NS_PER_SECOND)
    return datetime.fromtimestamp(secs, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{ns:09d}Z"


def utc_sessions(events: EventTable) -> list[tuple[int, str, str, EventTable]]:
    """Fallback session rule: group by ``(instrument_id, UTC calendar date of ts_recv)``."""
    if len(events) == 0:
        return []
    day = events.ts_recv // (86400 * NS_PER_SECOND)
    out = []
    keys = np.stack([events.instrument_id.astype(np.int64), day])
    uniq = np.unique(keys, axis=1)
    for iid, d in uniq.T:
        mask = (events.instrument_id == iid) & (day == d)
        date = datetime.fromtimestamp(int(d) * 86400, tz=timezone.utc).date().isoformat()
        out.append((int(iid), events.symbol_of(int(iid)), date, events[mask]))
    return out


def sessions_of(events: EventTable) -> list[dict]:
    try:
        from ..features import split_sessions
    except ImportError:
        groups = utc_sessions(events)
    else:
        groups = [(s.instrument_id, s.symbol, s.date, s.events) for s in split_sessions(events)]
    return [
        {
            "instrument_id": int(iid),
            "symbol": sym,
            "date": date,
            "events": len(ev),
            "start": _iso(int(ev.ts_recv.min())),
            "end": _iso(int(ev.ts_recv.max())),
        }
        for iid, sym, date, ev in groups
    ]


def summarize(result) -> dict:
    ev, rep = result.events, result.report
    return {
        "path": rep.path,
        "format": rep.format,
        "records": rep.records,
        "used": rep.used,
        "events": rep.events,
        "actions": ev.action_counts(),
        "sessions": sessions_of(ev),
        "skipped": dict(rep.skipped),
        "info": dict(rep.info),
        "start": _iso(int(ev.ts_recv.min())) if len(ev) else None,
        "end": _iso(int(ev.ts_recv.max())) if len(ev) else None,
    }


def run(args) -> int:
    from ..io import iter_files

    options = {"on_invalid": "skip" if args.skip_invalid else "error"}
    files = [summarize(r) for r in iter_files(args.files, **options)]
    if args.json:
        print(json.dumps({"files": files}))
        return 0
    for f in files:
        print(f"{f['path']}  [{f['format']}]")
        print(f"  records {f['records']:,}  used {f['used']:,}  events {f['events']:,}  span {f['start']} .. {f['end']}")
        print("  actions " + "  ".join(f"{k} {v:,}" for k, v in sorted(f["actions"].items())))
        print("  skipped " + ("  ".join(f"{k} {v:,}" for k, v in f["skipped"].items()) or "none"))
        if f["info"]:
            print("  info    " + "  ".join(f"{k} {v:,}" for k, v in f["info"].items()))
        for s in f["sessions"]:
            print(f"  session {s['symbol']} ({s['instrument_id']}) {s['date']}: {s['events']:,} events {s['start']} .. {s['end']}")
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("inspect", help="summarise MBO / LOBSTER data files", description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", help="files or glob patterns (.dbn, .dbn.zst, .csv, .csv.zst, LOBSTER _message_N.csv)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--skip-invalid", action="store_true", help="skip and count invalid rows instead of stopping")
    p.set_defaults(func=run)


__all__ = ["add_parser", "run", "sessions_of", "summarize", "utc_sessions"]
