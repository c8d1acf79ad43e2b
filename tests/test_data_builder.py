# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Tests of the TradeFM ``datasets`` builder: windows, split planning, streaming == prepared, sharding."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import real_path
from hypothesis import given, settings
from hypothesis import strategies as st

from modeling_tradefm.data import (
    IGNORE_INDEX,
    RankStream,
    SessionInfo,
    ShareError,
    StreamShares,
    TradeFMMBO,
    adv_history_of,
    calibrate_tokenizer,
    count_windows,
    load_tradefm_mbo,
    make_windows,
    plan_rank_shares,
    plan_splits,
    scan_sessions,
    session_features,
)
from modeling_tradefm.features import FeatureConfig
from modeling_tradefm.io import read_file

T = 128


# ---------------------------------------------------------------------------------------------
# make_windows (pure numpy)
# ---------------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 300),
    T_=st.integers(2, 40),
    stride_frac=st.floats(0.05, 1.0),
    last_window=st.sampled_from(["pad", "drop"]),
)
def test_windows_cover_the_session_in_order(n, T_, stride_frac, last_window):
    stride = max(1, int(round(stride_frac * T_)))
    ids = np.arange(n, dtype=np.int64) + 1000
    ctx = np.stack([ids % 3, ids % 32, ids % 2], axis=1)
    w = make_windows(ids, ctx, T_, stride, last_window)
    W = len(w["window_start"])
    assert w["input_ids"].shape == (W, T_) and w["context_ids"].shape == (W, T_, 3) and w["labels"].shape == (W, T_)
    seen = np.zeros(n, bool)
    for i in range(W):
        s, m = int(w["window_start"][i]), int(w["n_tokens"][i])
        assert 0 <= s and s + m <= n and m >= 2
        # the real part is exactly the session slice, token and context alike
        np.testing.assert_array_equal(w["input_ids"][i, :m], ids[s : s + m])
        np.testing.assert_array_equal(w["context_ids"][i, :m], ctx[s : s + m])
        np.testing.assert_array_equal(w["labels"][i, :m], ids[s : s + m])
        # padding: token 0, context 0, never a target
        assert (w["labels"][i, m:] == IGNORE_INDEX).all()
        assert (w["input_ids"][i, m:] == 0).all() and (w["context_ids"][i, m:] == 0).all()
        if i:
            assert s - int(w["window_start"][i - 1]) == stride
        seen[s : s + m] = True
    if last_window == "pad" and n >= 2:
        # every token is covered, except a final tail of < min_tokens (= 2) tokens, which holds no target
        uncovered = np.flatnonzero(~seen)
        assert len(uncovered) == 0 or (len(uncovered) == 1 and uncovered[0] == n - 1)
    if last_window == "drop":
        assert (w["n_tokens"] == T_).all()


def test_windows_examples():
    ids = np.arange(10)
    ctx = np.zeros((10, 3), np.int64)
    assert make_windows(ids, ctx, 4)["window_start"].tolist() == [0, 4, 8]
    assert make_windows(ids, ctx, 4)["n_tokens"].tolist() == [4, 4, 2]
    assert make_windows(ids, ctx, 4, last_window="drop")["window_start"].tolist() == [0, 4]
    assert make_windows(ids, ctx, 4, stride=2)["window_start"].tolist() == [0, 2, 4, 6]
    assert make_windows(ids[:1], ctx[:1], 4)["window_start"].tolist() == []  # < min_tokens
    with pytest.raises(ValueError):
        make_windows(ids, ctx, 4, stride=5)


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(0, 400),
    T_=st.integers(2, 40),
    stride_frac=st.floats(0.05, 1.0),
    last_window=st.sampled_from(["pad", "drop"]),
    min_tokens=st.integers(1, 6),
)
def test_count_windows_is_the_number_make_windows_cuts(n, T_, stride_frac, last_window, min_tokens):
    stride = max(1, int(round(stride_frac * T_)))
    ids = np.arange(n, dtype=np.int64)
    w = make_windows(ids, np.zeros((n, 3), np.int64), T_, stride, last_window, min_tokens)
    assert count_windows(n, T_, stride, last_window, min_tokens) == len(w["window_start"])


