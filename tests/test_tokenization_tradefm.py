# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Tests of TradeFMTokenizer: mixed radix, calibration, encode/decode, persistence, real-data statistics."""

from __future__ import annotations

import json
import types
import warnings

import numpy as np
import pytest

from modeling_tradefm.events import F_LAST, NS_PER_SECOND, PRICE_SCALE, EventTable
from modeling_tradefm.features import SessionFeatures, build_features
from modeling_tradefm.tokenization_tradefm import TOKENIZER_FILE, TradeFMTokenizer

from conftest import real_path

AAPL50 = ("lobster", "AAPL_2012-06-21_34200000_37800000_message_50.csv")


def _synthetic_session(date: str, n: int, seed: int) -> SessionFeatures:
    """Feature arrays with realistic shapes (heavy-tailed δp, log-normal sizes, zeros in Δt)."""
    rng = np.random.default_rng(seed)
    size = np.maximum(1, np.rint(np.exp(rng.normal(3.5, 1.2, n)))).astype(np.uint32)
    dt = rng.exponential(0.05, n) * (rng.random(n) > 0.2)
    dt[0] = 0.0
    return SessionFeatures(
        instrument_id=1, symbol="SYN", date=date,
        ts_recv=np.cumsum((dt * NS_PER_SECOND).astype(np.int64)),
        action=rng.integers(0, 2, n).astype(np.uint8), side=rng.integers(0, 2, n).astype(np.uint8),
        price=np.full(n, 100 * PRICE_SCALE, dtype=np.int64), size=size,
        price_depth=rng.standard_t(3, n) * 5e-4, log_volume=np.log1p(size.astype(float)), dt=dt,
        mid=np.full(n, 100.0), price_level=np.cumsum(rng.normal(0, 1e-5, n)),
        tier=np.full(n, seed % 3, dtype=np.int64), participant=(rng.random(n) < 0.05).astype(np.uint8),
        source_row=np.arange(n),
    )


@pytest.fixture(scope="module")
def synth():
    sessions = [_synthetic_session(f"2024-02-{d:02d}", 4_000, d) for d in range(1, 6)]
    tok = TradeFMTokenizer().calibrate(sessions, calib_days=3)
    return tok, sessions


# --------------------------------------------------------------------------------------------- mixed radix
def test_paper_example_6011():
    tok = TradeFMTokenizer()
    assert tok.vocab_size == 16_384
    assert tok.field_vocab_sizes == [16_384, 3, 32, 2]
    assert int(tok.compose(action=0, side=1, price_depth_bin=7, volume_bin=7, dt_bin=11)) == 6011
    assert [int(x) for x in tok.decompose(6011)] == [0, 1, 7, 7, 11]
    ids = np.arange(tok.vocab_size)
    assert np.array_equal(tok.compose(*tok.decompose(ids)), ids)
    a, s, p, v, d = tok.decompose(ids)
    assert np.array_equal(ids, a * 8192 + s * 4096 + p * 256 + v * 16 + d)
    with pytest.raises(ValueError):
        tok.compose(0, 2, 0, 0, 0)
    with pytest.raises(ValueError):
        tok.decompose(16_384)


# --------------------------------------------------------------------------------------------- calibration
def test_calibration_window_and_frozen(synth):
    tok, sessions = synth
    assert tok.calibration["dates"] == ["2024-02-01", "2024-02-02", "2024-02-03"]
    assert tok.calibration["events"] == 12_000 and not tok.calibration["fallback_all_dates"]
    before = tok.to_dict()
    with pytest.raises(RuntimeError, match="frozen"):
        tok.calibrate(sessions)
    assert tok.to_dict() == before
    # quantile bins: roughly equal counts inside, ~1% in each outlier bin (on the calibration data)
    x = np.concatenate([s.price_depth for s in sessions[:3]])
    counts = np.bincount(tok.price_depth_bin(x), minlength=16) / len(x)
    assert counts[0] == pytest.approx(0.01, abs=0.003) and counts[15] == pytest.approx(0.01, abs=0.003)
    assert np.allclose(counts[1:15], 0.98 / 14, atol=0.01)
    # Δt: zero bin holds exactly the zeros; the last bin the top 1% of positive Δt
    dt = np.concatenate([s.dt for s in sessions[:3]])
    dtb = tok.dt_bin(dt)
    assert np.array_equal(dtb == 0, dt == 0)
    assert np.mean(dtb[dt > 0] == 15) == pytest.approx(0.01, abs=0.003)
    # equal width on log Δt: interior edges have a constant log step
    steps = np.diff(np.log(tok.fields["dt"]["edges"][1:]))
    assert np.allclose(steps, steps[0])
    vsteps = np.diff(tok.fields["volume"]["edges"])
    assert np.allclose(vsteps, vsteps[0])
    # re-calibration needs force and changes the window
    tok2 = TradeFMTokenizer.from_dict(before).calibrate(sessions, calib_days=5, force=True)
    assert tok2.calibration["dates"][-1] == "2024-02-05"


