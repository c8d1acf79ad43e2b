# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Tests of sessions, the EW-VWAP mid and the scale-invariant features."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import real_path
from oracles import EWVWAP

from modeling_tradefm.events import F_LAST, F_SNAPSHOT, NS_PER_SECOND, EventTable
from modeling_tradefm.features import (
    FeatureConfig,
    build_features,
    counted_executions,
    ewvwap,
    modeled_events,
    split_sessions,
    tier_cuts_from_adv,
    trading_day,
)

S = NS_PER_SECOND
P = 1_000_000_000  # 1.0 in 1e-9 price units
T0 = 1_703_545_200 * S  # 2023-12-25 23:00:00 UTC


def _table(rows, instrument_id=1, symbol="X"):
    """rows: (ts_ns, action, side, price_float, size, order_id, sequence[, flags[, participant]])."""
    cols = {k: [] for k in ("ts_recv", "action", "side", "price", "size", "order_id", "sequence", "flags", "participant")}
    for r in rows:
        ts, a, sd, px, q, oid, seq = r[:7]
        cols["ts_recv"].append(ts)
        cols["action"].append(ord(a))
        cols["side"].append(ord(sd))
        cols["price"].append(int(round(px * P)))
        cols["size"].append(q)
        cols["order_id"].append(oid)
        cols["sequence"].append(seq)
        cols["flags"].append(r[7] if len(r) > 7 else 0)
        cols["participant"].append(r[8] if len(r) > 8 else 0)
    return EventTable.from_columns(symbols={instrument_id: symbol}, instrument_id=[instrument_id] * len(rows), **cols)


def _reference_ewvwap(ts_ns, price, size, half_life):
    """Slow, obviously-correct loop over the definition."""
    out, num, den, prev = [], 0.0, 0.0, None
    for t, p, q in zip(ts_ns, price, size, strict=True):
        if prev is not None:
            w = math.pow(0.5, (t - prev) / 1e9 / half_life)
            num, den = w * num, w * den
        num += p * q
        den += q
        prev = t
        out.append(num / den)
    return np.array(out)


# --------------------------------------------------------------------------------------------- EW-VWAP
def test_ewvwap_hand_computed():
    # 10 @ 100 at t=0, 30 @ 101 at t=10 s with a 10 s half-life: w = 0.5 →
    # num = 0.5·1000 + 3030 = 3530, den = 0.5·10 + 30 = 35 → 100.857142857...
    e = EWVWAP(half_life_s=10.0)
    assert e.value is None
    assert e.update(0, 100.0, 10) == 100.0
    assert e.update(10 * S, 101.0, 30) == pytest.approx(3530 / 35, rel=1e-15)
    # a third at t=30 s (w = 0.25): num = 0.25·3530 + 99·5, den = 0.25·35 + 5
    assert e.update(30 * S, 99.0, 5) == pytest.approx((0.25 * 3530 + 495) / (0.25 * 35 + 5), rel=1e-15)
    vec = ewvwap(np.array([0, 10 * S, 30 * S]), np.array([100.0, 101.0, 99.0]), np.array([10, 30, 5]), 10.0)
    np.testing.assert_allclose(vec, [100.0, 3530 / 35, (0.25 * 3530 + 495) / (0.25 * 35 + 5)], rtol=1e-15)
    # state round trip continues identically
    f = EWVWAP(10.0)
    f.set_state(e.state())
    assert f.update(31 * S, 98.0, 1) == e.copy().update(31 * S, 98.0, 1)


def test_ewvwap_matches_slow_reference():
    rng = np.random.default_rng(0)
    m = 2_000
    ts = np.cumsum(rng.exponential(3.0, m) * S).astype(np.int64)
    px = 100 + np.cumsum(rng.normal(0, 0.05, m))
    q = rng.integers(1, 500, m)
    for hl in (0.5, 10.0, 300.0):
        np.testing.assert_allclose(ewvwap(ts, px, q, hl), _reference_ewvwap(ts, px, q, hl), rtol=1e-12)
    inc = EWVWAP(10.0)
    np.testing.assert_allclose([inc.update(t, p, s) for t, p, s in zip(ts, px, q, strict=True)], ewvwap(ts, px, q, 10.0), rtol=1e-12)