# ---------------------------------------------------------------------------------------------
# per-rank shares
# ---------------------------------------------------------------------------------------------
def test_rank_shares_balance_whole_files_largest_first():
    # a(5) -> r0, c(4) -> r1, b(3) -> r1 (4 < 5), d(1) -> r0 (5 < 7); e has no window and is not read
    shares = plan_rank_shares({"a": 5, "b": 3, "c": 4, "d": 1, "e": 0}, 2)
    assert [(s.files, s.windows) for s in shares] == [(("a", "d"), 6), (("b", "c"), 7)]
    plan = StreamShares.plan({"a": 5, "b": 3, "c": 4, "d": 1, "e": 0}, 2)
    assert plan.quota == 6 and plan.left_out == 1
    assert plan.describe()[1] == "rank 1/2: 2 file(s), 7 windows, takes 6 per epoch (1 left out of each epoch)"
    assert plan.card() == {"per_rank_files": [2, 2], "per_rank_windows": [6, 7], "windows_per_rank_per_epoch": 6}
    assert StreamShares.plan({"a": 5, "b": 3, "c": 4, "d": 1}, 2, max_windows=7).quota == 3  # 7 // 2
    assert StreamShares.plan({"a": 5}, 1).quota == 5


def test_rank_shares_refuse_what_cannot_be_split():
    with pytest.raises(ShareError, match="1 training file.* fewer than the 2 processes"):
        plan_rank_shares({"a": 5, "b": 0}, 2)
    with pytest.raises(ShareError, match="--max_train_samples: 3 is fewer than one window per process"):
        StreamShares.plan({"a": 5, "b": 5, "c": 5, "d": 5}, 4, max_windows=3)


def test_rank_shares_with_workers_give_every_worker_whole_batches():
    # 4 parts (2 ranks x 2 workers): f(6) -> p0, a(5) -> p1, c(4) -> p2, b(3) -> p3, e(2) -> p3, d(1) -> p2
    counts = {"a": 5, "b": 3, "c": 4, "d": 1, "e": 2, "f": 6}
    shares = plan_rank_shares(counts, 2, workers=2)
    assert [(s.parts, s.part_windows) for s in shares] == [((("f",), ("a",)), (6, 5)), ((("c", "d"), ("b", "e")), (5, 5))]
    plan = StreamShares.plan(counts, 2, workers=2, batch_size=2)
    assert plan.quota == 4 and plan.per_rank == 8 and plan.left_out == 21 - 16  # 5 rounded down to whole batches
    assert plan.describe()[0] == "rank 0/2: 2 file(s), 11 windows, takes 8 per epoch over 2 dataloader workers (3 left out of each epoch)"
    with pytest.raises(ShareError, match="fewer than the 2 processes x 4 dataloader workers"):
        plan_rank_shares(counts, 2, workers=4)
    with pytest.raises(ShareError, match="fewer than one batch \\(8\\) per process and worker"):
        StreamShares.plan(counts, 2, workers=2, batch_size=8)


def test_rank_stream_has_its_quota_as_length_and_refuses_a_short_share():
    import datasets

    def part(n):
        return datasets.IterableDataset.from_generator(lambda: ({"x": i} for i in range(n))).with_format("torch")

    stream = RankStream([part(3), part(3)], 3)
    stream.set_epoch(2)
    assert len(stream) == 6 and [int(r["x"]) for r in stream] == [0, 1, 2, 0, 1, 2]
    assert all(p._epoch == 2 for p in stream.parts)
    with pytest.raises(RuntimeError, match="a part gave 4 windows, the split plan counted 5"):
        list(RankStream([part(4)], 5))


# ---------------------------------------------------------------------------------------------
# split planning
# ---------------------------------------------------------------------------------------------
def _infos(dates, instruments=(1,)):
    return [SessionInfo(f"/d/{d}.csv", i, f"S{i}", d, 10, 100) for d in dates for i in instruments]


def test_plan_days_mode():
    dates = [f"2024-01-{d:02d}" for d in range(1, 11)]
    plan = plan_splits(_infos(dates, (1, 2)), calib_days=3, val_days=2)
    assert plan.mode == "days"
    assert plan.val_dates == dates[-2:] and plan.train_dates == dates[:-2] and plan.calib_dates == dates[:3]
    assert plan.val_files == ["/d/2024-01-09.csv", "/d/2024-01-10.csv"]
    assert set(plan.train_files).isdisjoint(plan.val_files)
    assert plan.data_files() == {"train": plan.train_files, "validation": plan.val_files}


def test_plan_tiny_data_falls_back_to_session_tails():
    plan = plan_splits(_infos(["2012-06-21", "2023-12-25"]), calib_days=30, val_days=30)
    assert plan.mode == "tail"
    assert plan.train_range == (0.0, 0.9) and plan.val_range == (0.9, 1.0)
    assert plan.calib_dates == plan.train_dates == plan.val_dates == ["2012-06-21", "2023-12-25"]
    kw = plan.builder_kwargs()
    assert kw["split_ranges"] == {"train": [0.0, 0.9], "validation": [0.9, 1.0]}