def test_calibration_fallback_uses_all_days():
    sessions = [_synthetic_session("2024-02-01", 500, 1), _synthetic_session("2024-02-02", 500, 2)]
    with pytest.warns(UserWarning, match="only 2 trading date"):
        tok = TradeFMTokenizer().calibrate(sessions, calib_days=30)
    assert tok.calibration["fallback_all_dates"] and tok.calibration["dates"] == ["2024-02-01", "2024-02-02"]
    with pytest.raises(RuntimeError, match="not calibrated"):
        TradeFMTokenizer().encode(sessions[0])


# --------------------------------------------------------------------------------------------- encode / decode
def test_encode_layout_and_context(synth):
    tok, sessions = synth
    s = sessions[4]
    out = tok.encode(s)
    ids, ctx = out["input_ids"], out["context_ids"]
    assert ids.dtype == np.int64 and ids.shape == (len(s),) and ctx.shape == (len(s), 3)
    assert ids.min() >= 0 and ids.max() < 16_384
    a, sd, p, v, d = tok.decompose(ids)
    assert np.array_equal(a, s.action) and np.array_equal(sd, s.side)
    assert np.array_equal(p, tok.price_depth_bin(s.price_depth))
    assert np.array_equal(v, tok.volume_bin(s.size)) and np.array_equal(d, tok.dt_bin(s.dt))
    assert np.array_equal(ctx[:, 0], s.tier) and np.array_equal(ctx[:, 2], s.participant)
    assert np.array_equal(ctx[:, 1], tok.price_level_bin(s.price_level))
    np.testing.assert_array_equal(tok.encode_orders(s.action, s.side, s.price_depth, s.size, s.dt), ids)
    bad = _synthetic_session("2024-02-09", 10, 0)
    bad.price_depth[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tok.encode(bad)


def test_decode_round_trip_stays_in_bins(synth):
    tok, sessions = synth
    ids = np.concatenate([tok.encode(s)["input_ids"] for s in sessions])
    rng = np.random.default_rng(123)
    dec = tok.decode(ids, rng)
    assert dec["size"].dtype == np.int64 and (dec["size"] >= 1).all() and (dec["dt"] >= 0).all()
    assert np.isfinite(dec["price_depth"]).all()
    again = tok.encode_orders(dec["action"], dec["side"], dec["price_depth"], dec["size"], dec["dt"])
    np.testing.assert_array_equal(again, ids)
    # every token whose volume bin holds an integer size round-trips too (outlier bins included)
    all_ids = np.arange(tok.vocab_size)
    lo, hi = tok.bin_bounds("volume", tok.decompose(all_ids)[3])
    has_int = np.ceil(np.expm1(lo) - 1e-9) <= np.maximum(np.ceil(np.expm1(hi) - 1e-9) - 1, np.floor(np.expm1(hi) + 1e-9) * (tok.decompose(all_ids)[3] == 15))
    dec_all = tok.decode(all_ids[has_int], np.random.default_rng(5))
    np.testing.assert_array_equal(tok.encode_orders(**{k: dec_all[k] for k in ("action", "side", "price_depth", "size", "dt")}), all_ids[has_int])
    # seeded: the same generator seed gives the same orders, another seed other values
    d1, d2 = tok.decode(ids[:100], np.random.default_rng(7)), tok.decode(ids[:100], np.random.default_rng(7))
    assert all(np.array_equal(d1[k], d2[k]) for k in d1)
    assert not np.array_equal(d1["price_depth"], tok.decode(ids[:100], np.random.default_rng(8))["price_depth"])
    assert tok.decode(ids.reshape(-1, 4)[:3], rng)["size"].shape == (3, 4)
    pl = tok.decode_price_level(np.arange(32), rng)
    np.testing.assert_array_equal(tok.price_level_bin(pl), np.arange(32))


# --------------------------------------------------------------------------------------------- persistence
def test_json_round_trip(synth, tmp_path):
    tok, sessions = synth
    again = TradeFMTokenizer.from_dict(json.loads(json.dumps(tok.to_dict())))
    assert again == tok
    path = tok.save_pretrained(tmp_path / "ckpt")
    assert path.name == TOKENIZER_FILE
    loaded = TradeFMTokenizer.from_pretrained(tmp_path / "ckpt")
    for s in sessions:
        a, b = tok.encode(s), loaded.encode(s)
        assert np.array_equal(a["input_ids"], b["input_ids"]) and np.array_equal(a["context_ids"], b["context_ids"])
    # from a checkpoint folder that only has config.json with tokenizer_config
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text(json.dumps({"model_type": "tradefm", "tokenizer_config": tok.to_dict()}))
    assert TradeFMTokenizer.from_pretrained(tmp_path / "model") == tok
    broken = tok.to_dict()
    broken["fields"]["price_depth"]["edges"] = broken["fields"]["price_depth"]["edges"][:-1]
    with pytest.raises(ValueError, match="edges"):
        TradeFMTokenizer.from_dict(broken)


def test_check_compatible(synth):
    tok, _ = synth
    ok = types.SimpleNamespace(vocab_size=16_384, field_vocab_sizes=[16_384, 3, 32, 2], tokenizer_config=tok.to_dict())
    tok.check_compatible(ok)
    with pytest.raises(ValueError, match="vocab_size 8192"):
        tok.check_compatible(types.SimpleNamespace(vocab_size=8192, field_vocab_sizes=[8192, 3, 32, 2]))
    with pytest.raises(ValueError, match="field_vocab_sizes"):
        tok.check_compatible(types.SimpleNamespace(vocab_size=16_384, field_vocab_sizes=[16_384, 4, 32, 2]))
    other = TradeFMTokenizer(n_price_level=16).to_dict()
    with pytest.raises(ValueError, match="n_price_level"):
        tok.check_compatible(types.SimpleNamespace(vocab_size=16_384, field_vocab_sizes=[16_384, 3, 32, 2], tokenizer_config=other))


# --------------------------------------------------------------------------------------------- real data
def _read_lobster(path):
    """LOBSTER messages → EventTable; the io reader when present, else the same mapping inline."""
    try:
        from modeling_tradefm.io import read_events
    except ImportError:
        read_events = None
    if read_events is not None:
        return read_events(path)
    m = np.loadtxt(path, delimiter=",")
    ts = (np.datetime64("2012-06-21T04:00", "ns").astype(np.int64) + np.rint(m[:, 0] * 1e9)).astype(np.int64)  # EDT
    typ, oid, size = m[:, 1].astype(int), m[:, 2].astype(np.uint64), m[:, 3].astype(np.uint32)
    price = m[:, 4].astype(np.int64) * 100_000
    side = np.where(m[:, 5] > 0, ord("B"), ord("A")).astype(np.uint8)
    opp = np.where(m[:, 5] > 0, ord("A"), ord("B")).astype(np.uint8)
    seq = np.arange(1, len(m) + 1, dtype=np.uint32)
    rows = []  # (row, sub, action, side, order_id)
    keep = typ != 7
    reps = np.where(typ == 4, 3, 1)[keep]
    src = np.repeat(np.flatnonzero(keep), reps)
    sub = np.concatenate([np.arange(r) for r in reps])
    t = typ[src]
    action = np.select([t == 1, (t == 2) | (t == 3), (t == 4) & (sub == 0), (t == 4) & (sub == 1), t == 4, True],
                       [ord("A"), ord("C"), ord("T"), ord("F"), ord("C"), ord("T")])
    sd = np.where((action == ord("T")), np.where(t == 6, ord("N"), opp[src]), side[src])
    del rows
    return EventTable.from_columns(
        symbols={1: "AAPL"}, ts_recv=ts[src], action=action, side=sd, price=price[src], size=size[src],
        order_id=np.where(action == ord("T"), 0, oid[src]), sequence=seq[src], instrument_id=np.ones(len(src)),
        flags=np.where(np.r_[src[1:] != src[:-1], True], F_LAST, 0),
    )


def test_token_statistics_aapl50():
    ev = _read_lobster(real_path(*AAPL50))
    (sf,) = build_features(ev)
    assert sf.records == len(ev) == sf.used + sum(sf.skipped.values())
    assert len(sf) > 80_000 and (sf.symbol, sf.date) == ("AAPL", "2012-06-21")
    for name in ("price_depth", "log_volume", "dt", "mid", "price_level"):
        assert np.isfinite(getattr(sf, name)).all(), name
    assert 570 < sf.mid.min() <= sf.mid.max() < 600  # AAPL traded ~$575–590 that morning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # one day < calib_days: documented fallback
        tok = TradeFMTokenizer().calibrate([sf])
    out = tok.encode(sf)
    ids, ctx = out["input_ids"], out["context_ids"]
    assert ids.min() >= 0 and ids.max() < 16_384
    a, s, p, v, d = tok.decompose(ids)
    for name, digits, n in (("action", a, 2), ("side", s, 2), ("price_depth", p, 16), ("volume", v, 16), ("dt", d, 16)):
        used = np.bincount(digits, minlength=n)
        assert (used > 0).all(), f"{name}: unused bins {np.flatnonzero(used == 0).tolist()}"
    assert (np.bincount(ctx[:, 1], minlength=32) > 0).all()
    # outlier bins hold ~1% each where the cut is a percentile
    assert np.mean(p == 0) == pytest.approx(0.01, abs=0.005) and np.mean(p == 15) == pytest.approx(0.01, abs=0.005)
    assert len(np.unique(ids)) > 1_000
    dec = tok.decode(ids, np.random.default_rng(0))
    assert np.isfinite(dec["price_depth"]).all() and (dec["size"] >= 1).all() and (dec["dt"] >= 0).all()
