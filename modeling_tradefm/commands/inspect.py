# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""``tradefm inspect FILE... [--json] [--skip-invalid]``: what is in a data file.

Per file: records, action counts, sessions ``(instrument, date)`` with event counts and time span,
rows skipped by reason, informational counts (e.g. LOBSTER ``unknown_order_id``). Sessions are
those of ``modeling_tradefm.features.split_sessions`` (its trading-date rule).

``--json`` prints exactly one JSON object::

    {"files": [{"path", "format", "records", "used", "events", "actions": {"A": n, ...},
                "sessions": [{"instrument_id", "symbol", "date", "events", "start", "end"}],
                "skipped": {reason: n}, "info": {name: n}, "start", "end"}]}

``start``/``end`` are ISO-8601 UTC times of the first/last ``ts_recv`` (null when empty).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ..events import NS_PER_SECOND, EventTable


def _iso(ts_ns: int | None) -> str | None:
    if ts_ns is None:
        return None
    secs, ns = divmod(int(ts_ns), NS_PER_SECOND)
    return datetime.fromtimestamp(secs, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ns:09d}Z"


def sessions_of(events: EventTable) -> list[dict]:
    """The ``(instrument, trading date)`` sessions of ``events`` (``features.split_sessions``), summarised."""
    from ..features import split_sessions

    return [
        {
            "instrument_id": int(s.instrument_id),
            "symbol": s.symbol,
            "date": s.date,
            "events": len(s.events),
            "start": _iso(int(s.events.ts_recv.min())),
            "end": _iso(int(s.events.ts_recv.max())),
        }
        for s in split_sessions(events)
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


__all__ = ["add_parser", "run", "sessions_of", "summarize"]