def test_plan_none_and_errors():
    plan = plan_splits(_infos(["2024-01-01", "2024-01-02"]), calib_days=1, val_days=0)
    assert plan.mode == "none" and plan.val_dates == [] and "validation" not in plan.data_files()
    with pytest.raises(ValueError, match="val_days"):
        plan_splits(_infos(["2024-01-01"]), val_mode="days", val_days=1)
    with pytest.raises(ValueError, match="no sessions"):
        plan_splits([])
    with pytest.raises(ValueError, match="val_mode"):
        plan_splits(_infos(["2024-01-01"]), val_mode="random")


def test_adv_history_of_sums_per_instrument_date():
    infos = [SessionInfo("a", 1, "X", "2024-01-02", 5, 10), SessionInfo("b", 1, "X", "2024-01-02", 5, 7),
             SessionInfo("b", 2, "Y", "2024-01-01", 5, 3)]  # fmt: skip
    assert adv_history_of(infos) == {"1": [["2024-01-02", 17]], "2": [["2024-01-01", 3]]}


# ---------------------------------------------------------------------------------------------
# the builder on real sample data
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_files():
    return [
        str(real_path("databento", "glbx-esh4", "esh4-glbx-mdp3-20231225.mbo.csv.zst")),
        str(real_path("lobster", "AMZN_2012-06-21_34200000_57600000_message_1.csv")),
    ]


@pytest.fixture(scope="module")
def prepared(real_files, tmp_path_factory):
    sessions = scan_sessions(real_files, progress=False)
    plan = plan_splits(sessions, calib_days=30, val_days=30)
    history = adv_history_of(sessions)
    tok = calibrate_tokenizer(
        plan.calib_files, dates=plan.calib_dates, token_range=plan.train_range, adv_history=history, progress=False
    )
    cfg = dict(tokenizer_config=tok.to_dict(), adv_history=history, context_length=T, **plan.builder_kwargs())
    cache = str(tmp_path_factory.mktemp("hf-datasets"))
    return {"sessions": sessions, "plan": plan, "tok": tok, "cfg": cfg, "cache": cache}


def test_streaming_and_prepared_yield_the_same_rows(prepared):
    plan, cfg, cache = prepared["plan"], prepared["cfg"], prepared["cache"]
    streamed = load_tradefm_mbo(plan.data_files(), streaming=True, cache_dir=cache, **cfg)
    assert streamed["train"].num_shards == len(plan.train_files) == 2
    arrow = load_tradefm_mbo(plan.data_files(), streaming=False, num_proc=2, cache_dir=cache, **cfg)
    for split in ("train", "validation"):
        rows = list(streamed[split].with_format("numpy"))
        table = arrow[split].with_format("numpy")[:]
        assert len(rows) == len(arrow[split]) > 0
        for name in ("input_ids", "context_ids", "labels", "window_start", "n_tokens", "instrument_id"):
            np.testing.assert_array_equal(np.stack([r[name] for r in rows]), table[name], err_msg=f"{split}/{name}")
        assert [r["date"] for r in rows] == list(table["date"])
    feats = arrow["train"].features
    assert feats["input_ids"].length == T and feats["input_ids"].feature.dtype == "int64"
    assert feats["labels"].length == T
    assert tuple(feats["context_ids"].shape) == (T, 3) and feats["context_ids"].dtype == "int64"


def test_windows_never_cross_sessions_and_splits_are_disjoint(prepared, real_files):
    """Every row equals the encoded tokens of ONE session at [window_start, window_start + n_tokens)."""
    plan, cfg, cache, tok = prepared["plan"], prepared["cfg"], prepared["cache"], prepared["tok"]
    ds = load_tradefm_mbo(plan.data_files(), streaming=False, cache_dir=cache, **cfg)
    encoded = {}
    for path in real_files:
        for sf in session_features(read_file(path).events, FeatureConfig(), cfg["adv_history"]):
            encoded[(int(sf.instrument_id), sf.date)] = tok.encode(sf)
    assert len(encoded) == 2
    ends: dict[str, dict] = {}
    for split in ("train", "validation"):
        t = ds[split].with_format("numpy")[:]
        for i in range(len(t["window_start"])):
            enc = encoded[(int(t["instrument_id"][i]), str(t["date"][i]))]
            s, m = int(t["window_start"][i]), int(t["n_tokens"][i])
            n = len(enc["input_ids"])
            assert s + m <= n
            np.testing.assert_array_equal(t["input_ids"][i, :m], enc["input_ids"][s : s + m])
            np.testing.assert_array_equal(t["context_ids"][i, :m], enc["context_ids"][s : s + m])
            assert (t["labels"][i, m:] == IGNORE_INDEX).all()
            key = (int(t["instrument_id"][i]), str(t["date"][i]))
            lo, hi = ends.setdefault(split, {}).get(key, (n, 0))
            ends[split][key] = (min(lo, s), max(hi, s + m))
    # tail mode: training stops where validation starts, inside every session
    for key, (lo, hi) in ends["validation"].items():
        n = len(encoded[key]["input_ids"])
        cut = int(np.floor(0.9 * n + 0.5))
        assert ends["train"][key] == (0, cut) and (lo, hi) == (cut, n)


