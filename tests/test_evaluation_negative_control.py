# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The evaluation tells generators apart: distances by hand, a copy of real at 0, distorted copies far off.

A report whose "generator" is the real continuation can only bound distances from above; an
evaluation that compared every sample with itself, or real with real, would pass such tests. Here a
copy of the real continuation must score exactly 0, a copy with three times the order sizes must
score the distance its construction implies, and a copy played at half speed must land far above the
real-vs-real noise floor.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest
from conftest import real_path
from scipy import stats

from modeling_tradefm.evaluation.report import evaluate_streams
from modeling_tradefm.evaluation.series import EvalConfig, StreamSeries, stream_series

AAPL = ("lobster", "AAPL_2012-06-21_34200000_37800000_message_50.csv")
S = 10**9
CONFIG = EvalConfig(n_boot=20, max_lag=5)


def _series(name: str, sizes, t0: int = 10**18) -> StreamSeries:
    """A stream with one modeled event per second of the given sizes, a flat two-sided book and no Δt."""
    n = len(sizes)
    ts = t0 + S * np.arange(n, dtype=np.int64)
    return StreamSeries(name, ts, np.full(n, 100e9), np.full(n, 1e9), ts, np.full(n, np.nan),
                        np.asarray(sizes, dtype=np.float64), np.zeros(n), "book", int(ts[0]), int(ts[-1]))


def test_order_size_distances_by_hand():
    """Real sizes 1, 2, 3, 4 against 2, 3, 4, 5 (and a copy, and the real halves) through evaluate_streams.

    * gen: the empirical CDFs differ by 1/4 between consecutive sizes → K-S = 0.25; W1 = 1 (every
      value moved by one) over the real std √1.25 → 1/√1.25 = 0.894.
    * the noise floor: halves {1, 2} and {3, 4} → K-S = 1; W1 = 2 over the first half's std 0.5 → 4.
    * a copy of real: 0 and 0.
    """
    real = [_series("real", [1, 2, 3, 4])]
    generated = {"gen": [_series("gen", [2, 3, 4, 5])], "copy": [_series("copy", [1, 2, 3, 4])]}
    metrics, quantities = evaluate_streams(real, generated, EvalConfig(n_boot=20, max_lag=2), progress=False)
    gen, copy, floor = (metrics["distances"]["gen"]["order_size"], metrics["distances"]["copy"]["order_size"],
                        metrics["noise_floor"]["order_size"])
    assert (gen["ks"], gen["n_real"], gen["n_gen"]) == (0.25, 4, 4)
    assert gen["w1"] == pytest.approx(1 / math.sqrt(1.25), rel=1e-12)
    assert (floor["ks"], floor["w1"]) == (1.0, pytest.approx(4.0, rel=1e-12))
    assert (copy["ks"], copy["w1"]) == (0.0, 0.0)
    assert quantities["gen"].samples["order_size"].tolist() == [2, 3, 4, 5]
    # the bootstrap interval brackets its own statistic's sampling spread, not another source's
    assert gen["ks_ci"][0] <= 0.25 + 1e-12 and gen["ks_ci"][1] > 0


def test_a_sources_interval_does_not_depend_on_the_other_sources():
    """Bootstrap seeds follow (source, quantity) names, not positions: adding a source moves nothing else."""
    rng = np.random.default_rng(3)
    real = [_series("real", rng.integers(1, 50, 200))]
    gen = _series("gen", rng.integers(1, 60, 200))
    other = _series("other", rng.integers(1, 40, 200))
    alone, _ = evaluate_streams(real, {"gen": [gen]}, CONFIG, progress=False)
    both, _ = evaluate_streams(real, {"other": [other], "gen": [gen]}, CONFIG, progress=False)
    assert both["distances"]["gen"]["order_size"] == alone["distances"]["gen"]["order_size"]
    assert both["noise_floor"]["order_size"] == alone["noise_floor"]["order_size"]
    # and the seeds do differ between sources: the same samples under another name resample differently
    renamed, _ = evaluate_streams(real, {"gen2": [gen]}, CONFIG, progress=False)
    assert renamed["distances"]["gen2"]["order_size"]["ks"] == alone["distances"]["gen"]["order_size"]["ks"]
    assert renamed["distances"]["gen2"]["order_size"]["ks_ci"] != alone["distances"]["gen"]["order_size"]["ks_ci"]