def test_features_mid_matches_reference_loop():
    """mid (before) / price_level (after) of every modeled event vs a loop over counted executions."""
    rng = np.random.default_rng(1)
    rows, seq, oid, t = [], 0, 100, T0
    for _ in range(400):
        t += int(rng.exponential(0.7) * S)
        seq += 1
        if rng.random() < 0.3:  # an execution: T + F, then the venue's C next packet
            px, q = 100 + rng.integers(-8, 8) * 0.25, int(rng.integers(1, 20))
            side = "B" if rng.random() < 0.5 else "A"
            rows += [(t, "A", "A" if side == "B" else "B", px, q, oid, seq)]
            seq += 1
            rows += [(t + 1, "T", side, px, q, 0, seq), (t + 1, "F", "A" if side == "B" else "B", px, q, oid, seq)]
            seq += 1
            rows += [(t + 2, "C", "A" if side == "B" else "B", px, q, oid, seq)]
            oid += 1
        else:
            rows += [(t, "A", "B" if rng.random() < 0.5 else "A", 100 + rng.integers(-20, 20) * 0.25, int(rng.integers(1, 50)), oid, seq)]
            oid += 1
    ev = _table(rows)
    (sf,) = build_features(ev, FeatureConfig(vwap_half_life_s=5.0))
    counted = counted_executions(ev)
    assert (ev.action[counted] == ord("T")).all()
    ex = np.flatnonzero(counted)
    ref = _reference_ewvwap(ev.ts_recv[ex], ev.price[ex] / P, ev.size[ex].astype(float), 5.0)
    # value in force before source row r = after the last counted execution at a row < r
    for k, r in enumerate(sf.source_row):
        before = np.searchsorted(ex, r) - 1
        is_mkt = ev.action[r] == ord("T")
        if is_mkt:
            assert sf.mid[k] == pytest.approx(ref[before], rel=1e-12)
            after = np.searchsorted(ex, r, side="right") - 1
            assert sf.price_level[k] == pytest.approx(ref[after] / sf.p_open - 1, rel=1e-9, abs=1e-15)
        else:
            assert sf.mid[k] == pytest.approx(ref[before], rel=1e-12)
            assert sf.price_level[k] == pytest.approx(ref[before] / sf.p_open - 1, rel=1e-9, abs=1e-15)
    np.testing.assert_allclose(sf.price_depth, (sf.price / P - sf.mid) / sf.mid, rtol=1e-12)
    np.testing.assert_allclose(sf.log_volume, np.log1p(sf.size.astype(float)))
    np.testing.assert_allclose(sf.dt[1:], np.diff(sf.ts_recv) / S)
    assert sf.dt[0] == 0.0


# --------------------------------------------------------------------------------------------- executions
def _cme_group():
    """Snapshot book, then a CME-style execution: T (aggressor) + 2 F, then the venue's C and M."""
    return [
        (T0 - 10 * S, "A", "A", 100.25, 3, 11, 1, F_SNAPSHOT),
        (T0 - 10 * S, "A", "A", 100.25, 5, 12, 1, F_SNAPSHOT | F_LAST),
        (T0, "T", "B", 100.00, 1, 0, 2),  # an earlier small execution to start the mid
        (T0, "F", "A", 100.00, 1, 99, 2),
        (T0 + S, "A", "B", 99.75, 4, 13, 3, F_LAST),
        (T0 + 2 * S, "T", "B", 100.25, 5, 77, 4),  # buy aggressor 5 lots
        (T0 + 2 * S, "F", "A", 100.25, 3, 11, 4),
        (T0 + 2 * S, "F", "A", 100.25, 2, 12, 4, F_LAST),
        (T0 + 2 * S + 50, "C", "A", 100.25, 3, 11, 5),  # venue removes order 11 (fully filled)
        (T0 + 2 * S + 50, "M", "A", 100.25, 3, 12, 5, F_LAST),  # venue reduces order 12 5 → 3
        (T0 + 3 * S, "C", "A", 100.25, 3, 12, 6, F_LAST),  # the trader cancels the rest: a real cancel
    ]


def test_each_execution_counted_once_cme_group():
    ev = _table(_cme_group())
    counted = counted_executions(ev)
    assert counted.tolist() == [False, False, True, False, False, True, False, False, False, False, False]
    (sf,) = build_features(ev, FeatureConfig(vwap_half_life_s=10.0))
    assert sf.daily_volume == 1 + 5  # not 1 + 5 + 3 + 2
    # modeled: add 4 @ 99.75, marketable buy add 5 @ 100.25, cancel 3 @ 100.25 (the real one)
    assert sf.action.tolist() == [0, 0, 1]
    assert sf.side.tolist() == [0, 0, 1]
    assert sf.size.tolist() == [4, 5, 3]
    assert (sf.price / P).tolist() == [99.75, 100.25, 100.25]
    w = 0.5 ** (2 / 10)
    mid_after = (w * 100.0 + 5 * 100.25) / (w + 5)
    assert sf.mid.tolist() == [100.0, 100.0, pytest.approx(mid_after)]
    assert sf.price_level[1] == pytest.approx(mid_after / 100.0 - 1)
    assert sf.p_open == 100.0
    assert sf.skipped == {
        "snapshot": 2, "fill_record": 3, "execution_bookkeeping": 2, "before_first_execution": 1,
    }
    assert sf.records == len(ev) == sf.used + sum(sf.skipped.values())


