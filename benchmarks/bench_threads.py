# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""CPU threads of rollout decoding: the same rollout steps with 1, 2 and torch's default threads, on a
quiet machine and beside busy processes.

What it measures: ``generation_tradefm.rollout`` of a randomly initialised TradeFM (default: the
``tiny`` preset, the demo's model: 4 layers x 128, 5.2M parameters) for ``--steps`` steps from the
ES sample day's snapshot plus its first live records, for each batch size of ``--batch``, with
``TradeFMProposer(threads=k)`` for k in 1, 2 and torch's default. Then the same again while
``--busy`` other processes each spin on one core (what a shared machine, a second job or a data
loader does). Every figure is a ratio against the 1-thread run of the same condition, batch and
run: events/s with k threads / events/s with 1 thread (above 1: k threads are faster). No absolute
times are claimed; the rounds alternate the thread counts, so each peer sees the same background
load, and each figure is the best of ``--repeats``.

The rule chosen from it: ``modeling_tradefm.cpu_threads.decode_threads`` (one thread on CPU for a
model of at most ``SMALL_MODEL_PARAMETERS`` parameters); ``--preset 125M`` measures the other side.

    python benchmarks/bench_threads.py [--preset tiny] [--batch 1 8] [--steps 200] [--busy 1]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ES_DAY = REPO / "data" / "samples" / "databento" / "esh4-glbx-mdp3-20231225.mbo.csv.zst"


def _spin() -> None:  # one core busy until terminated
    while True:
        pass


def es_prefix(events, n_live: int):
    from modeling_tradefm.events import F_LAST, F_SNAPSHOT

    live = np.flatnonzero((events.flags & F_SNAPSHOT) == 0)
    end = int(live[0]) + n_live
    last = np.flatnonzero((events.flags[:end] & F_LAST) != 0)
    return events[: int(last[-1]) + 1]


def interleaved_best(fns, repeats: int) -> list[float]:
    """Best-of-``repeats`` wall time of each function, the functions alternating within each round."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="tiny", help="model preset (tiny = the demo's model, 125M, ...)")
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8], help="rollouts per batch (default 1 8)")
    ap.add_argument("--steps", type=int, default=200, help="rollout steps timed (default 200)")
    ap.add_argument("--prefix-live", type=int, default=3000, help="live ES records in the prefix")
    ap.add_argument("--threads", type=int, nargs="+", default=None,
                    help="thread counts compared (default: 1, 2 and torch's default)")
    ap.add_argument("--busy", type=int, default=1, help="spinning processes in the busy condition (default 1)")
    ap.add_argument("--repeats", type=int, default=3, help="best of N (default 3)")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)

    from modeling_tradefm.configuration_tradefm import TradeFMConfig
    from modeling_tradefm.features import build_features
    from modeling_tradefm.generation_tradefm import rollout
    from modeling_tradefm.io import read_events
    from modeling_tradefm.modeling_tradefm import TradeFMForCausalLM
    from modeling_tradefm.proposer_tradefm import TradeFMProposer
    from modeling_tradefm.tokenization_tradefm import TradeFMTokenizer

    default = torch.get_num_threads()
    counts = sorted(set(args.threads or [1, 2, default]))
    if 1 not in counts:
        counts = [1, *counts]
    events = read_events(ES_DAY)
    tokenizer = TradeFMTokenizer().calibrate(build_features(events), calib_days=1)
    torch.manual_seed(0)
    model = TradeFMForCausalLM(TradeFMConfig.from_preset(args.preset)).eval()
    n_params = sum(p.numel() for p in model.parameters())
    prefix = es_prefix(events, args.prefix_live)

    def run(k: int, b: int):
        return lambda: rollout(TradeFMProposer(model, tokenizer, device="cpu", threads=k), prefix, args.steps,
                               num_rollouts=b, seed=1)

    rollout(TradeFMProposer(model, tokenizer, device="cpu"), prefix, 8, num_rollouts=max(args.batch), seed=0)

    out = {
        "machine": f"{os.cpu_count()} logical CPUs, torch {torch.__version__}, torch default threads {default}, "
                   f"load average before {os.getloadavg()[0]:.2f}",
        "model": f"{args.preset} preset ({n_params:,} parameters), random init",
        "prefix_events": len(prefix), "steps": args.steps, "threads": counts, "busy_processes": args.busy,
        "ratios": {},
    }
    for condition in ("quiet", "busy"):
        spinners = []
        if condition == "busy":
            spinners = [mp.Process(target=_spin, daemon=True) for _ in range(args.busy)]
            for s in spinners:
                s.start()
        try:
            for b in args.batch:
                times = interleaved_best([run(k, b) for k in counts], args.repeats)
                ratios = {str(k): round(times[0] / t, 3) for k, t in zip(counts, times, strict=True)}
                out["ratios"][f"{condition} batch {b}"] = ratios
                print(f"{condition:5s} batch {b:3d}  events/s vs 1 thread: "
                      + "  ".join(f"{k} threads {r:.2f}x" for k, r in ratios.items()), flush=True)
        finally:
            for s in spinners:
                s.terminate()
                s.join()
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
