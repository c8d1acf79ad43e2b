"""Series, report and the `tradefm evaluate` CLI on the embedded real ES sample."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from conftest import real_path

from modeling_tradefm.evaluation.series import (
    QUANTITIES,
    EvalConfig,
    grid_values,
    infer_tick_size,
    log_returns,
    stream_series,
)
from modeling_tradefm.events import ACTION_ADD, ACTION_CANCEL, F_LAST, SIDE_ASK, SIDE_BID, EventTable

ES = ("databento", "glbx-esh4", "esh4-glbx-mdp3-20231225.mbo.csv.zst")


def _book_events():
    """A hand-made stream: bid 100, ask 102 → ask 101 at t=1.5 s → bid 99 (cancel of 100) at t=3.2 s."""
    ns = 1_000_000_000
    rows = [  # ts, action, side, price, size, id
        (0, ACTION_ADD, SIDE_BID, 100, 5, 1),
        (0, ACTION_ADD, SIDE_ASK, 102, 5, 2),
        (int(1.5 * ns), ACTION_ADD, SIDE_ASK, 101, 1, 3),
        (int(3.0 * ns), ACTION_ADD, SIDE_BID, 99, 1, 4),
        (int(3.2 * ns), ACTION_CANCEL, SIDE_BID, 100, 5, 1),
        (int(5.0 * ns), ACTION_ADD, SIDE_BID, 98, 1, 5),
    ]
    t, a, s, p, q, o = map(np.array, zip(*rows, strict=True))
    return EventTable.from_columns(ts_recv=t + 10**18, action=a, side=s, price=p * 10**9, size=q, order_id=o,
                                   flags=np.full(len(t), F_LAST), instrument_id=np.ones(len(t)))


def test_book_mid_grid_and_returns_known_answer():
    ev = _book_events()
    s = stream_series(ev, config=EvalConfig(mid="book"), name="toy")
    np.testing.assert_allclose(s.mid / 1e9, [np.nan, 101, 100.5, 100.5, 100, 100])
    np.testing.assert_allclose(s.spread / 1e9, [np.nan, 2, 1, 1, 2, 2])
    # previous-tick grid from the first two-sided book (t=0): t = 0,1,2,3,4,5 s
    g = grid_values(s.ts, s.mid, 10**9, s.end_ns)
    np.testing.assert_allclose(g / 1e9, [101, 101, 100.5, 100.5, 100, 100])
    r = log_returns(s, 1.0)
    np.testing.assert_allclose(r, np.diff(np.log([101, 101, 100.5, 100.5, 100, 100])))
    assert infer_tick_size(ev) == 10**9


def test_crossed_book_has_no_mid():
    ev = _book_events()
    ev.price[2] = 99 * 10**9  # an ask at 99 below the bid at 100: crossed
    s = stream_series(ev, name="crossed")
    assert np.isnan(s.mid[2]) and np.isnan(s.spread[2])


@pytest.fixture(scope="module")
def es_generated(tmp_path_factory):
    """A 'perfect generator': the real continuation after a 23:30 UTC prefix, cut into two rollouts."""
    from modeling_tradefm.features import split_sessions
    from modeling_tradefm.io import read_events, write_mbo_csv
    from modeling_tradefm.prefix import select_prefix

    path = real_path(*ES)
    events = read_events(path, progress=False)
    session = split_sessions(events)[0]
    _, prefix, _ = select_prefix(session.events, dt.time(23, 30), "UTC", str(path))
    rest = session.events[len(prefix):]
    folder = tmp_path_factory.mktemp("gen") / "perfect"
    folder.mkdir()
    for k in range(2):
        write_mbo_csv(rest[k * 6000:(k + 1) * 6000], folder / f"rollout_{k:03d}.mbo.csv.zst")
    meta = {"data": [str(path)], "start": "23:30:00", "tz": "UTC", "prefix_events": len(prefix),
            "start_ts_ns": int(rest.ts_recv[0]),
            "session": {"instrument_id": int(session.instrument_id), "symbol": session.symbol, "date": session.date}}
    (folder / "meta.json").write_text(json.dumps(meta))
    # a folder without meta.json: no prefix → EW-VWAP mid, no spreads
    bare = folder.parent / "bare"
    bare.mkdir()
    write_mbo_csv(rest[:6000], bare / "rollout_000.mbo.csv.zst")
    return path, folder, bare, prefix


def test_load_generated_rebuilds_prefix(es_generated):
    from modeling_tradefm.evaluation.series import load_generated

    path, folder, bare, prefix = es_generated
    rollouts, got, meta = load_generated(folder)
    assert [n for n, _ in rollouts] == ["rollout_000.mbo.csv.zst", "rollout_001.mbo.csv.zst"]
    assert got is not None and got.equals(prefix)
    assert load_generated(bare)[1] is None


def test_evaluate_cli_writes_metrics_report_and_plots(es_generated, tmp_path):
    from modeling_tradefm.cli import main

    path, folder, bare, _ = es_generated
    out = tmp_path / "report"
    rc = main(["evaluate", "--real", str(path), "--generated", f"TradeFM={folder}", "--generated", f"ZI={bare}",
               "-o", str(out), "--n-boot", "20", "--max-lag", "20"])
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    assert set(m) == {"distances", "noise_floor", "stylized_facts"}
    assert set(m["distances"]) == {"TradeFM", "ZI"}
    for src in ("TradeFM", "ZI"):
        assert set(m["distances"][src]) == set(QUANTITIES)
    assert set(m["noise_floor"]) == set(QUANTITIES)
    d = m["distances"]["TradeFM"]
    for q in QUANTITIES:
        assert {"ks", "w1", "ks_ci", "w1_ci"} <= set(d[q]) and len(d[q]["ks_ci"]) == 2
    # the real continuation is about as close to the real data as the real data is to itself
    for q in ("order_size", "price_depth", "inter_arrival", "spread"):
        assert d[q]["ks"] < 2 * m["noise_floor"][q]["ks"] + 0.02, q
    assert m["stylized_facts"]["TradeFM"]["info"]["mid"] == "book"
    assert m["stylized_facts"]["ZI"]["info"]["mid"] == "vwap"
    assert m["distances"]["ZI"]["spread"]["ks"] is None  # no book → no spreads, reported as missing
    assert len(m["stylized_facts"]["real"]["acf_returns"]) == 20
    md = (out / "report.md").read_text()
    assert "floor K-S" in md and "TradeFM" in md
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 6
    for png in ("returns.png", "qq.png", "acf.png", "kurtosis.png", "spread.png", "flow.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_after_prefix_compares_with_the_continuation_only(es_generated, tmp_path, capsys):
    from modeling_tradefm.cli import main

    path, folder, _, prefix = es_generated
    counts = {}
    for flag in ([], ["--after-prefix"]):
        out = tmp_path / ("after" if flag else "whole")
        rc = main(["evaluate", "--real", str(path), "--generated", f"TradeFM={folder}", "-o", str(out),
                   "--n-boot", "5", "--max-lag", "5", *flag])
        assert rc == 0
        m = json.loads((out / "metrics.json").read_text())
        counts[bool(flag)] = m["stylized_facts"]["real"]["info"]["samples"]["order_size"]
    # the whole session vs only what followed the prefix
    assert 0 < counts[True] < counts[False]
    # rollouts of different prefixes cannot share one continuation: a clear error, exit 2
    other = tmp_path / "other"
    other.mkdir()
    for f in folder.iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    meta = json.loads((other / "meta.json").read_text())
    meta["start_ts_ns"] += 1
    (other / "meta.json").write_text(json.dumps(meta))
    capsys.readouterr()
    rc = main(["evaluate", "--real", str(path), "--generated", f"A={folder}", "--generated", f"B={other}",
               "-o", str(tmp_path / "bad"), "--n-boot", "5", "--after-prefix"])
    assert rc == 2 and "different prefixes" in capsys.readouterr().err


def test_evaluate_cli_bad_generated_folder(tmp_path, capsys):
    from modeling_tradefm.cli import main

    path = real_path(*ES)
    (tmp_path / "empty").mkdir()
    rc = main(["evaluate", "--real", str(path), "--generated", f"X={tmp_path / 'empty'}", "-o", str(tmp_path / "o")])
    assert rc == 2
    assert "no event file" in capsys.readouterr().err