def test_lobster_style_t_f_c_and_sweep():
    """LOBSTER type 4 → T+F+C with one sequence; a sweep over two levels is one marketable add."""
    rows = [
        (T0, "A", "A", 10.00, 100, 1, 1),
        (T0, "A", "A", 10.01, 100, 2, 2),
        (T0 + S, "T", "N", 10.00, 10, 0, 3),  # a cross: EW-VWAP only, no aggressor
        (T0 + 2 * S, "T", "B", 10.00, 100, 0, 4),
        (T0 + 2 * S, "F", "A", 10.00, 100, 1, 4),
        (T0 + 2 * S, "C", "A", 10.00, 100, 1, 4),
        (T0 + 2 * S, "T", "B", 10.01, 40, 0, 4),
        (T0 + 2 * S, "F", "A", 10.01, 40, 2, 4),
        (T0 + 2 * S, "C", "A", 10.01, 40, 2, 4),
        (T0 + 3 * S, "C", "A", 10.01, 60, 2, 5),
    ]
    (sf,) = build_features(_table(rows))
    assert sf.action.tolist() == [0, 1]
    assert sf.size.tolist() == [140, 60]
    assert sf.price[0] == int(10.01 * P)  # the last level hit
    assert sf.skipped["trade_without_aggressor"] == 1
    assert sf.skipped["execution_bookkeeping"] == 2
    assert sf.skipped["before_first_execution"] == 2  # the two adds before the first execution


def test_modeled_events_is_what_build_features_derives_from():
    """The public rule (``modeled_events``): the same events, rows and accounting as ``build_features``."""
    rows = [
        (T0, "A", "A", 10.00, 100, 1, 1),
        (T0, "A", "A", 10.01, 100, 2, 2),
        (T0 + S, "T", "N", 10.00, 10, 0, 3),
        (T0 + 2 * S, "T", "B", 10.00, 100, 0, 4),  # row 3: the sweep's first print ...
        (T0 + 2 * S, "F", "A", 10.00, 100, 1, 4),
        (T0 + 2 * S, "C", "A", 10.00, 100, 1, 4),
        (T0 + 2 * S, "T", "B", 10.01, 40, 0, 4),   # row 6: ... and its last
        (T0 + 2 * S, "F", "A", 10.01, 40, 2, 4),
        (T0 + 3 * S, "C", "A", 10.01, 60, 2, 5),
    ]
    ev = _table(rows)
    (me,) = modeled_events(ev)
    (sf,) = build_features(ev)
    assert me.source_row.tolist() == sf.source_row.tolist() == [6, 8]
    assert me.first_row.tolist() == [3, 8]  # the book "before" the sweep is the book before row 3
    assert me.marketable.tolist() == [True, False]
    for name in ("ts_recv", "action", "side", "price", "participant"):
        np.testing.assert_array_equal(getattr(me, name), getattr(sf, name))
    np.testing.assert_array_equal(me.size, sf.size)
    np.testing.assert_array_equal(me.mid_before, sf.mid)
    assert (me.records, me.used, me.skipped) == (sf.records, sf.used, sf.skipped)
    assert me.skipped == {"trade_without_aggressor": 1, "fill_record": 2, "execution_bookkeeping": 1,
                          "before_first_execution": 2}
    assert me.daily_volume == sf.daily_volume == 150 and me.session.rows.tolist() == list(range(len(ev)))