@pytest.fixture(scope="module")
def aapl_folders(tmp_path_factory):
    """The AAPL continuation after 10:20 New York (~12k records), as `tradefm generate` folders.

    ``copy``: the continuation itself; ``big``: every size tripled; ``slow``: played at a quarter of the speed.
    """
    from modeling_tradefm.features import build_features, split_sessions
    from modeling_tradefm.io import read_events, write_mbo_csv
    from modeling_tradefm.prefix import select_prefix

    path = real_path(*AAPL)
    session = split_sessions(read_events(path, progress=False))[0]
    _, prefix, _ = select_prefix(session.events, dt.time(10, 20), "America/New_York", str(path))
    rest = session.events[len(prefix):]
    big = rest.copy()
    big.size[:] = 3 * rest.size  # every add, cancel, fill and trade of the continuation
    # a quarter of the speed from the prefix's last modeled event on: every Δt between modeled events is
    # multiplied by 4, the first one included (the records keep their order, so the modeled events are
    # the same)
    t_m = int(build_features(prefix)[-1].ts_recv[-1])
    slow = rest.copy()
    slow.ts_recv[:] = t_m + 4 * (rest.ts_recv - t_m)
    slow.ts_event[:] = slow.ts_recv
    root = tmp_path_factory.mktemp("negative-control")
    meta = {"data": [str(path)], "start": "10:20:00", "tz": "America/New_York", "prefix_events": len(prefix),
            "start_ts_ns": int(rest.ts_recv[0]),
            "session": {"instrument_id": int(session.instrument_id), "symbol": session.symbol, "date": session.date}}
    folders = {}
    for name, events in (("copy", rest), ("big", big), ("slow", slow)):
        folder = root / name
        folder.mkdir()
        write_mbo_csv(events, folder / "rollout_000.mbo.csv.zst")
        (folder / "meta.json").write_text(json.dumps(meta))
        folders[name] = folder
    return path, folders, prefix, rest


@pytest.fixture(scope="module")
def aapl_metrics(aapl_folders, tmp_path_factory):
    from modeling_tradefm.evaluation.folders import evaluate_folders

    path, folders, _, _ = aapl_folders
    out = tmp_path_factory.mktemp("negative-control-report")
    paths = evaluate_folders([path], list(folders.items()), out, CONFIG, after_prefix=True, progress=False)
    assert json.loads(paths["metrics"].read_text())["distances"].keys() == {"copy", "big", "slow"}
    return paths["metrics_dict"]


def test_a_copy_of_the_real_continuation_scores_zero(aapl_metrics):
    for q, d in aapl_metrics["distances"]["copy"].items():
        assert (d["ks"], d["w1"]) == (0.0, 0.0), q
        assert d["n_real"] == d["n_gen"] > 0, q
    # ...while the real halves do not: the floor is real sampling noise
    floor = aapl_metrics["noise_floor"]
    for q in ("order_size", "inter_arrival", "price_depth", "spread", "log_return_1s"):
        assert floor[q]["ks"] > 0.005 and floor[q]["w1"] > 0.005, q


def test_triple_sizes_land_far_above_the_noise_floor(aapl_metrics):
    d, floor = aapl_metrics["distances"]["big"]["order_size"], aapl_metrics["noise_floor"]["order_size"]
    assert d["ks"] > 5 * floor["ks"] and d["ks"] > 0.3
    assert d["ks_ci"][0] > floor["ks_ci"][1]  # the intervals do not even overlap
    assert d["w1"] > 5 * floor["w1"]


def test_quarter_speed_scores_the_distance_its_construction_implies(aapl_folders, aapl_metrics):
    """Δt → 4Δt: K-S is scipy's on (x, 4x); W1 = mean(4x − x)/std(x) = 3·mean(x)/std(x) (Δt ≥ 0)."""
    _, _, prefix, rest = aapl_folders
    real = stream_series(rest, prefix, CONFIG).inter_arrival
    real = real[np.isfinite(real)]
    d, floor = aapl_metrics["distances"]["slow"], aapl_metrics["noise_floor"]
    ia = d["inter_arrival"]
    assert ia["n_real"] == ia["n_gen"] == len(real) > 10_000
    assert ia["ks"] == pytest.approx(stats.ks_2samp(real, 4 * real).statistic, abs=1e-12)
    assert ia["w1"] == pytest.approx(3 * real.mean() / real.std(), rel=1e-9)
    # K-S moves less than W1: the Δt spread over several decades, and a factor 4 is a small shift on that scale
    assert ia["ks"] > 2.5 * floor["inter_arrival"]["ks"] and ia["ks_ci"][0] > floor["inter_arrival"]["ks_ci"][1]
    assert ia["w1"] > 10 * floor["inter_arrival"]["w1"] and ia["w1_ci"][0] > floor["inter_arrival"]["w1_ci"][1]
    # the same modeled events, so the same sizes
    assert d["order_size"]["ks"] == 0.0 and d["order_size"]["n_gen"] == d["order_size"]["n_real"]
