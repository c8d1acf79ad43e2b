# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Tests of TradeFMTokenizer: mixed radix, calibration, encode/decode, persistence, real-data statistics."""

from __future__ import annotations

import json
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import real_path

from modeling_tradefm.events import F_LAST, NS_PER_SECOND, PRICE_SCALE, EventTable
from modeling_tradefm.features import SessionFeatures, build_features
from modeling_tradefm.tokenization_tradefm import TOKENIZER_FILE, TradeFMTokenizer

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


# --------------------------------------------------------------------------------------------- in-bin decoding
_TABLE_KEYS = ("values", "counts", "n", "quantiles")


@pytest.fixture(scope="module")
def aapl():
    """The AAPL 50-level session and a tokenizer calibrated on it (one day: the documented fallback)."""
    (sf,) = build_features(_read_lobster(real_path(*AAPL50)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tok = TradeFMTokenizer().calibrate([sf])
    return tok, sf


def _old_state(tok: TradeFMTokenizer) -> dict:
    """``tok``'s state as format 1 wrote it: no in-bin tables, no ``in_bin*`` keys."""
    d = tok.to_dict()
    d["format_version"] = 1
    for key in ("in_bin", "in_bin_values", "in_bin_quantiles"):
        d.pop(key)
    d["fields"] = {name: {k: v for k, v in f.items() if k not in _TABLE_KEYS} for name, f in d["fields"].items()}
    return d


def _uniform_reference(tok: TradeFMTokenizer, ids, rng) -> dict[str, np.ndarray]:
    """The format-1 decode rule, written out independently (uniform δp, uniform v, log-uniform Δt)."""
    a, s, p, v, d = tok.decompose(ids)
    ext = {}
    for name in ("price_depth", "volume", "dt"):
        f = tok.fields[name]
        e = np.asarray(f["edges"], dtype=np.float64)
        ext[name] = np.concatenate([[min(f["low"], e[0])], e, [max(f["high"], e[-1])]])
    lo, hi = ext["price_depth"][p], ext["price_depth"][p + 1]
    price_depth = lo + (hi - lo) * rng.random(len(p))
    lo, hi = ext["volume"][v], ext["volume"][v + 1]
    size = np.rint(np.expm1(lo + (hi - lo) * rng.random(len(v))))
    smin = np.ceil(np.expm1(lo) - 1e-9)
    smax = np.ceil(np.expm1(hi) - 1e-9) - 1
    last = v == tok.n_volume - 1
    smax[last] = np.floor(np.expm1(hi[last]) + 1e-9)
    size = np.maximum(np.clip(size, smin, np.maximum(smax, smin)), 1).astype(np.int64)
    lo, hi = ext["dt"][d], ext["dt"][d + 1]
    zero = (d == 0) & tok.dt_zero_bin
    lo = np.where(zero, 1.0, np.maximum(lo, tok.fields["dt"]["low"]))
    hi = np.where(zero, 1.0, np.maximum(hi, lo))
    dt = np.exp(np.log(lo) + (np.log(hi) - np.log(lo)) * rng.random(len(d)))
    dt[zero] = 0.0
    return {"action": a.astype(np.uint8), "side": s.astype(np.uint8), "price_depth": price_depth, "size": size, "dt": dt}


def test_empirical_decode_reproduces_real_marginals_aapl50(aapl):
    """Sizes are point masses (100, 200 shares): in-bin empirical decoding keeps them, the uniform rule smears them."""
    from modeling_tradefm.evaluation.distances import ks_statistic

    tok, sf = aapl
    assert tok.in_bin == "empirical" and tok.in_bin_tables == ("price_depth", "volume", "dt")
    ids = tok.encode(sf)["input_ids"]
    size = np.asarray(sf.size, dtype=np.int64)
    dec = tok.decode(ids, np.random.default_rng(0))
    uniform = TradeFMTokenizer.from_dict({**tok.to_dict(), "in_bin": "uniform"}).decode(ids, np.random.default_rng(0))
    # (a) size K-S: empirical ≈ 0.001, uniform ≈ 0.27 on this session
    assert ks_statistic(dec["size"], size) < 0.02
    assert ks_statistic(uniform["size"], size) > 0.2
    # (b) exactly-100 orders: real 52 %, empirical the same, uniform ~1 %
    real100 = np.mean(size == 100)
    assert real100 > 0.4
    assert abs(np.mean(dec["size"] == 100) - real100) < 0.01
    assert np.mean(uniform["size"] == 100) < 0.05
    for k in (200, 300, 500, 1000):
        assert abs(np.mean(dec["size"] == k) - np.mean(size == k)) < 0.005, k
    # δp and Δt marginals: the within-bin shape too (empirical ≈ 0.002, uniform 0.024 / 0.031)
    assert ks_statistic(dec["price_depth"], sf.price_depth) < 0.01
    assert ks_statistic(dec["dt"], sf.dt) < 0.01
    assert ks_statistic(uniform["price_depth"], sf.price_depth) > 0.015
    assert ks_statistic(uniform["dt"], sf.dt) > 0.015
    # same generator state, same orders
    again = tok.decode(ids[:500], np.random.default_rng(3))
    assert all(np.array_equal(again[k], tok.decode(ids[:500], np.random.default_rng(3))[k]) for k in again)


class _EdgeRng:
    """A generator stand-in whose draws sit at the ends of [0, 1): probes the edges of every bin."""

    def __init__(self, u: float):
        self.u = u

    def random(self, n):
        return np.full(n, self.u)


def test_empirical_decode_stays_in_bin_aapl50(aapl, synth):
    tok, sf = aapl
    ids = tok.encode(sf)["input_ids"]
    dec = tok.decode(ids, np.random.default_rng(1))
    fields = ("action", "side", "price_depth", "size", "dt")
    np.testing.assert_array_equal(tok.encode_orders(*(dec[k] for k in fields)), ids)
    # every token of the vocabulary (bins with no calibration value fall back to the uniform rule),
    # at the extreme draws too; volume bins that hold no integer size are left out, as before
    all_ids = np.arange(tok.vocab_size)
    v = tok.decompose(all_ids)[3]
    lo, hi = tok.bin_bounds("volume", v)
    smax = np.where(v == tok.n_volume - 1, np.floor(np.expm1(hi) + 1e-9), np.ceil(np.expm1(hi) - 1e-9) - 1)
    ok = all_ids[np.ceil(np.expm1(lo) - 1e-9) <= smax]
    for t, rng in ((tok, np.random.default_rng(5)), (tok, _EdgeRng(0.0)), (tok, _EdgeRng(1 - 2**-53)), (synth[0], _EdgeRng(0.5))):
        dec_all = t.decode(ok, rng)
        np.testing.assert_array_equal(t.encode_orders(*(dec_all[k] for k in fields)), ok)
    # a size decoded from a bin its table covers completely is a size seen in calibration
    seen = set(np.unique(sf.size).tolist())
    covered = np.flatnonzero([sum(c) == n > 0 for c, n in zip(tok.fields["volume"]["counts"], tok.fields["volume"]["n"], strict=True)])
    assert len(covered) >= 8
    sizes = dec["size"][np.isin(tok.decompose(ids)[3], covered)]
    assert set(np.unique(sizes).tolist()) <= seen


def test_old_format_state_decodes_uniformly_bit_for_bit(aapl):
    tok, sf = aapl
    ids = tok.encode(sf)["input_ids"][:5_000]
    old = TradeFMTokenizer.from_dict(json.loads(json.dumps(_old_state(tok))))
    assert old.in_bin_tables == () and old.fields["volume"]["edges"] == tok.fields["volume"]["edges"]
    np.testing.assert_array_equal(old.encode(sf)["input_ids"][:5_000], ids)
    ref = _uniform_reference(tok, ids, np.random.default_rng(11))
    got = old.decode(ids, np.random.default_rng(11))
    assert all(np.array_equal(got[k], ref[k]) for k in ref)
    # in_bin="uniform" on a new state draws the same, and the tables are what changes the output
    uni = TradeFMTokenizer.from_dict({**tok.to_dict(), "in_bin": "uniform"}).decode(ids, np.random.default_rng(11))
    assert all(np.array_equal(uni[k], ref[k]) for k in ref)
    emp = tok.decode(ids, np.random.default_rng(11))
    assert not np.array_equal(emp["size"], ref["size"]) and not np.array_equal(emp["dt"], ref["dt"])
    # a bin without a table (none of its values in calibration) falls back to the uniform rule
    d = tok.to_dict()
    pbin, dbin = tok.decompose(ids)[2], tok.decompose(ids)[4]
    d["fields"]["price_depth"]["quantiles"][7] = []
    d["fields"]["dt"]["quantiles"][3] = []
    part = TradeFMTokenizer.from_dict(d).decode(ids, np.random.default_rng(11))
    np.testing.assert_array_equal(part["price_depth"][pbin == 7], ref["price_depth"][pbin == 7])
    np.testing.assert_array_equal(part["dt"][dbin == 3], ref["dt"][dbin == 3])
    np.testing.assert_array_equal(part["price_depth"][pbin != 7], emp["price_depth"][pbin != 7])
    assert (pbin == 7).sum() > 100 and (dbin == 3).sum() > 10
    # both rules draw exactly three floats per token: the generator ends in the same state
    g1, g2 = np.random.default_rng(2), np.random.default_rng(2)
    old.decode(ids, g1), tok.decode(ids, g2)
    assert g1.random() == g2.random()


def test_in_bin_tables_json_round_trip(aapl, tmp_path):
    tok, sf = aapl
    d = tok.to_dict()
    assert d["format_version"] == 2 and d["in_bin"] == "empirical"
    assert (d["in_bin_values"], d["in_bin_quantiles"]) == (32, 33)
    vol = d["fields"]["volume"]
    assert len(vol["values"]) == len(vol["counts"]) == len(vol["n"]) == 16
    assert all(len(r) <= 32 and r == sorted(r) for r in vol["values"])
    assert 100 in vol["values"][int(tok.volume_bin(100))]
    assert all(len(r) in (0, 33) for r in d["fields"]["price_depth"]["quantiles"] + d["fields"]["dt"]["quantiles"])
    assert d["fields"]["dt"]["quantiles"][0] == []  # the Δt zero bin decodes to 0 without a table
    text = json.dumps(d, indent=2)
    assert len(text) < 64_000  # config.json embeds it
    again = TradeFMTokenizer.from_dict(json.loads(text))
    assert again == tok and again.fields == tok.fields
    loaded = TradeFMTokenizer.from_pretrained(tok.save_pretrained(tmp_path / "tok").parent)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text(json.dumps({"model_type": "tradefm", "tokenizer_config": d}, indent=2, sort_keys=True))
    embedded = TradeFMTokenizer.from_pretrained(tmp_path / "model")
    ids = tok.encode(sf)["input_ids"]
    ref = tok.decode(ids, np.random.default_rng(4))
    for other in (again, loaded, embedded):
        out = other.decode(ids, np.random.default_rng(4))
        assert all(np.array_equal(out[k], ref[k]) for k in ref)
    # malformed tables are refused
    for name, key, cut in (("volume", "counts", 15), ("price_depth", "quantiles", 15)):
        bad = json.loads(text)
        bad["fields"][name][key] = bad["fields"][name][key][:cut]
        with pytest.raises(ValueError, match="in-bin|quantiles"):
            TradeFMTokenizer.from_dict(bad)
    with pytest.raises(ValueError, match="in_bin"):
        TradeFMTokenizer(in_bin="nearest")


def test_in_bin_table_caps_and_remainder(aapl, synth):
    """``in_bin_values`` caps the listed sizes; the rest of a bin's mass keeps the uniform rule."""
    tok, sf = aapl
    small = TradeFMTokenizer(in_bin_values=1, in_bin_quantiles=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        small.calibrate([sf])
    assert small.fields["volume"]["edges"] == tok.fields["volume"]["edges"]  # same bins, same tokens
    assert all(len(r) <= 1 for r in small.fields["volume"]["values"])
    assert {len(r) for r in small.fields["price_depth"]["quantiles"]} == {5}
    b = int(small.volume_bin(100))
    (top,), (count,), n = small.fields["volume"]["values"][b], small.fields["volume"]["counts"][b], small.fields["volume"]["n"][b]
    assert top == 100 and 0.9 < count / n < 1
    ids = small.compose(np.zeros(20_000, int), 0, 5, b, 5)
    size = small.decode(ids, np.random.default_rng(0))["size"]
    uniform = TradeFMTokenizer.from_dict({**small.to_dict(), "in_bin": "uniform"}).decode(ids, np.random.default_rng(1))["size"]
    cover, p100 = count / n, np.mean(uniform == 100)
    assert np.mean(size == 100) == pytest.approx(cover + (1 - cover) * p100, abs=0.01)
    assert len(np.unique(size)) > 5 and (small.volume_bin(size) == b).all()
    # Δt without a zero bin: zeros share bin 0 and are decoded as often as they were seen
    stok, sessions = synth
    nz = TradeFMTokenizer(dt_zero_bin=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        nz.calibrate(sessions, calib_days=5)
    dt = np.concatenate([s.dt for s in sessions])
    ids = np.concatenate([nz.encode(s)["input_ids"] for s in sessions])
    dec = nz.decode(ids, np.random.default_rng(0))
    assert np.mean(dec["dt"] == 0) == pytest.approx(np.mean(dt == 0), abs=0.01)
    np.testing.assert_array_equal(nz.dt_bin(dec["dt"]), nz.decompose(ids)[4])
    # with a zero bin, its tokens decode to exactly 0 and no others do
    dec = stok.decode(ids := np.concatenate([stok.encode(s)["input_ids"] for s in sessions]), np.random.default_rng(0))
    np.testing.assert_array_equal(dec["dt"] == 0, stok.decompose(ids)[4] == 0)


# --------------------------------------------------------------------------------------------- numpy encode, HF entry points, Hub loading
AMZN1 = ("lobster", "AMZN_2012-06-21_34200000_57600000_message_1.csv")
ES_DBN = ("databento", "glbx-esh4", "esh4-glbx-mdp3-20231225.mbo.dbn.zst")


def _calibrated(path_parts):
    from modeling_tradefm.io import read_events

    sessions = [s for s in build_features(read_events(real_path(*path_parts), progress=False)) if len(s)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # one day < calib_days: documented fallback
        return TradeFMTokenizer().calibrate(sessions), sessions


@pytest.fixture(scope="module")
def amzn():
    tok, (sf,) = _calibrated(AMZN1)
    return tok, sf


def _reference_tokens(action, side, price_depth, log_volume, dt, e_dp, e_v, e_dt, n_a=2, n_s=2):
    """The composite-token definition, row by row: ``searchsorted(edges, x, "right")`` per field, −1 for invalid rows."""
    out = np.empty(len(action), dtype=np.int64)
    for i in range(len(action)):
        a, s_, x = int(action[i]), int(side[i]), (price_depth[i], log_volume[i], dt[i])
        if np.isnan(x).any() or dt[i] < 0 or not (0 <= a < n_a and 0 <= s_ < n_s):
            out[i] = -1
            continue
        p, v, d = (int(np.searchsorted(e, xi, side="right")) for e, xi in zip((e_dp, e_v, e_dt), x, strict=True))
        out[i] = (((a * n_s + s_) * (len(e_dp) + 1) + p) * (len(e_v) + 1) + v) * (len(e_dt) + 1) + d
    return out


def test_numpy_encode_is_the_token_definition_bit_for_bit():
    """The tokenizer is a Hub file (numpy only): its vectorised binning must give exactly the definition's tokens,
    including invalid rows (NaN δp, negative Δt, action out of range) and values exactly on an edge."""
    from modeling_tradefm.tokenization_tradefm import _bin_values, _encode_tokens

    for parts in (ES_DBN, AMZN1):
        tok, sessions = _calibrated(parts)
        e_dp, e_v, e_dt, e_pl = (tok._arrays[k][0] for k in ("price_depth", "volume", "dt", "price_level"))
        for sf in sessions[:1]:
            cols = [sf.action, sf.side, sf.price_depth.copy(), sf.log_volume.copy(), sf.dt.copy()]
            cols[0] = cols[0].astype(np.int64)
            cols[0][7::89] = 2
            cols[2][::97] = np.nan
            cols[2][3::101] = e_dp[5]
            cols[4][5::103] = -1.0
            ref = _reference_tokens(*cols, e_dp, e_v, e_dt)
            new = _encode_tokens(*cols, e_dp, e_v, e_dt, 2, 2)
            assert (ref == -1).sum() > 1_000 and np.array_equal(new, ref)
            pl = sf.price_level.copy()
            pl[::50] = np.nan
            want = np.where(np.isnan(pl), -1, np.searchsorted(e_pl, pl, side="right"))
            np.testing.assert_array_equal(_bin_values(pl, e_pl), want)
            assert np.array_equal(tok.encode(sf)["input_ids"], _reference_tokens(
                sf.action, sf.side, sf.price_depth, sf.log_volume, sf.dt, e_dp, e_v, e_dt))


def test_call_and_decode_fields_are_encode_and_decode(amzn):
    import torch

    tok, sf = amzn
    ref = tok.encode(sf)
    assert len(ref["input_ids"]) == len(sf) > 50_000
    for features in (sf.columns(), sf, sf.to_arrow(), {k: sf.columns()[k].tolist() for k in ("action", "side", "price_depth", "log_volume", "dt", "price_level", "tier", "participant")}):
        out = tok(features)
        assert set(out) == {"input_ids", "context_ids"} == set(tok.model_input_names)
        assert np.array_equal(out["input_ids"], ref["input_ids"]) and np.array_equal(out["context_ids"], ref["context_ids"])
    np_out, pt_out = tok(sf.columns(), return_tensors="np"), tok(sf.columns(), return_tensors="pt")
    assert np_out["input_ids"].shape == (1, len(sf)) and pt_out["context_ids"].shape == (1, len(sf), 3)
    assert np.array_equal(np_out["context_ids"][0], ref["context_ids"]) and torch.equal(pt_out["input_ids"][0], torch.from_numpy(ref["input_ids"]))
    with pytest.raises(ValueError, match="return_tensors"):
        tok(sf, return_tensors="tf")
    cols = sf.columns()
    del cols["log_volume"]
    with pytest.raises(KeyError, match="log_volume"):
        tok(cols)
    expected = tok.decode(ref["input_ids"], np.random.default_rng(11))
    for ids in (ref["input_ids"], ref["input_ids"].tolist(), torch.from_numpy(ref["input_ids"])):
        got = tok.decode_fields(ids, seed=11)
        assert set(got) == {"action", "side", "price_depth", "size", "dt"}
        assert all(np.array_equal(got[k], expected[k]) for k in expected)
    got = tok.decode_fields(ref["input_ids"], rng=np.random.default_rng(11))
    assert all(np.array_equal(got[k], expected[k]) for k in expected)
    assert not np.array_equal(tok.decode_fields(ref["input_ids"], seed=12)["price_depth"], expected["price_depth"])
    for kwargs in ({}, {"seed": 1, "rng": np.random.default_rng(1)}):
        with pytest.raises(TypeError, match="exactly one"):
            tok.decode_fields(ref["input_ids"], **kwargs)


def test_save_pretrained_writes_the_hub_files(amzn, tmp_path):
    import modeling_tradefm.tokenization_tradefm as module

    tok, sf = amzn
    state = tok.save_pretrained(tmp_path / "tok")
    assert state == tmp_path / "tok" / TOKENIZER_FILE
    assert sorted(p.name for p in (tmp_path / "tok").iterdir()) == ["book_bins.py", "tokenization_tradefm.py", "tokenizer_config.json",
                                                                   TOKENIZER_FILE]
    hub_config = json.loads((tmp_path / "tok" / "tokenizer_config.json").read_text())
    assert hub_config["auto_map"] == {"AutoTokenizer": ["tokenization_tradefm.TradeFMTokenizer", None]}
    assert hub_config["tokenizer_class"] == "TradeFMTokenizer" and hub_config["vocab_size"] == 16_384
    assert (tmp_path / "tok" / "tokenization_tradefm.py").read_bytes() == open(module.__file__, "rb").read()
    assert (tmp_path / "tok" / "book_bins.py").read_bytes() == (Path(module.__file__).parent / "book_bins.py").read_bytes()
    assert json.loads(state.read_text()) == tok.to_dict()
    assert TradeFMTokenizer.from_pretrained(tmp_path / "tok") == tok
    assert TradeFMTokenizer.from_pretrained(state) == tok  # the JSON file itself
    tok.save_pretrained(tmp_path / "tok")  # re-saving into the same folder is fine
    assert TradeFMTokenizer.from_pretrained(tmp_path / "tok") == tok
    with pytest.raises(FileNotFoundError, match="no such tokenizer folder or file"):
        TradeFMTokenizer.from_pretrained(tmp_path / "nope" / "tok")
    with pytest.raises(TypeError, match="use_fast"):
        TradeFMTokenizer.from_pretrained(tmp_path / "tok", use_fast=True)
    # what AutoTokenizer passes on is accepted
    assert TradeFMTokenizer.from_pretrained(tmp_path / "tok", trust_remote_code=True, _from_auto=True, _commit_hash=None) == tok


def test_from_pretrained_hub_id_from_the_offline_cache(amzn, synth, tmp_path, monkeypatch):
    from hub_cache import FakeHub

    tok, _ = amzn
    other, _ = synth
    new, old = tmp_path / "new", tmp_path / "old"
    tok.save_pretrained(new)
    (new / "config.json").write_text(json.dumps({"model_type": "tradefm", "tokenizer_config": other.to_dict()}))
    old.mkdir()  # a checkpoint written before tokenizers had their own files: config.json only
    (old / "config.json").write_text(json.dumps({"model_type": "tradefm", "tokenizer_config": other.to_dict()}))
    (old / "sub").mkdir()
    tok.save_pretrained(old / "sub")
    hub = FakeHub(tmp_path)
    main = hub.add("tradefm/amzn-tok", new)
    legacy = hub.add("tradefm/amzn-tok", old, revision="legacy")
    assert main != legacy and (hub.repo_folder("tradefm/amzn-tok") / "refs" / "main").read_text() == main
    # explicit cache_dir
    assert TradeFMTokenizer.from_pretrained("tradefm/amzn-tok", cache_dir=hub.cache) == tok  # state file beats config.json
    assert TradeFMTokenizer.from_pretrained("tradefm/amzn-tok", revision="legacy", cache_dir=hub.cache) == other
    assert TradeFMTokenizer.from_pretrained("tradefm/amzn-tok", revision=legacy, cache_dir=hub.cache) == other
    assert TradeFMTokenizer.from_pretrained("tradefm/amzn-tok", revision="legacy", subfolder="sub", cache_dir=hub.cache) == tok
    # the default cache (HF_HUB_CACHE)
    hub.use(monkeypatch)
    assert TradeFMTokenizer.from_pretrained("tradefm/amzn-tok") == tok
    with pytest.raises(OSError, match="tradefm/missing: not a local folder"):
        TradeFMTokenizer.from_pretrained("tradefm/missing")
    with pytest.raises(OSError, match="revision v9"):
        TradeFMTokenizer.from_pretrained("tradefm/amzn-tok", revision="v9")