def test_modify_mapping_policies():
    rows = [
        (T0, "T", "B", 50.0, 1, 0, 1),
        (T0 + 1, "A", "B", 49.0, 10, 5, 2),
        (T0 + 2, "M", "B", 49.0, 7, 5, 3),  # size down in place → partial cancel 3
        (T0 + 3, "M", "B", 49.0, 7, 5, 4),  # unchanged → skipped
        (T0 + 4, "M", "B", 48.5, 7, 5, 5),  # price change → cancel 7 @ 49 + add 7 @ 48.5
        (T0 + 5, "M", "B", 48.5, 9, 5, 6),  # size up → cancel 7 + add 9
        (T0 + 6, "M", "A", 51.0, 2, 6, 7),  # unknown order → add 2
    ]
    (sf,) = build_features(_table(rows))
    got = list(zip(sf.action.tolist(), (sf.price / P).tolist(), sf.size.tolist(), strict=True))
    assert got == [(0, 49.0, 10), (1, 49.0, 3), (1, 49.0, 7), (0, 48.5, 7), (1, 48.5, 7), (0, 48.5, 9), (0, 51.0, 2)]
    assert sf.skipped == {"modify_unchanged": 1, "before_first_execution": 1}
    (sf_add,) = build_features(_table(rows), FeatureConfig(modify_policy="add"))
    assert sf_add.action.tolist() == [0] * 6 and sf_add.size.tolist() == [10, 7, 7, 7, 9, 2]
    (sf_drop,) = build_features(_table(rows), FeatureConfig(modify_policy="drop"))
    assert len(sf_drop) == 1 and sf_drop.skipped["modify_dropped"] == 5


def test_startup_backfill():
    rows = [(T0, "A", "B", 99.0, 1, 1, 1), (T0 + S, "T", "A", 100.0, 2, 0, 2), (T0 + 2 * S, "A", "A", 101.0, 1, 2, 3)]
    (dropped,) = build_features(_table(rows))
    assert len(dropped) == 1 and dropped.skipped["before_first_execution"] == 2
    (filled,) = build_features(_table(rows), FeatureConfig(startup="backfill"))
    assert filled.action.tolist() == [0, 0, 0] and filled.mid.tolist() == [100.0, 100.0, 100.0]
    assert filled.source_row.tolist() == [0, 1, 2]
    assert filled.records == 3 == filled.used + sum(filled.skipped.values())


# --------------------------------------------------------------------------------------------- sessions
def _day(offset_days, instrument_id, px, seed):
    rng = np.random.default_rng(seed)
    t = T0 + offset_days * 86_400 * S - 20 * 3600 * S  # 03:00 UTC
    rows, oid = [], 1
    for k in range(60):
        t += int(rng.exponential(2.0) * S)
        if k % 5 == 0:
            rows.append((t, "T", "B", px + rng.integers(-2, 3) * 0.25, int(rng.integers(1, 9)), 0, k + 1))
        else:
            rows.append((t, "A", "A", px + rng.integers(0, 9) * 0.25, int(rng.integers(1, 9)), oid, k + 1))
            oid += 1
    return _table(rows, instrument_id, f"S{instrument_id}")


def test_no_feature_crosses_a_session():
    days = {(1, 0): _day(0, 1, 100.0, 0), (1, 1): _day(1, 1, 120.0, 1), (2, 0): _day(0, 2, 50.0, 2)}
    allev = EventTable.concat([days[(1, 0)], days[(2, 0)], days[(1, 1)]])  # instruments interleaved
    sessions = split_sessions(allev)
    assert [(s.instrument_id, s.date) for s in sessions] == [(1, "2023-12-25"), (1, "2023-12-26"), (2, "2023-12-25")]
    together = build_features(allev, FeatureConfig(tier_cuts=(100.0, 200.0)))
    for sf, key in zip(together, [(1, 0), (1, 1), (2, 0)], strict=True):
        (alone,) = build_features(days[key], FeatureConfig(tier_cuts=(100.0, 200.0)))
        for name in ("ts_recv", "action", "price", "size", "mid", "price_depth", "price_level", "dt"):
            np.testing.assert_array_equal(getattr(sf, name), getattr(alone, name), err_msg=f"{key} {name}")
        assert sf.dt[0] == 0.0 and sf.price_level[0] == 0.0
    # ADV: day 2 of instrument 1 takes day 1's volume (causal); first days fall back to themselves
    assert together[1].adv == together[0].daily_volume
    assert together[0].adv == together[0].daily_volume and together[2].adv == together[2].daily_volume
    serial = build_features(allev, FeatureConfig(tier_cuts=(100.0, 200.0)), num_threads=1)
    for a, b in zip(together, serial, strict=True):  # threads over sessions change nothing
        assert all(np.array_equal(x, y) for x, y in zip(a.columns().values(), b.columns().values(), strict=True))
    mid = build_features(allev, FeatureConfig(adv_fallback="middle"))
    assert mid[0].tier[0] == 1 and math.isnan(mid[0].adv)


