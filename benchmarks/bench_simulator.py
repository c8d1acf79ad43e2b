# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Simulator speed: replay events/s on one core (target >= 1M/s) and generated-order submit calls/s.

    python benchmarks/bench_simulator.py [--tiles 16] [--repeat 3] [--results benchmarks/RESULTS.md]

Workloads (real data from ../shared/data/real):
- ES day (CME MBO, 68,792 records: snapshot + 2 h), tiled: each tile is the whole file behind an R
  (clear), so the book is rebuilt from the snapshot every tile and every id is known.
- AAPL-50 (LOBSTER 50 levels, 91,997 messages → T/F/C events), tiled the same way.
Replay is ``Simulator.apply`` (compiled; the log is not kept); "+10-level rows" also writes a
LOBSTER 10-level row after every event (``lobster_orderbook``). ``submit`` is timed from a Python
loop of random orders around the ES book (adds, marketable adds, id-less cancels), the way the
rollout calls it. Compile time is excluded (one warm-up call). Figures are best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modeling_tradefm.events import ACTION_CLEAR, UNDEF_PRICE, EventTable  # noqa: E402
from modeling_tradefm.io import read_file  # noqa: E402
from modeling_tradefm.proposer import MARKET_PRICE_ASK, MARKET_PRICE_BID  # noqa: E402
from modeling_tradefm.simulator import Simulator, lobster_orderbook  # noqa: E402

REAL = Path(os.environ.get("TRADEFM_REAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data" / "real"))
TARGET = 1_000_000


def tiled(events: EventTable, tiles: int) -> EventTable:
    clear = EventTable.from_columns(ts_recv=events.ts_recv[:1], action=[ACTION_CLEAR], price=[UNDEF_PRICE],
                                    instrument_id=events.instrument_id[:1])
    return EventTable.concat([clear, events] * tiles)


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_replay(name: str, events: EventTable, tiles: int, repeat: int) -> list[tuple[str, int, float]]:
    work = tiled(events, tiles)
    n = len(work)

    def replay():
        sim = Simulator(keep_log=False, capacity=1 << 15)
        sim.apply(work)
        return sim

    replay()  # compile + warm
    t = best_of(replay, repeat)
    lobster_orderbook(work[:1000], 10)
    t10 = best_of(lambda: lobster_orderbook(work, 10), repeat)
    return [(f"replay {name} ×{tiles}", n, n / t), (f"replay {name} ×{tiles} + 10-level rows", n, n / t10)]


def bench_submit(es: EventTable, n_calls: int, repeat: int) -> tuple[float, float]:
    base = Simulator.from_events(es[:20000], tick_size=250_000_000)
    mid = int(base.mid() // 250_000_000) * 250_000_000
    rng = np.random.default_rng(0)
    act = np.where(rng.random(n_calls) < 0.4, ord("C"), ord("A"))
    side = np.where(rng.random(n_calls) < 0.5, ord("B"), ord("A"))
    off = rng.integers(-8, 9, n_calls) * 250_000_000
    price = mid + off
    market = rng.random(n_calls) < 0.03
    price = np.where(market & (side == ord("B")), MARKET_PRICE_BID, np.where(market, MARKET_PRICE_ASK, price))
    size = rng.integers(1, 20, n_calls)
    ts = int(es.ts_recv[20000]) + np.arange(n_calls) * 1000
    rows = list(zip(ts.tolist(), act.tolist(), side.tolist(), price.tolist(), size.tolist(), strict=True))

    def loop():
        sim = base.copy()
        submit = sim.submit
        for t, a, s, p, q in rows:
            submit(t, a, s, p, q, 0)
        return sim

    loop()
    t = best_of(loop, repeat)
    tc = best_of(lambda: [base.copy() for _ in range(100)], repeat) / 100
    return n_calls / t, tc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiles", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--submit-calls", type=int, default=200_000)
    ap.add_argument("--results", default=None, help="write the figures into this RESULTS.md section")
    args = ap.parse_args(argv)

    es = read_file(REAL / "databento" / "glbx-esh4" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst").events
    aapl = read_file(REAL / "lobster" / "AAPL_2012-06-21_34200000_37800000_message_50.csv").events
    results = bench_replay("ES day (CME MBO)", es, args.tiles, args.repeat)
    results += bench_replay("AAPL-50 (LOBSTER)", aapl, max(1, args.tiles * len(es) // len(aapl)), args.repeat)
    submit_rate, copy_s = bench_submit(es, args.submit_calls, args.repeat)

    lines = [f"| {name} | {n:,} | {rate / 1e6:.2f} M/s | {rate / TARGET:.2f}× |" for name, n, rate in results]
    lines.append(f"| submit() from a Python loop (ES book, 40% cancels, 3% market) | {args.submit_calls:,} calls | "
                 f"{submit_rate / 1e3:.0f} k calls/s ({1e6 / submit_rate:.2f} µs/call) | — |")
    lines.append(f"| copy() of the ES book after 20,000 events (rollout fan-out) | — | {copy_s * 1e6:.0f} µs/copy | — |")
    header = ["| workload | events | rate | vs 1M events/s |", "|---|---|---|---|"]
    print("\n".join(header + lines))
    if args.results:
        write_section(Path(args.results), header + lines)
    return 0


def write_section(path: Path, table: list[str]) -> None:
    title = "## Simulator (issue 5)"
    body = [
        title,
        "",
        f"Machine: 2-core CPU sandbox ({platform.processor() or platform.machine()}, shared with other jobs: "
        f"load average {os.getloadavg()[0]:.1f} during this run, so rates are lower bounds); "
        "one core (numba, single-threaded); `python benchmarks/bench_simulator.py --results benchmarks/RESULTS.md`. "
        "Replay = `Simulator.apply` (compiled hot path, log not kept), best of 3, compile excluded. Target: "
        ">= 1M events/s replay.",
        "",
        *table,
        "",
    ]
    text = path.read_text() if path.exists() else "# Benchmark results\n\n"
    if title in text:
        start = text.index(title)
        nxt = text.find("\n## ", start + len(title))
        text = text[:start] + "\n".join(body) + ("\n" + text[nxt + 1:] if nxt >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(body)
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
