# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Corpus-scale data pipeline: the builder on >= 100 session files and >= 20M MBO records.

The corpus is made from the real ES day (CME Globex MBO, 2023-12-25, 68,792 records): copy k is the
day shifted by ``k // INSTRUMENTS`` days and re-keyed to instrument ``900000 + k % INSTRUMENTS``, so
the copies are distinct ``(instrument, date)`` sessions (50 instruments over a few weeks, the liquidity
tier seeing each instrument's earlier days), written alternately as Databento DBN (``.dbn.zst``: the
original header, records re-stamped in place) and Databento MBO CSV (``.csv.zst``,
``modeling_tradefm.io.write_mbo_csv``). Each measurement runs in a fresh subprocess, so its peak RSS
(``ru_maxrss``; with ``num_proc`` 2 the worker processes' peak too) is its own:

* ``prepare``: ``TradeFMMBO.download_and_prepare(num_proc)`` + ``as_dataset`` -> tokens/s, peak RSS,
  Arrow bytes per token (the cache files);
* ``stream``: ``as_streaming_dataset`` -> model columns, torch format -> ``DataLoader`` batches of 24
  (what the Trainer iterates per process) -> tokens/s, peak RSS, first-batch latency;
* ``calibrate``: ``calibrate_tokenizer`` on a sample of days (``--calib-days`` files) -> time, peak RSS;
* ``scan``: ``scan_sessions`` of all the files (the split plan's pass) -> time.

Targets: peak RSS flat (within 20 %) from 5M to 20M records, prepared and streaming; streaming
tokens/s per process >= 10x the token rate of the 500M preset training on one H100 at 40 % MFU
(``estimate_training.py``: 3.45 GFLOP per token -> 114,743 tokens/s; target 1.15M tokens/s).

Usage (the corpus is written under --root and deleted afterwards unless --keep)::

    python benchmarks/bench_corpus.py --root /tmp/tradefm-corpus --records 20e6 --sizes 5e6,20e6 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SOURCE = "databento/glbx-esh4/esh4-glbx-mdp3-20231225.mbo.dbn.zst"
INSTRUMENTS = 50
DAY_NS = 86_400 * 10**9
DBN_RECORD = 56  # bytes of one MBO record (DBN v1-v3)
CONTEXT = 1024
BATCH = 24


def source_path() -> Path:
    for base in (ROOT.parent / "shared" / "data" / "real", ROOT / "data" / "samples"):
        if (base / SOURCE).exists():
            return base / SOURCE
    raise FileNotFoundError(SOURCE)


# ---------------------------------------------------------------------------------------------
# corpus
# ---------------------------------------------------------------------------------------------
def build_corpus(root: Path, records: int) -> list[str]:
    """Write shifted, re-keyed copies of the ES day until ``records`` records; returns the files in order."""
    import databento as db
    import numpy as np
    import zstandard

    from modeling_tradefm.io import read_file, write_mbo_csv

    src = source_path()
    raw = zstandard.ZstdDecompressor().stream_reader(open(src, "rb")).read()
    base = db.DBNStore.from_file(src).to_ndarray()
    if base.dtype.itemsize != DBN_RECORD:
        raise RuntimeError(f"unexpected DBN record size {base.dtype.itemsize}")
    header = raw[: len(raw) - len(base) * DBN_RECORD]
    events = read_file(src).events
    root.mkdir(parents=True, exist_ok=True)
    cctx = zstandard.ZstdCompressor(level=3)
    files, total, k = [], 0, 0
    while total < records:
        shift, iid = (k // INSTRUMENTS) * DAY_NS, 900_000 + k % INSTRUMENTS
        name = f"copy{k:04d}-i{iid}-d{k // INSTRUMENTS:02d}.mbo"
        if k % 2 == 0:
            rec = base.copy()
            rec["ts_event"] += np.uint64(shift)
            rec["ts_recv"] += np.uint64(shift)
            rec["instrument_id"] = iid
            path = root / f"{name}.dbn.zst"
            path.write_bytes(cctx.compress(header + rec.tobytes()))
        else:
            ev = events.copy()
            ev.ts_event = ev.ts_event + shift
            ev.ts_recv = ev.ts_recv + shift
            ev.instrument_id = np.full_like(ev.instrument_id, iid)
            ev.symbols = {iid: f"X{iid}"}
            path = root / f"{name}.csv.zst"
            write_mbo_csv(ev, path)
        files.append(str(path))
        total += len(base)
        k += 1
    return files


# ---------------------------------------------------------------------------------------------
# measurements (each in its own process)
# ---------------------------------------------------------------------------------------------
def _rss() -> dict:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB (Linux)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mib": round(own, 1), "peak_rss_children_mib": round(children, 1)}


def m_calibrate(files, out, **_):
    from modeling_tradefm.data import calibrate_tokenizer

    t = time.perf_counter()
    tok = calibrate_tokenizer(files, calib_days=len(files), progress=False)
    seconds = time.perf_counter() - t
    Path(out).write_text(json.dumps(tok.to_dict()))
    return {"files": len(files), "seconds": seconds, **_rss()}


def m_scan(files, **_):
    from modeling_tradefm.data import scan_sessions

    t = time.perf_counter()
    sessions = scan_sessions(files, progress=False)
    seconds = time.perf_counter() - t
    tokens = sum(s.n_tokens for s in sessions)
    return {"files": len(files), "seconds": seconds, "tokens": tokens, "tokens_per_s": tokens / seconds, **_rss()}


def _builder(files, tokenizer, cache):
    from modeling_tradefm.data import TradeFMMBO

    tok = json.loads(Path(tokenizer).read_text())
    return TradeFMMBO(data_files={"train": files}, tokenizer_config=tok, context_length=CONTEXT, cache_dir=cache)


def m_prepare(files, tokenizer, cache, num_proc, **_):
    import pyarrow.compute as pc

    builder = _builder(files, tokenizer, cache)
    t = time.perf_counter()
    builder.download_and_prepare(num_proc=num_proc if num_proc > 1 else None)
    ds = builder.as_dataset(split="train")
    seconds = time.perf_counter() - t
    tokens = int(pc.sum(ds.data.column("n_tokens")).as_py())
    arrow = sum(os.path.getsize(f["filename"]) for f in ds.cache_files)
    return {
        "files": len(files), "num_proc": num_proc, "seconds": seconds, "windows": len(ds), "tokens": tokens,
        "tokens_per_s": tokens / seconds, "arrow_bytes": arrow, "arrow_bytes_per_token": arrow / tokens, **_rss(),
    }  # fmt: skip


def m_stream(files, tokenizer, cache, **_):
    import torch
    from torch.utils.data import DataLoader
    from transformers import default_data_collator

    torch.set_num_threads(1)
    cols = ["input_ids", "context_ids", "labels", "n_tokens"]
    ds = _builder(files, tokenizer, cache).as_streaming_dataset(split="train").select_columns(cols)
    loader = DataLoader(ds.with_format("torch"), batch_size=BATCH, collate_fn=default_data_collator)
    t = time.perf_counter()
    first, tokens, windows = None, 0, 0
    for batch in loader:
        if first is None:
            first = time.perf_counter() - t
        tokens += int(batch["n_tokens"].sum())
        windows += len(batch["n_tokens"])
    seconds = time.perf_counter() - t
    return {
        "files": len(files), "seconds": seconds, "windows": windows, "tokens": tokens, "tokens_per_s": tokens / seconds,
        "first_batch_s": first, **_rss(),
    }  # fmt: skip


MEASURES = {"calibrate": m_calibrate, "scan": m_scan, "prepare": m_prepare, "stream": m_stream}


def run_child(kind: str, **kwargs) -> dict:
    """Run one measurement in a fresh interpreter (its own peak RSS); returns its JSON result."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOKENIZERS_PARALLELISM": "false", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, __file__, "_measure", kind, json.dumps(kwargs)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode:
        raise RuntimeError(f"{kind} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------
def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start"


def target_rate() -> float:
    from estimate_training import estimate

    return estimate("500M", 1).tokens_per_s


def markdown(res: dict) -> str:
    rows = ["| measurement | records | files | tokens | seconds | tokens/s | peak RSS (MiB) | other |",
            "|---|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    for r in res["runs"]:
        rss = f"{r['peak_rss_mib']:,.0f}"
        if r.get("num_proc", 1) > 1:
            rss += f" + workers {r['peak_rss_children_mib']:,.0f}"
        other = ""
        if r["kind"] == "prepare":
            other = f"num_proc {r['num_proc']}; {r['arrow_bytes_per_token']:.1f} Arrow bytes/token"
        elif r["kind"] == "stream":
            other = f"first batch {r['first_batch_s']:.2f} s; {r['tokens_per_s'] / res['target_tokens_per_s']:.2f}x target"
        tps = f"{r['tokens_per_s']:,.0f}" if "tokens_per_s" in r else ""
        tokens = f"{r['tokens']:,}" if "tokens" in r else ""
        rows.append(f"| {r['kind']} | {r['records']:,} | {r['files']} | {tokens} | {r['seconds']:.1f} | {tps} | {rss} | {other} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "_measure":
        result = MEASURES[sys.argv[2]](**json.loads(sys.argv[3]))
        print(json.dumps(result))
        return 0
    parser = argparse.ArgumentParser(description="TradeFM corpus-scale data pipeline benchmark")
    parser.add_argument("--root", type=Path, default=Path("/tmp/tradefm-corpus"))
    parser.add_argument("--records", type=float, default=20e6, help="records in the largest corpus")
    parser.add_argument("--sizes", default="5e6,20e6", help="corpus sizes measured (records, comma-separated)")
    parser.add_argument("--calib-days", type=int, default=30, help="files (days) the tokenizer is calibrated on")
    parser.add_argument("--num-proc", default="1,2", help="num_proc values of the prepare runs (largest size)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the corpus")
    args = parser.parse_args(argv)

    res = {"machine": machine(), "target_tokens_per_s": 10 * target_rate(), "runs": []}
    try:
        t = time.perf_counter()
        files = build_corpus(args.root / "files", int(args.records))
        res["corpus"] = {"files": len(files), "records_per_file": 68_792, "seconds_to_write": time.perf_counter() - t,
                         "bytes": sum(os.path.getsize(f) for f in files)}  # fmt: skip
        print(json.dumps(res["corpus"]), flush=True)
        tok = str(args.root / "tokenizer.json")
        res["runs"].append({"kind": "calibrate", "records": args.calib_days * 68_792,
                            **run_child("calibrate", files=files[: args.calib_days], out=tok)})  # fmt: skip
        sizes = [int(float(s)) for s in args.sizes.split(",")]
        for size in sizes:
            sub = files[: -(-size // 68_792)]
            n = len(sub) * 68_792
            procs = [int(p) for p in args.num_proc.split(",")] if size == max(sizes) else [1]
            for num_proc in procs:
                cache = str(args.root / f"cache-{size}-{num_proc}")
                res["runs"].append({"kind": "prepare", "records": n, **run_child(
                    "prepare", files=sub, tokenizer=tok, cache=cache, num_proc=num_proc)})  # fmt: skip
                print(json.dumps(res["runs"][-1]), flush=True)
                shutil.rmtree(cache, ignore_errors=True)
            res["runs"].append({"kind": "stream", "records": n, **run_child(
                "stream", files=sub, tokenizer=tok, cache=str(args.root / "cache-stream"))})  # fmt: skip
            print(json.dumps(res["runs"][-1]), flush=True)
        res["runs"].append({"kind": "scan", "records": len(files) * 68_792, **run_child("scan", files=files)})
    finally:
        if not args.keep:
            shutil.rmtree(args.root, ignore_errors=True)
    print(markdown(res))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