def test_tier_from_rolling_adv_window():
    tables = [_day(k, 1, 100.0, k) for k in range(4)]
    feats = build_features(EventTable.concat(tables), FeatureConfig(adv_window_days=2, tier_cuts=(10.0, 40.0)))
    vols = [f.daily_volume for f in feats]
    assert feats[3].adv == pytest.approx((vols[1] + vols[2]) / 2)
    for f in feats:
        assert (f.tier == int(np.searchsorted([10.0, 40.0], f.adv, side="right"))).all()
    hist = build_features(tables[0], FeatureConfig(tier_cuts=(10.0, 40.0)), adv_history={1: [("2023-12-24", 1e9)]})
    assert hist[0].adv == 1e9 and hist[0].tier[0] == 2
    assert tier_cuts_from_adv([1, 2, 3, 4, 5, 6]) == pytest.approx((np.quantile([1, 2, 3, 4, 5, 6], 1 / 3), np.quantile([1, 2, 3, 4, 5, 6], 2 / 3)))


def test_trading_date_rules():
    ts = np.array([T0 - 2 * 3600 * S, T0 - 30 * 60 * S, T0], dtype=np.int64)  # 21:00, 22:30, 23:00 UTC Dec 25
    assert [str(np.datetime64(int(d), "D")) for d in trading_day(ts)] == ["2023-12-25"] * 3
    # CME: 15:00 CT → Dec 25; 16:30 CT and 17:00 CT → trade date Dec 26
    assert [str(np.datetime64(int(d), "D")) for d in trading_day(ts, FeatureConfig.cme())] == [
        "2023-12-25", "2023-12-26", "2023-12-26",
    ]
    with pytest.raises(ValueError):
        FeatureConfig(session_roll_hour=0)
    from zoneinfo import ZoneInfoNotFoundError

    with pytest.raises(ZoneInfoNotFoundError):
        FeatureConfig(session_timezone="Mars/Olympus")


# --------------------------------------------------------------------------------------------- real data
def _read_es_csv(path):
    """Private reader of the integer Databento CSV (until modeling_tradefm.io lands)."""
    try:
        from modeling_tradefm.io import read_events
    except ImportError:
        read_events = None
    if read_events is not None:
        return read_events(path)
    import io

    import pyarrow.csv as pacsv
    import zstandard

    with open(path, "rb") as fh:
        raw = zstandard.ZstdDecompressor().stream_reader(fh).read()
    t = pacsv.read_csv(io.BytesIO(raw))
    cols = {c: t.column(c).to_numpy() for c in ("ts_recv", "ts_event", "price", "size", "order_id", "instrument_id", "flags", "sequence")}
    for c in ("action", "side"):
        cols[c] = np.frombuffer("".join(t.column(c).to_pylist()).encode(), dtype=np.uint8)
    return EventTable.from_columns(symbols={int(cols["instrument_id"][0]): t.column("symbol")[0].as_py()}, **cols)


def test_es_day_features_sane():
    ev = _read_es_csv(real_path("databento", "glbx-esh4", "esh4-glbx-mdp3-20231225.mbo.csv.zst"))
    (sf,) = build_features(ev)
    assert (sf.symbol, sf.date) == ("ESH4", "2023-12-25")
    assert sf.records == 68_792 == sf.used + sum(sf.skipped.values())
    assert sf.skipped["snapshot"] == 8_725
    assert 4_700 < sf.mid.min() <= sf.mid.max() < 4_900
    assert np.isfinite(sf.price_depth).all() and np.isfinite(sf.price_level).all()
    assert np.mean(np.abs(sf.price_depth) < 0.005) > 0.85
    assert np.median(np.abs(sf.price_depth)) < 0.001
    # marketable adds: one per aggressor execution after the first (2,972 T with a side, grouped)
    is_t = ev.action[sf.source_row] == ord("T")
    assert 1_000 < is_t.sum() <= 2_972 and (sf.action[is_t] == 0).all()
    # nearly every fill's size is removed by venue bookkeeping, not counted as a trader's cancel
    assert sf.skipped["execution_bookkeeping"] > 0.95 * len(np.unique(ev.order_id[ev.action == ord("F")]))
    assert (sf.dt >= 0).all() and sf.dt[0] == 0
    table = sf.to_arrow()
    assert table.num_rows == len(sf) and table.column("price_depth").to_numpy().tolist() == sf.price_depth.tolist()
    assert b"tradefm_session" in table.schema.metadata