@pytest.mark.parametrize(
    "val_days, stride, last_window", [(30, None, "pad"), (1, None, "pad"), (30, T // 2, "drop")],
    ids=["tail", "days", "stride-drop"],
)  # fmt: skip
def test_plan_counts_the_windows_the_builder_cuts(prepared, real_files, val_days, stride, last_window):
    """The scan's token counts give each file's windows exactly, before any file is tokenized."""
    sessions, tok, cache = prepared["sessions"], prepared["tok"], prepared["cache"]
    encoded = {}
    for path in real_files:
        for sf in session_features(read_file(path).events, FeatureConfig(), prepared["cfg"]["adv_history"]):
            encoded[(path, sf.date)] = len(tok.encode(sf)["input_ids"])
    assert {(s.path, s.date): s.n_tokens for s in sessions} == encoded
    plan = plan_splits(sessions, calib_days=30, val_days=val_days)
    assert plan.mode == ("tail" if val_days == 30 else "days")
    cfg = dict(prepared["cfg"], stride=stride, last_window=last_window, **plan.builder_kwargs())
    for split, files in plan.data_files().items():
        expected = plan.windows_per_file(split, T, stride, last_window)
        assert set(expected) == set(files) and sum(expected.values()) > 0
        for path in files:
            rows = load_tradefm_mbo({split: [path]}, streaming=True, cache_dir=cache, split=split, **cfg)
            assert sum(1 for _ in rows) == expected[path], (split, path)


def test_split_dataset_by_node_splits_the_files(prepared):
    from datasets.distributed import split_dataset_by_node

    plan, cfg, cache = prepared["plan"], prepared["cfg"], prepared["cache"]
    full = load_tradefm_mbo(plan.data_files(), streaming=True, cache_dir=cache, split="train", **cfg)
    parts = [split_dataset_by_node(full, rank=r, world_size=2) for r in range(2)]
    assert [p.num_shards for p in parts] == [1, 1]
    keys = [{(int(r["instrument_id"]), r["date"]) for r in p} for p in parts]
    assert len(keys[0]) == len(keys[1]) == 1 and keys[0] != keys[1]  # one whole file (session) per rank
    n_full = sum(1 for _ in full)
    assert sum(sum(1 for _ in p) for p in parts) == n_full


def test_dates_outside_the_split_are_skipped_and_counted(prepared, real_files):
    cfg = dict(prepared["cfg"], split_dates={"train": ["2012-06-21"]}, split_ranges=None)
    builder = TradeFMMBO(data_files={"train": real_files}, cache_dir=prepared["cache"], **cfg)
    rows = list(builder.as_streaming_dataset(split="train"))
    assert {r["date"] for r in rows} == {"2012-06-21"}
    # streaming runs the generator in this process, so its counters are visible here
    stats = builder.stats["train"]
    assert stats["sessions_in"] == 2 and stats["skipped_date_not_in_split"] == 1 and stats["sessions_used"] == 1
    assert stats["windows"] == len(rows)
    assert stats["sessions_in"] == stats["sessions_used"] + stats["skipped_date_not_in_split"] + stats["skipped_too_short"]


def test_adv_history_reaches_the_tier(real_files):
    """Earlier days in other files feed the rolling ADV: a heavy history moves ES to the top tier."""
    events = read_file(real_files[0]).events
    fcfg = FeatureConfig()
    alone = session_features(events, fcfg)[0]
    heavy = session_features(events, fcfg, {"17077": [["2023-12-20", 5e7], ["2023-12-25", 1]]})[0]
    assert alone.tier[0] == 0 and heavy.tier[0] == fcfg.n_tiers - 1
    # the file's own day in the history is ignored (build_features appends it itself)
    same = session_features(events, fcfg, {"17077": [["2023-12-25", 5e7]]})[0]
    assert same.tier[0] == alone.tier[0]


def test_builder_requires_a_tokenizer(real_files, tmp_path):
    builder = TradeFMMBO(data_files={"train": real_files[:1]}, cache_dir=str(tmp_path), context_length=T)
    with pytest.raises(ValueError, match="tokenizer_config"):
        builder.as_streaming_dataset(split="train")


def test_bad_file_raises_data_error(tmp_path):
    from modeling_tradefm.errors import DataError

    bad = tmp_path / "broken.mbo.csv"
    bad.write_text("ts_recv,ts_event,rtype\nnot,a,number\n")
    with pytest.raises(DataError):
        scan_sessions([str(bad)], progress=False)
